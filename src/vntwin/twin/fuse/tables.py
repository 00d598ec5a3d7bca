"""Tables keyed by administrative unit onto cells: extensive columns split over the
unit's cells, intensive ones copied to each of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import h3ronpy
import numpy as np
import pandas as pd
import pyarrow as pa

from .frame import FusionError, Rows

__all__ = ["spread_table"]


def _codes(col: pd.Series) -> pd.Series:
    """Unit codes compared as trimmed text, so 79 and "79" match (leading zeros count)."""
    return col.astype(str).str.strip()


def _h3_ids(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_integer_dtype(col):
        return col.to_numpy().astype(np.uint64)
    parsed = h3ronpy.cells_parse(pa.array(col.astype(str).to_numpy()))
    return np.asarray(parsed).astype(np.uint64)


def _weights(uc: pd.DataFrame, unit: np.ndarray, weight: str | None) -> np.ndarray:
    """Each row's share of its unit: by ``weight`` where the unit's weights add up to
    more than zero, else by cell area.
    """
    area = np.asarray(h3ronpy.cells_area_m2(pa.array(uc["h3"].to_numpy(), pa.uint64())))
    if weight is None:
        w = area
    else:
        if weight not in uc.columns:
            raise FusionError(f"weight column {weight!r} is not in unit_cells")
        w = pd.to_numeric(uc[weight], errors="coerce").fillna(0.0).to_numpy(np.float64)
        if (w < 0).any():
            raise FusionError(f"weight column {weight!r} has negative values")
        unit_total = np.bincount(unit, weights=w)
        w = np.where(unit_total[unit] > 0, w, area)
    return w / np.bincount(unit, weights=w)[unit]


def spread_table(
    values: pd.DataFrame,
    unit_cells: pd.DataFrame,
    *,
    extensive: Sequence[str],
    weight: str | None = None,
) -> pd.DataFrame:
    """Spread a table keyed by administrative unit onto the units' H3 cells.

    ``values`` has a ``unit_code`` column and numeric columns (other columns are
    ignored); ``unit_cells`` maps cells to units (``h3``, ``unit_code``, optionally the
    ``weight`` column). Each ``extensive`` column (population, households) is split over
    the unit's cells by cell area, or by ``weight`` (population, built-up area) when
    given — by area in a unit whose weights are all zero — so the cells of a unit add up
    to the unit's value. Every other numeric column is intensive (a rate, a price) and
    copied to each of the unit's cells. A cell listed under several units (a border
    cell, with its overlap as weight) adds their extensive shares and takes the
    weighted mean of their intensive values. Units without cells are left out.

    >>> import pandas as pd
    >>> vals = pd.DataFrame({"unit_code": ["01"], "pop": [300.0], "rate": [0.5]})
    >>> cells = pd.DataFrame({"h3": [0x88415cb433fffff, 0x88415cb4e1fffff, 0x88415cb4e5fffff],
    ...                       "unit_code": ["01"] * 3, "w": [1.0, 1.0, 2.0]})
    >>> spread_table(vals, cells, extensive=["pop"], weight="w").value.tolist()
    [75.0, 75.0, 150.0, 0.5, 0.5, 0.5]
    """
    for frame, name in ((values, "values"), (unit_cells, "unit_cells")):
        if "unit_code" not in frame.columns:
            raise FusionError(f"{name} has no unit_code column")
    if "h3" not in unit_cells.columns:
        raise FusionError("unit_cells has no h3 column")
    numeric = [c for c in values.columns if c != "unit_code"
               and pd.api.types.is_numeric_dtype(values[c])]
    missing = [c for c in extensive if c not in numeric]
    if missing:
        raise FusionError(f"extensive columns {missing} are not numeric columns of the table")
    codes = _codes(values["unit_code"])
    if codes.duplicated().any():
        dup = sorted(set(codes[codes.duplicated()]))[:5]
        raise FusionError(f"the table lists units more than once: {dup}")
    uc = unit_cells.assign(unit_code=_codes(unit_cells["unit_code"]))
    uc = uc[uc["unit_code"].isin(set(codes))].reset_index(drop=True)
    uc["h3"] = _h3_ids(uc["h3"])
    unit, _ = pd.factorize(uc["unit_code"])
    share = _weights(uc, unit, weight) if len(uc) else np.zeros(0)
    raw_w = (pd.to_numeric(uc[weight], errors="coerce").fillna(0.0).to_numpy(np.float64)
             if weight is not None else np.ones(len(uc)))
    table = values.assign(unit_code=codes).set_index("unit_code")
    at = table.loc[uc["unit_code"]]
    cell_row, cells = pd.factorize(uc["h3"].to_numpy(), sort=True)
    cells = np.asarray(cells, dtype=np.uint64)
    n = len(cells)
    rows = Rows()
    for col in numeric:
        v = at[col].to_numpy(np.float64, na_value=np.nan)
        ok = ~np.isnan(v)
        seen = np.bincount(cell_row[ok], minlength=n) > 0
        if col in extensive:
            total = np.bincount(cell_row[ok], weights=v[ok] * share[ok], minlength=n)
            rows.add(cells[seen], col, total[seen])
            continue
        den_w = np.bincount(cell_row[ok], weights=raw_w[ok], minlength=n)
        num_w = np.bincount(cell_row[ok], weights=raw_w[ok] * v[ok], minlength=n)
        num_1 = np.bincount(cell_row[ok], weights=v[ok], minlength=n)
        den_1 = np.bincount(cell_row[ok], minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(den_w > 0, num_w / den_w, num_1 / den_1)
        rows.add(cells[seen], col, mean[seen])
    return rows.frame()
