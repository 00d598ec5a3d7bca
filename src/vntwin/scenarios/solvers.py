"""Facility location solvers: maximal covering and p-median, exact and greedy.

Exact answers come from the HiGHS MILP solver through ``scipy.optimize.milp`` (scipy
ships HiGHS: no further dependency); the textbook formulations are below each function.
The heuristic is the lazy greedy (Minoux 1978): both objectives are monotone submodular
set functions (covered people; distance *saved* against a baseline), so a candidate's
gain can only shrink and stale gains in a heap are upper bounds. Every greedy answer
reports its gap to an upper bound: the smaller of the a-posteriori submodular bound
``f(S) + sum of the k largest remaining gains`` (Nemhauser, Wolsey & Fisher 1978; the
"online bound" of Leskovec et al. 2007) and ``f(S) / (1 - 1/e)``.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, hstack

E_BOUND = 1.0 - 1.0 / np.e


@dataclass
class Solution:
    """Chosen candidates (indices) and how good the choice is known to be.

    ``objective`` is the maximised coverage or the minimised weighted distance; ``bound``
    the best known bound on the optimum (upper for coverage, lower for distance) and
    ``gap`` the relative distance between them (0 when proven optimal).
    """

    chosen: list[int]
    objective: float
    bound: float | None
    method: str
    bound_kind: str
    optimal: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and bound."""
        if self.bound is None:
            return None
        scale = max(abs(self.objective), abs(self.bound), 1e-12)
        return abs(self.bound - self.objective) / scale


@dataclass(frozen=True)
class Coverage:
    """Which demand points each candidate covers, as parallel pair arrays."""

    n_candidates: int
    n_demand: int
    pair_candidate: np.ndarray
    pair_demand: np.ndarray

    def matrix(self) -> csr_matrix:
        """Candidates × demand incidence."""
        data = np.ones(self.pair_candidate.size)
        return coo_matrix((data, (self.pair_candidate, self.pair_demand)),
                          shape=(self.n_candidates, self.n_demand)).tocsr()


def _milp_status(result: object) -> tuple[bool, str]:
    status = getattr(result, "status", -1)
    return status == 0, str(getattr(result, "message", ""))


# -- maximal covering ------------------------------------------------------------------------
def mclp_greedy(cov: Coverage, weight: np.ndarray, k: int,
                capacity: np.ndarray | None = None, fixed: np.ndarray | None = None) -> Solution:
    """Lazy greedy for maximal covering (capacitated: each site takes at most its capacity
    of the still uncovered demand in reach, by the site's order of choice). ``fixed``
    sites are open from the start (their coverage counts, they are not among the k).
    """
    started = time.perf_counter()
    m = cov.matrix()
    lists = np.split(m.indices, m.indptr[1:-1])
    remaining = weight.astype(np.float64).copy()
    cap = None if capacity is None else capacity.astype(np.float64)
    fixed = np.zeros(cov.n_candidates, dtype=bool) if fixed is None else fixed
    total = 0.0
    for site in np.flatnonzero(fixed):
        total += _take(remaining, lists[site], None if cap is None else cap[site])

    def gain(j: int) -> float:
        g = float(remaining[lists[j]].sum())
        return min(g, cap[j]) if cap is not None else g

    initial = np.array([0.0 if fixed[j] else gain(j) for j in range(cov.n_candidates)])
    heap: list[tuple[float, int]] = [(-float(g), int(j)) for j, g in enumerate(initial)
                                     if not fixed[j]]
    heapq.heapify(heap)
    chosen: list[int] = []
    base_total = total
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        fresh = gain(j)
        if heap and fresh < -heap[0][0] - 1e-9 * max(1.0, fresh):
            heapq.heappush(heap, (-fresh, j))
            continue
        chosen.append(j)
        total += _take(remaining, lists[j], None if cap is None else cap[j])
    method = "lazy greedy"
    if cap is None and chosen:
        swaps = _swap_improve(cov, weight, chosen, fixed, started)
        if swaps:
            method = f"lazy greedy + {swaps} improving swaps"
            covered = np.zeros(cov.n_demand, dtype=bool)
            for j in chosen + [int(s) for s in np.flatnonzero(fixed)]:
                covered[lists[j]] = True
            remaining = np.where(covered, 0.0, weight.astype(np.float64))
            total = float(weight[covered].sum())
    bound, kind = _coverage_bound(cov, remaining, weight, total, k, chosen + [
        int(s) for s in np.flatnonzero(fixed)], cap, initial, base_total, fixed)
    return Solution(chosen, total, bound, method, kind,
                    bound <= total * (1 + 1e-9) + 1e-6,
                    time.perf_counter() - started)


