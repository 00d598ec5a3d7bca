"""Fusing many layers at once (bulk load, worker processes) stores exactly what fusing them
one by one stores, already clustered by cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from vntwin.catalog.users import SYSTEM
from vntwin.twin import build
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.ingest_catalog import ingest_file
from vntwin.twin.store import LAYOUT

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
FILES = {"diem": "places_vn.geojson", "xa": "hanoi_communes.gpkg",
         "doan": "segments_hanoi_to_provinces.geojson",
         "anh": "places_red_river_delta_vn2000.tif", "tinh": "provinces_geonames.csv"}
RES = 7


@pytest.fixture
def layers(cat, org):
    for name, file in FILES.items():
        ingest_file(cat, SYSTEM, FIXTURES / file, dataset=name, org=org["name"])
    return cat


def _stored(cat) -> tuple[list[tuple], list[tuple], dict[str, str]]:
    with twin_store(cat).read() as con:
        values = con.execute("SELECT layer, variable, h3, valid_time, value FROM cell_values "
                             "ORDER BY ALL").fetchall()
        variables = con.execute("SELECT * FROM variables ORDER BY ALL").fetchall()
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    return values, variables, meta


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_fusion_stores_what_one_by_one_stores(layers, monkeypatch, workers):
    cat = layers
    monkeypatch.setattr(build, "BULK_MIN_LAYERS", 10**6)
    one = fuse_catalog(cat, res=RES)
    assert one.failed == {} and len(one.fused) >= len(FILES) and one.compacted
    expected = _stored(cat)
    monkeypatch.setattr(build, "BULK_MIN_LAYERS", 2)
    monkeypatch.setattr(build, "POOL_MIN_LAYERS", 1)
    bulk = fuse_catalog(cat, res=RES, force=True, workers=workers)
    assert bulk.failed == {} and sorted(bulk.fused) == sorted(one.fused)
    assert bulk.workers == (workers if workers > 1 else 0)
    assert not bulk.compacted and bulk.bulk_seconds > 0  # clustered as written
    values, variables, meta = _stored(cat)
    assert meta["layout"] == LAYOUT and meta["appended_rows"] == "0"
    assert variables == expected[1]
    assert len(values) == len(expected[0])
    for got, want in zip(values, expected[0], strict=True):
        assert got[:4] == want[:4] and got[4] == pytest.approx(want[4], rel=1e-12)
    assert fuse_catalog(cat, res=RES, workers=workers).fused == []  # fingerprints stored
