"""Numba kernels that find candidate (feature, cell) pairs: a uniform bucket grid over
the hexagons' bounding boxes, and the sampling lattice that finds which H3 cells a set
of bounding boxes touches.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# A lattice with more nodes than this is collected as sorted keys instead of a mask.
_MAX_MASK = 50_000_000


@njit(cache=True)
def bucket_cells(
    hb: np.ndarray, x0: float, y0: float, size: float, nbx: int, nby: int
) -> tuple[np.ndarray, np.ndarray]:
    """Put each cell in the bucket holding its bounding-box centre.

    Returns ``start`` (CSR offsets, ``nbx * nby + 1``) and ``order`` (cell indices).
    """
    n = hb.shape[0]
    key = np.empty(n, np.int64)
    counts = np.zeros(nbx * nby + 1, np.int64)
    for i in range(n):
        bx = int((0.5 * (hb[i, 0] + hb[i, 2]) - x0) / size)
        by = int((0.5 * (hb[i, 1] + hb[i, 3]) - y0) / size)
        bx = min(max(bx, 0), nbx - 1)
        by = min(max(by, 0), nby - 1)
        key[i] = by * nbx + bx
        counts[key[i] + 1] += 1
    for b in range(nbx * nby):
        counts[b + 1] += counts[b]
    fill = counts[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        order[fill[key[i]]] = i
        fill[key[i]] += 1
    return counts, order


@njit(cache=True)
def _visit(
    f: int, fb: np.ndarray, hb: np.ndarray, x0: float, y0: float, size: float,
    nbx: int, nby: int, start: np.ndarray, order: np.ndarray, hx: float, hy: float,
    out: np.ndarray, pos: int,
) -> int:
    """Count (``pos < 0``) or write from ``pos`` the cells whose box meets feature f's box."""
    fx0, fy0, fx1, fy1 = fb[f, 0], fb[f, 1], fb[f, 2], fb[f, 3]
    if not (fx0 <= fx1 and fy0 <= fy1):  # empty geometry: NaN bounds
        return 0
    bx0 = int(np.floor((fx0 - hx - x0) / size))
    bx1 = int(np.floor((fx1 + hx - x0) / size))
    by0 = int(np.floor((fy0 - hy - y0) / size))
    by1 = int(np.floor((fy1 + hy - y0) / size))
    if bx1 < 0 or by1 < 0 or bx0 >= nbx or by0 >= nby:
        return 0
    bx0, by0 = max(bx0, 0), max(by0, 0)
    bx1, by1 = min(bx1, nbx - 1), min(by1, nby - 1)
    k = 0
    for by in range(by0, by1 + 1):
        for bx in range(bx0, bx1 + 1):
            b = by * nbx + bx
            for j in range(start[b], start[b + 1]):
                c = order[j]
                if hb[c, 0] <= fx1 and hb[c, 2] >= fx0 and hb[c, 1] <= fy1 and hb[c, 3] >= fy0:
                    if pos >= 0:
                        out[pos + k] = c
                    k += 1
    return k


@njit(cache=True, parallel=True)
def query_buckets(
    fb: np.ndarray, hb: np.ndarray, x0: float, y0: float, size: float, nbx: int, nby: int,
    start: np.ndarray, order: np.ndarray, hx: float, hy: float,
) -> tuple[np.ndarray, np.ndarray]:
    """For each feature box (rows of ``fb``), the cells whose boxes meet it, as CSR:
    ``pair_start`` (one more than features) and ``pair_cell``; cells sorted per feature.
    """
    nf = fb.shape[0]
    counts = np.zeros(nf + 1, np.int64)
    dummy = np.empty(0, np.int64)
    for f in prange(nf):
        counts[f + 1] = _visit(f, fb, hb, x0, y0, size, nbx, nby, start, order, hx, hy,
                               dummy, -1)
    for f in range(nf):
        counts[f + 1] += counts[f]
    out = np.empty(counts[nf], np.int64)
    for f in prange(nf):
        _visit(f, fb, hb, x0, y0, size, nbx, nby, start, order, hx, hy, out, counts[f])
        out[counts[f]:counts[f + 1]].sort()
    return counts, out


