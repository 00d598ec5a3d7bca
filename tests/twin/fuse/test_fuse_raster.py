from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pytest
import rasterio
import shapely
from fuse_reference import compare, overlay_polygons
from rasterio.transform import from_origin

from vntwin.twin.fuse import FusionError, HexGrid, RasterCellIndex, fuse_raster
from vntwin.twin.fuse.projection import to_plane
from vntwin.twin.fuse.raster import _quad_areas

KM = 1 / 120  # a 30 arc-second pixel, about 0.9 km


def _write(path: Path, data: np.ndarray, west: float, north: float, step: float,
           nodata: float | None = None, names: tuple[str, ...] | None = None) -> Path:
    data = np.atleast_3d(data.T).T if data.ndim == 2 else data
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype="float64", crs="EPSG:4326", nodata=nodata,
                       transform=from_origin(west, north, step, step)) as dst:
        dst.write(data)
        for i, name in enumerate(names or ()):
            dst.set_band_description(i + 1, name)
    return path


def _cells_inside(west: float, south: float, east: float, north: float) -> np.ndarray:
    poly = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    return np.array([h3.str_to_int(c) for c in h3.polygon_to_cells(poly, 8)], np.uint64)


def test_constant_km_raster_leaves_no_holes(tmp_path):
    path = _write(tmp_path / "c.tif", np.full((120, 120), 5.0), 105.0, 21.0, KM)
    out = fuse_raster(path, 8)
    wide = out.pivot(index="h3", columns="variable", values="value")
    inside = _cells_inside(105.0, 20.0, 106.0, 21.0)
    assert len(inside) > 14_000
    assert np.isin(inside, wide.index.to_numpy()).all()  # every cell has a value
    np.testing.assert_allclose(wide["band1_mean"], 5.0, rtol=1e-12)
    assert (wide["band1_min"] == 5.0).all() and (wide["band1_max"] == 5.0).all()
    assert wide["band1_sum"].sum() == pytest.approx(5.0 * 120 * 120, rel=1e-9)
    # a cell holds 5 × (cell area / area of the pixels at its latitude)
    grid = HexGrid.from_cells(inside)
    with rasterio.open(path) as src:
        cols, rows = np.meshgrid(np.arange(121.0), np.arange(121.0))
        lon, lat = src.transform @ (cols, rows)
        px, py = to_plane(lon.ravel(), lat.ravel())
        row_area = _quad_areas(px.reshape(121, 121), py.reshape(121, 121)).mean(axis=1)
    centre_lat = 0.5 * (grid.lonlat_bounds[:, 1] + grid.lonlat_bounds[:, 3])
    row = np.clip(((21.0 - centre_lat) / KM).astype(int), 0, 119)
    expected = 5.0 * grid.area / row_area[row]
    got = wide.loc[grid.cells, "band1_sum"].to_numpy()
    assert np.median(np.abs(got / expected - 1)) < 1e-4


def test_random_raster_matches_overlay_of_pixel_squares(tmp_path):
    rng = np.random.default_rng(4)
    data = rng.uniform(0, 100, (24, 30))
    data[3, 4] = -1.0  # nodata
    path = _write(tmp_path / "r.tif", data, 105.5, 21.1, KM, nodata=-1.0)
    out = fuse_raster(path, 8, band_names=["rain"])
    rows, cols = np.mgrid[0:24, 0:30]
    boxes = shapely.box(105.5 + cols.ravel() * KM, 21.1 - (rows.ravel() + 1) * KM,
                        105.5 + (cols.ravel() + 1) * KM, 21.1 - rows.ravel() * KM)
    pixels = gpd.GeoDataFrame({"rain_sum": data.ravel(), "rain_mean": data.ravel()},
                              geometry=boxes, crs=4326)
    pixels = pixels[pixels.rain_sum >= 0]
    cells = np.unique(out.h3.to_numpy())
    ref = overlay_polygons(pixels, cells, extensive=["rain_sum"], intensive=["rain_mean"])
    ref = ref[ref.variable != "coverage"]
    ours = out[out.variable.isin(["rain_sum", "rain_mean"])]
    compare(ours, ref, rtol=1e-6, atol=1e-9)
    wide = out.pivot(index="h3", columns="variable", values="value")
    assert (wide.rain_min <= wide.rain_mean + 1e-9).all()
    assert (wide.rain_mean <= wide.rain_max + 1e-9).all()
    assert wide.rain_min.min() >= 0.0  # the nodata pixel is left out


