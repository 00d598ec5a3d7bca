"""Points onto cells: count, and sum and mean of numeric attributes.

Cells come from ``h3ronpy.vector.coordinates_to_cells`` (vectorised, about 3 M points/s)
and the groups from ``pandas.factorize`` and ``numpy.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .frame import Rows, add_category_shares, category_codes, numeric_columns, wgs84
from .grid import HexGrid, cells_of

__all__ = ["fuse_point_coords", "fuse_points", "point_cells"]

_POINT, _MULTIPOINT = 0, 4


def point_cells(geoms: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H3 cell of every point: ``(cells, feature, weight)``. A MultiPoint gives one row
    per part, each weighing 1/parts, so every feature weighs 1 in all.
    """
    geoms = np.asarray(geoms)
    kind = shapely.get_type_id(geoms)
    ok = np.isin(kind, (_POINT, _MULTIPOINT)) & ~shapely.is_empty(geoms)
    if (kind[ok] == _POINT).all():
        feature = np.flatnonzero(ok)
        lon, lat = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
        weight = np.ones(len(feature))
    else:
        parts, part_feat = shapely.get_parts(geoms[ok], return_index=True)
        feature = np.flatnonzero(ok)[part_feat]
        lon, lat = shapely.get_x(parts), shapely.get_y(parts)
        weight = 1.0 / np.bincount(part_feat)[part_feat]
    return cells_of(lat, lon, res), feature, weight


def fuse_points(
    gdf: gpd.GeoDataFrame,
    res: int,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    grid: HexGrid | None = None,
) -> pd.DataFrame:
    """Fuse a point layer onto H3 cells of resolution ``res``.

    Variables per cell: ``count`` (points in the cell), ``{col}_sum`` and ``{col}_mean``
    for each ``numeric`` column (over points with a value), and ``{col}={value}`` for each
    ``categorical`` column (the category's share of the cell's points). With ``grid``,
    points outside its cells are left out.

    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"beds": [10, 20]}, crs=4326,
    ...     geometry=[shapely.Point(105.85, 21.03), shapely.Point(105.85001, 21.03)])
    >>> fuse_points(gdf, 8, numeric=["beds"]).value.tolist()
    [2.0, 30.0, 15.0]
    """
    gdf = wgs84(gdf)
    cells, feature, weight = point_cells(np.asarray(gdf.geometry.values), res)
    return _fuse_cells(gdf, cells, feature, weight, numeric, categorical, grid)


def fuse_point_coords(
    frame: pd.DataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    res: int,
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
    grid: HexGrid | None = None,
) -> pd.DataFrame:
    """:func:`fuse_points` for one point per row given as WGS84 coordinate arrays (NaN
    for a missing point) beside an attribute ``frame``: no geometry objects at all.
    """
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    feature = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    cells = cells_of(lat[feature], lon[feature], res)
    return _fuse_cells(frame, cells, feature, np.ones(len(feature)), numeric, categorical,
                       grid)


def _fuse_cells(frame: pd.DataFrame, cells: np.ndarray, feature: np.ndarray,
                weight: np.ndarray, numeric: Sequence[str], categorical: Sequence[str],
                grid: HexGrid | None) -> pd.DataFrame:
    """The variables of points ``feature`` (rows of ``frame``) lying in ``cells``."""
    num = numeric_columns(frame, numeric, "numeric")
    cats = category_codes(frame, categorical)
    if grid is not None:
        inside = grid.index_of(cells) >= 0
        cells, feature, weight = cells[inside], feature[inside], weight[inside]
    row, uniq = pd.factorize(cells)
    uniq = np.asarray(uniq, dtype=np.uint64)
    n = len(uniq)
    rows = Rows()
    rows.add(uniq, "count", np.bincount(row, weights=weight, minlength=n))
    for name, values in num.items():
        v = values[feature]
        ok = ~np.isnan(v)
        total = np.bincount(row[ok], weights=weight[ok] * v[ok], minlength=n)
        w = np.bincount(row[ok], weights=weight[ok], minlength=n)
        hit = w > 0
        rows.add(uniq[hit], f"{name}_sum", total[hit])
        rows.add(uniq[hit], f"{name}_mean", total[hit] / w[hit])
    for name, (codes, labels) in cats.items():
        add_category_shares(rows, uniq, name, row, weight, codes[feature], labels)
    return rows.frame()
