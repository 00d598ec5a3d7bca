from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fuse_reference import compare, overlay_polygons, voronoi_tiles

from vntwin.twin.fuse import EQUAL_AREA_CRS, FusionError, HexGrid, fuse_polygons
from vntwin.twin.fuse.polygons import polygon_pairs

HANOI = (105.70, 20.95, 105.95, 21.15)


def _mixed_layer() -> gpd.GeoDataFrame:
    """Voronoi tiles plus polygons smaller and thinner than a cell, a polygon with
    holes, a multipolygon and a ring-shaped district, as one layer."""
    tiles = voronoi_tiles(60, HANOI, seed=1)
    outer = shapely.Point(106.1, 21.0).buffer(0.05, 64)
    holes = [shapely.Point(106.1 + dx, 21.0).buffer(0.01, 16).exterior.coords for dx in
             (-0.02, 0.02)]
    extra = [
        shapely.box(106.0, 20.9, 106.0003, 20.9003),  # ~30 m square, far below a cell
        shapely.box(106.02, 20.85, 106.2, 20.85002),  # 18 km long, 2 m wide
        shapely.Polygon(outer.exterior.coords, holes),
        shapely.MultiPolygon([shapely.box(106.3, 21.1, 106.32, 21.12),
                              shapely.box(106.33, 21.1, 106.331, 21.101)]),
        shapely.Point(106.25, 20.95).buffer(0.03).difference(
            shapely.Point(106.25, 20.95).buffer(0.02)),
    ]
    more = gpd.GeoDataFrame({"pop": [10.0, 20.0, 30.0, 40.0, np.nan],
                             "density": [1.0, 2.0, np.nan, 4.0, 5.0],
                             "landuse": ["urban", None, "water", "rice", "forest"]},
                            geometry=extra, crs=4326)
    return gpd.GeoDataFrame(np.concatenate([tiles.values, more.values]),
                            columns=tiles.columns, geometry="geometry", crs=4326).astype(
        {"pop": float, "density": float})


def test_matches_geopandas_overlay():
    gdf = _mixed_layer()
    spec = dict(extensive=["pop"], intensive=["density"], categorical=["landuse"])
    ours = fuse_polygons(gdf, 8, **spec)
    assert ours.h3.dtype == np.uint64 and ours.value.dtype == np.float64
    assert not ours.duplicated(["h3", "variable"]).any()
    cells = np.unique(ours.h3.to_numpy())
    ref = overlay_polygons(gdf, HexGrid.covering(_boxes(gdf), 8).cells, **spec)
    assert compare(ours, ref, rtol=1e-6) < 1e-6
    assert set(ref.h3.astype(np.uint64)) <= set(cells)


def _boxes(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return gdf.to_crs(EQUAL_AREA_CRS).bounds.to_numpy()


def test_small_and_thin_polygons_are_not_dropped():
    tiny = shapely.box(106.0, 20.9, 106.0001, 20.9001)
    thin = shapely.box(106.02, 20.85, 106.2, 20.85001)
    gdf = gpd.GeoDataFrame({"n": [7.0, 11.0]}, geometry=[tiny, thin], crs=4326)
    out = fuse_polygons(gdf, 8, extensive=["n"])
    n = out[out.variable == "n"]
    assert n.value.sum() == pytest.approx(18.0, rel=1e-12)
    assert len(n) > 20  # the thin strip crosses many cells


def test_tiling_gives_full_coverage_inside():
    gdf = voronoi_tiles(300, HANOI, seed=3)
    out = fuse_polygons(gdf, 8, categorical=["landuse"])
    cov = out[out.variable == "coverage"].set_index("h3").value
    assert cov.max() <= 1.0
    assert (cov > 1 - 1e-9).mean() > 0.8  # interior cells fully covered
    shares = out[out.variable.str.startswith("landuse=")].groupby("h3").value.sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0, rtol=1e-12)


def test_coverage_times_cell_area_is_layer_area():
    gdf = voronoi_tiles(200, HANOI, seed=4)
    out = fuse_polygons(gdf, 8)
    cov = out[out.variable == "coverage"]
    grid = HexGrid.from_cells(cov.h3.to_numpy())
    area = grid.area[grid.index_of(cov.h3.to_numpy())]
    total = gdf.to_crs(EQUAL_AREA_CRS).area.sum()
    assert (cov.value.to_numpy() * area).sum() == pytest.approx(total, rel=1e-9)


