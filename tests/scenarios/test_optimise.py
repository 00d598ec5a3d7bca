"""Site selection against brute force on small real instances.

Demand: GeoNames places of Hà Nội, Bắc Ninh and Hưng Yên (the ingest fixture) with their
populations; candidates: places of the same fixture. Every k-subset is tried.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import linprog
from tests.scenarios.conftest import haversine

from vntwin.scenarios import solvers
from vntwin.scenarios.base import BaseTwin
from vntwin.scenarios.check import prepare
from vntwin.scenarios.engine import run_prepared
from vntwin.scenarios.loader import load_text


@pytest.fixture(scope="module")
def instance(places):
    region = places[places["ma_tinh"].isin(["01", "24", "33"])].reset_index(drop=True)
    lat, lon = region.geometry.y.to_numpy(), region.geometry.x.to_numpy()
    dist = np.vstack([haversine(lat[i], lon[i], lat, lon) for i in range(len(region))])
    weight = region["population"].to_numpy(dtype=float)
    candidates = np.arange(0, len(region), 3)  # every third place: 13 candidates
    return dist[:, candidates], weight


def _coverage(dist: np.ndarray, radius: float) -> solvers.Coverage:
    demand, cand = np.nonzero(dist <= radius)
    order = np.lexsort((dist[demand, cand], cand))
    return solvers.Coverage(dist.shape[1], dist.shape[0], cand[order], demand[order])


def _brute_cover(dist, weight, k, radius):
    best = max(combinations(range(dist.shape[1]), k),
               key=lambda s: weight[(dist[:, list(s)] <= radius).any(axis=1)].sum())
    return weight[(dist[:, list(best)] <= radius).any(axis=1)].sum()


@pytest.mark.parametrize(("k", "radius"), [(1, 8.0), (3, 8.0), (4, 15.0)])
def test_maximal_covering_exact_and_greedy(instance, k, radius):
    dist, weight = instance
    cov = _coverage(dist, radius)
    optimum = _brute_cover(dist, weight, k, radius)
    exact = solvers.mclp_exact(cov, weight, k)
    assert exact.optimal and exact.objective == pytest.approx(optimum)
    assert weight[(dist[:, exact.chosen] <= radius).any(axis=1)].sum() == pytest.approx(optimum)
    greedy = solvers.mclp_greedy(cov, weight, k)
    assert len(greedy.chosen) == k
    assert (1 - 1 / np.e) * optimum <= greedy.objective <= optimum + 1e-6
    assert greedy.bound >= optimum - 1e-6  # a true upper bound
    assert greedy.gap == pytest.approx((greedy.bound - greedy.objective) / greedy.bound)
    best = solvers.mclp_heuristic(cov, weight, k)
    assert greedy.objective - 1e-6 <= best.objective <= optimum + 1e-6 <= best.bound + 2e-6
    assert weight[(dist[:, best.chosen] <= radius).any(axis=1)].sum() == \
        pytest.approx(best.objective)


def _brute_capacitated(dist, weight, k, radius, capacity):
    """Best subset, each scored by its transportation LP (demand may split)."""
    best = 0.0
    for subset in combinations(range(dist.shape[1]), k):
        pairs = [(i, j) for j in subset for i in np.flatnonzero(dist[:, j] <= radius)]
        if not pairs:
            continue
        n = len(pairs)
        rows_d = {i: [] for i, _ in pairs}
        rows_s = {j: [] for _, j in pairs}
        for p, (i, j) in enumerate(pairs):
            rows_d[i].append(p)
            rows_s[j].append(p)
        a, b = [], []
        for ps in rows_d.values():
            row = np.zeros(n)
            row[ps] = 1
            a.append(row)
            b.append(1.0)
        for ps in rows_s.values():
            row = np.zeros(n)
            row[ps] = [weight[pairs[p][0]] for p in ps]
            a.append(row)
            b.append(capacity)
        res = linprog(-np.array([weight[i] for i, _ in pairs]), A_ub=np.array(a), b_ub=b,
                      bounds=(0, 1), method="highs")
        best = max(best, -res.fun)
    return best


def test_capacitated_covering_exact(instance):
    dist, weight = instance
    k, radius, capacity = 2, 10.0, 900_000.0
    optimum = _brute_capacitated(dist, weight, k, radius, capacity)
    cov = _coverage(dist, radius)
    exact = solvers.mclp_exact(cov, weight, k, np.full(dist.shape[1], capacity))
    assert exact.objective == pytest.approx(optimum, rel=1e-6)
    greedy = solvers.mclp_greedy(cov, weight, k, np.full(dist.shape[1], capacity))
    assert greedy.objective <= optimum + 1e-6 <= greedy.bound + 2e-6


@pytest.mark.parametrize("k", [1, 2, 3])
def test_p_median_exact_and_greedy(instance, k):
    dist, weight = instance
    best = min(combinations(range(dist.shape[1]), k),
               key=lambda s: weight @ dist[:, list(s)].min(axis=1))
    optimum = weight @ dist[:, list(best)].min(axis=1)
    exact = solvers.pmedian_exact(dist, weight, k)
    assert exact.optimal and exact.objective == pytest.approx(optimum, rel=1e-6)
    greedy = solvers.pmedian_greedy(dist, weight, k)
    assert greedy.objective == pytest.approx(weight @ dist[:, greedy.chosen].min(axis=1))
    assert greedy.objective >= optimum - 1e-6
    assert greedy.bound <= optimum + 1e-6  # a true lower bound


def test_optimisation_inside_a_scenario(small_twin):
    """k new sites chosen on the twin become facilities the indicators see."""
    text = """name: t
title: t
optimise:
  - {id: moi, type: maximal_covering, facility_type: clinic, k: 3, radius_km: 5,
     candidates: {cells: true, top: 40}, method: exact}
indicators:
  - {id: a, type: accessibility, facility_type: clinic, distance_km: 5}
"""
    base = BaseTwin.load(small_twin)
    outcome = run_prepared(base, prepare(base, load_text(text)))
    opt = outcome.result["optimisations"][0]
    assert opt["optimal"] and len(opt["chosen"]) == 3
    national = outcome.result["indicators"][0]["national"]["population_within"]
    # every cell within 5 km of a chosen site counts once: the objective
    assert national["scenario"] == pytest.approx(opt["objective"])
    assert outcome.result["facilities"]["scenario"] == {"clinic": 3}
