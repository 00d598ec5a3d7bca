"""Point layers read for fusion as coordinates give what the geometries give."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from vntwin.twin.fuse import fuse_layer, fuse_points
from vntwin.twin.fuse.grid import HexGrid
from vntwin.twin.layer import Layer
from vntwin.twin.layers import read_point_coords


def _points(n: int = 2000) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    geoms = shapely.points(rng.uniform(105.8, 105.9, n), rng.uniform(21.0, 21.1, n))
    geoms[[5, 17]] = None  # missing points count nowhere
    return gpd.GeoDataFrame({"beds": rng.integers(0, 50, n).astype(float),
                             "kind": rng.choice(["a", "b", "c"], n)},
                            geometry=geoms, crs="EPSG:4326")


def test_coordinates_fuse_like_geometries(tmp_path):
    frame = _points()
    path = tmp_path / "p.parquet"
    frame.to_parquet(path, index=False, write_covering_bbox=True)
    layer = read_point_coords(path)
    assert layer is not None and layer.coords is not None
    assert list(layer.frame.columns) == ["beds", "kind"]
    lon, lat = layer.coords
    assert np.isnan(lon[[5, 17]]).all() and np.isnan(lat[[5, 17]]).all()
    assert np.array_equal(lon[:5], frame.geometry.x[:5])
    expected = fuse_points(gpd.read_parquet(path), 8, numeric=["beds"], categorical=["kind"])
    layer.name = "p"
    got = fuse_layer(layer, 8, categorical=["kind"])  # numeric columns found as for frames
    key = ["h3", "variable"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    grid = HexGrid.from_cells(np.sort(expected["h3"].unique())[:20])
    inside = fuse_layer(layer, 8, categorical=["kind"], grid=grid)
    assert set(inside["h3"]) <= set(grid.cells)
    reference = fuse_layer(Layer("p", "point", frame=gpd.read_parquet(path)), 8,
                           categorical=["kind"], grid=grid)
    pd.testing.assert_frame_equal(inside.sort_values(key).reset_index(drop=True),
                                  reference.sort_values(key).reset_index(drop=True))


@pytest.mark.parametrize("case", ["no covering", "multipoint", "other crs"])
def test_other_files_are_read_as_geometries(tmp_path, case):
    frame = _points(30).dropna()
    covering = case != "no covering"
    if case == "multipoint":
        frame = frame.set_geometry(shapely.multipoints([[p, p] for p in frame.geometry]))
    if case == "other crs":
        frame = frame.to_crs(3405)
    frame.to_parquet(tmp_path / "x.parquet", index=False, write_covering_bbox=covering)
    assert read_point_coords(tmp_path / "x.parquet") is None
