"""Tables keyed by administrative unit onto cells: extensive columns split over the
unit's cells, intensive ones copied to each of them.

A table keyed by pre-2025 units (the usual 63-province statistics) lists several rows
for one 2025 unit (Quảng Nam and Đà Nẵng are both Đà Nẵng, "48"): ``merge_unit_rows``
combines them first, so that ``spread_table`` sees one row per unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3ronpy
import numpy as np
import pandas as pd
import pyarrow as pa

from .frame import FusionError, Rows

__all__ = ["TableMatch", "merge_unit_rows", "spread_table"]

SHOWN_KEYS = 20  # unmatched values named in a layer's note (all of them in the report)


@dataclass
class TableMatch:
    """How the rows of a unit-keyed table were matched to 2025 units."""

    rows: int  # rows of the table
    matched: int  # rows matched to a unit (kept)
    units: int  # 2025 units they fill
    merged_rows: int = 0  # matched rows combined with others into one 2025 unit
    merged: dict[str, list[str]] = field(default_factory=dict)  # 2025 code -> its rows' keys
    unmatched: list[str] = field(default_factory=list)  # distinct values matching no unit
    unmatched_rows: int = 0
    weight: str | None = None  # the column weighting intensive means of merged rows
    # pre-2025 communes the reform divided: value -> the 2025 communes it went to (the
    # first holds all of its values: no boundary of the old commune is known to split them)
    split: dict[str, list[str]] = field(default_factory=dict)

    def note(self) -> str:
        """One line for the layer's notes: what users of the layer need to know."""
        text = f"{self.matched} of {self.rows} rows matched to {self.units} units"
        if self.merged_rows:
            how = f"weighted by {self.weight}" if self.weight else "plain means"
            text += (f"; {self.merged_rows} rows of pre-2025 units merged into "
                     f"{len(self.merged)} units (extensive: sums, intensive: {how})")
        if self.unmatched_rows:
            shown = ", ".join(self.unmatched[:SHOWN_KEYS])
            more = len(self.unmatched) - SHOWN_KEYS
            text += (f"; {self.unmatched_rows} rows matched no unit and were left out: "
                     f"{shown}{f' and {more} more' if more > 0 else ''}")
        if self.split:
            shown = ", ".join(f"{k} → {v[0]}" for k, v in list(self.split.items())[:SHOWN_KEYS])
            more = len(self.split) - SHOWN_KEYS
            text += (f"; {len(self.split)} pre-2025 communes were divided among several 2025 "
                     f"communes and are given whole to the one the official conversion names "
                     f"first: {shown}{f' and {more} more' if more > 0 else ''}")
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "matched": self.matched, "units": self.units,
                "merged_rows": self.merged_rows, "merged": self.merged,
                "unmatched_rows": self.unmatched_rows, "unmatched": self.unmatched,
                "weight": self.weight, "split": self.split, "note": self.note()}


