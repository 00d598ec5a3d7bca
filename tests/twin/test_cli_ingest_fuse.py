"""``vntwin ingest`` and ``vntwin fuse`` as a user runs them: through the CLI, on real
files (a GeoJSON, a zipped Shapefile in VN-2000), and a file that cannot be read."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.cli import app
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.layers import layer_sources

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
PLACES = FIXTURES / "places_vn.geojson"
SEGMENTS = FIXTURES / "segments_hanoi_to_provinces.geojson"
CAOBANG = FIXTURES / "communes_caobang_vn2000_utm48.zip"
pytestmark = pytest.mark.skipif(not PLACES.exists(), reason="ingest fixtures missing")


def _env(cat: Catalog) -> dict[str, str]:
    """Points the CLI at the test catalogue (as ``testing._process_env`` does)."""
    env = {"VNTWIN_DATA_DIR": str(cat.settings.data_dir)}
    if cat.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = cat.settings.database_url
    if cat.settings.admin_cache_dir:
        env["VNTWIN_ADMIN_CACHE_DIR"] = str(cat.settings.admin_cache_dir)
    return env


def _run(cat: Catalog, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args), env=_env(cat))
    return r.exit_code, r.output


def _fused(output: str) -> tuple[int, int]:
    """(fused, unchanged) from ``vntwin fuse``'s summary line."""
    m = re.search(r"(\d+) fused, (\d+) unchanged", output)
    assert m, output
    return int(m.group(1)), int(m.group(2))


def test_cli_ingest_then_fuse_only_what_changed(cat, org, tmp_path):
    code, out = _run(cat, "ingest", str(PLACES), "--dataset", "dia-danh",
                     "--org", org["name"], "--title", "Địa danh")
    assert code == 0, out
    assert "layer places_vn (point, 201 rows)" in out and "stored in dataset dia-danh" in out
    code, out = _run(cat, "ingest", str(SEGMENTS), "--dataset", "duong", "--org", org["name"])
    assert code == 0, out
    # a zipped Shapefile in VN-2000 / UTM 48N, into an existing dataset (no --org needed)
    code, out = _run(cat, "ingest", str(CAOBANG), "--dataset", "dia-danh")
    assert code == 0, out
    assert "(polygon, 56 rows)" in out
    names = sorted(s.name for s in layer_sources(cat))
    assert names == ["dia-danh--communes_caobang_vn2000_utm48", "dia-danh--places_vn",
                     "duong--segments_hanoi_to_provinces"]

    code, out = _run(cat, "fuse", "--res", "6")
    assert code == 0, out
    assert _fused(out) == (3, 0)
    store = twin_store(cat)
    assert store.resolution() == 6 and sorted(store.fingerprints()) == names

    # one layer changes: only it is fused again
    changed = tmp_path / "places_vn.geojson"
    gpd.read_file(PLACES).head(50).to_file(changed)
    code, out = _run(cat, "ingest", str(changed), "--dataset", "dia-danh")
    assert code == 0, out
    assert "layer places_vn (point, 50 rows)" in out
    code, out = _run(cat, "fuse", "--res", "6")
    assert code == 0, out
    assert _fused(out) == (1, 2)
    assert "dia-danh--places_vn:" in out and "duong--segments" not in out
    again = fuse_catalog(cat, res=6)
    assert again.fused == [] and sorted(again.skipped) == names


def test_cli_ingest_bad_file_stores_nothing(cat, org, api, tmp_path):
    bad = tmp_path / "hong.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    files = {p for p in cat.settings.data_dir.rglob("*") if p.is_file()}
    code, out = _run(cat, "ingest", str(bad), "--dataset", "hong", "--org", org["name"])
    assert code == 1
    assert out.startswith("error:") and "hong.geojson" in out, out
    assert "Traceback" not in out
    status, _ = api.call("package_show", method="GET", id="hong")
    assert status == 404
    assert layer_sources(cat) == []
    stored = {p for p in cat.settings.data_dir.rglob("*") if p.is_file()} - files
    assert not [p for p in stored if "upload" in str(p) or p.suffix in (".geojson", ".parquet")]
    # and a fuse afterwards has nothing to do
    code, out = _run(cat, "fuse", "--res", "6")
    assert code == 0, out
    assert _fused(out) == (0, 0)


def test_a_file_with_a_vietnamese_name_and_columns(cat, org, tmp_path, client):
    """"Địa danh.geojson" with columns "Mã xã" and "Tên xã": the layer's key is a slug of
    its name, its title the name, its column schema is on the resource, and OGC items
    keep the column names as the agency wrote them."""
    import shapely

    from vntwin.catalog import packages

    path = tmp_path / "Địa danh Hà Nội.geojson"
    gpd.GeoDataFrame({"Mã xã": ["00004", "00008"], "Tên xã": ["Ba Đình", "Ngọc Hà"],
                      "dân số": [65000, 40000]},
                     geometry=[shapely.Point(105.84, 21.03), shapely.Point(105.83, 21.04)],
                     crs=4326).to_file(path)
    code, out = _run(cat, "ingest", str(path), "--dataset", "dia-danh", "--org", org["name"])
    assert code == 0, out
    assert 'layer dia-danh-ha-noi "Địa danh Hà Nội" (point, 2 rows)' in out
    assert "columns: Mã xã (string), Tên xã (string), dân số (integer)" in out
    layer = next(r for r in packages.show(cat, SYSTEM, "dia-danh")["resources"]
                 if r.get("twin_layer"))
    assert layer["twin_layer"] == "dia-danh-ha-noi" and layer["name"].startswith("Địa danh")
    assert {"name": "Tên xã", "type": "string"} in layer["schema"]["fields"]
    items = client.get("/ogc/collections/dia-danh--dia-danh-ha-noi/items").json()
    assert items["features"][0]["properties"] == {"Mã xã": "00004", "Tên xã": "Ba Đình",
                                                  "dân số": 65000}
    # the same file again replaces the layer, it does not add a second one
    code, out = _run(cat, "ingest", str(path), "--dataset", "dia-danh")
    assert code == 0, out
    assert [r["twin_layer"] for r in packages.show(cat, SYSTEM, "dia-danh")["resources"]
            if r.get("twin_layer")] == ["dia-danh-ha-noi"]


def test_layer_keys_are_plain_and_unique():
    from vntwin.twin.ingest_catalog import layer_keys

    assert layer_keys(["places_vn", "Đường bộ", "Duong bo", "../x", "a b"]) == [
        "places_vn", "duong-bo", "duong-bo-2", "x", "a-b"]