SWAP_PASSES = 10
SWAP_SECONDS = 20.0


def _swap_improve(cov: Coverage, weight: np.ndarray, chosen: list[int], fixed: np.ndarray,
                  started: float) -> int:
    """Interchange local search (Teitz & Bart 1968) on the greedy's sites: replace a chosen
    site by the outside candidate that gains most, while that beats what the site alone
    covers. Changes ``chosen`` in place; returns the number of swaps made.
    """
    m = cov.matrix()
    by_demand = m.T.tocsr()
    open_ = np.zeros(cov.n_candidates, dtype=bool)
    open_[chosen] = True
    open_ |= fixed
    count = np.asarray(m[open_].sum(axis=0)).ravel()
    swaps = 0
    for _ in range(SWAP_PASSES):
        improved = False
        for slot, j in enumerate(list(chosen)):
            if time.perf_counter() - started > SWAP_SECONDS:
                return swaps
            reach = m.indices[m.indptr[j]:m.indptr[j + 1]]
            only = reach[count[reach] == 1]
            loss = float(weight[only].sum())
            free = np.where(count == 0, weight, 0.0)
            gain = np.bincount(cov.pair_candidate, weights=free[cov.pair_demand],
                               minlength=cov.n_candidates)
            if only.size:
                gain += by_demand[only].T @ weight[only]
            gain[open_] = -np.inf
            best = int(np.argmax(gain))
            if gain[best] > loss * (1 + 1e-9) + 1e-9:
                count[reach] -= 1
                count[m.indices[m.indptr[best]:m.indptr[best + 1]]] += 1
                open_[j], open_[best] = False, True
                chosen[slot] = best
                swaps += 1
                improved = True
        if not improved:
            break
    return swaps


def _take(remaining: np.ndarray, reach: np.ndarray, cap: float | None) -> float:
    """Cover the demand in reach (up to ``cap``, in order); returns what was covered."""
    if cap is None:
        got = float(remaining[reach].sum())
        remaining[reach] = 0.0
        return got
    left = cap
    got = 0.0
    for i in reach:
        if left <= 0:
            break
        part = min(remaining[i], left)
        remaining[i] -= part
        left -= part
        got += part
    return got


def _coverage_bound(cov: Coverage, remaining: np.ndarray, weight: np.ndarray, total: float,
                    k: int, chosen: list[int], cap: np.ndarray | None,
                    initial: np.ndarray, base_total: float,
                    fixed: np.ndarray) -> tuple[float, str]:
    coverable = float(weight[np.unique(cov.pair_demand)].sum())
    bounds = {"all coverable demand": coverable}
    if cap is None:
        # g(S) = f(S ∪ fixed) is monotone submodular: the online bound holds
        gains = np.bincount(cov.pair_candidate, weights=remaining[cov.pair_demand],
                            minlength=cov.n_candidates)
        gains[chosen] = 0.0
        bounds["online submodular bound f(S) + top-k gains"] = \
            total + float(np.sort(gains)[::-1][:k].sum())
        bounds["sum of the k best single-site gains"] = \
            base_total + float(np.sort(initial)[::-1][:k].sum())
        if base_total == 0:
            bounds["f(S) / (1 - 1/e)"] = total / E_BOUND if total > 0 else float("inf")
    else:
        # each open site serves at most min(capacity, demand in its reach)
        single = np.minimum(cap, np.bincount(cov.pair_candidate, weights=weight[cov.pair_demand],
                                             minlength=cov.n_candidates))
        bounds["sum of min(capacity, reachable demand) over fixed + k best sites"] = \
            float(single[fixed].sum()) + float(np.sort(single[~fixed])[::-1][:k].sum())
    kind = min(bounds, key=lambda name: bounds[name])
    return bounds[kind], kind


