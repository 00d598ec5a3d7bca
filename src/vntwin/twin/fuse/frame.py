"""The long frame every kernel returns, and the small checks and aggregations they share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from vntwin.errors import VntwinError

__all__ = ["COLUMNS", "FusionError", "empty_frame"]

COLUMNS = ("h3", "variable", "value")


class FusionError(VntwinError):
    """A layer cannot be fused as asked (unknown kind, missing or non-numeric column)."""


def _variables(codes: np.ndarray, names: list[str]) -> pd.api.extensions.ExtensionArray:
    """The ``variable`` column from name codes, built in Arrow (no Python strings)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()),
                                         pa.array(names, pa.large_string()))
    return pd.array(arr.cast(pa.large_string()), dtype="str")


def empty_frame() -> pd.DataFrame:
    """A long frame with no rows and the contract's dtypes."""
    return pd.DataFrame({
        "h3": np.zeros(0, np.uint64),
        "variable": _variables(np.zeros(0, np.int32), []),
        "value": np.zeros(0, np.float64),
    })


class Rows:
    """Collects (cells, variable, values) blocks and builds the long frame once."""

    def __init__(self) -> None:
        self._cells: list[np.ndarray] = []
        self._codes: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._names: dict[str, int] = {}

    def _code(self, name: str) -> int:
        return self._names.setdefault(name, len(self._names))

    def add(self, cells: np.ndarray, variable: str, values: np.ndarray) -> None:
        """Add one variable's values per cell; NaN values are dropped."""
        self.add_coded(cells, [variable], np.zeros(len(cells), np.int32), values)

    def add_coded(self, cells: np.ndarray, names: Sequence[str], codes: np.ndarray,
                  values: np.ndarray) -> None:
        """Add rows whose variable is ``names[codes[i]]``; NaN values are dropped."""
        values = np.asarray(values, dtype=np.float64)
        keep = ~np.isnan(values)
        if not keep.all():
            cells, codes, values = cells[keep], codes[keep], values[keep]
        if len(values) == 0:
            return
        remap = np.array([self._code(n) for n in names], np.int32)
        self._cells.append(np.asarray(cells, dtype=np.uint64))
        self._codes.append(remap[codes])
        self._values.append(values)

    def frame(self) -> pd.DataFrame:
        """The collected blocks as one frame with columns ``h3``, ``variable``, ``value``."""
        if not self._cells:
            return empty_frame()
        return pd.DataFrame({
            "h3": np.concatenate(self._cells),
            "variable": _variables(np.concatenate(self._codes), list(self._names)),
            "value": np.concatenate(self._values),
        }, copy=False)


def wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:4326 (a frame without a CRS is taken to be in it already)."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise FusionError(f"expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        return gdf.to_crs("EPSG:4326")
    return gdf


def numeric_columns(frame: pd.DataFrame, names: Iterable[str], role: str) -> dict[str, np.ndarray]:
    """Each named column as float64 (missing values NaN); a clear error if absent or
    not numeric.
    """
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name not in frame.columns:
            raise FusionError(f"{role} column {name!r} is not in the layer")
        col = frame[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            try:
                col = pd.to_numeric(col)
            except (TypeError, ValueError) as exc:
                raise FusionError(f"{role} column {name!r} is not numeric") from exc
        out[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def category_codes(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, tuple[np.ndarray, Any]]:
    """Each categorical column factorised: ``(codes, labels)``, code -1 for missing."""
    out: dict[str, tuple[np.ndarray, Any]] = {}
    for name in names:
        if name not in frame.columns:
            raise FusionError(f"categorical column {name!r} is not in the layer")
        codes, labels = pd.factorize(frame[name], use_na_sentinel=True)
        out[name] = (np.asarray(codes, np.int64), labels)
    return out


def add_weighted_mean(rows: Rows, cells: np.ndarray, name: str, cell_row: np.ndarray,
                      weight: np.ndarray, values: np.ndarray) -> None:
    """Per cell, the ``weight``-weighted mean of ``values`` over rows with a value."""
    ok = ~np.isnan(values) & (weight > 0)
    n = len(cells)
    den = np.bincount(cell_row[ok], weights=weight[ok], minlength=n)
    num = np.bincount(cell_row[ok], weights=weight[ok] * values[ok], minlength=n)
    hit = den > 0
    rows.add(cells[hit], name, num[hit] / den[hit])


def add_category_shares(rows: Rows, cells: np.ndarray, name: str, cell_row: np.ndarray,
                        weight: np.ndarray, codes: np.ndarray, labels: Any) -> None:
    """Per cell and category, the category's share of the cell's weight (over rows whose
    category is known): variables ``{name}={label}``; shares in a cell sum to 1.
    """
    ok = (codes >= 0) & (weight > 0)
    if not ok.any():
        return
    ncat = max(len(labels), 1)
    key = cell_row[ok] * ncat + codes[ok]
    w = weight[ok]
    if len(cells) * ncat <= 4 * len(key) + 1_000_000:  # dense keys: count directly
        dense = np.bincount(key, weights=w, minlength=len(cells) * ncat)
        ukey = np.flatnonzero(dense)
        sums = dense[ukey]
    else:
        order = np.argsort(key)
        key, w = key[order], w[order]
        first = np.ones(len(key), bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        sums = np.add.reduceat(w, starts)
        ukey = key[starts]
    crow, code = ukey // ncat, ukey % ncat
    den = np.bincount(crow, weights=sums, minlength=len(cells))
    rows.add_coded(cells[crow], [f"{name}={label}" for label in labels], code, sums / den[crow])
