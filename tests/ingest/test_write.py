"""Layer versions are written atomically, never replaced, and nothing stays on failure."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from ingest_helpers import FIXTURES

from vntwin.errors import ValidationError
from vntwin.ingest import read_layers, write_layer


def test_written_geoparquet_is_epsg_4326_with_covering_bbox(out: Path):
    layer = read_layers(FIXTURES / "communes_caobang_vn2000_utm48.zip")[0]
    path = write_layer(layer, out, "caobang-v1")
    assert path == out / "caobang-v1.parquet"
    stored = gpd.read_parquet(path)
    assert stored.crs.to_epsg() == 4326 and len(stored) == 56
    assert list(stored["ten_xa"]) == list(layer.frame["ten_xa"])
    import pyarrow.parquet as pq

    assert "bbox" in pq.read_schema(path).names
    assert [p.name for p in out.iterdir()] == ["caobang-v1.parquet"]


def test_versions_are_immutable(out: Path):
    layer = read_layers(FIXTURES / "places_vn.geojson")[0]
    path = write_layer(layer, out, "v1")
    before = path.read_bytes()
    other = read_layers(FIXTURES / "segments_hanoi_to_provinces.geojson")[0]
    with pytest.raises(ValidationError, match="already exists; layer versions are immutable"):
        write_layer(other, out, "v1")
    assert path.read_bytes() == before
    assert [p.name for p in out.iterdir()] == ["v1.parquet"]


def test_failed_write_leaves_nothing(out: Path, monkeypatch: pytest.MonkeyPatch):
    layer = read_layers(FIXTURES / "places_vn.geojson")[0]

    def broken(self, path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        write_layer(layer, out, "v1")
    assert list(out.iterdir()) == []


def test_table_written_as_parquet(out: Path):
    layer = read_layers(FIXTURES / "provinces_geonames.csv")[0]
    stored = pd.read_parquet(write_layer(layer, out, "v1"))
    assert len(stored) == 34 and stored["ma_tinh"].iloc[0] == "01"


@pytest.mark.parametrize("stem", ["../escape", "a/b", "", ".hidden", "x" * 300])
def test_stem_must_be_a_plain_name(out: Path, stem: str):
    layer = read_layers(FIXTURES / "places_vn.geojson")[0]
    with pytest.raises(ValidationError, match="not a plain file name"):
        write_layer(layer, out, stem)
    assert list(out.iterdir()) == []


def test_raster_from_another_directory_is_moved(tmp_path: Path, out: Path):
    staging = tmp_path / "staging"
    staging.mkdir()
    layer = read_layers(FIXTURES / "places_red_river_delta_vn2000.tif", workdir=staging)[0]
    assert layer.raster_path is not None and layer.raster_path.parent == staging
    path = write_layer(layer, out, "v1")
    assert path == out / "v1.tif" and path.stat().st_size > 0
    assert list(staging.iterdir()) == []