LP_MAX_PAIRS = 3_000_000
"""Largest covering-pair count for the LP relaxation inside the heuristic."""


def _covered_weight(cov: Coverage, weight: np.ndarray, sites: list[int]) -> float:
    m = cov.matrix()
    covered = np.zeros(cov.n_demand, dtype=bool)
    for j in sites:
        covered[m.indices[m.indptr[j]:m.indptr[j + 1]]] = True
    return float(weight[covered].sum())


def mclp_lp_round(cov: Coverage, weight: np.ndarray, k: int, fixed: np.ndarray | None = None,
                  time_limit: float = 60.0) -> Solution | None:
    """LP relaxation of maximal covering (HiGHS), its k largest sites, then swaps. The
    LP optimum is an upper bound; for covering the LP is often (nearly) integral, so the
    rounding is often optimal. None when the LP does not solve in time.
    """
    started = time.perf_counter()
    nc, nd = cov.n_candidates, cov.n_demand
    fixed = np.zeros(nc, dtype=bool) if fixed is None else fixed
    a_cover = hstack([-cov.matrix().T.tocsr(), _eye(nd)])
    k_row = hstack([csr_matrix(np.where(fixed, 0.0, 1.0)[None, :]), csr_matrix((1, nd))])
    result = milp(np.concatenate([np.zeros(nc), -weight]),
                  constraints=[LinearConstraint(a_cover, -np.inf, 0.0),
                               LinearConstraint(k_row, k, k)],
                  integrality=np.zeros(nc + nd),
                  bounds=Bounds(np.concatenate([fixed.astype(float), np.zeros(nd)]),
                                np.ones(nc + nd)),
                  options={"time_limit": time_limit})
    x = getattr(result, "x", None)
    if x is None or getattr(result, "status", 1) != 0:
        return None
    y = np.where(fixed, -np.inf, x[:nc])
    chosen = [int(j) for j in np.argsort(-y, kind="stable")[:k]]
    swaps = _swap_improve(cov, weight, chosen, fixed, started)
    objective = _covered_weight(cov, weight, chosen + [int(s) for s in np.flatnonzero(fixed)])
    bound = -float(result.fun)
    return Solution(chosen, objective, bound, f"LP relaxation (HiGHS) rounded + {swaps} swaps",
                    "LP relaxation", objective >= bound * (1 - 1e-9) - 1e-6,
                    time.perf_counter() - started)


def mclp_heuristic(cov: Coverage, weight: np.ndarray, k: int,
                   capacity: np.ndarray | None = None, fixed: np.ndarray | None = None,
                   time_limit: float = 60.0) -> Solution:
    """The fast answer for national sizes: lazy greedy with swaps and, when the instance
    allows (uncapacitated, ≤ ``LP_MAX_PAIRS`` pairs), LP-relaxation rounding with swaps;
    the better answer is kept with the tighter of the bounds.
    """
    started = time.perf_counter()
    best = mclp_greedy(cov, weight, k, capacity, fixed)
    if capacity is None and cov.pair_candidate.size <= LP_MAX_PAIRS:
        rounded = mclp_lp_round(cov, weight, k, fixed, time_limit)
        if rounded is not None:
            bound = min(best.bound if best.bound is not None else np.inf,
                        rounded.bound if rounded.bound is not None else np.inf)
            kind = best.bound_kind if bound == best.bound else rounded.bound_kind
            if rounded.objective > best.objective * (1 + 1e-12):
                best = rounded
            best.bound, best.bound_kind = float(bound), kind
            best.method = f"{best.method} (best of lazy greedy and LP rounding)"
            best.optimal = best.objective >= bound * (1 - 1e-9) - 1e-6
    best.seconds = time.perf_counter() - started
    return best


