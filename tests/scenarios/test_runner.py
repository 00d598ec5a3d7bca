"""The runner on a real catalogue: results stored as datasets with lineage, reused on the
same twin, parallel batches, and the same through the CLI and the API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vntwin.catalog import packages
from vntwin.catalog.users import SYSTEM
from vntwin.cli import app
from vntwin.scenarios.loader import SpecError, load_text
from vntwin.scenarios.pdf import converter
from vntwin.scenarios.runner import run_batch
from vntwin.twin.build import fuse_catalog
from vntwin.twin.ingest_catalog import ingest_file

PLACES = Path(__file__).parents[1] / "ingest" / "fixtures" / "places_vn.geojson"

SPEC = """\
name: phong-kham
title: Phòng khám mới ở TP. Hồ Chí Minh
optimise:
  - id: moi
    type: maximal_covering
    facility_type: clinic
    k: 3
    radius_km: 5
    candidates:
      layer: dia-danh--places_vn
      where: {ma_tinh: "79"}
      id_column: geonameid
indicators:
  - {id: a, type: accessibility, facility_type: clinic, distance_km: 5}
"""
SPEC2 = SPEC.replace("name: phong-kham", "name: phong-kham-4").replace("k: 3", "k: 4")


@pytest.fixture
def twin(cat, org):
    ingest_file(cat, SYSTEM, PLACES, dataset="dia-danh", org=org["name"], title="Địa danh")
    assert fuse_catalog(cat, res=7).failed == {}
    return cat


def _count(cat) -> int:
    return len(packages.package_list(cat, None, 0))


def test_batch_stores_and_reuses(twin):
    events = []
    report = run_batch(twin, SYSTEM, [load_text(SPEC), load_text(SPEC2)], workers=2,
                       progress=events.append)
    assert report.failed == [] and report.workers == 2
    first = report.results[0]
    assert first["reused"] is False and first["indicators"][0]["national"]
    assert {e["status"] for e in events} >= {"done"} and events[-1]["done"] == 2
    pkg = packages.show(twin, SYSTEM, first["dataset"])
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["scenario_twin_version"] == report.twin_version
    assert extras["scenario_spec_hash"] == load_text(SPEC).spec.spec_hash()
    assert "dia-danh--places_vn" in json.loads(extras["scenario_inputs"])
    names = {r["name"] for r in pkg["resources"]}
    assert names == {"result.json", "units.csv", "spec.yaml", "difference.parquet",
                     "difference.geojson"}
    units = next(r for r in pkg["resources"] if r["name"] == "units.csv")
    assert units["datastore_active"]
    # four sites cover at least as many people as three
    within = [r["indicators"][0]["national"]["population_within"]["scenario"]
              for r in report.results]
    assert within[1] >= within[0] > 0
    # the same specs on the same twin: reused, nothing new stored
    before = _count(twin)
    again = run_batch(twin, SYSTEM, [load_text(SPEC)])
    assert again.results[0]["reused"] is True
    assert again.results[0]["dataset"] == first["dataset"]
    assert again.results[0]["indicators"] == first["indicators"]
    assert _count(twin) == before


def test_bad_batch_does_nothing(twin):
    before = _count(twin)
    bad = SPEC2.replace("k: 4", "k: 40")
    with pytest.raises(SpecError) as info:
        run_batch(twin, SYSTEM, [load_text(SPEC), load_text(bad, "bad.yaml")])
    assert [i.where for i in info.value.issues] == ["bad.yaml:7:8"]
    assert _count(twin) == before


def test_cli_and_api(twin, client, admin_token, editor_token, tmp_path):
    spec_file = tmp_path / "phong-kham.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    settings = twin.settings
    env = {"VNTWIN_DATA_DIR": str(settings.data_dir),
           "VNTWIN_ADMIN_CACHE_DIR": str(settings.admin_dir)}
    if settings.database_url:
        env["VNTWIN_DATABASE_URL"] = settings.database_url
    report = tmp_path / "bao-cao.html"
    r = CliRunner().invoke(app, ["scenario", "run", str(spec_file), "--json",
                                 "--report", str(report)], env=env)
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    dataset = body["results"][0]["dataset"]
    assert body["results"][0]["indicators"][0]["id"] == "a"
    assert "Phòng khám mới" in report.read_text(encoding="utf-8")

    bad = client.post("/scenarios/validate", json={"specs": [SPEC.replace("k: 3", "k: -3")]})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["line"] == 7
    assert client.post("/scenarios/run", json={"specs": [SPEC]}).status_code == 401
    ran = client.post("/scenarios/run", json={"specs": [SPEC]},
                      headers={"Authorization": admin_token})
    assert ran.status_code == 200, ran.text
    assert ran.json()["results"][0]["reused"] is True
    assert ran.json()["results"][0]["dataset"] == dataset
    # an editor's results go to the editor's organisation
    mine = client.post("/scenarios/run", json={"specs": [SPEC2]},
                       headers={"Authorization": editor_token})
    assert mine.status_code == 200, mine.text
    pkg = packages.show(twin, SYSTEM, mine.json()["results"][0]["dataset"])
    assert pkg["organization"]["name"] == "so-khcn"

    listed = client.get("/scenarios/results").json()
    assert {dataset, pkg["name"]} <= {r["dataset"] for r in listed}
    one = client.get(f"/scenarios/results/{dataset}", params={"detail": "national"}).json()
    assert "provinces" not in one["indicators"][0]
    diff = client.get(f"/scenarios/results/{dataset}/difference.geojson")
    assert diff.status_code == 200 and diff.json()["type"] == "FeatureCollection"
    assert diff.json()["numberMatched"] == len(diff.json()["features"]) > 0
    compared = client.get("/scenarios/compare", params={"datasets": f"{dataset},{pkg['name']}"})
    assert set(compared.json()["national"][0]["scenarios"]) == {"phong-kham", "phong-kham-4"}
    html = client.get("/scenarios/report", params={"datasets": dataset})
    assert html.status_code == 200 and "<svg" in html.text
    pdf = client.get("/scenarios/report", params={"datasets": dataset, "format": "pdf"})
    if converter() is None:
        assert pdf.status_code == 501 and "no PDF converter" in pdf.json()["detail"]
    else:
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/scenarios/results/dia-danh").status_code == 404
    # a background job: 202, then progress until done
    started = client.post("/scenarios/jobs", json={"specs": [SPEC, SPEC2]},
                          headers={"Authorization": admin_token})
    assert started.status_code == 202, started.text
    url = started.headers["location"]
    for _ in range(600):
        state = client.get(url, headers={"Authorization": admin_token}).json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "done" and state["done"] == 2
    assert [r["reused"] for r in state["results"]] == [True, True]
    assert client.get(url).status_code == 404  # not the caller's job
    bad = client.post("/scenarios/jobs", json={"specs": [SPEC.replace("k: 3", "k: 300")]},
                      headers={"Authorization": admin_token})
    assert bad.status_code == 400 and bad.json()["errors"][0]["line"] == 7
    assert client.get("/scenarios/schema.json").json()["title"] == "vntwin planning scenario"
