"""Indicators: what a scenario measures, nationally and per province and commune.

Each indicator type is a function registered in ``INDICATORS`` (built-ins register the
same way an extension would). Most compute additive per-cell *components* (people,
people within reach, people times distance) and declare their *measures* as sums or
ratios of component sums, so one aggregation serves every level: a province's share is
the ratio of the province's sums, never an average of commune shares. Custom SQL
indicators aggregate themselves (their expression is the aggregation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vntwin.scenarios import sqlexpr, travel
from vntwin.scenarios.check import SPECIAL_COLUMNS
from vntwin.scenarios.geo import km_to_chord, nearest_km, unit_xyz
from vntwin.scenarios.overlay import State
from vntwin.scenarios.spec import Accessibility, Coverage, Custom, Exposure, PerCapita

LEVELS = ("province", "commune")


@dataclass(frozen=True)
class Measure:
    """One number an indicator reports: ``scale * sum(num) / sum(den)`` (or a sum)."""

    name: str
    label: str
    unit: str
    num: str
    den: str | None = None
    scale: float = 1.0


@dataclass
class Computed:
    """An indicator on one state (base or scenario), before aggregation."""

    measures: list[Measure]
    components: dict[str, np.ndarray] = field(default_factory=dict)
    cells: dict[str, np.ndarray] = field(default_factory=dict)  # for the difference layer
    notes: list[str] = field(default_factory=list)
    levels: Levels | None = None  # indicators that aggregate themselves


@dataclass
class Levels:
    """An indicator's measures at every level."""

    national: dict[str, float]
    province: pd.DataFrame  # index: code; columns: measures
    commune: pd.DataFrame


Compute = Callable[[State, Any, str], Computed]
INDICATORS: dict[str, Compute] = {}


def register(kind: str) -> Callable[[Compute], Compute]:
    """Add an indicator type (the built-ins below use this too)."""
    def wrap(fn: Compute) -> Compute:
        INDICATORS[kind] = fn
        return fn
    return wrap


def compute(state: State, indicator: Any, population: str) -> Computed:
    """One indicator on one state."""
    return INDICATORS[indicator.type](state, indicator, population)


def _population(state: State, name: str, indicator: Any) -> np.ndarray:
    """People per cell (after the edits), only inside the indicator's area if it has one."""
    pop = np.nan_to_num(state.get(state.ref(name, extensive=True)))
    if getattr(indicator, "area", None) is not None:
        pop = np.where(state.base.area_mask(indicator.area), pop, 0.0)
    return pop


# -- built-in indicators ---------------------------------------------------------------------
@register("accessibility")
def accessibility(state: State, ind: Accessibility, population: str) -> Computed:
    """People within ``distance_km`` of the nearest facility (straight line), and their
    mean distance; with ``travel_minutes``, within that travel time over the roads.
    """
    base = state.base
    pop = _population(state, population, ind)
    fac = state.facilities_of(ind.facility_type)
    people = pop > 0
    dist = np.where(people, _nearest(base, fac), np.inf)
    reached = np.isfinite(dist)
    within = np.where(dist <= ind.distance_km, pop, 0.0)
    d = f"{ind.distance_km:g} km"
    measures = [
        Measure("population_within", f"people within {d}", "people", "within"),
        Measure("share_within", f"share of people within {d}", "%", "within", "pop", 100.0),
        Measure("mean_distance_km", "mean distance to the nearest (people-weighted)", "km",
                "pop_km", "reached"),
    ]
    out = Computed(measures, {"pop": pop, "within": within, "reached": np.where(reached, pop, 0),
                              "pop_km": np.where(reached, pop * np.where(reached, dist, 0), 0)},
                   {"distance_km": np.where(people, dist, np.nan), "within": within})
    if not len(fac):
        out.notes.append(f"no facility of type {ind.facility_type!r}: nobody is within reach")
    if ind.travel_minutes is not None:
        _travel(state, ind, pop, fac, out)
    return out


_NEAREST: dict[str, np.ndarray] = {}


def _nearest(base: Any, fac: pd.DataFrame) -> np.ndarray:
    """Distance from every cell to the nearest of these facilities (cached by their
    places: the base and a scenario often share them).
    """
    points = np.ascontiguousarray(fac[["lat", "lon"]].to_numpy(dtype=np.float64))
    key = f"{base.version}:{hashlib.sha256(points.tobytes()).hexdigest()}"
    if key not in _NEAREST:
        if len(_NEAREST) >= 16:
            _NEAREST.pop(next(iter(_NEAREST)))
        _NEAREST[key] = nearest_km(base.xyz, unit_xyz(points[:, 0], points[:, 1]))[0]
    return _NEAREST[key]


