from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from fuse_reference import hexagons, intersect_lengths

from vntwin.twin.fuse import EQUAL_AREA_CRS, HexGrid, fuse_lines, fuse_points
from vntwin.twin.fuse.lines import line_pairs


def _roads(n: int = 40, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        start = rng.uniform([105.7, 20.9], [106.0, 21.1])
        steps = rng.normal(0, 0.004, (rng.integers(2, 30), 2))
        lines.append(shapely.LineString(start + np.cumsum(steps, axis=0)))
    lines.append(shapely.MultiLineString([[(105.8, 21.0), (105.9, 21.0)],
                                          [(105.8, 21.01), (105.8001, 21.0101)]]))
    kinds = np.array(["highway", "track", "street"])[rng.integers(0, 3, len(lines))]
    return gpd.GeoDataFrame({"kind": kinds}, geometry=lines, crs=4326)


def test_planar_lengths_match_shapely_intersection():
    gdf = _roads()
    lp = line_pairs(gdf.geometry.values, 8, geodesic=False)
    ours = pd.Series(lp.length).groupby(lp.grid.cells[lp.cell_row]).sum()
    ref = intersect_lengths(gdf, lp.grid.cells)
    ours, ref = ours.align(ref, fill_value=0.0)
    np.testing.assert_allclose(ours.values, ref.values, rtol=1e-6, atol=1e-6)


def test_geodesic_lengths_and_categories():
    gdf = _roads()
    out = fuse_lines(gdf, 8, categorical=["kind"])
    length = out[out.variable == "length_m"].set_index("h3").value
    geod = pyproj.Geod(ellps="WGS84")
    total = sum(geod.geometry_length(g) for g in gdf.geometry)
    assert length.sum() == pytest.approx(total, rel=1e-9)
    plane = gdf.to_crs(EQUAL_AREA_CRS).length.sum()
    assert abs(length.sum() / plane - 1) < 3e-3  # the projection's scale error, here
    shares = out[out.variable.str.startswith("kind=")].groupby("h3").value.sum()
    np.testing.assert_allclose(shares.loc[length.index].values, 1.0, rtol=1e-12)


def test_segment_on_a_shared_edge_counts_once():
    grid = HexGrid.covering(np.array([[0.0, 0.0, 1.0, 1.0]]), 8)
    c = grid.index_of(grid.cells[:1])[0]
    lon, lat = pyproj.Transformer.from_crs(EQUAL_AREA_CRS, 4326, always_xy=True).transform(
        grid.vx[c, :2], grid.vy[c, :2])
    edge = gpd.GeoDataFrame(geometry=[shapely.LineString(np.c_[lon, lat])], crs=4326)
    lp = line_pairs(edge.geometry.values, 8, geodesic=False)
    np.testing.assert_allclose(lp.length.sum(), lp.feature_length.sum(), rtol=1e-9)


def test_points_count_sum_mean_and_categories():
    rng = np.random.default_rng(3)
    n = 5000
    lon, lat = rng.uniform(105.8, 105.9, n), rng.uniform(21.0, 21.05, n)
    beds = rng.integers(0, 100, n).astype(float)
    beds[::10] = np.nan
    gdf = gpd.GeoDataFrame({"beds": beds, "type": rng.choice(["clinic", "hospital"], n)},
                           geometry=shapely.points(lon, lat), crs=4326)
    out = fuse_points(gdf, 8, numeric=["beds"], categorical=["type"])
    wide = out.pivot(index="h3", columns="variable", values="value")
    assert wide["count"].sum() == n
    assert wide["beds_sum"].sum() == pytest.approx(np.nansum(beds))
    np.testing.assert_allclose(wide[["type=clinic", "type=hospital"]].sum(axis=1), 1.0)
    # against a plain spatial join with the hexagons
    hexes = hexagons(wide.index.to_numpy())
    joined = gpd.sjoin(gdf, hexes, predicate="within")
    ref = joined.groupby("h3").beds.agg(["size", "sum", "mean"])
    ref.index = ref.index.astype(np.uint64)
    np.testing.assert_allclose(wide.loc[ref.index, "count"], ref["size"])
    np.testing.assert_allclose(wide.loc[ref.index, "beds_mean"], ref["mean"], rtol=1e-12)


def test_multipoints_weigh_one_feature_each():
    gdf = gpd.GeoDataFrame({"v": [10.0]}, crs=4326, geometry=[
        shapely.MultiPoint([(105.8, 21.0), (105.9, 21.0)])])
    out = fuse_points(gdf, 8, numeric=["v"])
    assert out[out.variable == "count"].value.tolist() == [0.5, 0.5]
    assert out[out.variable == "v_sum"].value.sum() == 10.0


def test_points_outside_the_grid_are_left_out():
    gdf = gpd.GeoDataFrame(geometry=shapely.points([105.8, 106.5], [21.0, 21.0]), crs=4326)
    full = fuse_points(gdf, 8)
    grid = HexGrid.from_cells(full.h3.to_numpy()[:1])
    assert fuse_points(gdf, 8, grid=grid).value.tolist() == [1.0]


@pytest.mark.parametrize("res", [6, 9, 10])
def test_line_lengths_at_other_resolutions(res):
    gdf = _roads(seed=5)
    lp = line_pairs(gdf.geometry.values, res, geodesic=False)
    assert lp.length.sum() == pytest.approx(gdf.to_crs(EQUAL_AREA_CRS).length.sum(), rel=1e-9)
