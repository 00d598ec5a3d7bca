"""A real file through the whole twin: ingest, fuse, query (Python, CLI, API)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import h3
import pytest
from typer.testing import CliRunner

from vntwin.catalog.users import SYSTEM
from vntwin.cli import app
from vntwin.errors import ValidationError
from vntwin.twin import query
from vntwin.twin.admin import CELLS_VERSION
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.grid import latlng_to_cells
from vntwin.twin.ingest_catalog import ingest_file

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
PLACES = FIXTURES / "places_vn.geojson"
pytestmark = pytest.mark.skipif(not PLACES.exists(), reason="ingest fixtures missing")


@pytest.fixture
def twin(cat, org):
    ingest_file(cat, SYSTEM, PLACES, dataset="dia-danh", org=org["name"], title="Địa danh")
    report = fuse_catalog(cat, res=7)
    assert report.failed == {} and report.fused == ["dia-danh--places_vn"], report
    return cat


def test_ingest_fuse_query(twin):
    cat = twin
    places = gpd.read_file(PLACES)
    store = twin_store(cat)
    layer = store.layers()[0]
    assert layer["kind"] == "point" and layer["res"] == 7
    # every place inside the territory is counted once ...
    with store.read() as con:
        stored = con.execute("SELECT sum(value) FROM cell_values WHERE variable = 'count'"
                             ).fetchone()[0]
        grid = {int(c) for (c,) in con.execute("SELECT h3 FROM cells").fetchall()}
    cells = latlng_to_cells(places.geometry.y.to_numpy(), places.geometry.x.to_numpy(), 7)
    inside = sum(int(c) in grid for c in cells)
    assert stored == inside
    # ... and area totals agree
    total = query.in_bbox(store, 100, 5, 115, 25)["layers"]["dia-danh--places_vn"]
    assert total["count"]["value"] == inside >= len(places) - 5
    first = places.iloc[0]
    here = query.at_point(store, first.geometry.y, first.geometry.x)
    assert here["layers"]["dia-danh--places_vn"]["count"]["value"] >= 1
    assert here["province_code"] is not None
    # re-fusing with nothing changed touches nothing
    again = fuse_catalog(cat, res=7)
    assert again.fused == [] and again.skipped == ["dia-danh--places_vn"]


def test_a_grid_of_an_older_cell_rule_is_rebuilt_and_refused(twin):
    """A twin built before the units' cells changed (``admin.CELLS_VERSION``): the next
    fusion rebuilds the grid and fuses every layer again, as for a new resolution."""
    store = twin_store(twin)
    assert store.grid_version() == CELLS_VERSION
    with store.write() as con:  # as written before the version was recorded
        con.execute("DELETE FROM meta WHERE key = 'grid_version'")
    assert store.grid_version() == 1 != CELLS_VERSION
    report = fuse_catalog(twin, res=7)
    assert report.fused == ["dia-danh--places_vn"] and report.skipped == []
    assert store.grid_version() == CELLS_VERSION


def test_reingest_refuses_bad_file_and_keeps_layer(twin, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ValidationError):
        ingest_file(twin, SYSTEM, bad, dataset="dia-danh")
    assert fuse_catalog(twin, res=7).fused == []


def test_cli_and_api(twin, client):
    env = {"VNTWIN_DATA_DIR": str(twin.settings.data_dir)}
    if twin.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = twin.settings.database_url
    places = gpd.read_file(PLACES)
    lat, lon = places.iloc[0].geometry.y, places.iloc[0].geometry.x
    r = CliRunner().invoke(app, ["twin", "query", "--lat", str(lat), "--lon", str(lon)],
                           env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["layers"]["dia-danh--places_vn"]["count"]["value"] >= 1
    body = client.get("/twin/point", params={"lat": lat, "lon": lon}).json()
    assert body["layers"]["dia-danh--places_vn"]["count"]["value"] >= 1
    ids = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
    assert ids == ["dia-danh--places_vn", "grid-dia-danh--places_vn"]
    grid = client.get("/ogc/collections/grid-dia-danh--places_vn/items",
                      params={"limit": 1000}).json()
    total = query.in_bbox(twin_store(twin), 100, 5, 115, 25)["layers"]["dia-danh--places_vn"]
    assert sum(f["properties"]["count"] for f in grid["features"]) == total["count"]["value"]
    assert grid["numberMatched"] == len(grid["features"]) > 0


def test_fusion_counts_polygons_repaired_in_the_plane_and_compacts(cat, org, tmp_path):
    """A polygon valid in lon/lat but self-intersecting once projected (see the polygon
    kernel's test) passes ingest, is repaired by the fusion and counted in its report."""
    import shapely

    notch = shapely.Polygon([(105, 20), (107, 20), (107, 21), (106.01, 21), (106, 20 + 1e-6),
                             (105.99, 21), (105, 21)])
    path = tmp_path / "vung.geojson"
    gpd.GeoDataFrame({"dan_so": [1000.0]}, geometry=[notch], crs=4326).to_file(path)
    ingest_file(cat, SYSTEM, path, dataset="vung", org=org["name"], title="Vùng")
    report = fuse_catalog(cat, res=6)
    assert report.failed == {} and list(report.repaired.values()) == [1], report
    assert report.compacted and not twin_store(cat).needs_compaction()


def test_cells_of_other_resolutions(twin):
    """A res-8 cell inside the res-7 twin is answered by its parent; a res-5 cell sums
    its children; a res-0 cell is refused with what to ask instead."""
    store = twin_store(twin)
    with store.read() as con:
        busiest, count = con.execute(
            "SELECT h3, value FROM cell_values WHERE variable = 'count' "
            "AND layer = 'dia-danh--places_vn' ORDER BY value DESC, h3 LIMIT 1").fetchone()
    parent = h3.int_to_str(int(busiest))
    finer = h3.cell_to_center_child(parent, 8)
    answer = query.at_cell(store, finer)
    assert answer["h3"] == finer and answer["twin_h3"] == parent and answer["twin_res"] == 7
    assert answer["inside_territory"]
    assert answer["layers"]["dia-danh--places_vn"]["count"]["value"] == count

    coarse = h3.cell_to_parent(parent, 5)
    children = [h3.str_to_int(c) for c in h3.cell_to_children(coarse, 7)]
    with store.read() as con:
        expected = con.execute(
            "SELECT sum(value) FROM cell_values WHERE variable = 'count' "
            "AND layer = 'dia-danh--places_vn' AND h3 IN (SELECT unnest(?::UBIGINT[]))",
            [children]).fetchone()[0]
    area = query.at_cell(store, coarse)
    assert area["res"] == 5 and 0 < area["cells"] <= 49
    assert area["layers"]["dia-danh--places_vn"]["count"]["value"] == expected >= count
    with pytest.raises(ValidationError, match="ask /twin/unit"):
        query.at_cell(store, h3.cell_to_parent(parent, 0))