@njit(cache=True)
def _node_range(lo: float, hi: float, origin: float, d: float, n: int) -> tuple[int, int]:
    a = int(np.floor((lo - origin) / d))
    b = int(np.ceil((hi - origin) / d))
    return max(a, 0), min(b, n - 1)


@njit(cache=True)
def lattice_mask(fb: np.ndarray, x0: float, y0: float, d: float, nx: int, ny: int) -> np.ndarray:
    """Lattice nodes (spacing d from (x0, y0)) around any box, as flat indices iy*nx+ix."""
    mask = np.zeros(nx * ny, np.bool_)
    for f in range(fb.shape[0]):
        if not (fb[f, 0] <= fb[f, 2] and fb[f, 1] <= fb[f, 3]):
            continue
        ix0, ix1 = _node_range(fb[f, 0], fb[f, 2], x0, d, nx)
        iy0, iy1 = _node_range(fb[f, 1], fb[f, 3], y0, d, ny)
        for iy in range(iy0, iy1 + 1):
            mask[iy * nx + ix0: iy * nx + ix1 + 1] = True
    return np.flatnonzero(mask)


@njit(cache=True)
def lattice_keys(fb: np.ndarray, x0: float, y0: float, d: float, nx: int, ny: int) -> np.ndarray:
    """As :func:`lattice_mask` for lattices too big for a mask: sorted unique keys."""
    total = 0
    for f in range(fb.shape[0]):
        if not (fb[f, 0] <= fb[f, 2] and fb[f, 1] <= fb[f, 3]):
            continue
        ix0, ix1 = _node_range(fb[f, 0], fb[f, 2], x0, d, nx)
        iy0, iy1 = _node_range(fb[f, 1], fb[f, 3], y0, d, ny)
        total += max(ix1 - ix0 + 1, 0) * max(iy1 - iy0 + 1, 0)
    keys = np.empty(total, np.int64)
    k = 0
    for f in range(fb.shape[0]):
        if not (fb[f, 0] <= fb[f, 2] and fb[f, 1] <= fb[f, 3]):
            continue
        ix0, ix1 = _node_range(fb[f, 0], fb[f, 2], x0, d, nx)
        iy0, iy1 = _node_range(fb[f, 1], fb[f, 3], y0, d, ny)
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                keys[k] = iy * nx + ix
                k += 1
    keys.sort()
    if k == 0:
        return keys
    keep = np.ones(k, np.bool_)
    keep[1:] = keys[1:] != keys[:-1]
    return keys[keep]


def lattice_nodes(
    fb: np.ndarray, d: float
) -> tuple[np.ndarray, np.ndarray]:
    """Plane coordinates of the lattice nodes (spacing ``d``) that cover every box: each
    point of a box is within ``d / sqrt(2)`` of a returned node.
    """
    ok = (fb[:, 0] <= fb[:, 2]) & (fb[:, 1] <= fb[:, 3])
    if not ok.any():
        return np.zeros(0), np.zeros(0)
    x0 = float(fb[ok, 0].min()) - d
    y0 = float(fb[ok, 1].min()) - d
    nx = int(np.ceil((fb[ok, 2].max() - x0) / d)) + 2
    ny = int(np.ceil((fb[ok, 3].max() - y0) / d)) + 2
    fbc = np.ascontiguousarray(fb, dtype=np.float64)
    if nx * ny <= _MAX_MASK:
        flat = lattice_mask(fbc, x0, y0, d, nx, ny)
    else:
        flat = lattice_keys(fbc, x0, y0, d, nx, ny)
    return x0 + (flat % nx) * d, y0 + (flat // nx) * d
