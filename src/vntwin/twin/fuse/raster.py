"""Rasters onto cells: zonal mean, sum, min and max, weighted by exact overlap areas.

Each pixel is a quadrilateral whose corners are projected to the equal-area plane
(neighbouring pixels share corners, so they tile it); each cell's hexagon is clipped
against every pixel near it (Sutherland–Hodgman), giving the area each pixel shares
with each cell. So every cell that meets the raster gets a value — none of the holes
that pixel-centre assignment leaves when pixels are larger than cells — and:

- ``mean``: the area-weighted mean of the pixels over the cell's part inside the raster;
- ``sum``: pixel values read as amounts per pixel (people per pixel, say), each split by
  the share of the pixel's area in the cell, so the sum over cells equals the sum over
  pixels (within the grid, if one is given); for a density raster, multiply the mean by
  the cell area instead;
- ``min``/``max``: over the pixels that overlap the cell.

Nodata pixels (and NaN) are left out. The index (which pixel meets which cell, with what
area) depends only on the raster's grid and the resolution: build it once with
:meth:`RasterCellIndex.build` and pass it to :func:`fuse_raster` for every raster on the
same grid (then each raster takes milliseconds).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
from affine import Affine
from numba import njit, prange

from ._clip import rings_clip_area
from .frame import FusionError, Rows
from .grid import HexGrid
from .projection import to_plane

__all__ = ["STATS", "RasterCellIndex", "fuse_raster", "shared_index"]

STATS = ("mean", "sum", "min", "max")
_EPS_PIXEL = 0.01  # margin, in pixels, around each cell's box when listing its pixels


@njit(cache=True, parallel=True)
def _pixel_cell_areas(px: np.ndarray, py: np.ndarray, ranges: np.ndarray, rows: np.ndarray,
                      start: np.ndarray, hvx: np.ndarray, hvy: np.ndarray, hnv: np.ndarray,
                      hb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap area of each listed cell with each pixel in its range. ``px``/``py`` are the
    plane coordinates of the pixel corners, shape (height + 1, width + 1).
    """
    width = px.shape[1] - 1
    pixel = np.full(start[-1], -1, np.int64)
    area = np.zeros(start[-1])
    for i in prange(len(rows)):
        c = rows[i]
        tx, ty = hvx[c, 0], hvy[c, 0]
        n = hnv[c]
        hx = np.empty(n)
        hy = np.empty(n)
        for k in range(n):
            hx[k] = hvx[c, k] - tx
            hy[k] = hvy[c, k] - ty
        qx = np.empty(4)
        qy = np.empty(4)
        qoff = np.array([0, 4], np.int64)
        scratch = np.empty((4, 32))
        k = start[i]
        for r in range(ranges[i, 0], ranges[i, 1] + 1):
            for col in range(ranges[i, 2], ranges[i, 3] + 1):
                qx[0], qy[0] = px[r, col] - tx, py[r, col] - ty
                qx[1], qy[1] = px[r, col + 1] - tx, py[r, col + 1] - ty
                qx[2], qy[2] = px[r + 1, col + 1] - tx, py[r + 1, col + 1] - ty
                qx[3], qy[3] = px[r + 1, col] - tx, py[r + 1, col] - ty
                if (qx.max() < hb[c, 0] - tx or qx.min() > hb[c, 2] - tx
                        or qy.max() < hb[c, 1] - ty or qy.min() > hb[c, 3] - ty):
                    continue
                a, scratch = rings_clip_area(qx, qy, qoff, hx, hy, n, scratch)
                if a != 0.0:
                    pixel[k] = r * width + col
                    area[k] = abs(a)
                    k += 1
    return pixel, area


