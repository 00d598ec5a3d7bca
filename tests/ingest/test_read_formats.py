"""Every good fixture reads with the right layers, kinds, CRS, rows, encoding and NFC text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import rasterio
from ingest_helpers import FIXTURES, ingest
from rasterio.warp import transform_bounds

from vntwin.ingest import read_layers
from vntwin.twin.fuse.raster import fuse_raster

# file -> (layers as (name, kind, rows), source CRS, encoding)
GOOD = {
    "communes_hanoi_utf8.csv": ([("communes_hanoi_utf8", "point", 126)], "EPSG:4326",
                                "utf-8-sig"),
    "communes_hue_cp1258.csv": ([("communes_hue_cp1258", "point", 40)], "EPSG:4326", "cp1258"),
    "communes_danang_tcvn3.csv": ([("communes_danang_tcvn3", "point", 94)], "EPSG:4326",
                                  "tcvn3"),
    "communes_cantho_utf16.csv": ([("communes_cantho_utf16", "point", 103)], "EPSG:4326",
                                  "utf-16"),
    "provinces_geonames.csv": ([("provinces_geonames", "table", 34)], None, "utf-8"),
    "places_vn.geojson": ([("places_vn", "point", 201)], "EPSG:4326", None),
    "segments_hanoi_to_provinces.geojson": ([("segments_hanoi_to_provinces", "line", 33)],
                                            "EPSG:4326", None),
    "hanoi_communes.gpkg": ([("communes", "point", 126), ("commune_discs", "polygon", 126)],
                            "EPSG:4326", None),
    "communes_caobang_vn2000_utm48.zip": ([("communes_caobang_vn2000_utm48", "polygon", 56)],
                                          "EPSG:3405", "utf-8"),
    "communes_hanoi_tm3_tcvn3.zip": ([("communes_hanoi_tm3_tcvn3", "point", 124)],
                                     "VN_2000_Ha_Noi_TM3_105", "tcvn3"),
    "places_vn.parquet": ([("places_vn", "point", 893)], "EPSG:4326", None),
}
VIETNAM = (102.0, 6.0, 118.0, 23.5)  # with Hoàng Sa and Trường Sa


def _texts(frame: pd.DataFrame) -> list[str]:
    values = [str(c) for c in frame.columns]
    for name in frame.columns:
        values += [v for v in frame[name] if isinstance(v, str)]
    return values


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_fixture_reads(name: str, out: Path):
    expected, crs, encoding = GOOD[name]
    written = ingest(FIXTURES / name, out)
    assert [(layer.name, layer.kind, len(layer.frame)) for layer, _ in written] == expected
    for layer, path in written:
        assert layer.source_crs == crs
        assert layer.encoding == encoding
        texts = _texts(layer.frame)
        assert texts and all(unicodedata.is_normalized("NFC", t) for t in texts)
        assert [c["name"] for c in layer.schema] == [str(c) for c in layer.frame.columns]
        if layer.kind == "table":
            stored = pd.read_parquet(path)
            assert layer.place_column == "ma_tinh"
            assert list(stored["ma_tinh"][:2]) == ["01", "04"]  # codes keep their zeros
            continue
        stored = gpd.read_parquet(path)
        assert stored.crs.to_epsg() == 4326
        assert len(stored) == len(layer.frame)
        minx, miny, maxx, maxy = stored.total_bounds
        assert VIETNAM[0] < minx <= maxx < VIETNAM[2] and VIETNAM[1] < miny <= maxy < VIETNAM[3]
        assert stored.geometry.is_valid.all()


def test_vietnamese_names_survive_every_encoding():
    names = {
        "communes_hanoi_utf8.csv": ("Tên xã", "Phường Ba Đình"),
        "communes_hue_cp1258.csv": ("ten_xa", "Phường Phú Xuân"),
        "communes_danang_tcvn3.csv": ("Tên xã", "Phường Hải Vân"),
        "communes_cantho_utf16.csv": ("ten_xa", "Phường Cái Khế"),
        "communes_hanoi_tm3_tcvn3.zip": ("ten_xa", "Phường Ba Đình"),
        "communes_caobang_vn2000_utm48.zip": ("ten_xa", "Phường Thục Phán"),
    }
    for file, (column, first) in names.items():
        layer = read_layers(FIXTURES / file)[0]
        assert layer.frame[column].iloc[0] == first, file


def test_schema_types_from_csv():
    layer = read_layers(FIXTURES / "communes_hue_cp1258.csv")[0]
    types = {c["name"]: c["type"] for c in layer.schema}
    assert types == {"ma_xa": "string", "ten_xa": "string", "loai": "string",
                     "ma_tinh": "string", "ten_tinh": "string", "lat": "number",
                     "lon": "number", "dt_km2": "number", "geometry": "geometry"}
    assert layer.frame["dt_km2"].iloc[0] == pytest.approx(10.38)  # decimal comma read


def test_raster_kept_in_its_crs_with_band_names_and_totals(out: Path):
    """A VN-2000 raster is stored as it is, in its CRS: resampling it to EPSG:4326 changed
    its totals (+2.9 % population by nearest neighbour); the fusion reads it in its CRS."""
    [(layer, path)] = ingest(FIXTURES / "places_red_river_delta_vn2000.tif", out)
    assert layer.kind == "raster" and layer.source_crs == "EPSG:3405"
    assert [c["name"] for c in layer.schema] == ["so_dia_danh", "dan_so_geonames"]
    assert any("totals are conserved" in line for line in layer.report)
    assert path.name == "places_red_river_delta_vn2000-v1.tif"
    assert sorted(p.name for p in out.iterdir()) == [path.name]  # the temp file was moved
    with rasterio.open(FIXTURES / "places_red_river_delta_vn2000.tif") as src, \
            rasterio.open(path) as dst:
        assert dst.crs.to_epsg() == 3405 and dst.transform == src.transform
        assert dst.descriptions == ("so_dia_danh", "dan_so_geonames")
        assert (dst.read() == src.read()).all()  # every pixel as it was: totals exact
        left, bottom, right, top = transform_bounds(dst.crs, "EPSG:4326", *dst.bounds)
        assert 105.2 < left < 105.4 and 106.8 < right < 107.0
        assert 20.1 < bottom < 20.3 and 21.5 < top < 21.7
        people = float(src.read(2).sum())
    fused = fuse_raster(path, 8, stats=("sum",))
    total = fused.loc[fused["variable"] == "dan_so_geonames_sum", "value"].sum()
    assert total == pytest.approx(people, rel=1e-9)  # the fusion conserves it too


def test_crs_argument_reads_projected_csv():
    with pytest.raises(Exception, match="pass --crs"):
        read_layers(FIXTURES / "places_hanoi_vn2000_xy.csv")
    layer = read_layers(FIXTURES / "places_hanoi_vn2000_xy.csv", crs="EPSG:3405")[0]
    assert layer.kind == "point" and len(layer.frame) == 71
    swapped = read_layers(FIXTURES / "places_hanoi_vn2000_surveyors_xy.csv", crs="EPSG:3405")[0]
    assert any("northing/easting" in line for line in swapped.report)
    distance = layer.frame.to_crs(3405).distance(swapped.frame.to_crs(3405))
    assert distance.max() < 0.01


def test_filename_argument_names_the_layer_and_checks_the_suffix(tmp_path: Path):
    upload = tmp_path / "upload-3f2a"
    upload.write_bytes((FIXTURES / "places_vn.geojson").read_bytes())
    [layer] = read_layers(upload, filename="Địa danh.geojson")
    assert layer.name == "Địa danh"
    with pytest.raises(Exception, match=r"the name says GeoParquet"):
        read_layers(upload, filename="places.parquet")


def test_gpkg_attribute_table_with_place_column(tmp_path: Path):
    path = tmp_path / "mixed.gpkg"
    points = gpd.read_file(FIXTURES / "hanoi_communes.gpkg", layer="communes")
    points.to_file(path, layer="communes", driver="GPKG")
    table = pd.read_csv(FIXTURES / "provinces_geonames.csv", dtype={"ma_tinh": str})
    gpd.pd.DataFrame(table).pipe(
        lambda t: gpd.GeoDataFrame(t, geometry=[None] * len(t))
    ).drop(columns="geometry").pipe(_write_attribute_table, path)
    layers = {layer.name: layer for layer in read_layers(path)}
    assert layers["communes"].kind == "point"
    assert layers["provinces"].kind == "table"
    assert layers["provinces"].place_column == "ma_tinh"


def _write_attribute_table(frame: pd.DataFrame, path: Path) -> None:
    import pyogrio

    pyogrio.write_dataframe(frame, path, layer="provinces", driver="GPKG", append=False)
