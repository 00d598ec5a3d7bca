"""VN-2000 reprojects correctly: a known point, a TM-3 .prj, and the inexact case reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import FIXTURES
from pyproj import CRS, Geod, Transformer

from vntwin.errors import ValidationError
from vntwin.ingest import read_layers
from vntwin.ingest.crs import transformation_note

HANOI = (105.8542, 21.0285)  # Hồ Hoàn Kiếm, lon/lat WGS 84
# VN-2000 / UTM 48N written out with the official VN-2000 -> WGS 84 seven parameters
# (Quyết định 05/2007/QĐ-BTNMT; rotations in PROJ's position-vector convention), so the
# check does not only compare PROJ's EPSG:3405 with itself.
VN2000_UTM48_TOWGS84 = (
    "+proj=utm +zone=48 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,"
    "0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs"
)
GEOD = Geod(ellps="WGS84")


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return abs(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_hanoi_round_trips_through_epsg_3405_within_a_metre(tmp_path: Path):
    x, y = Transformer.from_crs(4326, 3405, always_xy=True).transform(*HANOI)
    explicit = Transformer.from_crs(CRS(4326), CRS(VN2000_UTM48_TOWGS84), always_xy=True)
    ex, ey = explicit.transform(*HANOI)
    assert abs(x - ex) < 1 and abs(y - ey) < 1
    wx, _ = Transformer.from_crs(4326, 32648, always_xy=True).transform(*HANOI)
    assert abs(x - wx) > 100  # the datum shift was applied (≈ 196 m east here)
    path = tmp_path / "diem.csv"
    path.write_text(f"ten,x,y\nHồ Hoàn Kiếm,{x:.3f},{y:.3f}\n", encoding="utf-8")
    [layer] = read_layers(path, crs="EPSG:3405")
    point = layer.frame.geometry.iloc[0]
    assert _metres((point.x, point.y), HANOI) < 1.0
    assert layer.source_crs == "EPSG:3405"


def test_epsg_3406_zone_49(tmp_path: Path):
    hue = (107.5847, 16.4637)
    x, y = Transformer.from_crs(4326, 3406, always_xy=True).transform(*hue)
    path = tmp_path / "hue.csv"
    path.write_text(f"ten,x,y\nHuế,{x:.3f},{y:.3f}\n", encoding="utf-8")
    point = read_layers(path, crs="EPSG:3406")[0].frame.geometry.iloc[0]
    assert _metres((point.x, point.y), hue) < 1.0


def test_tm3_prj_without_epsg_code_reprojects_with_the_datum_shift():
    layer = read_layers(FIXTURES / "communes_hanoi_tm3_tcvn3.zip")[0]
    assert layer.source_crs == "VN_2000_Ha_Noi_TM3_105"
    assert not any("WITHOUT a datum shift" in line for line in layer.report)
    ba_dinh = layer.frame[layer.frame["ma_xa"] == "00004"].geometry.iloc[0]
    assert _metres((ba_dinh.x, ba_dinh.y), (105.838, 21.0386)) < 1.0  # vietnamadminunits


def test_unknown_datum_is_reported_as_inexact():
    wkt = ('PROJCS["TM3",GEOGCS["GCS_X",DATUM["D_Unknown",SPHEROID["WGS_1984",6378137.0,'
           '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
           'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],'
           'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],'
           'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],'
           'UNIT["Meter",1.0]]')
    assert "WITHOUT a datum shift" in transformation_note(CRS.from_wkt(wkt))
    assert "WITHOUT" not in transformation_note(CRS.from_epsg(5897))


def test_crs_argument_overrides_the_file_and_is_reported():
    layer = read_layers(FIXTURES / "communes_caobang_vn2000_utm48.zip", crs="EPSG:3405")[0]
    assert layer.source_crs == "EPSG:3405"
    layer = read_layers(FIXTURES / "no_crs.zip", crs="EPSG:3405")[0]
    assert layer.kind == "point" and len(layer.frame) == 38
    assert layer.frame.total_bounds[0] > 102.0


def test_bad_crs_argument():
    with pytest.raises(ValidationError, match="not a coordinate reference system") as caught:
        read_layers(FIXTURES / "no_crs.zip", crs="EPSG:999999")
    assert list(caught.value.errors) == ["crs"]


def test_lon_lat_without_crs_is_assumed_and_reported(tmp_path: Path):
    path = tmp_path / "toado.csv"
    path.write_text("ten,x,y\nHồ Hoàn Kiếm,105.8542,21.0285\n", encoding="utf-8")
    layer = read_layers(path)[0]
    assert any("EPSG:4326 was assumed" in line for line in layer.report)
