"""Travel time to the nearest facility over the twin's road layer (a friction surface).

The twin keeps roads as metres of road per H3 cell (line fusion), not as a routable
network, so travel time is computed the way accessibility maps do it on rasters (e.g.
the Malaria Atlas Project's travel time to health care, QGIS/GRASS ``r.cost``): each
cell gets a speed from its road density, moving between neighbouring cells costs half
the distance at each cell's speed, and a multi-source Dijkstra (scipy ``csgraph``) from
the facilities' cells gives every cell its minutes to the nearest one. The speeds are
stated in the result's notes. Without a road layer nothing is guessed: the result says
travel time is not available.
"""

from __future__ import annotations

import threading

import numpy as np

from vntwin.scenarios.base import BaseTwin, VarRef
from vntwin.scenarios.geo import haversine_km
from vntwin.text import fold

ROAD_SPEED_KMH = 40.0
WALK_SPEED_KMH = 5.0
FULL_ROAD_KM = 1.0  # a cell with this much road (or more) moves at road speed
ROAD_WORDS = ("road", "duong", "giao thong", "street", "highway")

_GRAPHS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_LOCK = threading.Lock()


def road_variable(base: BaseTwin) -> VarRef | None:
    """The road-length variable of the twin: canonical ``road_length``, or the
    ``length_m`` of a line layer whose name says roads.
    """
    table = base.variables
    hit = table[table["canonical"] == "road_length"]
    if hit.empty:
        lines = [name for name, kind in base.layer_kinds.items() if kind == "line"
                 and any(w in fold(name).replace("-", " ").replace("_", " ")
                         for w in ROAD_WORDS)]
        hit = table[table["layer"].isin(lines) & (table["variable"] == "length_m")]
    if hit.empty:
        return None
    row = next(hit.sort_values(["layer", "variable"]).itertuples())
    return base.resolve(f"{row.layer}:{row.variable}")


def _neighbours(base: BaseTwin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of neighbouring cells (positions) and their distance in km (cached)."""
    import h3ronpy

    key = (str(base.store.path), base.version)
    with _LOCK:
        if key in _GRAPHS:
            return _GRAPHS[key]
    disks = h3ronpy.grid_disk(base.h3, 1, flatten=False)
    import pyarrow as pa

    arr = pa.array(disks)
    offsets = np.asarray(arr.offsets.to_numpy(), dtype=np.int64)
    flat = np.asarray(arr.flatten().to_numpy(zero_copy_only=False), dtype=np.uint64)
    src = np.repeat(np.arange(base.n), np.diff(offsets))
    dst = base.index_of(flat)
    keep = (dst >= 0) & (dst != src)
    src, dst = src[keep], dst[keep]
    km = haversine_km(base.lat[src], base.lon[src], base.lat[dst], base.lon[dst])
    with _LOCK:
        _GRAPHS[key] = (src, dst, np.asarray(km))
    return _GRAPHS[key]


def speeds_kmh(road_m: np.ndarray) -> np.ndarray:
    """Speed in each cell from its metres of road."""
    share = np.clip(np.nan_to_num(road_m) / (FULL_ROAD_KM * 1000.0), 0.0, 1.0)
    return WALK_SPEED_KMH + share * (ROAD_SPEED_KMH - WALK_SPEED_KMH)


def minutes_to_nearest(base: BaseTwin, road_m: np.ndarray, sources: np.ndarray,
                       limit_minutes: float) -> np.ndarray:
    """Minutes from each cell to the nearest source cell (inf beyond ``limit_minutes``)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    out = np.full(base.n, np.inf)
    sources = np.unique(sources[sources >= 0])
    if sources.size == 0:
        return out
    src, dst, km = _neighbours(base)
    speed = speeds_kmh(road_m)
    minutes = (km / 2.0) * (1.0 / speed[src] + 1.0 / speed[dst]) * 60.0
    graph = csr_matrix((minutes, (src, dst)), shape=(base.n, base.n))
    dist = dijkstra(graph, directed=False, indices=sources, min_only=True,
                    limit=limit_minutes * 1.0001)
    return np.asarray(dist, dtype=np.float64)


def method_note(ref: VarRef) -> str:
    """How travel time was computed, for the result's notes."""
    return (f"travel time over the road layer {ref.layer} ({ref.variable} per cell): "
            f"{ROAD_SPEED_KMH:g} km/h in cells with ≥ {FULL_ROAD_KM:g} km of road, down to "
            f"{WALK_SPEED_KMH:g} km/h walking where there is none; H3 neighbour graph, "
            "multi-source Dijkstra from the facilities' cells")
