"""The hexagons a fusion works on, in the equal-area plane, with a bucket index for
joining features to cells by bounding box.

A :class:`HexGrid` is built once for a territory (``HexGrid.from_cells``) and passed to
every kernel, or built by a kernel for one layer's extent (``HexGrid.covering``).
Hexagon vertices come from H3 (``cells_to_wkb_polygons``) and are projected to the plane
with straight edges between them; neighbouring cells share vertices, so the hexagons
tile the plane and clipped pieces add up exactly. (A straight edge in the plane differs
from H3's own great-circle edge by far less than a millimetre at resolution 8.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import h3
import h3ronpy
import h3ronpy.vector as h3v
import numba
import numpy as np
import pyarrow as pa
from numba import njit, prange

from ._join import bucket_cells, lattice_nodes, query_buckets
from .projection import to_lonlat, to_plane

__all__ = ["HexGrid"]

_WKB_HEADER = 13  # byte order (1), type (4), ring count (4), point count (4)
_LATTICE = 2.6  # lattice spacing of HexGrid.covering, in average inradii
_CHUNK = 100_000  # cells per thread when building boundaries


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for uint64 cell ids, through a plain sort (much faster here)."""
    s = np.sort(np.asarray(values, dtype=np.uint64))
    if len(s) == 0:
        return s
    keep = np.ones(len(s), bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


@njit(cache=True, parallel=True)
def _copy_vertices(data: np.ndarray, offsets: np.ndarray, nv: np.ndarray, m: int) -> np.ndarray:
    """The vertex bytes of each WKB polygon, padded by repeating vertex 0 to m vertices."""
    n = len(nv)
    out = np.empty((n, 16 * m), np.uint8)
    for i in prange(n):
        start = offsets[i] + _WKB_HEADER
        k = 16 * nv[i]
        out[i, :k] = data[start:start + k]
        for j in range(nv[i], m):
            out[i, 16 * j:16 * j + 16] = data[start:start + 16]
    return out


def cells_of(lat: np.ndarray, lon: np.ndarray, res: int) -> np.ndarray:
    """H3 cell of each point (degrees), as uint64; in threads for big inputs."""
    n = max(1, min(numba.get_num_threads(), len(lat) // _CHUNK))
    if n == 1:
        return np.asarray(h3v.coordinates_to_cells(lat, lon, res)).astype(np.uint64)
    with ThreadPoolExecutor(n) as pool:  # h3ronpy releases the GIL
        parts = pool.map(lambda a, b: np.asarray(h3v.coordinates_to_cells(a, b, res)),
                         np.array_split(lat, n), np.array_split(lon, n))
        return np.concatenate(list(parts)).astype(np.uint64)


def _boundaries(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude/latitude vertices of each cell, padded with the first vertex to the
    grid's largest vertex count: ``lon (n, m)``, ``lat (n, m)``, ``nv (n,)``.
    """
    chunks = np.array_split(cells, max(1, min(numba.get_num_threads(), len(cells) // _CHUNK)))
    with ThreadPoolExecutor(len(chunks)) as pool:  # h3ronpy releases the GIL
        parts = list(pool.map(
            lambda c: pa.array(h3v.cells_to_wkb_polygons(pa.array(c, pa.uint64()))), chunks))
    arr = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    if arr.null_count:
        raise ValueError("invalid H3 cell ids in the grid")
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    npts = (np.diff(offsets) - _WKB_HEADER) // 16
    nv = (npts - 1).astype(np.int32)  # the ring repeats its first point
    m = int(nv.max()) if len(nv) else 6
    raw = _copy_vertices(data, offsets, nv, m)
    xy = raw.view("<f8").reshape(len(cells), m, 2)
    lon, lat = np.ascontiguousarray(xy[:, :, 0]), np.ascontiguousarray(xy[:, :, 1])
    return lon, lat, nv


@njit(cache=True, parallel=True)
def _hexagon_shapes(lon: np.ndarray, lat: np.ndarray, vx: np.ndarray, vy: np.ndarray,
                    nv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orient each hexagon counter-clockwise (in place) and return its area, planar bounds
    and lon/lat bounds.
    """
    n = len(nv)
    area = np.empty(n)
    bounds = np.empty((n, 4))
    llb = np.empty((n, 4))
    for i in prange(n):
        k = nv[i]
        a = 0.0
        for j in range(1, k - 1):
            a += ((vx[i, j] - vx[i, 0]) * (vy[i, j + 1] - vy[i, 0])
                  - (vx[i, j + 1] - vx[i, 0]) * (vy[i, j] - vy[i, 0]))
        if a < 0.0:
            vx[i, :k] = vx[i, :k][::-1].copy()
            vy[i, :k] = vy[i, :k][::-1].copy()
            vx[i, k:] = vx[i, 0]
            vy[i, k:] = vy[i, 0]
        area[i] = 0.5 * abs(a)
        bounds[i, 0], bounds[i, 1] = vx[i, :k].min(), vy[i, :k].min()
        bounds[i, 2], bounds[i, 3] = vx[i, :k].max(), vy[i, :k].max()
        llb[i, 0], llb[i, 1] = lon[i, :k].min(), lat[i, :k].min()
        llb[i, 2], llb[i, 3] = lon[i, :k].max(), lat[i, :k].max()
    return area, bounds, llb


@dataclass(eq=False)
class HexGrid:
    """H3 cells of one resolution as planar hexagons (metres, :data:`EQUAL_AREA_CRS`).

    ``cells`` is sorted; row ``i`` of every array describes ``cells[i]``: vertices
    ``vx``/``vy`` (counter-clockwise, padded by repeating vertex 0, ``nv`` real ones),
    ``bounds`` (minx, miny, maxx, maxy), ``lonlat_bounds`` and ``area`` in m².
    """

    res: int
    cells: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    nv: np.ndarray
    bounds: np.ndarray
    lonlat_bounds: np.ndarray
    area: np.ndarray
    _index: tuple[float, float, float, int, int, np.ndarray, np.ndarray, float, float] | None = (
        field(default=None, repr=False)
    )

    def __len__(self) -> int:
        return len(self.cells)

    @classmethod
    def from_cells(cls, cells: np.ndarray, res: int | None = None) -> HexGrid:
        """Build the grid of the given H3 cells (any order, duplicates dropped).

        Example: ``HexGrid.from_cells(territory_cells)`` once, then pass ``grid=`` to
        each kernel so every layer lands on the same cells and totals outside the
        territory are left out.
        """
        cells = unique_sorted(cells)
        if res is None:
            res = h3.get_resolution(h3.int_to_str(int(cells[0]))) if len(cells) else 8
        if len(cells) == 0:
            z = np.zeros((0, 6))
            return cls(res, cells, z, z.copy(), np.zeros(0, np.int32), np.zeros((0, 4)),
                       np.zeros((0, 4)), np.zeros(0))
        lon, lat, nv = _boundaries(cells)
        x, y = to_plane(lon.ravel(), lat.ravel())
        vx, vy = x.reshape(lon.shape), y.reshape(lon.shape)
        area, bounds, lonlat = _hexagon_shapes(lon, lat, vx, vy, nv)
        return cls(res, cells, vx, vy, nv, bounds, lonlat, area)

    @classmethod
    def covering(cls, boxes: np.ndarray, res: int) -> HexGrid:
        """Every cell whose hexagon meets one of the planar boxes (rows minx, miny,
        maxx, maxy), plus a ring of neighbours.

        How: lattice nodes spaced ``d`` = 2.6 average inradii cover each box, so any point
        of a box is within 1.84 inradii of a node. Cells two rings away from a cell are
        at least 3.1 inradii from it (measured at resolution 8 over Vietnam), so every
        cell meeting a box is within two rings of a node's cell.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        inradius = np.sqrt(3) / 2 * h3.average_hexagon_edge_length(res, unit="m")
        nx, ny = lattice_nodes(boxes, _LATTICE * inradius)
        if len(nx) == 0:
            return cls.from_cells(np.zeros(0, np.uint64), res)
        lon, lat = to_lonlat(nx, ny)
        ok = np.isfinite(lon) & np.isfinite(lat)
        seeds = unique_sorted(cells_of(lat[ok], lon[ok], res))
        disk = np.asarray(h3ronpy.grid_disk(pa.array(seeds, pa.uint64()), 2, flatten=True))
        return cls.from_cells(disk.astype(np.uint64), res)

    def index_of(self, cells: np.ndarray) -> np.ndarray:
        """Row of each cell id in this grid, -1 where absent."""
        cells = np.asarray(cells, dtype=np.uint64)
        pos = np.searchsorted(self.cells, cells)
        pos = np.minimum(pos, max(len(self.cells) - 1, 0))
        found = len(self.cells) > 0
        hit = (self.cells[pos] == cells) if found else np.zeros(len(cells), bool)
        return np.where(hit, pos, -1).astype(np.int64)

    @property
    def cell_width(self) -> float:
        """The widest hexagon's bounding-box extent, in metres."""
        if len(self.cells) == 0:
            return 1.0
        return float(max((self.bounds[:, 2] - self.bounds[:, 0]).max(),
                         (self.bounds[:, 3] - self.bounds[:, 1]).max()))

    def _bucket_index(
        self,
    ) -> tuple[float, float, float, int, int, np.ndarray, np.ndarray, float, float]:
        if self._index is None:
            b = self.bounds
            x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
            w, h = float(b[:, 2].max()) - x0, float(b[:, 3].max()) - y0
            size = max(self.cell_width, np.sqrt(w * h / max(len(self), 1)))
            nbx, nby = int(w / size) + 1, int(h / size) + 1
            start, order = bucket_cells(b, x0, y0, size, nbx, nby)
            hx = float((b[:, 2] - b[:, 0]).max()) / 2
            hy = float((b[:, 3] - b[:, 1]).max()) / 2
            self._index = (x0, y0, size, nbx, nby, start, order, hx, hy)
        return self._index

    def candidates(self, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells whose bounding boxes meet each planar box, as CSR ``(start, cell_rows)``:
        the cells of box ``i`` are ``cell_rows[start[i]:start[i + 1]]``.
        """
        boxes = np.ascontiguousarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(self.cells) == 0:
            return np.zeros(len(boxes) + 1, np.int64), np.zeros(0, np.int64)
        x0, y0, size, nbx, nby, start, order, hx, hy = self._bucket_index()
        return query_buckets(boxes, self.bounds, x0, y0, size, nbx, nby, start, order, hx, hy)
