"""Numba kernels: Sutherland–Hodgman clipping of polygon rings against convex hexagons,
shoelace areas, and Cyrus–Beck clipping of segments.

Rings are stored flat: coordinates ``xs``/``ys`` and ring offsets ``off``; a ring does
not repeat its first vertex. Exterior rings run counter-clockwise and holes clockwise
(:func:`orient_rings`), so the signed shoelace sum of a ring set is its area and holes
subtract. Sutherland–Hodgman keeps this true for any ring, convex or not: the clipped
ring may carry zero-width bridges along the clip line, which add no area.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# A node of the polygon kernel with at most this many vertices is clipped per cell.
_LEAF_VERTICES = 24
# Relative tolerance for "the polygon covers this whole box".
_FULL_TOL = 1e-13


@njit(cache=True)
def shoelace(x: np.ndarray, y: np.ndarray, n: int) -> float:
    """Signed area of the ring ``x[:n], y[:n]``, computed relative to its first vertex."""
    if n < 3:
        return 0.0
    x0, y0 = x[0], y[0]
    s = 0.0
    for i in range(1, n - 1):
        s += (x[i] - x0) * (y[i + 1] - y0) - (x[i + 1] - x0) * (y[i] - y0)
    return 0.5 * s


@njit(cache=True)
def _clip_pass(ix: np.ndarray, iy: np.ndarray, n: int, ax: float, ay: float, dx: float,
               dy: float, ox: np.ndarray, oy: np.ndarray) -> int:
    """One Sutherland–Hodgman pass: the part of the ring left of the line through
    (ax, ay) with direction (dx, dy), written to ``ox``/``oy`` (room for 2n).
    """
    if n == 0:
        return 0
    m = 0
    px, py = ix[n - 1], iy[n - 1]
    ps = dx * (py - ay) - dy * (px - ax)
    for i in range(n):
        cx, cy = ix[i], iy[i]
        cs = dx * (cy - ay) - dy * (cx - ax)
        if cs >= 0.0:
            if ps < 0.0:
                t = ps / (ps - cs)
                ox[m] = px + t * (cx - px)
                oy[m] = py + t * (cy - py)
                m += 1
            ox[m] = cx
            oy[m] = cy
            m += 1
        elif ps >= 0.0:
            t = ps / (ps - cs)
            ox[m] = px + t * (cx - px)
            oy[m] = py + t * (cy - py)
            m += 1
        px, py, ps = cx, cy, cs
    return m


@njit(cache=True)
def _pass_rows(buf: np.ndarray, src: int, dst: int, n: int, ax: float, ay: float, dx: float,
               dy: float) -> int:
    """:func:`_clip_pass` from rows ``src, src + 1`` of ``buf`` to rows ``dst, dst + 1``
    (indexing the 2-D buffer directly is much faster than taking row views).
    """
    m = 0
    px, py = buf[src, n - 1], buf[src + 1, n - 1]
    ps = dx * (py - ay) - dy * (px - ax)
    for i in range(n):
        cx, cy = buf[src, i], buf[src + 1, i]
        cs = dx * (cy - ay) - dy * (cx - ax)
        if cs >= 0.0:
            if ps < 0.0:
                t = ps / (ps - cs)
                buf[dst, m] = px + t * (cx - px)
                buf[dst + 1, m] = py + t * (cy - py)
                m += 1
            buf[dst, m] = cx
            buf[dst + 1, m] = cy
            m += 1
        elif ps >= 0.0:
            t = ps / (ps - cs)
            buf[dst, m] = px + t * (cx - px)
            buf[dst + 1, m] = py + t * (cy - py)
            m += 1
        px, py, ps = cx, cy, cs
    return m


@njit(cache=True)
def _grow(buf: np.ndarray, need: int) -> np.ndarray:
    if buf.shape[1] >= need:
        return buf
    new = np.empty((4, max(need, 2 * buf.shape[1])))
    new[:, : buf.shape[1]] = buf
    return new


@njit(cache=True)
def rings_clip_area(xs: np.ndarray, ys: np.ndarray, off: np.ndarray, cx: np.ndarray,
                    cy: np.ndarray, nc: int, buf: np.ndarray) -> tuple[float, np.ndarray]:
    """Signed area of the ring set inside the convex counter-clockwise polygon
    ``cx[:nc], cy[:nc]``. ``buf`` (4 × capacity scratch) is reused, grown as needed and
    returned.
    """
    total = 0.0
    for r in range(len(off) - 1):
        s, e = off[r], off[r + 1]
        m = e - s
        if m < 3:
            continue
        buf = _grow(buf, 2 * m + 16)
        for i in range(m):
            buf[0, i] = xs[s + i]
            buf[1, i] = ys[s + i]
        src = 0
        for k in range(nc):
            buf = _grow(buf, 2 * m + 2)
            k2 = k + 1 if k + 1 < nc else 0
            m = _pass_rows(buf, src, 2 - src, m, cx[k], cy[k], cx[k2] - cx[k], cy[k2] - cy[k])
            src = 2 - src
            if m < 3:
                break
        if m >= 3:
            x0, y0 = buf[src, 0], buf[src + 1, 0]
            a = 0.0
            for i in range(1, m - 1):
                a += ((buf[src, i] - x0) * (buf[src + 1, i + 1] - y0)
                      - (buf[src, i + 1] - x0) * (buf[src + 1, i] - y0))
            total += 0.5 * a
    return total, buf


@njit(cache=True)
def _split(xs: np.ndarray, ys: np.ndarray, off: np.ndarray, axis: int, at: float,
           low: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip every ring to ``coord[axis] <= at`` (``low``) or ``>= at``."""
    ox = np.empty(2 * len(xs) + 2)
    oy = np.empty(2 * len(xs) + 2)
    ooff = np.zeros(len(off), np.int64)
    if axis == 0:
        ax, ay, dx, dy = at, 0.0, 0.0, (1.0 if low else -1.0)
    else:
        ax, ay, dx, dy = 0.0, at, (-1.0 if low else 1.0), 0.0
    k = 0
    nr = 0
    for r in range(len(off) - 1):
        s, e = off[r], off[r + 1]
        if e - s < 3:
            continue
        m = _clip_pass(xs[s:e], ys[s:e], e - s, ax, ay, dx, dy, ox[k:], oy[k:])
        if m >= 3:
            k += m
            nr += 1
            ooff[nr] = k
    return ox[:k], oy[:k], ooff[: nr + 1]


