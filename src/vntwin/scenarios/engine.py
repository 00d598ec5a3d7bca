"""Running one checked scenario: base state, edits, optimisations, indicators.

Pure computation on the base twin's arrays: no catalogue, no writes, so it runs in any
process of a pool. Each indicator is computed on the base (no edits; cached per
process, since a batch usually shares its base) and on the scenario; the outcome holds
both and their difference at every level, plus the per-cell differences for the map.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vntwin.scenarios import indicators as ind_mod
from vntwin.scenarios.base import BaseTwin
from vntwin.scenarios.check import Prepared
from vntwin.scenarios.indicators import Computed, Levels
from vntwin.scenarios.optimise import run_optimisation
from vntwin.scenarios.overlay import State, apply_edits

_BASE_CACHE: dict[str, tuple[Computed, Levels]] = {}
_BASE_CACHE_SIZE = 64


@dataclass
class Outcome:
    """One scenario's computed result (JSON-ready ``result`` and the per-cell changes)."""

    result: dict[str, Any]
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)


def _clean(value: Any) -> Any:
    """NaN and inf are not JSON: they become null."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _triple(base: float, scen: float) -> dict[str, float | None]:
    b, s = _clean(base), _clean(scen)
    return {"base": b, "scenario": s,
            "delta": None if b is None or s is None else s - b}


def _column(values: np.ndarray) -> list[float | None]:
    """Floats with NaN/inf as None, as a list (fast for thousands of units)."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return list(out.tolist())


def _unit_rows(base_twin: BaseTwin, b: pd.DataFrame, s: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(b.columns)
    bv = b.to_numpy(dtype=np.float64)
    sv = s.reindex(b.index).to_numpy(dtype=np.float64)
    lists = {c: (_column(bv[:, i]), _column(sv[:, i]), _column(sv[:, i] - bv[:, i]))
             for i, c in enumerate(columns)}
    rows = []
    for r, code in enumerate(b.index):
        if not code:
            continue
        rows.append({"code": str(code), "name": base_twin.unit_name(str(code)),
                     "values": {c: {"base": lb[r], "scenario": ls[r], "delta": ld[r]}
                                for c, (lb, ls, ld) in lists.items()}})
    return rows


def _base_key(prepared: Prepared, indicator: Any) -> str:
    spec = prepared.loaded.spec
    facilities = pd.util.hash_pandas_object(prepared.facilities, index=False).to_numpy()
    text = json.dumps([prepared.twin_version, spec.population, indicator.model_dump(mode="json"),
                       hashlib.sha256(facilities.tobytes()).hexdigest()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _base_levels(state: State, prepared: Prepared, indicator: Any) -> tuple[Computed, Levels]:
    key = _base_key(prepared, indicator)
    if key not in _BASE_CACHE:
        computed = ind_mod.compute(state, indicator, prepared.loaded.spec.population)
        if len(_BASE_CACHE) >= _BASE_CACHE_SIZE:
            _BASE_CACHE.pop(next(iter(_BASE_CACHE)))
        _BASE_CACHE[key] = (computed, ind_mod.aggregate(state, computed))
    return _BASE_CACHE[key]


def run_prepared(base: BaseTwin, prepared: Prepared) -> Outcome:
    """Compute a scenario; the base twin is not changed."""
    started = time.perf_counter()
    spec = prepared.loaded.spec
    base_state = State(base, prepared.facilities.copy())
    state = State(base, prepared.facilities.copy())
    edits = apply_edits(state, list(spec.edits))
    optimisations = [run_optimisation(state, opt, prepared.candidates[opt.id], spec.population)
                     for opt in spec.optimise]
    indicators = []
    cell_columns: dict[str, np.ndarray] = {}
    for indicator in spec.indicators:
        b_comp, b_lev = _base_levels(base_state, prepared, indicator)
        s_comp = ind_mod.compute(state, indicator, spec.population)
        s_lev = ind_mod.aggregate(state, s_comp)
        indicators.append({
            "id": indicator.id, "type": indicator.type,
            "label": indicator.label or indicator.id,
            "measures": [{"name": m.name, "label": m.label, "unit": m.unit}
                         for m in s_comp.measures],
            "notes": list(dict.fromkeys([f"base: {n}" for n in b_comp.notes
                                         if n not in s_comp.notes] + s_comp.notes)),
            "national": {m: _triple(b_lev.national.get(m, np.nan), v)
                         for m, v in s_lev.national.items()},
            "provinces": _unit_rows(base, b_lev.province, s_lev.province),
            "communes": _unit_rows(base, b_lev.commune, s_lev.commune)})
        for name, values in s_comp.cells.items():
            before = b_comp.cells.get(name)
            if before is not None:
                cell_columns[f"{indicator.id}.{name}"] = _diff(before, values)
    for key in sorted(state.changed):
        cell_columns[f"var:{key}"] = _diff(base.values(state.refs[key]), state.arrays[key])
    result = {
        "name": spec.name, "title": spec.title, "description": spec.description,
        "spec_hash": spec.spec_hash(), "twin_version": prepared.twin_version,
        "key": prepared.key, "inputs": prepared.inputs, "notes": prepared.notes,
        "population": base.resolve(spec.population, extensive=True).key,
        "edits": _jsonable(edits), "optimisations": _jsonable(optimisations),
        "indicators": indicators,
        "facilities": {"base": _counts(base_state.facilities),
                       "scenario": _counts(state.facilities)},
        "seconds": round(time.perf_counter() - started, 3)}
    return Outcome(result, _changed_cells(base, cell_columns))


def _diff(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        b = np.where(np.isfinite(before), before, np.nan)
        a = np.where(np.isfinite(after), after, np.nan)
        return np.where(np.isnan(a) & np.isnan(b), 0.0, np.nan_to_num(a) - np.nan_to_num(b))


def _changed_cells(base: BaseTwin, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cells where anything changed, one column per difference (scenario − base)."""
    if not columns:
        return pd.DataFrame(columns=["h3", "province_code", "commune_code"])
    changed_mask = np.zeros(base.n, dtype=bool)
    for values in columns.values():
        changed_mask |= np.abs(values) > 1e-9
    changed = np.flatnonzero(changed_mask)
    frame = pd.DataFrame({"h3": base.h3[changed],
                          "province_code": np.asarray(base.province_codes,
                                                      dtype=object)[base.province_idx[changed]],
                          "commune_code": np.asarray(base.commune_codes,
                                                     dtype=object)[base.commune_idx[changed]]})
    for name, values in columns.items():
        frame[name] = values[changed]
    return frame


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame["type"].value_counts().sort_index().items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return _clean(value)