def test_grid_restricts_to_territory():
    gdf = voronoi_tiles(50, HANOI, seed=5)
    full = fuse_polygons(gdf, 8, extensive=["pop"])
    cells = np.sort(full.h3.unique())[: len(full.h3.unique()) // 2]
    part = fuse_polygons(gdf, 8, extensive=["pop"], grid=HexGrid.from_cells(cells))
    assert set(part.h3) <= set(cells)
    merged = part.merge(full, on=["h3", "variable"])
    np.testing.assert_allclose(merged.value_x, merged.value_y, rtol=1e-12)
    assert len(merged) == len(part)


def test_pairs_agree_with_shapely_per_pair():
    gdf = _mixed_layer()
    pp = polygon_pairs(gdf.geometry.values, 8)
    grid = pp.grid
    hexes = shapely.polygons(np.stack([grid.vx, grid.vy], axis=-1))
    polys = gdf.to_crs(EQUAL_AREA_CRS).geometry.values
    ref = shapely.area(shapely.intersection(polys[pp.feature], hexes[pp.cell_row]))
    np.testing.assert_allclose(pp.area, ref, rtol=1e-9, atol=1e-6)


def test_errors_and_empty():
    gdf = voronoi_tiles(5, HANOI, seed=6)
    with pytest.raises(FusionError, match="nope"):
        fuse_polygons(gdf, 8, extensive=["nope"])
    with pytest.raises(FusionError, match="not numeric"):
        fuse_polygons(gdf, 8, intensive=["landuse"])
    empty = fuse_polygons(gdf.iloc[:0], 8, extensive=["pop"])
    assert list(empty.columns) == ["h3", "variable", "value"] and len(empty) == 0
    assert empty.h3.dtype == np.uint64


def test_other_crs_is_reprojected():
    gdf = voronoi_tiles(20, HANOI, seed=7)
    a = fuse_polygons(gdf, 8, extensive=["pop"])
    b = fuse_polygons(gdf.to_crs(3405), 8, extensive=["pop"])
    compare(a, b, rtol=1e-4, atol=1e-6)  # edges straight in UTM, not in lon/lat


def test_large_detailed_polygon_matches_shapely():
    """A 60 km polygon with 4,000 vertices and holes: the box-splitting path."""
    rng = np.random.default_rng(8)
    t = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    r = 0.25 * (1 + 0.3 * np.sin(7 * t) + 0.05 * rng.standard_normal(len(t)))
    outer = np.c_[106.0 + r * np.cos(t), 16.0 + r * np.sin(t)]
    holes = [shapely.Point(106.0 + dx, 16.0 + dy).buffer(0.02, 32).exterior.coords
             for dx, dy in ((0.05, 0.0), (-0.05, 0.05), (0.0, -0.08))]
    geom = shapely.make_valid(shapely.Polygon(outer, holes))
    gdf = gpd.GeoDataFrame({"pop": [1e6]}, geometry=[geom], crs=4326)
    pp = polygon_pairs(gdf.geometry.values, 8)
    hexes = shapely.polygons(np.stack([pp.grid.vx, pp.grid.vy], axis=-1))
    plane = gdf.to_crs(EQUAL_AREA_CRS).geometry.values[0]
    ref = shapely.area(shapely.intersection(plane, hexes[pp.cell_row]))
    np.testing.assert_allclose(pp.area, ref, rtol=1e-9, atol=1e-5)
    assert pp.area.sum() == pytest.approx(plane.area, rel=1e-12)
    inside = shapely.contains_properly(plane, hexes)
    assert inside.sum() > 1000
    assert set(np.flatnonzero(inside)) <= set(pp.cell_row)


@pytest.mark.parametrize("res", [5, 7, 9, 10])
def test_other_resolutions_conserve(res):
    gdf = _mixed_layer()
    out = fuse_polygons(gdf, res, extensive=["pop"])
    assert out.loc[out.variable == "pop", "value"].sum() == pytest.approx(
        gdf["pop"].sum(), rel=1e-9)
    cov = out[out.variable == "coverage"]
    grid = HexGrid.from_cells(cov.h3.to_numpy())
    covered = (cov.value.to_numpy() * grid.area[grid.index_of(cov.h3.to_numpy())]).sum()
    assert covered == pytest.approx(gdf.to_crs(EQUAL_AREA_CRS).area.sum(), rel=1e-9)


def test_polygon_invalid_only_once_projected_is_repaired():
    """Valid in lon/lat, self-intersecting in the equal-area plane: a notch whose tip is
    1e-6 degrees above a 2-degree edge, below that edge's chord once projected. It is
    fused from its make_valid repair in the plane, and counted."""
    from vntwin.twin.fuse.polygons import REPAIRED_ATTR, _reproject
    from vntwin.twin.fuse.projection import to_plane

    notch = shapely.Polygon([(105, 20), (107, 20), (107, 21), (106.01, 21), (106, 20 + 1e-6),
                             (105.99, 21), (105, 21)])
    box = shapely.box(105, 20, 105.1, 20.1)
    planar = _reproject(np.array([notch]), to_plane)[0]
    assert notch.is_valid and not planar.is_valid
    fixed = shapely.make_valid(planar, method="structure", keep_collapsed=False)
    pp = polygon_pairs(np.array([box, notch]), 6)
    assert pp.repaired.tolist() == [1]
    assert pp.area[pp.feature == 1].sum() == pytest.approx(fixed.area, rel=1e-9)
    assert pp.feature_area[1] == pytest.approx(fixed.area, rel=1e-9)
    plain = polygon_pairs(np.array([box, notch]), 6, repair=False)
    assert plain.repaired.size == 0
    assert abs(plain.area[plain.feature == 1].sum() - fixed.area) > 100  # m²: what repair fixes
    np.testing.assert_allclose(pp.area[pp.feature == 0], plain.area[plain.feature == 0])
    layer = gpd.GeoDataFrame({"pop": [1.0, 1000.0]}, geometry=[box, notch], crs=4326)
    out = fuse_polygons(layer, 6, extensive=["pop"])
    assert out.attrs[REPAIRED_ATTR] == 1
    assert out.loc[out.variable == "pop", "value"].sum() == pytest.approx(1001.0)