@njit(cache=True)
def _load_hex(c: int, hvx: np.ndarray, hvy: np.ndarray, hnv: np.ndarray, tx: float, ty: float,
              hx: np.ndarray, hy: np.ndarray) -> int:
    n = hnv[c]
    for k in range(n):
        hx[k] = hvx[c, k] - tx
        hy[k] = hvy[c, k] - ty
    return n


@njit(cache=True)
def _polygon_cells(xs: np.ndarray, ys: np.ndarray, off: np.ndarray, w: float, h: float,
                   tx: float, ty: float, cells: np.ndarray, hvx: np.ndarray, hvy: np.ndarray,
                   hnv: np.ndarray, hb: np.ndarray, harea: np.ndarray, width: float,
                   out: np.ndarray, base: int) -> None:
    """Area of one polygon (rings translated by -(tx, ty)) in each candidate cell,
    added to ``out[base + j]`` for ``cells[j]``.

    Boxes are split in halves (Sutherland–Hodgman against the split line) until a box
    holds few vertices or is about one cell wide, so a polygon of V vertices over N
    cells costs about V log N, not V × N. A box the polygon covers entirely gives each
    cell inside it the hexagon's whole area without clipping (the all-inside test).
    """
    hx = np.empty(hvx.shape[1])
    hy = np.empty(hvx.shape[1])
    hoff = np.zeros(2, np.int64)
    rx = np.empty(4)
    ry = np.empty(4)
    scratch = np.empty((4, 64))
    stack = [(xs, ys, off, 0.0, 0.0, w, h, np.arange(len(cells)))]
    while len(stack) > 0:
        sx, sy, soff, x0, y0, x1, y1, idx = stack.pop()
        if len(idx) == 0 or len(sx) < 3:
            continue
        region = (x1 - x0) * (y1 - y0)
        covered = 0.0
        for r in range(len(soff) - 1):
            covered += shoelace(sx[soff[r]:], sy[soff[r]:], soff[r + 1] - soff[r])
        if region > 0.0 and covered >= region * (1.0 - _FULL_TOL):
            rx[0], rx[1], rx[2], rx[3] = x0, x1, x1, x0
            ry[0], ry[1], ry[2], ry[3] = y0, y0, y1, y1
            for j in idx:
                c = cells[j]
                if (hb[c, 0] - tx >= x0 and hb[c, 2] - tx <= x1 and hb[c, 1] - ty >= y0
                        and hb[c, 3] - ty <= y1):
                    out[base + j] += harea[c]
                else:
                    hoff[1] = _load_hex(c, hvx, hvy, hnv, tx, ty, hx, hy)
                    a, scratch = rings_clip_area(hx, hy, hoff, rx, ry, 4, scratch)
                    out[base + j] += a
            continue
        if len(sx) <= _LEAF_VERTICES or len(idx) <= 2 or max(x1 - x0, y1 - y0) <= width:
            for j in idx:
                n = _load_hex(cells[j], hvx, hvy, hnv, tx, ty, hx, hy)
                a, scratch = rings_clip_area(sx, sy, soff, hx, hy, n, scratch)
                out[base + j] += a
            continue
        axis = 0 if x1 - x0 >= y1 - y0 else 1
        at = 0.5 * (x0 + x1) if axis == 0 else 0.5 * (y0 + y1)
        for low in (True, False):
            px, py, poff = _split(sx, sy, soff, axis, at, low)
            if axis == 0:
                bx0, bx1, by0, by1 = (x0, at, y0, y1) if low else (at, x1, y0, y1)
            else:
                bx0, bx1, by0, by1 = (x0, x1, y0, at) if low else (x0, x1, at, y1)
            keep = np.empty(len(idx), np.int64)
            k = 0
            for j in idx:
                c = cells[j]
                if (hb[c, 0] - tx <= bx1 and hb[c, 2] - tx >= bx0 and hb[c, 1] - ty <= by1
                        and hb[c, 3] - ty >= by0):
                    keep[k] = j
                    k += 1
            stack.append((px, py, poff, bx0, by0, bx1, by1, keep[:k]))


