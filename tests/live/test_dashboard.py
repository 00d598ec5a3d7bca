"""The dashboard's JSON: live indicators with targets, trends and provinces; open-data
counts; the national digital-transformation indicators read from the demo dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.live.conftest import CANTHO, make_source, make_station, now_iso, station

from vntwin.catalog.service import Catalog
from vntwin.demo.datasets import DATASETS, ORGANIZATIONS
from vntwin.demo.load import Tally, _ensure_org, _load_dataset
from vntwin.demo.sources import Sources
from vntwin.live.ingest import Incoming, Ingestor
from vntwin.live.layers import live_layers, map_entries, sensor_features
from vntwin.live.models import StaDatastream
from vntwin.live.simulate import ensure_network
from vntwin.live.sta_create import Writer, create
from vntwin.quality import refresh


def _load_indicators(cat: Catalog, tmp: Path) -> None:
    spec = next(d for d in DATASETS if d.kind == "indicators")
    _ensure_org(cat, next(o for o in ORGANIZATIONS if o["name"] == spec.org))
    _load_dataset(cat, Sources(), spec, tmp, Tally(), lambda n: None)


def test_dashboard(client: TestClient, cat: Catalog, tmp_path: Path) -> None:
    before = client.get("/live/dashboard").json()
    assert before["digital"]["available"] is False and before["live"] == []
    _load_indicators(cat, tmp_path)
    source, _ = make_source(cat, "so-tnmt")
    hanoi = make_station(cat, source, "Hoàn Kiếm")
    cantho = make_station(cat, source, "Ninh Kiều", coords=CANTHO,
                          prop={"@iot.id": 1})
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-60), "result": 70}, hanoi),
                          Incoming({"phenomenonTime": now_iso(-30), "result": 20}, cantho)])
    body = client.get("/live/dashboard").json()

    (pm25,) = body["live"]
    assert pm25["name"] == "PM2.5" and pm25["value"] == 45 and pm25["sensors"] == 2
    assert pm25["target"] == 50 and pm25["meets_target"] is True
    assert pm25["sensors_over_target"] == 1
    provinces = {p["province_code"]: p for p in pm25["provinces"]}
    assert provinces["01"]["province_name"] == "Hà Nội" and provinces["01"]["mean"] == 70
    assert provinces["01"]["meets_target"] is False and provinces["92"]["meets_target"] is True
    assert sum(h["observations"] for h in pm25["trend"]) == 2

    open_data = {i["code"]: i for i in body["open_data"]}
    assert open_data["public_datasets"]["value"] == 1
    assert open_data["public_datasets"]["trend"][-1]["datasets"] == 1
    assert open_data["queryable_resources"]["value"] == 1

    digital = body["digital"]
    assert digital["available"] and digital["dataset"] == "chi-so-chuyen-doi-so-quoc-gia"
    by_code = {i["code"]: i for i in digital["indicators"]}
    share = by_code["de_gdp_share"]  # digital economy share of GDP
    assert share["latest"] == {"period": "2024", "value": 18.0, "kind": "actual",
                               "source": share["latest"]["source"]}
    assert "56/TB-VPCP" in share["latest"]["source"]
    assert share["target"]["period"] == "2025" and share["target"]["value"] == 20
    assert [t["period"] for t in share["targets"]] == ["2025", "2030"]
    assert [p["value"] for p in share["trend"]] == [11.9, 14.3, 16.5, 18.0]
    assert share["meets_target"] is False and share["gap"] == 2
    egov = by_code["egov_rank"]  # a rank: lower is better
    assert egov["direction"] == "lower_is_better" and egov["latest"]["value"] == 71
    assert egov["target"]["value"] == 50 and egov["meets_target"] is False
    assert body["ingest"][0]["accepted"] == 2
    assert body["alerts"]["open"] == 0


def test_dashboard_has_the_programme_figures(api, admin_token, org, editor_token) -> None:
    """The page's open-data programme figures (requests answered on time, agencies meeting
    their targets, mean quality) are in the JSON too, the same as programme_progress_show.
    """
    api.ok("package_create", editor_token, name="bo-du-lieu", owner_org=org["name"])
    year = int(api.ok("package_show", id="bo-du-lieu")["metadata_created"][:4])
    api.ok("agency_target_set", admin_token, organization_id=org["name"], year=year,
           datasets_to_publish=1)
    request = api.ok("datarequest_create", editor_token, title="Điểm dừng xe buýt",
                     description="Vị trí và tuyến", organization_id=org["name"])
    api.ok("datarequest_update", editor_token, id=request["id"], status="in_progress")
    assert refresh.wait_idle(60)  # the write hook scores the dataset in the background

    programme = api.client.get("/live/dashboard").json()["programme"]
    assert programme["period"]["start"] == f"{year}-01-01"
    assert programme["requests"]["received"] == 1
    assert programme["requests"]["answered_on_time"] == 1
    assert programme["requests"]["on_time_rate"] == 100
    assert (programme["agencies_with_targets"], programme["agencies_meeting_targets"],
            programme["targets_met_share"]) == (1, 1, 100)
    assert "by_agency" not in programme  # per agency: programme_progress_show
    shown = api.ok("programme_progress_show", year=year)
    assert programme["quality_mean"] == shown["quality_mean"] is not None
    assert programme == {k: v for k, v in shown.items() if k != "by_agency"}


def _simulated_on_the_real_property(cat: Catalog) -> int:
    """A simulated station in Hà Nội observing the real sensors' PM2.5 (as the simulator's
    streams did before it had properties of its own); its datastream id.
    """
    source, _ = make_source(cat, "mo-phong")
    body: dict[str, Any] = station("Trạm mô phỏng", [105.80, 21.02], prop={"@iot.id": 1})
    body["properties"] = {"simulated": True}
    with cat.sessions() as session, session.begin():
        thing = create(session, Writer(source, cat.settings), "Things", body)
        session.flush()
        return int(session.scalar(select(StaDatastream.id)
                                  .where(StaDatastream.thing_id == thing.id)))


@pytest.mark.parametrize("simulated_by", ["simulator", "same property"])
def test_simulated_values_are_never_mixed_with_real_ones(client: TestClient, cat: Catalog,
                                                          simulated_by: str) -> None:
    """The review's case: a real Hà Nội sensor at 10 and one simulated station at 500
    made a national PM2.5 of 255, badged simulated. The real indicator, its provinces,
    trend, twin layer and map layer hold the 10 alone; the 500 is its own indicator.
    """
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    real = make_station(cat, source)  # Hoàn Kiếm, PM2.5 (ObservedProperties(1))
    if simulated_by == "simulator":
        sim = next(s.datastream_id for s in ensure_network(cat, pm25=1, traffic=0)
                   if s.kind == "pm25")
    else:
        sim = _simulated_on_the_real_property(cat)
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-60), "result": 10}, real),
                          Incoming({"phenomenonTime": now_iso(-30), "result": 500}, sim)])

    board = client.get("/live/dashboard").json()
    (pm25,) = [i for i in board["live"] if not i["simulated"]]
    assert (pm25["name"], pm25["layer"], pm25["key"]) == ("PM2.5", "live-pm2-5", "1")
    assert (pm25["value"], pm25["max"], pm25["sensors"]) == (10, 10, 1)
    assert pm25["meets_target"] is True and pm25["sensors_over_target"] == 0
    assert [(p["province_code"], p["mean"], p["simulated"]) for p in pm25["provinces"]] \
        == [("01", 10, False)]
    assert [(h["mean"], h["observations"]) for h in pm25["trend"]] == [(10, 1)]
    (fake,) = [i for i in board["live"] if i["simulated"]]
    assert fake["name"] == "PM2.5 (mô phỏng / simulated)"
    assert fake["layer"] == "live-pm2-5-simulated" and fake["key"].endswith("-simulated")
    assert (fake["value"], fake["sensors"]) == (500, 1)
    assert fake["provinces"] and all(p["simulated"] for p in fake["provinces"])
    assert [(h["mean"], h["observations"]) for h in fake["trend"]] == [(500, 1)]

    hanoi = live_layers(cat, {"unit": ("province_code", "01")})["live-pm2-5"]
    assert hanoi["max"]["value"] == 10 and hanoi["sensors"]["value"] == 1
    assert not any(v["simulated"] for v in hanoi.values())
    layers = {e["layer"]: e for e in map_entries(cat)}
    assert (layers["live-pm2-5"]["max"], layers["live-pm2-5"]["simulated"]) == (10, False)
    assert (layers["live-pm2-5-simulated"]["max"],
            layers["live-pm2-5-simulated"]["simulated"]) == (500, True)
    assert [f["properties"]["value"] for f in sensor_features(cat, "live-pm2-5")[
        "features"]] == [10]
