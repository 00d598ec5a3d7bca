"""Property-based conservation: whatever the shapes, totals survive fusion."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vntwin.twin.fuse import EQUAL_AREA_CRS, HexGrid, fuse_lines, fuse_points, fuse_polygons
from vntwin.twin.fuse.lines import line_pairs

M_PER_DEG = 111_320.0
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

centres = st.tuples(st.floats(103.0, 108.5), st.floats(9.0, 22.5))
sizes = st.floats(0.5, 4.0).map(lambda e: 10.0 ** e)  # metres: 3 m .. 10 km


def _offset(lon: float, lat: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return np.c_[lon + dx / (M_PER_DEG * np.cos(np.radians(lat))), lat + dy / M_PER_DEG]


@st.composite
def star(draw, centre=None, size=None, min_r=0.3):
    """A star-shaped polygon (simple, maybe very non-convex) around a centre."""
    lon, lat = centre if centre is not None else draw(centres)
    r = size if size is not None else draw(sizes)
    n = draw(st.integers(3, 40))
    angles = np.sort(np.array(draw(st.lists(st.floats(0, 2 * np.pi, exclude_max=True),
                                            min_size=n, max_size=n, unique=True))))
    radii = r * np.array(draw(st.lists(st.floats(min_r, 1.0), min_size=n, max_size=n)))
    return shapely.Polygon(_offset(lon, lat, radii * np.cos(angles), radii * np.sin(angles)))


@st.composite
def strip(draw):
    """A long thin rotated rectangle: up to 20 km long, down to 0.5 m wide."""
    lon, lat = draw(centres)
    length = draw(st.floats(10.0, 20_000.0))
    width = draw(st.floats(0.5, 50.0))
    a = draw(st.floats(0, np.pi))
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    corners = np.array([-u * length - v * width, u * length - v * width,
                        u * length + v * width, -u * length + v * width]) / 2
    return shapely.Polygon(_offset(lon, lat, corners[:, 0], corners[:, 1]))


@st.composite
def holed(draw):
    """A star polygon with a hole (a smaller star inside its inner radius)."""
    lon, lat = draw(centres)
    r = draw(sizes)
    outer = draw(star(centre=(lon, lat), size=r, min_r=0.6))
    inner = draw(star(centre=(lon, lat), size=r * 0.5, min_r=0.3))
    return shapely.Polygon(outer.exterior.coords, [inner.exterior.coords])


@st.composite
def multi(draw):
    """Two or three polygons, far enough apart, as one MultiPolygon."""
    lon, lat = draw(centres)
    r = draw(sizes)
    parts = [draw(star(centre=(lon + k * 3 * r / M_PER_DEG, lat), size=r)) for k in
             range(draw(st.integers(2, 3)))]
    return shapely.MultiPolygon(parts)


polygons = st.one_of(star(), strip(), holed(), multi()).filter(lambda g: g.is_valid)


def _plane_area(geoms) -> np.ndarray:
    return gpd.GeoSeries(geoms, crs=4326).to_crs(EQUAL_AREA_CRS).area.to_numpy()


@SETTINGS
@given(st.lists(polygons, min_size=1, max_size=4),
       st.lists(st.floats(0.001, 1e6), min_size=4, max_size=4))
def test_polygon_extensive_totals_are_conserved(geoms, values):
    gdf = gpd.GeoDataFrame({"v": values[: len(geoms)]}, geometry=geoms, crs=4326)
    out = fuse_polygons(gdf, 8, extensive=["v"])
    total = out.loc[out.variable == "v", "value"].sum()
    np.testing.assert_allclose(total, gdf.v.sum(), rtol=1e-9)


@SETTINGS
@given(polygons)
def test_coverage_times_cell_area_is_polygon_area(geom):
    # (a near-collinear spike can self-intersect once projected; its area is then moot)
    assume(gpd.GeoSeries([geom], crs=4326).to_crs(EQUAL_AREA_CRS).is_valid.all())
    gdf = gpd.GeoDataFrame(geometry=[geom], crs=4326)
    out = fuse_polygons(gdf, 8)
    cov = out[out.variable == "coverage"]
    grid = HexGrid.from_cells(cov.h3.to_numpy())
    covered = (cov.value.to_numpy() * grid.area[grid.index_of(cov.h3.to_numpy())]).sum()
    # areas are exact to about 1e-11 m² absolute (rounding at metre-scale coordinates)
    np.testing.assert_allclose(covered, _plane_area([geom])[0], rtol=1e-9, atol=1e-8)
    assert cov.value.max() <= 1.0


@st.composite
def polyline(draw):
    lon, lat = draw(centres)
    n = draw(st.integers(2, 12))
    step = draw(sizes)
    d = np.array(draw(st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=n,
                               max_size=n))) * step
    return shapely.LineString(_offset(lon, lat, np.cumsum(d[:, 0]), np.cumsum(d[:, 1])))


@SETTINGS
@given(st.lists(polyline(), min_size=1, max_size=5))
def test_line_lengths_are_conserved(lines):
    geoms = np.array(lines, dtype=object)
    planar = line_pairs(geoms, 8, geodesic=False)
    plane_len = gpd.GeoSeries(lines, crs=4326).to_crs(EQUAL_AREA_CRS).length.sum()
    np.testing.assert_allclose(planar.length.sum(), plane_len, rtol=1e-9)
    out = fuse_lines(gpd.GeoDataFrame(geometry=lines, crs=4326), 8)
    geod = sum(pyproj.Geod(ellps="WGS84").geometry_length(g) for g in lines)
    np.testing.assert_allclose(out.value.sum(), geod, rtol=1e-9)


@SETTINGS
@given(st.lists(st.tuples(st.floats(102.0, 110.0), st.floats(8.0, 23.5),
                          st.floats(-1e3, 1e3)), min_size=1, max_size=200))
def test_point_counts_and_sums_are_conserved(rows):
    lon, lat, v = map(np.array, zip(*rows, strict=True))
    gdf = gpd.GeoDataFrame({"v": v}, geometry=shapely.points(lon, lat), crs=4326)
    out = fuse_points(gdf, 8, numeric=["v"])
    assert out.loc[out.variable == "count", "value"].sum() == len(rows)
    np.testing.assert_allclose(out.loc[out.variable == "v_sum", "value"].sum(), v.sum(),
                               rtol=1e-9, atol=1e-9)
