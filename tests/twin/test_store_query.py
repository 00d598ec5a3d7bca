"""Twin store and queries on a hand-built grid, against hand-computed answers."""

from __future__ import annotations

import h3
import pandas as pd
import pytest

from vntwin.errors import NotFound, ValidationError
from vntwin.twin import query
from vntwin.twin.store import LayerRecord, TwinStore, VariableInfo

HANOI = (21.0285, 105.8542)


@pytest.fixture
def store(tmp_path):
    centre = h3.latlng_to_cell(*HANOI, 8)
    ring = sorted(h3.grid_disk(centre, 1))  # 7 cells
    cells = pd.DataFrame({
        "h3": [h3.str_to_int(c) for c in ring],
        "lat": [h3.cell_to_latlng(c)[0] for c in ring],
        "lon": [h3.cell_to_latlng(c)[1] for c in ring],
        "province_code": ["01"] * 4 + ["02"] * 3,
        "commune_code": ["00001"] * 2 + ["00004"] * 2 + ["00100"] * 3,
    })
    s = TwinStore(tmp_path / "twin.duckdb")
    s.set_grid(cells, 8)
    ids = cells["h3"].tolist()
    pop = pd.DataFrame({"h3": ids, "variable": "population",
                        "value": [100.0, 200, 300, 400, 500, 600, 700]})
    s.replace_layer(LayerRecord("dan-so", "d1", "dan-so", "r1", "f1", "polygon", 8), pop,
                    {"population": VariableInfo("extensive", "persons", "population")})
    # forest: cell 0 fully covered with density 10, cell 1 half covered with density 20
    forest = pd.DataFrame({"h3": [ids[0], ids[0], ids[1], ids[1]],
                           "variable": ["coverage", "density", "coverage", "density"],
                           "value": [1.0, 10.0, 0.5, 20.0]})
    s.replace_layer(LayerRecord("rung", "d2", "rung", "r2", "f2", "polygon", 8), forest,
                    {"coverage": VariableInfo("fraction", "1"),
                     "density": VariableInfo("intensive", "trees/ha", weight="coverage")})
    timed = pd.DataFrame({"h3": [ids[0]] * 2, "variable": "pm25", "value": [30.0, 50.0],
                          "valid_time": pd.to_datetime(["2026-01-01T00:00Z",
                                                        "2026-02-01T00:00Z"])})
    s.replace_layer(LayerRecord("khong-khi", "d3", "khong-khi", "r3", "f3", "point", 8), timed,
                    {"pm25": VariableInfo("intensive", "ug/m3")})
    return s, ids


def test_point_and_cell(store):
    s, ids = store
    out = query.at_point(s, *HANOI)
    assert out["h3"] == h3.latlng_to_cell(*HANOI, 8) and out["inside_territory"]
    here = query.at_cell(s, ids[0])
    assert here["layers"]["dan-so"]["population"]["value"] == 100
    assert here["layers"]["khong-khi"]["pm25"]["value"] == 50  # latest
    assert here["province_code"] == "01" and here["commune_code"] == "00001"


def test_as_of(store):
    s, ids = store
    old = query.at_cell(s, ids[0], as_of="2026-01-15T00:00:00Z")
    assert old["layers"]["khong-khi"]["pm25"]["value"] == 30
    before = query.at_cell(s, ids[0], as_of="2025-12-31T00:00:00Z")
    assert "khong-khi" not in before["layers"]


def test_unit_aggregation(store):
    s, _ = store
    province = query.in_unit(s, "01")
    assert province["cells"] == 4
    assert province["layers"]["dan-so"]["population"]["value"] == 1000  # sum
    # coverage: (1 + 0.5) / 4 cells; density weighted by coverage: (10*1 + 20*.5) / 1.5
    assert province["layers"]["rung"]["coverage"]["value"] == pytest.approx(0.375)
    assert province["layers"]["rung"]["density"]["value"] == pytest.approx(40 / 3)
    assert query.in_unit(s, "2")["layers"]["dan-so"]["population"]["value"] == 1800
    assert query.in_unit(s, "00004")["layers"]["dan-so"]["population"]["value"] == 700


def test_bbox_and_errors(store):
    s, _ = store
    box = query.in_bbox(s, 105.0, 20.5, 106.5, 21.5)
    assert box["cells"] == 7 and box["layers"]["dan-so"]["population"]["value"] == 2800
    with pytest.raises(NotFound):
        query.in_unit(s, "99")
    for bad in (lambda: query.in_unit(s, "abc"), lambda: query.at_cell(s, "zz"),
                lambda: query.at_point(s, 100, 0), lambda: query.in_bbox(s, 2, 0, 1, 1)):
        with pytest.raises(ValidationError):
            bad()


def test_replacing_one_layer_leaves_others(store):
    s, ids = store
    s.replace_layer(LayerRecord("dan-so", "d1", "dan-so", "r1", "f9", "polygon", 8),
                    pd.DataFrame({"h3": [ids[0]], "variable": ["population"], "value": [5.0]}),
                    {"population": VariableInfo("extensive")})
    assert query.in_unit(s, "01")["layers"]["dan-so"]["population"]["value"] == 5
    assert query.in_unit(s, "01")["layers"]["rung"]["coverage"]["value"] == pytest.approx(0.375)
    assert s.fingerprints()["dan-so"] == "f9"
    assert {layer["layer"] for layer in s.layers()} == {"dan-so", "rung", "khong-khi"}


def test_twin_api_answers_and_problem_json(tmp_path, store):
    from fastapi.testclient import TestClient

    from vntwin.api.app import create_app
    from vntwin.catalog.service import Catalog
    from vntwin.testing import make_settings

    _, ids = store
    cat = Catalog(make_settings(tmp_path, None))
    with TestClient(create_app(cat.settings, cat)) as client:
        body = client.get("/twin/point", params={"lat": HANOI[0], "lon": HANOI[1]}).json()
        centre = ids.index(h3.str_to_int(h3.latlng_to_cell(*HANOI, 8)))
        assert body["layers"]["dan-so"]["population"]["value"] == 100.0 * (centre + 1)
        unit = client.get("/twin/unit/01").json()
        assert unit["layers"]["dan-so"]["population"]["value"] == 1000
        assert client.get("/twin/bbox", params={"bbox": "105,20.5,106.5,21.5"}).json()[
            "cells"] == 7
        assert len(client.get("/twin/layers").json()) == 3
        r = client.get("/twin/unit/abc")
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert client.get("/twin/unit/99").status_code == 404
        assert client.get("/twin/bbox", params={"bbox": "x"}).status_code == 400
        assert client.get("/twin/point", params={"lat": 200, "lon": 0}).status_code == 422
    cat.close()


def test_no_twin_yet_is_404(tmp_path):
    from fastapi.testclient import TestClient

    from vntwin.api.app import create_app
    from vntwin.catalog.service import Catalog
    from vntwin.testing import make_settings

    cat = Catalog(make_settings(tmp_path, None))
    with TestClient(create_app(cat.settings, cat)) as client:
        r = client.get("/twin/unit/01")
        assert r.status_code == 404 and "vntwin fuse" in r.json()["detail"]
    cat.close()