def mclp_exact(cov: Coverage, weight: np.ndarray, k: int,
               capacity: np.ndarray | None = None, fixed: np.ndarray | None = None,
               time_limit: float = 60.0) -> Solution:
    """Maximal covering by MILP (HiGHS).

    Uncapacitated (Church & ReVelle 1974): max Σ w_i z_i, z_i ≤ Σ_{j covers i} y_j,
    Σ y_j = k, y binary, 0 ≤ z ≤ 1. Capacitated: assignment x_ij ∈ [0, 1] on covering
    pairs, Σ_j x_ij ≤ 1, Σ_i w_i x_ij ≤ C_j y_j, x_ij ≤ y_j. ``fixed`` marks sites that
    are already open (not counted in k).
    """
    started = time.perf_counter()
    nc, nd = cov.n_candidates, cov.n_demand
    fixed = np.zeros(nc, dtype=bool) if fixed is None else fixed
    y_lb = fixed.astype(float)
    k_row = csr_matrix(np.where(fixed, 0.0, 1.0)[None, :])
    if capacity is None:
        inc = cov.matrix().T.tocsr()  # demand × candidates
        a_cover = hstack([-inc, _eye(nd)])
        c = np.concatenate([np.zeros(nc), -weight])
        cons = [LinearConstraint(a_cover, -np.inf, 0.0),
                LinearConstraint(hstack([k_row, csr_matrix((1, nd))]), k, k)]
        integrality = np.concatenate([np.ones(nc), np.zeros(nd)])
        bounds = Bounds(np.concatenate([y_lb, np.zeros(nd)]), np.ones(nc + nd))
    else:
        npairs = cov.pair_candidate.size
        pc, pd_ = cov.pair_candidate, cov.pair_demand
        rows = np.arange(npairs)
        per_demand = coo_matrix((np.ones(npairs), (pd_, rows)), shape=(nd, npairs))
        load = coo_matrix((weight[pd_], (pc, rows)), shape=(nc, npairs))
        link = coo_matrix((np.ones(npairs), (rows, rows)), shape=(npairs, npairs))
        link_y = coo_matrix((-np.ones(npairs), (rows, pc)), shape=(npairs, nc))
        c = np.concatenate([np.zeros(nc), -weight[pd_]])
        cons = [LinearConstraint(hstack([csr_matrix((nd, nc)), per_demand]), -np.inf, 1.0),
                LinearConstraint(hstack([-_diag(capacity), load]), -np.inf, 0.0),
                LinearConstraint(hstack([link_y, link]), -np.inf, 0.0),
                LinearConstraint(hstack([k_row, csr_matrix((1, npairs))]), k, k)]
        integrality = np.concatenate([np.ones(nc), np.zeros(npairs)])
        bounds = Bounds(np.concatenate([y_lb, np.zeros(npairs)]), np.ones(nc + npairs))
    result = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                  options={"time_limit": time_limit, "mip_rel_gap": 1e-6})
    return _from_milp(result, nc, fixed, maximise=True, started=started)


def _eye(n: int) -> csr_matrix:
    return coo_matrix((np.ones(n), (np.arange(n), np.arange(n))), shape=(n, n)).tocsr()


def _diag(values: np.ndarray) -> csr_matrix:
    n = values.size
    return coo_matrix((values.astype(float), (np.arange(n), np.arange(n))),
                      shape=(n, n)).tocsr()


def _from_milp(result: object, nc: int, fixed: np.ndarray, *, maximise: bool,
               started: float) -> Solution:
    optimal, message = _milp_status(result)
    x = getattr(result, "x", None)
    if x is None:
        raise SolverFailed(f"HiGHS found no solution: {message}")
    y = np.asarray(x[:nc])
    chosen = [int(j) for j in np.flatnonzero((y > 0.5) & ~fixed)]
    sign = -1.0 if maximise else 1.0
    objective = sign * float(getattr(result, "fun", 0.0))
    dual = getattr(result, "mip_dual_bound", None)
    bound = objective if optimal else (sign * float(dual) if dual is not None else None)
    notes = [] if optimal else [f"HiGHS stopped before proving optimality: {message}"]
    return Solution(chosen, objective, bound, "exact (HiGHS MILP)",
                    "HiGHS dual bound" if not optimal else "proven optimal", optimal,
                    time.perf_counter() - started, notes)


