"""The dashboard's JSON: live indicators with targets, trends and provinces; open-data
counts; the national digital-transformation indicators read from the demo dataset.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.live.conftest import CANTHO, make_source, make_station, now_iso

from vntwin.catalog.service import Catalog
from vntwin.demo.datasets import DATASETS, ORGANIZATIONS
from vntwin.demo.load import Tally, _ensure_org, _load_dataset
from vntwin.demo.sources import Sources
from vntwin.live.ingest import Incoming, Ingestor
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
