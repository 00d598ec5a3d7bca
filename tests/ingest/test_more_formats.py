"""Format details: GeoPackage dates and empty layers, plain Parquet, legacy GeoJSON crs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from ingest_helpers import FIXTURES
from pyproj import Transformer

from vntwin.errors import ValidationError
from vntwin.ingest import read_layers


def test_geopackage_times_and_empty_layers(tmp_path: Path):
    path = tmp_path / "lich.gpkg"
    frame = gpd.GeoDataFrame(
        {"ten": ["Hà Nội"], "luc": [pd.Timestamp("2025-07-01 08:00:00")]},
        geometry=[shapely.Point(105.8542, 21.0285)], crs=4326)
    pyogrio.write_dataframe(frame, path, layer="su_kien", driver="GPKG")
    pyogrio.write_dataframe(frame.iloc[:0], path, layer="trong", driver="GPKG", append=True)
    [layer] = read_layers(path)
    assert {c["name"]: c["type"] for c in layer.schema}["luc"] == "datetime"
    assert str(layer.frame["luc"].iloc[0]) == "2025-07-01 01:00:00+00:00"  # Vietnam -> UTC
    assert "empty layer 'trong' in the file was skipped" in layer.report


def test_geojson_date_field(tmp_path: Path):
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ngay": "2025-07-01"},
         "geometry": {"type": "Point", "coordinates": [105.8542, 21.0285]}}]}
    path = tmp_path / "ngay.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    [layer] = read_layers(path)
    assert {c["name"]: c["type"] for c in layer.schema}["ngay"] == "date"
    assert layer.frame["ngay"].iloc[0] == dt.date(2025, 7, 1)


def test_plain_parquet_with_lat_lon_columns(tmp_path: Path):
    path = tmp_path / "diem.parquet"
    frame = gpd.read_parquet(FIXTURES / "places_vn.parquet")
    pd.DataFrame({"name": frame["name"], "vi_do": frame.geometry.y,
                  "kinh_do": frame.geometry.x}).to_parquet(path)
    [layer] = read_layers(path)
    assert layer.kind == "point" and len(layer.frame) == 893


def test_geojson_with_a_legacy_crs_member(tmp_path: Path):
    x, y = Transformer.from_crs(4326, 3405, always_xy=True).transform(105.8542, 21.0285)
    data = {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3405"}},
            "features": [{"type": "Feature", "properties": {"ten": "Hồ Hoàn Kiếm"},
                          "geometry": {"type": "Point", "coordinates": [x, y]}}]}
    path = tmp_path / "vn2000.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    [layer] = read_layers(path)
    assert layer.source_crs == "EPSG:3405"
    point = layer.frame.geometry.iloc[0]
    assert abs(point.x - 105.8542) < 1e-5 and abs(point.y - 21.0285) < 1e-5


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_geojson(codec: str, tmp_path: Path):
    """Windows "Unicode" exports: with a byte-order mark ("utf-16") or without. GDAL reads
    UTF-8 only; the sniffing called such a file CSV and refused it for its name.
    """
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ten": "Phường Ba Đình", "dan_so": 1000},
         "geometry": {"type": "Point", "coordinates": [105.83, 21.03]}}]}
    path = tmp_path / "phuong.geojson"
    path.write_bytes(json.dumps(data, ensure_ascii=False).encode(codec))
    [layer] = read_layers(path)
    assert list(layer.frame["ten"]) == ["Phường Ba Đình"]
    assert list(layer.frame["dan_so"]) == [1000]
    assert f"text encoding {codec} (detected)" in layer.report


def test_utf16_geojson_crs_member_is_checked(tmp_path: Path):
    data = {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "+init=/etc/passwd:x"}},
            "features": [{"type": "Feature", "properties": {},
                          "geometry": {"type": "Point", "coordinates": [105.83, 21.03]}}]}
    path = tmp_path / "phuong.geojson"
    path.write_bytes(json.dumps(data).encode("utf-16"))
    with pytest.raises(ValidationError, match=r"a \"crs\" member refers to a file"):
        read_layers(path)


def test_utf16_geojson_with_a_broken_byte(tmp_path: Path):
    path = tmp_path / "phuong.geojson"
    path.write_bytes('{"type": "FeatureCollection", "features": []}'.encode("utf-16")
                     + b"\x00\xdc")  # a lone low surrogate after BOM + 45 characters
    with pytest.raises(ValidationError, match=r"phuong.geojson, layer 'phuong': byte 92: "
                       r"not valid utf-16 text"):
        read_layers(path)