def merge_unit_rows(frame: pd.DataFrame, codes: Sequence[str | None],
                    keys: Sequence[str | None], old: Sequence[bool], *,
                    extensive: Sequence[str], intensive: Sequence[str],
                    weight: str | None = None, place: str | None = None,
                    times: np.ndarray | None = None) -> tuple[pd.DataFrame, TableMatch]:
    """``frame`` with a ``unit_code`` column (``codes``, the 2025 unit of each row), one
    row per unit, and how its rows matched.

    Rows matching no unit (``codes`` None) are left out and counted. Rows matched to one
    unit are merged when they name different units (``keys``, see
    :func:`vntwin.twin.admin.unit_key`) of which at most one is a 2025 unit (``old``
    False): the pre-2025 units it was made of. ``extensive`` columns are summed (NaN
    counts as missing; all missing stays NaN), so the unit's total is its parts' total;
    ``intensive`` columns (rates, prices) are averaged weighted by ``weight`` (an
    extensive column such as population, over the rows where both are known and the
    weights add up to more than zero), else by a plain mean — a rate of two provinces
    weighted by nothing is an approximation, declared in the layer's notes. Other
    columns keep their value where the merged rows agree and become missing where they
    do not (tables spread no categorical columns, so nothing fused is lost). The
    ``place`` column is set to the unit's code. Rows that name one unit twice (one key
    twice, or two 2025 names of it) are refused: summing them would double-count.

    A time-stamped table (``times``, one per row, see :mod:`vntwin.twin.times`) is a long
    table of units by time, as statistical yearbooks publish: its rows are merged, and
    checked for repeats, per unit and time.
    """
    if len(codes) != len(frame) or len(keys) != len(frame) or len(old) != len(frame):
        raise FusionError("one code, key and flag per row are needed to merge a table")
    code = pd.Series(list(codes), index=frame.index, dtype=object)
    hit = code.notna().to_numpy()
    lost = frame.index[~hit]
    raw = (frame[place] if place is not None and place in frame.columns
           else pd.Series(list(keys), index=frame.index))
    unmatched = list(dict.fromkeys(str(v) for v in raw.loc[lost]))
    data = frame.loc[hit].assign(unit_code=code[hit].astype(str))
    key = pd.Series(list(keys), index=frame.index)[hit]
    is_old = pd.Series(list(old), index=frame.index, dtype=bool)[hit]
    shown = raw.loc[data.index].astype(str)
    group = data["unit_code"]
    if times is not None:
        if len(times) != len(frame):
            raise FusionError("one time per row is needed to merge a time-stamped table")
        when = pd.Series(pd.to_datetime(times), index=frame.index)[hit]
        group = group + " at " + when.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("no time")
    size = group.groupby(group).transform("size")
    multi = (size > 1).to_numpy()
    twice: dict[str, list[str]] = {}
    for unit, rows in data.loc[multi].groupby(group[multi]).groups.items():
        k = key.loc[rows]
        if k.duplicated().any() or (~is_old.loc[rows]).sum() > 1:
            twice[str(unit)] = shown.loc[rows].tolist()
    if twice:
        listed = "; ".join(f"{u}: {', '.join(v)}" for u, v in list(twice.items())[:5])
        raise FusionError(f"the table lists units more than once ({listed})")
    match = TableMatch(rows=len(frame), matched=int(hit.sum()),
                       units=int(data["unit_code"].nunique()), unmatched=unmatched,
                       unmatched_rows=int((~hit).sum()))
    if not multi.any():
        out = data
    else:
        match.merged_rows = int(multi.sum())
        match.merged = {str(u): shown.loc[r].tolist()
                        for u, r in data.loc[multi].groupby(group[multi]).groups.items()}
        match.weight = weight
        out = _merge(data, group, extensive, intensive, weight)
    if place is not None and place in out.columns and place != "unit_code":
        out = out.assign(**{place: out["unit_code"]})
    return out.reset_index(drop=True), match


def _merge(data: pd.DataFrame, group: pd.Series, extensive: Sequence[str],
           intensive: Sequence[str], weight: str | None) -> pd.DataFrame:
    """One row per ``group`` (a unit, or a unit at one time): see :func:`merge_unit_rows`."""
    groups = data.groupby(group, sort=False)
    out = pd.DataFrame(index=groups.size().index)
    w = (pd.to_numeric(data[weight], errors="coerce") if weight is not None
         and weight in data.columns else None)
    for column in data.columns:
        if column in extensive:
            out[column] = groups[column].sum(min_count=1)
        elif column in intensive:
            v = pd.to_numeric(data[column], errors="coerce")
            mean = v.groupby(group, sort=False).mean()
            if w is not None:
                both = v.notna() & w.notna() & (w >= 0)
                num = (v * w).where(both).groupby(group, sort=False).sum()
                den = w.where(both).groupby(group, sort=False).sum()
                mean = (num / den).where(den > 0, mean)
            out[column] = mean
        else:  # the unit's code and time agree within a group by construction
            agree = groups[column].nunique(dropna=False) == 1
            out[column] = groups[column].first().where(agree)
    return out.reset_index(drop=True)



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
