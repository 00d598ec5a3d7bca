"""H3 helpers used across the twin: cells as ``uint64`` numpy arrays, vectorised.

Cell ids are H3 v4 indexes stored as unsigned 64-bit integers; ``0`` means "no cell"
(a missing or invalid coordinate) and passes through every helper as ``0`` / NaN / None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import h3ronpy
import h3ronpy.vector as h3v
import numpy as np
import pyarrow as pa
import shapely

DEFAULT_RES = 8
"""The twin's default H3 resolution (≈0.8 km² a cell at Vietnam's latitudes)."""

_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT


def as_cells(h3: Any) -> np.ndarray:
    """Any sequence of cell ids (ints, uint64/int64 arrays, pandas or arrow columns, or
    H3 strings) as a ``uint64`` array; invalid or missing cells become ``0``.
    """
    if isinstance(h3, pa.ChunkedArray | pa.Array):
        h3 = h3.to_numpy(zero_copy_only=False)
    arr = np.asarray(h3)
    if arr.dtype.kind in "US" or arr.dtype == object:
        out = np.zeros(arr.shape, dtype=np.uint64)
        for i, value in enumerate(arr.ravel()):
            if isinstance(value, str):
                try:
                    out.flat[i] = int(value, 16)
                except ValueError:
                    out.flat[i] = 0
            elif value is not None and value == value:  # not None / NaN
                out.flat[i] = int(value)
        arr = out
    elif arr.dtype.kind == "f":
        arr = np.where(np.isfinite(arr), arr, 0).astype(np.uint64)
    else:
        arr = arr.astype(np.uint64, copy=False)
    if arr.size == 0:
        return arr.reshape(-1)
    valid = pa.array(h3ronpy.cells_valid(arr.reshape(-1))).fill_null(0)
    return np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.uint64)


def _masked(cells: np.ndarray) -> pa.Array:
    """An arrow array with nulls where a cell is 0, which h3ronpy skips."""
    return pa.array(cells, type=pa.uint64(), mask=cells == 0)


def resolution(h3: Any) -> np.ndarray:
    """Resolution of each cell (``-1`` for no cell)."""
    cells = np.asarray(h3, dtype=np.uint64)
    res = ((cells & _RES_MASK) >> _RES_SHIFT).astype(np.int8)
    return np.where(cells == 0, np.int8(-1), res)


def latlng_to_cells(lat: Sequence[float] | np.ndarray, lon: Sequence[float] | np.ndarray,
                    res: int = DEFAULT_RES) -> np.ndarray:
    """Cells holding each point (vectorised, h3ronpy); ``0`` where lat/lon is missing
    or out of range.
    """
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a = np.asarray(lon, dtype=np.float64)
    if lat_a.shape != lon_a.shape:
        raise ValueError("lat and lon must have the same length")
    ok = np.isfinite(lat_a) & np.isfinite(lon_a) & (np.abs(lat_a) <= 90) \
        & (np.abs(lon_a) <= 180)
    out = np.zeros(lat_a.shape, dtype=np.uint64)
    if ok.any():
        cells = h3v.coordinates_to_cells(lat_a[ok], lon_a[ok], int(res))
        out[ok] = np.asarray(cells, dtype=np.uint64)
    return out


def cell_centres(h3: Any) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each cell's centre (NaN for no cell)."""
    cells = np.asarray(h3, dtype=np.uint64)
    if cells.size == 0:
        return np.empty(0), np.empty(0)
    batch = pa.record_batch(h3v.cells_to_coordinates(_masked(cells)))
    lat = batch.column("lat").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = batch.column("lng").to_numpy(zero_copy_only=False).astype(np.float64)
    return lat, lon


def cell_polygons(h3: Any) -> gpd.GeoSeries:
    """Hexagon (or pentagon) of each cell, EPSG:4326, in input order (None for no cell)."""
    cells = np.asarray(h3, dtype=np.uint64)
    if cells.size == 0:
        return gpd.GeoSeries([], crs="EPSG:4326")
    wkb = pa.array(h3v.cells_to_wkb_polygons(_masked(cells)))
    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    return gpd.GeoSeries(geoms, crs="EPSG:4326")


def parent(h3: Any, res: int) -> np.ndarray:
    """Parent of each cell at the coarser resolution ``res`` (bit arithmetic, no calls;
    a cell already at ``res`` is its own parent). Raises if ``res`` is finer than a cell.
    """
    cells = np.asarray(h3, dtype=np.uint64)
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0..15, not {res}")
    own = resolution(cells)
    if np.any(own[cells != 0] < res):
        raise ValueError(f"cannot take the parent at resolution {res} of a coarser cell")
    unused = np.uint64((1 << (3 * (15 - res))) - 1)  # digits res+1..15 are all 7 (0b111)
    out = (cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | unused
    return np.where(cells == 0, np.uint64(0), out)


def cell_area_km2(h3: Any) -> np.ndarray:
    """Exact area of each cell in km² (NaN for no cell)."""
    cells = np.asarray(h3, dtype=np.uint64)
    if cells.size == 0:
        return np.empty(0)
    area = pa.array(h3ronpy.cells_area_km2(_masked(cells)))
    return area.to_numpy(zero_copy_only=False).astype(np.float64)


def to_strings(h3: Any) -> list[str | None]:
    """Cells as H3 hex strings (the form the h3 library and APIs show)."""
    return [format(int(c), "x") if c else None for c in np.asarray(h3, dtype=np.uint64)]