def _quad_areas(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Area of every pixel quadrilateral (shoelace, relative to its first corner)."""
    ax, ay = px[:-1, :-1], py[:-1, :-1]
    bx, by = px[:-1, 1:] - ax, py[:-1, 1:] - ay
    cx, cy = px[1:, 1:] - ax, py[1:, 1:] - ay
    dx, dy = px[1:, :-1] - ax, py[1:, :-1] - ay
    return 0.5 * np.abs(bx * cy - cx * by + cx * dy - dx * cy)


@dataclass
class RasterCellIndex:
    """Which pixels meet which cells, with their overlap areas (m²), for one raster grid.

    Pairs are grouped by cell: cell ``grid.cells[cell_rows[j]]`` holds pairs
    ``start[j]:start[j + 1]``, each a flat ``pixel`` (``row * width + col``) and an
    ``area``; ``pixel_area`` has every pixel's area.
    """

    res: int
    transform: Affine
    crs: str
    shape: tuple[int, int]
    grid: HexGrid
    cell_rows: np.ndarray
    start: np.ndarray
    pixel: np.ndarray
    area: np.ndarray
    pixel_area: np.ndarray

    @classmethod
    def build(cls, transform: Affine, crs: object, shape: tuple[int, int], res: int,
              grid: HexGrid | None = None) -> RasterCellIndex:
        """Index a raster grid (affine ``transform``, ``crs``, ``(height, width)``) at
        ``res``, over ``grid`` when given (cells outside it are left out).
        """
        crs_text = pyproj.CRS.from_user_input(crs or "EPSG:4326").to_wkt()
        h, w = int(shape[0]), int(shape[1])
        cols, rws = np.meshgrid(np.arange(w + 1, dtype=float), np.arange(h + 1, dtype=float))
        xs, ys = transform @ (cols, rws)
        to_ll = pyproj.Transformer.from_crs(crs_text, "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform(xs, ys)
        px, py = to_plane(np.asarray(lon).ravel(), np.asarray(lat).ravel())
        px, py = px.reshape(h + 1, w + 1), py.reshape(h + 1, w + 1)
        foot = np.array([[px.min(), py.min(), px.max(), py.max()]])
        if grid is None:
            grid = HexGrid.covering(foot, res)
        elif grid.res != res:
            raise FusionError(f"grid has resolution {grid.res}, asked for {res}")
        b = grid.bounds
        near = np.flatnonzero((b[:, 0] <= foot[0, 2]) & (b[:, 2] >= foot[0, 0])
                              & (b[:, 1] <= foot[0, 3]) & (b[:, 3] >= foot[0, 1]))
        ranges = cls._pixel_ranges(grid.lonlat_bounds[near], transform, crs_text, h, w)
        size = (ranges[:, 1] - ranges[:, 0] + 1) * (ranges[:, 3] - ranges[:, 2] + 1)
        size = np.where((ranges[:, 1] >= ranges[:, 0]) & (ranges[:, 3] >= ranges[:, 2]), size, 0)
        start = np.zeros(len(near) + 1, np.int64)
        np.cumsum(size, out=start[1:])
        pixel, area = _pixel_cell_areas(px, py, ranges, near, start, grid.vx, grid.vy,
                                        grid.nv, grid.bounds)
        keep = pixel >= 0
        owner = np.repeat(np.arange(len(near)), size)
        counts = np.bincount(owner[keep], minlength=len(near))
        has = counts > 0
        cstart = np.zeros(int(has.sum()) + 1, np.int64)
        np.cumsum(counts[has], out=cstart[1:])
        return cls(res, transform, crs_text, (h, w), grid, near[has], cstart, pixel[keep],
                   area[keep], _quad_areas(px, py).ravel())

    @staticmethod
    def _pixel_ranges(llb: np.ndarray, transform: Affine, crs: str, h: int,
                      w: int) -> np.ndarray:
        """Rows r0, r1 and columns c0, c1 of the pixels under each cell's lon/lat box."""
        cx = np.concatenate([llb[:, 0], llb[:, 2], llb[:, 2], llb[:, 0]])
        cy = np.concatenate([llb[:, 1], llb[:, 1], llb[:, 3], llb[:, 3]])
        if not pyproj.CRS.from_wkt(crs).equals("EPSG:4326"):
            cx, cy = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(
                cx, cy)
        col, row = ~transform @ (np.asarray(cx), np.asarray(cy))
        col, row = np.asarray(col).reshape(4, -1), np.asarray(row).reshape(4, -1)
        r0 = np.maximum(np.floor(row.min(0) - _EPS_PIXEL), 0)
        r1 = np.minimum(np.floor(row.max(0) + _EPS_PIXEL), h - 1)
        c0 = np.maximum(np.floor(col.min(0) - _EPS_PIXEL), 0)
        c1 = np.minimum(np.floor(col.max(0) + _EPS_PIXEL), w - 1)
        return np.column_stack([r0, r1, c0, c1]).astype(np.int64)

    def matches(self, transform: Affine, crs: object, shape: tuple[int, int], res: int) -> bool:
        """Whether this index fits a raster with this grid at this resolution."""
        other = pyproj.CRS.from_user_input(crs or "EPSG:4326")
        return (self.res == res and tuple(shape) == self.shape
                and self.transform.almost_equals(transform)
                and other.equals(pyproj.CRS.from_wkt(self.crs)))


_SHARED: list[RasterCellIndex] = []  # the last indexes built over a caller's grid
_SHARED_SIZE = 2
_SHARED_LOCK = threading.Lock()


def shared_index(transform: Affine, crs: object, shape: tuple[int, int], res: int,
                 grid: HexGrid) -> RasterCellIndex:
    """The index of this raster grid over ``grid``, built once and reused for every
    raster on the same raster grid and the same ``grid`` object (a fusion run passes one
    territory grid to every layer, and rasters of one producer share their grid). Holds
    the last ``_SHARED_SIZE`` indexes.
    """
    with _SHARED_LOCK:
        for index in _SHARED:
            if index.grid is grid and index.matches(transform, crs, shape, res):
                return index
    index = RasterCellIndex.build(transform, crs, shape, res, grid)
    with _SHARED_LOCK:
        _SHARED.insert(0, index)
        del _SHARED[_SHARED_SIZE:]
    return index


def _band_stats(index: RasterCellIndex, band: np.ma.MaskedArray,
                stats: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each statistic of one band: ``(grid rows, values)`` for cells with valid pixels."""
    data = np.ma.getdata(band).astype(np.float64).ravel()
    valid = ~np.ma.getmaskarray(band).ravel() & np.isfinite(data)
    v = data[index.pixel]
    ok = valid[index.pixel]
    ncell = len(index.cell_rows)
    pair_cell = np.repeat(np.arange(ncell), np.diff(index.start))
    a = np.where(ok, index.area, 0.0)
    cover = np.bincount(pair_cell, weights=a, minlength=ncell)
    has = cover > 0
    rows = index.cell_rows[has]
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    vz = np.where(ok, v, 0.0)
    if "mean" in stats:
        out["mean"] = rows, (np.bincount(pair_cell, weights=a * vz, minlength=ncell)[has]
                             / cover[has])
    if "sum" in stats:
        part = a / index.pixel_area[index.pixel] * vz
        out["sum"] = rows, np.bincount(pair_cell, weights=part, minlength=ncell)[has]
    if ncell and ("min" in stats or "max" in stats):
        starts = index.start[:-1]
        if "min" in stats:
            out["min"] = rows, np.minimum.reduceat(np.where(ok, v, np.inf), starts)[has]
        if "max" in stats:
            out["max"] = rows, np.maximum.reduceat(np.where(ok, v, -np.inf), starts)[has]
    return out


def fuse_raster(
    path: str | Path,
    res: int,
    *,
    band_names: Sequence[str] | None = None,
    stats: Sequence[str] = STATS,
    grid: HexGrid | None = None,
    index: RasterCellIndex | None = None,
) -> pd.DataFrame:
    """Zonal statistics of a raster file per H3 cell of resolution ``res``.

    Variables ``{band}_{stat}`` for each band and each of ``stats`` (``mean``, ``sum``,
    ``min``, ``max``; see the module notes for their meaning). Bands are named by
    ``band_names``, else by the file's band descriptions, else ``band1``, ``band2``...
    Pass ``index`` (from :meth:`RasterCellIndex.build`) to reuse the pixel–cell overlaps
    across rasters on the same grid; with ``grid`` and no ``index`` the index is shared
    with earlier calls on the same raster grid and ``grid`` (:func:`shared_index`).
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise FusionError(f"unknown raster statistics {unknown}; known: {list(STATS)}")
    with rasterio.open(path) as src:
        names = list(band_names) if band_names is not None else [
            d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
        if len(names) != src.count:
            raise FusionError(f"{path}: {src.count} bands but {len(names)} band names")
        if index is None and grid is not None:
            index = shared_index(src.transform, src.crs, src.shape, res, grid)
        elif index is None:
            index = RasterCellIndex.build(src.transform, src.crs, src.shape, res, grid)
        elif not index.matches(src.transform, src.crs, src.shape, res):
            raise FusionError(f"{path}: the index was built for another raster grid")
        bands = src.read(masked=True)
    rows = Rows()
    cells = index.grid.cells
    for name, band in zip(names, bands, strict=True):
        for stat, (crow, values) in _band_stats(index, band, stats).items():
            rows.add(cells[crow], f"{name}_{stat}", values)
    return rows.frame()