def test_index_is_reused_and_checked(tmp_path):
    a = _write(tmp_path / "a.tif", np.ones((2, 10, 10)), 105.0, 21.0, KM, names=("x", "y"))
    b = _write(tmp_path / "b.tif", np.full((10, 10), 2.0), 105.0, 21.0, KM)
    other = _write(tmp_path / "o.tif", np.ones((10, 10)), 105.5, 21.0, KM)
    with rasterio.open(a) as src:
        index = RasterCellIndex.build(src.transform, src.crs, src.shape, 8)
    out_a = fuse_raster(a, 8, index=index, stats=["mean"])
    assert set(out_a.variable) == {"x_mean", "y_mean"}
    out_b = fuse_raster(b, 8, index=index)
    assert out_b[out_b.variable == "band1_mean"].value.eq(2.0).all()
    with pytest.raises(FusionError, match="another raster grid"):
        fuse_raster(other, 8, index=index)
    with pytest.raises(FusionError, match="unknown raster statistics"):
        fuse_raster(a, 8, stats=["median"])


def test_grid_restricts_raster_cells(tmp_path):
    path = _write(tmp_path / "c.tif", np.full((12, 12), 1.0), 105.0, 21.0, KM)
    full = fuse_raster(path, 8, stats=["sum"])
    keep = np.sort(full.h3.to_numpy())[:10]
    part = fuse_raster(path, 8, stats=["sum"], grid=HexGrid.from_cells(keep))
    assert set(part.h3) == set(keep)
    merged = part.merge(full, on=["h3", "variable"])
    np.testing.assert_allclose(merged.value_x, merged.value_y, rtol=1e-12)


def test_projected_raster(tmp_path):
    """A raster in UTM (VN-2000 / UTM 48N): the same rules through the raster's CRS."""
    path = tmp_path / "utm.tif"
    data = np.full((1, 20, 30), 3.0)
    with rasterio.open(path, "w", driver="GTiff", width=30, height=20, count=1,
                       dtype="float64", crs="EPSG:3405", nodata=None,
                       transform=from_origin(580_000, 2_330_000, 1000, 1000)) as dst:
        dst.write(data)
    out = fuse_raster(path, 8)
    wide = out.pivot(index="h3", columns="variable", values="value")
    np.testing.assert_allclose(wide.band1_mean, 3.0, rtol=1e-12)
    assert wide.band1_sum.sum() == pytest.approx(3.0 * 600, rel=1e-9)
    assert len(wide) > 600  # 600 km² of 0.8 km² cells


def test_index_is_shared_across_rasters_on_one_grid(tmp_path, monkeypatch):
    """Rasters on the same raster grid over the same territory grid build the index once,
    and give what a fresh index gives."""
    from vntwin.twin.fuse import raster

    monkeypatch.setattr(raster, "_SHARED", [])
    built = []
    real_build = RasterCellIndex.build.__func__

    def counting(cls, *args, **kwargs):
        built.append(args[:4])
        return real_build(cls, *args, **kwargs)

    monkeypatch.setattr(RasterCellIndex, "build", classmethod(counting))
    rng = np.random.default_rng(2)
    paths = [_write(tmp_path / f"r{i}.tif", rng.random((12, 12)), 105.0, 21.0, KM)
             for i in range(3)]
    other = _write(tmp_path / "o.tif", rng.random((12, 12)), 105.3, 21.0, KM)
    grid = HexGrid.from_cells(_cells_inside(105.0, 20.9, 105.1, 21.0))
    shared = [fuse_raster(p, 8, grid=grid) for p in (*paths, other)]
    assert len(built) == 2  # one per raster grid
    fresh = fuse_raster(paths[2], 8, grid=grid, index=real_build(
        RasterCellIndex, *built[0], grid))
    assert shared[2].equals(fresh)
    fuse_raster(paths[0], 8, grid=HexGrid.from_cells(grid.cells))  # another grid object
    assert len(built) == 3
