"""Site selection inside a scenario: build the instance from the edited twin, solve it,
and add the chosen sites as facilities (so the indicators see them).

Demand is the people per cell (after the edits) in the optimisation's area. Maximal
covering works on the exact cells: which cells each candidate reaches is a KD-tree
query, so national instances stay sparse. p-median needs every demand–candidate
distance; when that matrix would be too large, demand is aggregated to coarser H3
parents (people-weighted centres), as location models usually do, and the result says
so — its objective is always re-evaluated on the exact cells.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from vntwin.errors import VntwinError
from vntwin.scenarios import solvers
from vntwin.scenarios.geo import chord_to_km, km_to_chord, nearest_km, unit_xyz
from vntwin.scenarios.overlay import State
from vntwin.scenarios.spec import MaximalCovering, Optimisation, PMedian
from vntwin.twin.grid import parent

EXACT_MAX_PAIRS = 400_000
"""Largest covering-pair (or assignment) count sent to the MILP solver in ``auto``."""
PMEDIAN_MAX_MATRIX = 4_000_000
"""Largest demand × candidate matrix for the p-median heuristic (before aggregation)."""


class OptimisationFailed(VntwinError):
    """The instance cannot be solved as asked (e.g. capacities short of the demand)."""


def run_optimisation(state: State, opt: Optimisation, candidates: pd.DataFrame,
                     population: str) -> dict[str, Any]:
    """Solve one optimisation and add its chosen sites to ``state``; returns the report."""
    base = state.base
    pop = np.nan_to_num(state.get(state.ref(population, extensive=True)))
    mask = base.area_mask(opt.area) if opt.area is not None else np.ones(base.n, dtype=bool)
    demand = np.flatnonzero((pop > 0) & mask)
    existing = state.facilities_of(opt.facility_type) if opt.count_existing else \
        state.facilities.iloc[0:0]
    started = time.perf_counter()
    if isinstance(opt, MaximalCovering):
        report = _covering(state, opt, candidates, pop, demand, existing)
    else:
        report = _median(state, opt, candidates, pop, demand, existing)
    chosen = candidates.iloc[report.pop("chosen")]
    rows = pd.DataFrame({
        "id": [f"{opt.id}-{cid}" for cid in chosen["id"]], "type": opt.facility_type,
        "lat": chosen["lat"].to_numpy(), "lon": chosen["lon"].to_numpy(),
        "capacity": opt.capacity if opt.capacity is not None else 1.0,
        "radius_km": opt.radius_km if isinstance(opt, MaximalCovering) else None,
        "name": None, "origin": f"optimise:{opt.id}"})
    state.facilities = pd.concat([state.facilities, rows],
                                 ignore_index=True)[state.facilities.columns]
    report.update({
        "id": opt.id, "type": opt.type, "facility_type": opt.facility_type, "k": opt.k,
        "candidates": len(candidates), "existing": len(existing),
        "seconds": round(time.perf_counter() - started, 3),
        "chosen": [{"id": str(r.id), "lat": float(r.lat), "lon": float(r.lon)}
                   for r in chosen.itertuples()]})
    return report


def _solution_report(sol: solvers.Solution) -> dict[str, Any]:
    return {"chosen": sol.chosen, "method": sol.method, "objective": sol.objective,
            "bound": sol.bound, "bound_kind": sol.bound_kind, "gap": sol.gap,
            "optimal": sol.optimal, "solver_seconds": round(sol.seconds, 3),
            "notes": list(sol.notes)}


def _covering(state: State, opt: MaximalCovering, candidates: pd.DataFrame, pop: np.ndarray,
              demand: np.ndarray, existing: pd.DataFrame) -> dict[str, Any]:
    base = state.base
    position = np.full(base.n, -1, dtype=np.int64)
    position[demand] = np.arange(demand.size)
    chord = km_to_chord(opt.radius_km)
    notes: list[str] = []
    already = np.zeros(demand.size, dtype=bool)
    fixed_sites = pd.DataFrame(columns=["lat", "lon", "capacity"])
    if len(existing):
        if opt.capacity is None:
            for cells in base.tree.query_ball_point(
                    unit_xyz(existing["lat"], existing["lon"]), chord):
                hit = position[np.asarray(cells, dtype=np.int64)]
                already[hit[hit >= 0]] = True
            notes.append(f"{len(existing)} existing {opt.facility_type} sites already cover "
                         f"{float(pop[demand][already].sum()):,.0f} people (not counted again)")
        else:
            fixed_sites = existing[["lat", "lon", "capacity"]]
    sites = pd.concat([candidates[["lat", "lon"]], fixed_sites[["lat", "lon"]]],
                      ignore_index=True)
    reach = base.tree.query_ball_point(unit_xyz(sites["lat"], sites["lon"]), chord)
    pc: list[np.ndarray] = []
    pd_: list[np.ndarray] = []
    for j, cells in enumerate(reach):
        hit = position[np.asarray(cells, dtype=np.int64)]
        hit = hit[hit >= 0]
        hit = hit[~already[hit]]
        if len(hit):  # nearest first, for the capacitated greedy's filling order
            d = np.linalg.norm(base.xyz[demand[hit]] - unit_xyz([sites["lat"][j]],
                                                                 [sites["lon"][j]]), axis=1)
            hit = hit[np.argsort(d, kind="stable")]
        pc.append(np.full(hit.size, j, dtype=np.int64))
        pd_.append(hit)
    used = np.unique(np.concatenate(pd_)) if pd_ else np.empty(0, dtype=np.int64)
    remap = np.full(demand.size, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    cov = solvers.Coverage(len(sites), int(used.size), np.concatenate(pc) if pc else
                           np.empty(0, np.int64),
                           remap[np.concatenate(pd_)] if pd_ else np.empty(0, np.int64))
    weight = pop[demand[used]]
    fixed = np.zeros(len(sites), dtype=bool)
    fixed[len(candidates):] = True
    capacity = None
    if opt.capacity is not None:
        capacity = np.concatenate([np.full(len(candidates), opt.capacity),
                                   fixed_sites["capacity"].to_numpy(dtype=np.float64)])
    sol = _solve_covering(opt, cov, weight, capacity, fixed, notes)
    report = _solution_report(sol)
    report["notes"] = notes + report["notes"]
    report.update({"demand_cells": int(demand.size), "coverable_cells": int(used.size),
                   "pairs": int(cov.pair_candidate.size), "radius_km": opt.radius_km,
                   "objective_label": "people newly covered" if opt.capacity is None
                   else "people served (existing and new sites, within capacity)"})
    return report


def _solve_covering(opt: MaximalCovering, cov: solvers.Coverage, weight: np.ndarray,
                    capacity: np.ndarray | None, fixed: np.ndarray,
                    notes: list[str]) -> solvers.Solution:
    greedy = solvers.mclp_heuristic(cov, weight, opt.k, capacity, fixed, opt.time_limit_s)
    size = cov.pair_candidate.size
    if opt.method == "greedy" or (opt.method == "auto" and size > EXACT_MAX_PAIRS):
        if opt.method == "auto":
            notes.append(f"{size:,} covering pairs: over the exact solver's limit of "
                         f"{EXACT_MAX_PAIRS:,} in auto mode, the heuristic answers")
        return greedy
    try:
        exact = solvers.mclp_exact(cov, weight, opt.k, capacity, fixed, opt.time_limit_s)
    except solvers.SolverFailed as exc:
        notes.append(f"exact solver failed ({exc}); greedy answer kept")
        return greedy
    if greedy.objective > exact.objective * (1 + 1e-9) + 1e-6:  # time limit, worse incumbent
        greedy.bound = exact.bound
        greedy.notes.append("greedy beat the exact solver's incumbent within the time limit")
        return greedy
    share = greedy.objective / exact.objective * 100 if exact.objective else 100.0
    exact.notes.append(f"greedy reached {greedy.objective:,.0f} ({share:.2f} % of this)")
    return exact


def _median(state: State, opt: PMedian, candidates: pd.DataFrame, pop: np.ndarray,
            demand: np.ndarray, existing: pd.DataFrame) -> dict[str, Any]:
    base = state.base
    notes: list[str] = []
    if opt.capacity is not None and opt.method == "greedy":
        raise OptimisationFailed("p-median with capacities is solved exactly only "
                                 "(use method: exact or auto)")
    limit = EXACT_MAX_PAIRS if opt.method != "greedy" else PMEDIAN_MAX_MATRIX
    cells = base.h3[demand]
    lat, lon, weight = base.lat[demand], base.lon[demand], pop[demand]
    n_sites = len(candidates) + len(existing)
    res = base.res
    while lat.size * n_sites > limit and res > 0:
        res -= 1
        parents = parent(cells, res)
        keys, inverse = np.unique(parents, return_inverse=True)
        w = np.bincount(inverse, weights=pop[demand], minlength=keys.size)
        lat = np.bincount(inverse, weights=pop[demand] * base.lat[demand]) / w
        lon = np.bincount(inverse, weights=pop[demand] * base.lon[demand]) / w
        weight = w
    if res != base.res:
        notes.append(f"demand aggregated to H3 resolution {res} ({lat.size:,} points) to "
                     f"fit {limit:,} distances; objective re-evaluated on all "
                     f"{demand.size:,} cells")
    sites = pd.concat([candidates[["lat", "lon"]], existing[["lat", "lon"]]],
                      ignore_index=True)
    dxyz, sxyz = unit_xyz(lat, lon), unit_xyz(sites["lat"], sites["lon"])
    dist = chord_to_km(np.linalg.norm(dxyz[:, None, :] - sxyz[None, :, :], axis=2))
    fixed = np.zeros(len(sites), dtype=bool)
    fixed[len(candidates):] = True
    capacity = None
    if opt.capacity is not None:
        capacity = np.concatenate([np.full(len(candidates), opt.capacity),
                                   existing["capacity"].to_numpy(dtype=np.float64)])
        if capacity.sum() < weight.sum() - 1e-6:
            raise OptimisationFailed(
                f"capacities ({capacity.sum():,.0f}) are short of the demand "
                f"({weight.sum():,.0f} people): every person must be assigned in p-median")
    baseline = dist[:, fixed].min(axis=1) if fixed.any() else None
    greedy = solvers.pmedian_greedy(dist[:, ~fixed], weight, opt.k, baseline) \
        if capacity is None else None
    sol = greedy
    if opt.method != "greedy":
        try:
            exact = solvers.pmedian_exact(dist, weight, opt.k, capacity, fixed,
                                          opt.time_limit_s)
            if greedy is None or exact.objective <= greedy.objective * (1 + 1e-9) + 1e-6:
                sol = exact
        except solvers.SolverFailed as exc:
            if greedy is None:
                raise OptimisationFailed(str(exc)) from None
            notes.append(f"exact solver failed ({exc}); greedy answer kept")
    assert sol is not None
    # re-evaluate on the exact cells: people-weighted mean distance to the nearest open site
    open_sites = pd.concat([candidates.iloc[sol.chosen][["lat", "lon"]], existing[["lat", "lon"]]])
    d, _ = nearest_km(base.xyz[demand], unit_xyz(open_sites["lat"], open_sites["lon"]))
    total_people = float(pop[demand].sum())
    report = _solution_report(sol)
    report["notes"] = notes + report["notes"]
    report.update({"demand_cells": int(demand.size), "demand_points": int(lat.size),
                   "objective_label": "people × km to the nearest site"
                   + (" (aggregated demand)" if res != base.res else ""),
                   "mean_distance_km": float(pop[demand] @ d / total_people)
                   if total_people else None})
    return report