@njit(cache=True, parallel=True)
def polygon_pair_areas(xs: np.ndarray, ys: np.ndarray, ring_off: np.ndarray,
                       poly_ring: np.ndarray, pair_start: np.ndarray, pair_cell: np.ndarray,
                       hvx: np.ndarray, hvy: np.ndarray, hnv: np.ndarray, hb: np.ndarray,
                       harea: np.ndarray, width: float) -> np.ndarray:
    """Area in m² of polygon p inside cell ``pair_cell[i]`` for each candidate pair
    ``i`` in ``pair_start[p]:pair_start[p + 1]``. Polygon p owns rings
    ``poly_ring[p]:poly_ring[p + 1]``, whose vertices are ``ring_off[r]:ring_off[r + 1]``.
    """
    npoly = len(poly_ring) - 1
    out = np.zeros(pair_start[npoly])
    for p in prange(npoly):
        r0, r1 = poly_ring[p], poly_ring[p + 1]
        c0, c1 = ring_off[r0], ring_off[r1]
        if c1 - c0 < 3 or pair_start[p + 1] == pair_start[p]:
            continue
        tx = xs[c0:c1].min()
        ty = ys[c0:c1].min()
        lx = xs[c0:c1] - tx
        ly = ys[c0:c1] - ty
        loff = ring_off[r0:r1 + 1] - c0
        _polygon_cells(lx, ly, loff, lx.max(), ly.max(), tx, ty,
                       pair_cell[pair_start[p]:pair_start[p + 1]], hvx, hvy, hnv, hb, harea,
                       width, out, pair_start[p])
    return out


@njit(cache=True, parallel=True)
def orient_rings(xs: np.ndarray, ys: np.ndarray, ring_off: np.ndarray,
                 is_hole: np.ndarray) -> np.ndarray:
    """Reverse rings in place so exteriors run counter-clockwise and holes clockwise;
    returns each ring's signed area after orienting.
    """
    nr = len(ring_off) - 1
    area = np.zeros(nr)
    for r in prange(nr):
        s, e = ring_off[r], ring_off[r + 1]
        a = shoelace(xs[s:e], ys[s:e], e - s)
        if (a < 0.0 and not is_hole[r]) or (a > 0.0 and is_hole[r]):
            xs[s:e] = xs[s:e][::-1].copy()
            ys[s:e] = ys[s:e][::-1].copy()
            a = -a
        area[r] = a
    return area


@njit(cache=True, parallel=True)
def segment_pair_fractions(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
                           pair_start: np.ndarray, pair_cell: np.ndarray, hvx: np.ndarray,
                           hvy: np.ndarray, hnv: np.ndarray) -> np.ndarray:
    """Fraction of segment s inside cell ``pair_cell[i]`` for its candidate pairs
    (Cyrus–Beck against the hexagon's half-planes). A segment lying exactly on a shared
    edge is given to one side only: the edge counts as inside when it runs towards +x
    (or +y when vertical), and its twin in the neighbour runs the other way.
    """
    ns = len(x0)
    out = np.zeros(pair_start[ns])
    for s in prange(ns):
        dx = x1[s] - x0[s]
        dy = y1[s] - y0[s]
        for i in range(pair_start[s], pair_start[s + 1]):
            c = pair_cell[i]
            n = hnv[c]
            t0, t1 = 0.0, 1.0
            for k in range(n):
                k2 = k + 1 if k + 1 < n else 0
                ex = hvx[c, k2] - hvx[c, k]
                ey = hvy[c, k2] - hvy[c, k]
                num = ex * (y0[s] - hvy[c, k]) - ey * (x0[s] - hvx[c, k])
                den = ex * dy - ey * dx
                if den == 0.0:
                    if num < 0.0 or (num == 0.0 and not (ex > 0.0 or (ex == 0.0 and ey > 0.0))):
                        t1 = -1.0
                        break
                elif den > 0.0:
                    t = -num / den
                    t0 = max(t0, t)
                else:
                    t = -num / den
                    t1 = min(t1, t)
                if t0 >= t1:
                    break
            if t1 > t0:
                out[i] = t1 - t0
    return out