def _travel(state: State, ind: Accessibility, pop: np.ndarray, fac: pd.DataFrame,
            out: Computed) -> None:
    base = state.base
    road = travel.road_variable(base)
    if road is None:
        out.notes.append("travel time not available: the twin has no road layer (a line "
                         "layer named for roads, or a variable matched to road_length); "
                         "only straight-line distance is reported")
        return
    sources = base.locate(fac["lat"].to_numpy(), fac["lon"].to_numpy())
    minutes = travel.minutes_to_nearest(base, state.get(road), sources, ind.travel_minutes or 0)
    within = np.where(minutes <= (ind.travel_minutes or 0), pop, 0.0)
    m = f"{ind.travel_minutes:g} min"
    out.components["within_travel"] = within
    out.cells["travel_minutes"] = np.where(pop > 0, minutes, np.nan)
    out.measures += [
        Measure("population_within_travel", f"people within {m} by road", "people",
                "within_travel"),
        Measure("share_within_travel", f"share of people within {m} by road", "%",
                "within_travel", "pop", 100.0)]
    out.notes.append(travel.method_note(road))


@register("coverage")
def coverage(state: State, ind: Coverage, population: str) -> Computed:
    """People in cells whose centre is within a facility's radius (towers, service
    areas): each facility's own ``radius_km`` unless the indicator gives one.
    """
    base = state.base
    pop = _population(state, population, ind)
    fac = state.facilities_of(ind.facility_type)
    covered = np.zeros(base.n, dtype=bool)
    notes = []
    if len(fac):
        radius = np.full(len(fac), ind.radius_km) if ind.radius_km else \
            fac["radius_km"].to_numpy(dtype=np.float64)
        missing = ~np.isfinite(radius)
        if missing.any():
            notes.append(f"{int(missing.sum())} {ind.facility_type} facilities have no radius "
                         "and cover nothing (give radius_km)")
        xyz = unit_xyz(fac["lat"].to_numpy()[~missing], fac["lon"].to_numpy()[~missing])
        if len(xyz):
            hits = base.tree.query_ball_point(xyz, km_to_chord(radius[~missing]))
            for cells in hits:
                covered[cells] = True
    else:
        notes.append(f"no facility of type {ind.facility_type!r}")
    within = np.where(covered, pop, 0.0)
    return Computed([
        Measure("population_covered", "people covered", "people", "covered"),
        Measure("share_covered", "share of people covered", "%", "covered", "pop", 100.0),
        Measure("cells_covered", "cells covered", "cells", "cells")],
        {"pop": pop, "covered": within, "cells": covered.astype(np.float64)},
        {"covered": within}, notes)


@register("per_capita")
def per_capita(state: State, ind: PerCapita, population: str) -> Computed:
    """A numerator (facility capacity or count, or a variable) per ``per`` people."""
    base = state.base
    pop = _population(state, population, ind)
    if ind.variable:
        ref = state.ref(ind.variable)
        num = np.nan_to_num(state.get(ref))
        label = ref.variable
    else:
        fac = state.facilities_of(str(ind.facility_type))
        where = base.locate(fac["lat"].to_numpy(), fac["lon"].to_numpy())
        weights = np.ones(len(fac)) if ind.attribute == "count" else \
            fac["capacity"].to_numpy(dtype=np.float64)
        ok = where >= 0
        num = np.bincount(where[ok], weights=weights[ok], minlength=base.n).astype(np.float64)
        label = f"{ind.facility_type} {ind.attribute}"
    per = f"{ind.per:,.0f}"
    return Computed([
        Measure("per_people", f"{label} per {per} people", f"per {per}", "num", "pop", ind.per),
        Measure("numerator", label, "", "num"),
        Measure("population", "people", "people", "pop")],
        {"num": num, "pop": pop}, {"numerator": num})


