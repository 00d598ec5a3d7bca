"""A CRS that names a file (a grid, an init file) is refused before PROJ or GDAL opens it.

Each hostile CRS points at a FIFO outside the upload (``opened_files``): the test fails if
anything opens it, which PROJ does for grids as soon as a transformation is built and for
init files as soon as the text is parsed, and GDAL does while merely listing a GeoPackage's
or a GeoJSON's layers. VN-2000's seven-parameter shift names no file and still works.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from ingest_helpers import opened_files
from pyproj import CRS

from vntwin.errors import ValidationError
from vntwin.ingest import read_layers
from vntwin.ingest.crs import named_file, parse_crs, parse_prj
from vntwin.ingest.problems import Where

GEOG = ('GEOGCRS["x",DATUM["d",ELLIPSOID["WGS 84",6378137,298.257223563]],CS[ellipsoidal,2],'
        'AXIS["lat",north,ANGLEUNIT["degree",0.0174532925199433]],AXIS["lon",east,'
        'ANGLEUNIT["degree",0.0174532925199433]]]')
WGS84_WKT2 = CRS.from_epsg(4326).to_wkt()
REFUSED = "CRSs that name grid, init or other files are not accepted"


def bound_wkt(grid: Path) -> str:
    """A WKT 2 BOUNDCRS whose shift to WGS 84 is an NTv2 grid at ``grid``."""
    return (f'BOUNDCRS[SOURCECRS[{GEOG}],TARGETCRS[{WGS84_WKT2}],ABRIDGEDTRANSFORMATION['
            f'"t",METHOD["NTv2",ID["EPSG",9615]],PARAMETERFILE["Latitude and longitude '
            f'difference file","{grid}"]]]')


def points(crs: CRS | str | None = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"ten": ["Hà Nội"]}, geometry=[shapely.Point(105.85, 21.03)],
                            crs=crs)


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    """Where the hostile CRSs' grid lives: outside the upload's directory."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside / "grid.gsb"


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    return folder


def test_zipped_shapefile_whose_prj_names_a_grid(grid: Path, upload: Path):
    points().to_file(upload / "diem.shp")
    (upload / "diem.prj").write_text(bound_wkt(grid))
    path = upload / "diem.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for suffix in ("shp", "shx", "dbf", "prj"):
            archive.write(upload / f"diem.{suffix}", f"diem.{suffix}")
    with opened_files(grid) as opens, pytest.raises(ValidationError) as caught:
        read_layers(path)
    assert opens == []
    [message] = caught.value.errors["file"]
    assert message.startswith("diem.zip, layer 'diem.shp': the .prj file refers to a file "
                              "(PARAMETERFILE)")
    assert REFUSED in message


def test_geopackage_whose_srs_table_names_a_grid(grid: Path, upload: Path):
    path = upload / "diem.gpkg"
    points().to_file(path, driver="GPKG")
    hostile = ('GEOGCS["x",DATUM["d",SPHEROID["WGS 84",6378137,298.257223563],'
               f'EXTENSION["PROJ4_GRIDS","{grid}"]],PRIMEM["Greenwich",0],'
               'UNIT["degree",0.0174532925199433]]')
    with sqlite3.connect(path) as con:
        con.execute("UPDATE gpkg_spatial_ref_sys SET definition = ? WHERE srs_id = 4326",
                    (hostile,))
    con.close()
    with opened_files(grid) as opens, pytest.raises(ValidationError,
                                                    match=r"^file: diem.gpkg: a CRS in "
                                                          r"gpkg_spatial_ref_sys refers to "
                                                          r"a file \(PROJ4_GRIDS\)"):
        read_layers(path)
    assert opens == []


def test_geoparquet_whose_crs_names_a_grid(grid: Path, upload: Path):
    path = upload / "diem.parquet"
    points(CRS.from_wkt(bound_wkt(grid))).to_parquet(path)
    with opened_files(grid) as opens, pytest.raises(ValidationError, match=(
            rf"diem.parquet, layer 'diem': the file's CRS refers to a file \({grid}\)")):
        read_layers(path)
    assert opens == []


