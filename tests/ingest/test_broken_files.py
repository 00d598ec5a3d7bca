"""Every broken or hostile fixture fails with the right error, and nothing is stored."""

from __future__ import annotations

import random
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from ingest_helpers import FIXTURES, ingest

from vntwin.errors import TooLarge, ValidationError
from vntwin.ingest import Limits, read_layers

BROKEN = {
    "all_broken.geojson": (ValidationError, r"all_broken.geojson, layer 'all_broken'.*"
                           r"every row is broken"),
    "no_location.csv": (ValidationError, r"no latitude/longitude columns and no "
                        r"administrative-unit column"),
    "no_crs.zip": (ValidationError, r"no_crs.zip, layer 'no_crs.shp': no CRS and coordinates "
                   r"are not longitude/latitude; pass --crs, e.g. EPSG:3405"),
    "unknown_crs.zip": (ValidationError, r"the .prj file is not a coordinate reference"),
    "wrong_cpg.zip": (ValidationError, r"wrong_cpg.zip, layer 'wrong_cpg.shp', row 1: field "
                      r"'ten_xa': bytes that are not valid utf-8"),
    "truncated.zip": (ValidationError, r"truncated.zip: the zip archive is damaged or "
                      r"truncated"),
    "empty.csv": (ValidationError, r"empty.csv: the file is empty"),
    "empty.geojson": (ValidationError, r"empty.geojson, layer 'empty': the layer has no rows"),
    "evil_path.zip": (ValidationError, r"'../evil.shp'.*climbs out with '..'"),
    "symlink.zip": (ValidationError, r"symbolic link"),
    "zip_bomb.zip": (TooLarge, r"compression ratio 1,0\d\d:1 is over the limit"),
    "evil_vrt.tif": (ValidationError, r"the file is a GDAL VRT"),
    "evil_ogr_vrt.geojson": (ValidationError, r"the file is a GDAL VRT"),
    "evil_virtual_table.gpkg": (ValidationError, r"virtual table 'passwd'"),
    "geojson_named.csv": (ValidationError, r"the name says CSV \(.csv\) but the content is "
                          r"GeoJSON"),
    "places_hanoi_vn2000_xy.csv": (ValidationError, r"pass --crs"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_fixture_fails_and_stores_nothing(name: str, out: Path):
    error, pattern = BROKEN[name]
    with pytest.raises(error, match=pattern) as caught:
        ingest(FIXTURES / name, out)
    if isinstance(caught.value, ValidationError):
        assert list(caught.value.errors) == ["file"]
        assert all(m.startswith(name) for m in caught.value.errors["file"])
    assert list(out.iterdir()) == []


def test_broken_geometry_repaired_and_rejected_rows_reported(out: Path):
    [(layer, path)] = ingest(FIXTURES / "broken_geometry.geojson", out)
    assert list(layer.frame["note"]) == ["ok", "bowtie"]
    assert layer.frame.geometry.iloc[1].geom_type == "MultiPolygon"
    assert layer.frame.geometry.is_valid.all()
    report = "\n".join(layer.report)
    assert "row 2: invalid geometry repaired with make_valid (Self-intersection" in report
    assert "row 3: invalid geometry that could not be repaired" in report
    assert path.exists()


def test_wrong_declared_encoding_for_csv(out: Path):
    with pytest.raises(ValidationError, match=r"line 2: bytes that are not valid utf-8"):
        ingest(FIXTURES / "communes_hue_cp1258.csv", out, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"declared as cp1258 but the text is UTF-8"):
        ingest(FIXTURES / "provinces_geonames.csv", out, encoding="windows-1258")
    assert list(out.iterdir()) == []


def test_right_declared_encoding_is_used(out: Path):
    layer = read_layers(FIXTURES / "communes_danang_tcvn3.csv", encoding="ABC")[0]
    assert layer.encoding == "tcvn3" and any("as declared" in r for r in layer.report)
    with pytest.raises(ValidationError, match=r"unknown text encoding 'klingon'") as caught:
        read_layers(FIXTURES / "communes_danang_tcvn3.csv", encoding="klingon")
    assert list(caught.value.errors) == ["encoding"]


@pytest.mark.parametrize("path", ["/vsicurl/http://example.com/a.geojson",
                                  "/vsistdin/", "/vsizip//tmp/a.zip/a.shp",
                                  "https://example.com/a.geojson"])
def test_gdal_virtual_paths_and_urls_refused(path: str):
    with pytest.raises(ValidationError, match="virtual paths and URLs are not accepted"):
        read_layers(Path(path))


@pytest.mark.parametrize("entry", ["/etc/evil.shp", "C:\\evil.shp", "a\\..\\..\\evil.dbf",
                                   "a/../../evil.dbf", "/vsicurl/http://x/evil.shp"])
def test_zip_entries_with_absolute_or_climbing_paths_refused(entry: str, tmp_path: Path,
                                                             out: Path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.prj", b"")
        archive.writestr(zipfile.ZipInfo(entry), b"\x00\x00\x27\x0a")
    with pytest.raises(ValidationError, match=r"absolute or climbs out|virtual paths"):
        ingest(path, out)
    assert list(out.iterdir()) == []
    assert not (tmp_path / "evil.dbf").exists()


def test_directory_named_like_a_virtual_prefix_is_fine(tmp_path: Path):
    folder = tmp_path / "vsidata"
    folder.mkdir()
    path = folder / "places.geojson"
    shutil.copyfile(FIXTURES / "places_vn.geojson", path)
    assert read_layers(path)[0].kind == "point"


def test_virtual_filename_refused(tmp_path: Path):
    upload = tmp_path / "upload"
    shutil.copyfile(FIXTURES / "places_vn.geojson", upload)
    with pytest.raises(ValidationError, match="virtual paths, URLs"):
        read_layers(upload, filename="/vsicurl/http://example.com/x.geojson")
    with pytest.raises(ValidationError, match="virtual paths, URLs"):
        read_layers(upload, filename="GPKG:x.gpkg")


def test_bare_shapefile_refused():
    with pytest.raises(ValidationError, match=r"upload a Shapefile as one .zip"):
        read_layers(FIXTURES / "places_vn.geojson", filename="places.shp")


def test_geopackage_with_a_view_refused(tmp_path: Path, out: Path):
    path = tmp_path / "view.gpkg"
    shutil.copyfile(FIXTURES / "hanoi_communes.gpkg", path)
    with sqlite3.connect(path) as con:
        con.execute("CREATE VIEW v AS SELECT * FROM communes")
    with pytest.raises(ValidationError, match=r"SQL view 'v'"):
        ingest(path, out)
    assert list(out.iterdir()) == []


def test_geopackage_with_external_reference_refused(tmp_path: Path):
    path = tmp_path / "trigger.gpkg"
    shutil.copyfile(FIXTURES / "hanoi_communes.gpkg", path)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TRIGGER t AFTER INSERT ON communes BEGIN "
                    "SELECT load_extension('/tmp/evil.so'); END")
    with pytest.raises(ValidationError, match=r"refers to other databases, files"):
        read_layers(path)


def test_sqlite_that_is_not_a_geopackage_refused(tmp_path: Path):
    path = tmp_path / "plain.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(ValidationError, match="not a GeoPackage"):
        read_layers(path)


def test_geotiff_with_a_wrong_crs_leaves_no_temporary_raster(out: Path):
    with pytest.raises(ValidationError, match="outside longitude/latitude ranges"):
        ingest(FIXTURES / "places_red_river_delta_vn2000.tif", out, crs="EPSG:4326")
    assert list(out.iterdir()) == []


def test_limits(tmp_path: Path, out: Path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(5):
            archive.writestr(f"f{i}.txt", b"x")
    with pytest.raises(TooLarge, match="5 entries; the limit is 4"):
        ingest(many, out, limits=Limits(max_zip_entries=4))
    with pytest.raises(TooLarge, match="expands to"):
        ingest(FIXTURES / "communes_caobang_vn2000_utm48.zip", out,
               limits=Limits(max_expanded_bytes=1000))
    with pytest.raises(TooLarge, match="the limit is 1,000"):
        ingest(FIXTURES / "places_vn.parquet", out, limits=Limits(max_file_bytes=1000))
    with pytest.raises(TooLarge, match="201 features; the limit is 100"):
        ingest(FIXTURES / "places_vn.geojson", out, limits=Limits(max_features=100))
    with pytest.raises(TooLarge, match="more than 100 rows"):
        ingest(FIXTURES / "communes_hanoi_utf8.csv", out, limits=Limits(max_features=100))
    with pytest.raises(TooLarge, match="pixels; the limit is 100"):
        ingest(FIXTURES / "places_red_river_delta_vn2000.tif", out,
               limits=Limits(max_raster_pixels=100))
    assert list(out.iterdir()) == []


def test_zip_without_shapefile(tmp_path: Path):
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", b"hello")
    with pytest.raises(ValidationError, match=r"holds no Shapefile"):
        read_layers(path)


def test_unknown_binary_refused(tmp_path: Path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01\x02\x03" * 100)
    with pytest.raises(ValidationError, match="not a format vntwin reads"):
        read_layers(path)


def test_gdal_sandbox_is_applied_then_restored(monkeypatch: pytest.MonkeyPatch):
    import pyogrio

    from vntwin.ingest import safety

    seen: dict[str, str | None] = {}
    original = safety.stage

    def spy(path: Path, directory: Path, name: str) -> Path:
        seen["readdir"] = pyogrio.get_gdal_config_option("GDAL_DISABLE_READDIR_ON_OPEN")
        seen["vsistdin"] = pyogrio.get_gdal_config_option("CPL_ALLOW_VSISTDIN")
        return original(path, directory, name)

    monkeypatch.setattr("vntwin.ingest.read.stage", spy)
    before = pyogrio.get_gdal_config_option("GDAL_DISABLE_READDIR_ON_OPEN")
    read_layers(FIXTURES / "places_vn.geojson")
    assert seen == {"readdir": "EMPTY_DIR", "vsistdin": "NO"}
    assert pyogrio.get_gdal_config_option("GDAL_DISABLE_READDIR_ON_OPEN") == before


def test_driver_outside_the_allow_list_refused():
    from vntwin.ingest.problems import Where
    from vntwin.ingest.safety import check_driver

    with pytest.raises(ValidationError, match="GDAL read the file as OGR_VRT, not GeoJSON"):
        check_driver("OGR_VRT", "GeoJSON", Where("x.geojson"))


def test_gdal_sandbox_holds_while_any_thread_is_inside():
    """Uploads are read in a thread pool: A leaving must not open B's sandbox, and the
    options must be restored once both left (not left on for the whole process).
    """
    import threading

    import pyogrio

    from vntwin.ingest.safety import gdal_sandbox

    key = "GDAL_DISABLE_READDIR_ON_OPEN"
    before = pyogrio.get_gdal_config_option(key)
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, str | None] = {}

    def reader_a() -> None:
        with gdal_sandbox():
            a_inside.set()
            b_inside.wait(5)
        a_left.set()

    def reader_b() -> None:
        a_inside.wait(5)
        with gdal_sandbox():
            b_inside.set()
            a_left.wait(5)
            seen["b after a left"] = pyogrio.get_gdal_config_option(key)

    threads = [threading.Thread(target=reader_a), threading.Thread(target=reader_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"b after a left": "EMPTY_DIR"}
    assert pyogrio.get_gdal_config_option(key) == before


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    """One random damage: flipped bytes, a truncation, or a run of random bytes."""
    damaged = bytearray(data)
    how = rng.randrange(3)
    if how == 0:
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] ^= rng.randrange(1, 256)
    elif how == 1:
        del damaged[rng.randrange(4, len(damaged)):]
    else:
        start, length = rng.randrange(len(damaged)), rng.randint(1, 64)
        damaged[start:start + length] = rng.randbytes(length)
    return bytes(damaged)


def test_damaged_zip_names_the_entry(tmp_path: Path):
    """A flipped byte in the deflated .shp made zlib raise its own error (an HTTP 500)."""
    source = FIXTURES / "communes_caobang_vn2000_utm48.zip"
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(".shp"))
    local_extra = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + len(info.filename.encode()) + local_extra
    data[start + 5] ^= 0x5A
    path = tmp_path / "xa.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ValidationError, match=r"^file: xa.zip, layer "
                       r"'communes_caobang_vn2000_utm48.shp': the zip entry is damaged"):
        read_layers(path)


def test_randomly_damaged_zips_fail_with_a_validation_error_naming_the_file(tmp_path: Path):
    """Whatever the damage, the uploader gets vntwin's error about their file (or, when
    the damage missed everything that matters, the layer), never a library's exception.
    """
    data = (FIXTURES / "communes_caobang_vn2000_utm48.zip").read_bytes()
    rng = random.Random(20261125)
    path = tmp_path / "xa.zip"
    outcomes: set[str] = set()
    for _ in range(200):
        path.write_bytes(_corrupt(data, rng))
        try:
            read_layers(path)
            outcomes.add("read")
        except (ValidationError, TooLarge) as error:
            assert str(error).startswith(("xa.zip", "file: xa.zip")), str(error)
            outcomes.add(type(error).__name__)
    assert "ValidationError" in outcomes


def test_crs_proj_cannot_transform_is_a_validation_error(tmp_path: Path):
    """An engineering (local) CRS has no way to WGS 84: PROJ's error became an HTTP 500."""
    import geopandas as gpd
    import shapely
    from pyproj import CRS

    local = CRS.from_wkt('ENGCRS["local",EDATUM["site"],CS[Cartesian,2],AXIS["x",east,'
                         'LENGTHUNIT["metre",1]],AXIS["y",north,LENGTHUNIT["metre",1]]]')
    path = tmp_path / "site.parquet"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(1, 2)], crs=local).to_parquet(path)
    with pytest.raises(ValidationError, match=r"site.parquet, layer 'site': cannot "
                       r"reproject from local to EPSG:4326"):
        read_layers(path)