@register("exposure")
def exposure(state: State, ind: Exposure, population: str) -> Computed:
    """People inside a hazard zone: population times the share of each cell exposed."""
    base = state.base
    pop = _population(state, population, ind)
    hz = ind.hazard
    if hz.area is not None:
        share = base.area_mask(hz.area).astype(np.float64)
        how = "cells whose centre is in the hazard area"
    else:
        name = hz.variable or "coverage"
        ref = state.ref(f"{hz.layer}:{name}" if hz.layer else name)
        values = np.nan_to_num(state.get(ref))
        if hz.min is not None:
            share = (values >= hz.min).astype(np.float64)
            how = f"cells where {ref.key} ≥ {hz.min:g}"
        else:
            share = np.clip(values, 0.0, 1.0)
            how = f"share of each cell given by {ref.key}"
    exposed = pop * share
    return Computed([
        Measure("exposed_population", "people exposed", "people", "exposed"),
        Measure("share_exposed", "share of people exposed", "%", "exposed", "pop", 100.0)],
        {"pop": pop, "exposed": exposed}, {"exposed": exposed}, [f"exposure: {how}"])


@register("custom")
def custom(state: State, ind: Custom, population: str) -> Computed:
    """An aggregate SQL expression evaluated per unit and per cell."""
    base = state.base
    parsed = sqlexpr.parse(ind.expression)
    columns = {name: _custom_column(state, name) for name in parsed.columns}
    columns["__province"] = base.province_idx
    columns["__commune"] = base.commune_idx
    columns["__cell"] = np.arange(base.n, dtype=np.int64)
    table = pa.table(columns)
    found = sqlexpr.evaluate_sets(parsed, table, ["__province", "__commune", "__cell"])
    levels = Levels({"value": float(found[None].iloc[0])},
                    _by_code(found["__province"], base.province_codes),
                    _by_code(found["__commune"], base.commune_codes))
    per_cell = found["__cell"]
    cells = np.full(base.n, np.nan)
    cells[per_cell.index.to_numpy(dtype=np.int64)] = per_cell.to_numpy()
    return Computed([Measure("value", ind.label or ind.id, ind.unit or "", "value")],
                    cells={"value": cells}, levels=levels)


def _by_code(values: pd.Series, codes: list[str]) -> pd.DataFrame:
    out = np.full(len(codes), np.nan)
    out[values.index.to_numpy(dtype=np.int64)] = values.to_numpy(dtype=np.float64)
    return pd.DataFrame({"value": out}, index=pd.Index(codes, name="code"))


def _custom_column(state: State, name: str) -> np.ndarray:
    base = state.base
    if name in SPECIAL_COLUMNS:
        return np.ones(base.n)
    for prefix in ("facilities_", "capacity_"):
        if name.startswith(prefix):
            fac = state.facilities_of(name.removeprefix(prefix))
            where = base.locate(fac["lat"].to_numpy(), fac["lon"].to_numpy())
            weights = np.ones(len(fac)) if prefix == "facilities_" else \
                fac["capacity"].to_numpy(dtype=np.float64)
            ok = where >= 0
            return np.bincount(where[ok], weights=weights[ok], minlength=base.n).astype(float)
    return np.asarray(state.get(state.ref(name)), dtype=np.float64)


# -- aggregation -----------------------------------------------------------------------------
def aggregate(state: State, computed: Computed) -> Levels:
    """Measures nationally and per province and commune."""
    if computed.levels is not None:
        return computed.levels
    base = state.base
    names = list(computed.components)
    stack = np.vstack([computed.components[n] for n in names]) if names else np.empty((0, 0))
    national = dict(zip(names, stack.sum(axis=1).tolist(), strict=True))
    sums: dict[str, pd.DataFrame] = {}
    for level, idx, codes in (("province", base.province_idx, base.province_codes),
                              ("commune", base.commune_idx, base.commune_codes)):
        table = {n: np.bincount(idx, weights=stack[i], minlength=len(codes))
                 for i, n in enumerate(names)}
        sums[level] = pd.DataFrame(table, index=pd.Index(codes, name="code"))
    return Levels(_measures(computed.measures, pd.DataFrame([national])).iloc[0].to_dict(),
                  _measures(computed.measures, sums["province"]),
                  _measures(computed.measures, sums["commune"]))


def _measures(measures: list[Measure], sums: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=sums.index)
    for m in measures:
        num = sums[m.num].to_numpy(dtype=np.float64)
        if m.den is None:
            out[m.name] = m.scale * num
        else:
            den = sums[m.den].to_numpy(dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[m.name] = np.where(den > 0, m.scale * num / np.where(den > 0, den, 1),
                                       np.nan)
    return out