@pytest.mark.parametrize("crs_member", [
    '{"type": "name", "properties": {"name": "+proj=longlat +ellps=WGS84 '
    '+nadgrids=GRID +type=crs"}}',
    '{"type": "name", "properties": {"name": "+init=GRID:x"}}',
    '{"type": "name", "properties": {"name": BOUND}}',
    '{"type": "name", "properties": {"name": "EPSG:4326", "name": BOUND}}',  # duplicate key
], ids=["nadgrids", "init", "boundcrs", "duplicate-key"])
@pytest.mark.parametrize("key", ['"crs"', '"CRS"', '"\\u0063rs"'])
def test_geojson_crs_member_naming_a_file(crs_member: str, key: str, grid: Path,
                                          upload: Path):
    member = (crs_member.replace("GRID", str(grid))
              .replace("BOUND", json.dumps(bound_wkt(grid))))
    path = upload / "diem.geojson"
    feature = ('{"type": "Feature", "properties": {"ten": "crs"}, "geometry": '
               '{"type": "Point", "coordinates": [105.85, 21.03]}}')
    path.write_text(f'{{"type": "FeatureCollection", "features": [{feature}],\n'
                    f'  {key} :\n {member}}}')
    with opened_files(grid) as opens, pytest.raises(ValidationError, match=(
            r"diem.geojson, layer 'diem': a \"crs\" member refers to a file")):
        read_layers(path)
    assert opens == []


def test_geojson_crs_member_in_a_geometry_and_links_refused(upload: Path):
    path = upload / "diem.geojson"
    geometry = {"type": "Point", "coordinates": [105.85, 21.03],
                "crs": {"type": "link", "properties": {"href": "http://example.com/crs",
                                                       "type": "proj4"}}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": geometry}]}))
    with pytest.raises(ValidationError, match=r"a \"crs\" member links to a CRS elsewhere"):
        read_layers(path)


@pytest.mark.parametrize("text", [
    "+proj=longlat +ellps=WGS84 +nadgrids=GRID +type=crs",
    "+proj=longlat +ellps=WGS84 +geoidgrids=GRID +type=crs",
    "+init=GRID:x",
    "init=GRID:x",
    "BOUND",
    "PROJJSON",
])
def test_crs_argument_naming_a_file(text: str, grid: Path, upload: Path):
    bound = bound_wkt(grid)
    text = (text.replace("GRID", str(grid)).replace("BOUND", bound)
            .replace("PROJJSON", CRS.from_wkt(bound).to_json()))
    path = upload / "diem.csv"
    path.write_text("ten,lat,lon\nHà Nội,21.03,105.85\n")
    with opened_files(grid) as opens, pytest.raises(ValidationError) as caught:
        read_layers(path, crs=text)
    assert opens == []
    assert list(caught.value.errors) == ["crs"]
    assert REFUSED in caught.value.errors["crs"][0]


VN2000_TOWGS84 = (  # MapInfo writes VN-2000 like this: a TOWGS84 clause, no EPSG code
    'PROJCS["VN-2000 / TM3 105",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",'
    '6378137,298.257223563],TOWGS84[-191.90441429,-39.30318279,-111.45032835,-0.00928836,'
    '0.01975479,-0.00427372,0.252906278]],PRIMEM["Greenwich",0],UNIT["degree",'
    '0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",'
    '0],PARAMETER["central_meridian",105],PARAMETER["scale_factor",0.9999],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]')


@pytest.mark.parametrize("text", [
    VN2000_TOWGS84,
    "+proj=utm +zone=48 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,"
    "0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs +type=crs",
    CRS.from_epsg(3857).to_wkt("WKT1_GDAL"),  # EXTENSION["PROJ4", "... +nadgrids=@null"]
    "EPSG:3405",
])
def test_crss_without_files_are_kept(text: str):
    """A TOWGS84 (Helmert) shift and PROJ's built-in @null grid name no file."""
    assert named_file(text) is None
    assert parse_crs(text) == CRS.from_user_input(text)
    if text.startswith(("PROJCS", "GEOGCS")):
        assert parse_prj(text, Where("x.zip")) == CRS.from_wkt(text)


def test_vn2000_towgs84_prj_still_gets_the_datum_shift(upload: Path):
    x, y = 587000.0, 2325000.0  # Hà Nội in VN-2000 / TM-3 105°
    path = upload / "diem.csv"
    path.write_text(f"ten,x,y\nHà Nội,{x},{y}\n")
    [layer] = read_layers(path, crs=VN2000_TOWGS84)
    assert not any("WITHOUT a datum shift" in line for line in layer.report)
    point = layer.frame.geometry.iloc[0]
    assert abs(point.x - 105.838818) < 1e-5 and abs(point.y - 21.016425) < 1e-5