class SolverFailed(Exception):
    """The MILP solver returned no solution (infeasible, or out of time with none)."""


# -- p-median ----------------------------------------------------------------------------------
def pmedian_greedy(dist: np.ndarray, weight: np.ndarray, k: int,
                   baseline: np.ndarray | None = None) -> Solution:
    """Lazy greedy for p-median on a dense demand × candidate distance matrix.

    ``baseline``: each demand's distance to an already open facility (inf: none). The
    greedy maximises the distance saved against ``min(baseline, farthest candidate)``.
    """
    started = time.perf_counter()
    far = dist.max(axis=1) if dist.size else np.zeros(len(weight))
    cur = far if baseline is None else np.minimum(np.where(np.isfinite(baseline), baseline,
                                                           far), far)
    start_total = float(weight @ cur)

    def gain(j: int) -> float:
        return float(weight @ np.maximum(cur - dist[:, j], 0.0))

    heap: list[tuple[float, int]] = [(-gain(j), int(j)) for j in range(dist.shape[1])]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and len(chosen) < k:
        _, j = heapq.heappop(heap)
        fresh = gain(j)
        if heap and fresh < -heap[0][0] - 1e-9 * max(1.0, fresh):
            heapq.heappush(heap, (-fresh, j))
            continue
        chosen.append(j)
        cur = np.minimum(cur, dist[:, j])
    objective = float(weight @ cur)
    saved = start_total - objective
    gains = weight @ np.maximum(cur[:, None] - dist, 0.0)
    gains[chosen] = 0.0
    online = saved + float(np.sort(gains)[::-1][:k].sum())
    best_saving = min(online, saved / E_BOUND if saved > 0 else online)
    lower = max(start_total - best_saving, 0.0)
    return Solution(chosen, objective, lower, "lazy greedy",
                    "online submodular bound on the distance saved",
                    lower >= objective * (1 - 1e-9) - 1e-6,
                    time.perf_counter() - started)


def pmedian_exact(dist: np.ndarray, weight: np.ndarray, k: int,
                  capacity: np.ndarray | None = None, fixed: np.ndarray | None = None,
                  time_limit: float = 60.0) -> Solution:
    """p-median by MILP (ReVelle & Swain 1970): min Σ w_i d_ij x_ij, Σ_j x_ij = 1,
    x_ij ≤ y_j, Σ y_j = k; with capacities Σ_i w_i x_ij ≤ C_j y_j (demand may split).
    ``fixed`` columns are open sites not counted in k.
    """
    started = time.perf_counter()
    nd, nc = dist.shape
    fixed = np.zeros(nc, dtype=bool) if fixed is None else fixed
    nx = nd * nc
    ii, jj = np.divmod(np.arange(nx), nc)
    assign = coo_matrix((np.ones(nx), (ii, np.arange(nx))), shape=(nd, nx))
    link = hstack([coo_matrix((-np.ones(nx), (np.arange(nx), jj)), shape=(nx, nc)),
                   _eye(nx)])
    k_row = hstack([csr_matrix(np.where(fixed, 0.0, 1.0)[None, :]), csr_matrix((1, nx))])
    cons = [LinearConstraint(hstack([csr_matrix((nd, nc)), assign]), 1.0, 1.0),
            LinearConstraint(link, -np.inf, 0.0), LinearConstraint(k_row, k, k)]
    if capacity is not None:
        load = coo_matrix((weight[ii], (jj, np.arange(nx))), shape=(nc, nx))
        cons.append(LinearConstraint(hstack([-_diag(capacity), load]), -np.inf, 0.0))
    c = np.concatenate([np.zeros(nc), (weight[:, None] * dist).ravel()])
    integrality = np.concatenate([np.ones(nc), np.zeros(nx)])
    bounds = Bounds(np.concatenate([fixed.astype(float), np.zeros(nx)]), np.ones(nc + nx))
    result = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                  options={"time_limit": time_limit, "mip_rel_gap": 1e-6})
    return _from_milp(result, nc, fixed, maximise=False, started=started)

