"""The twin's grid cells held in memory per store, for OGC grid items and grid tiles.

Why: which cells fall in a box was a join of ``cell_values`` with ``cells`` on their
centres, run for every request, and every hexagon was rebuilt with h3 one call at a
time. Here the cells (sorted ids and centres) are read once per store file and reused
until the file changes (a fusion rewrites it); a layer's values for a set of cells are
read with one range scan per coarse bucket of cells (the store's clustering key,
``store.bucket_shift``), so DuckDB's zone maps skip the rest of the table; and each
cell's hexagon is computed once, on first use, into an array kept with the cells.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import h3
import numpy as np
import pyarrow as pa

from vntwin.twin.store import TwinMissing, TwinStore, bucket_shift

MAX_BUCKETS = 64  # more coarse cells than this in one request: one scan of the id range
MAX_VERTICES = 10  # an H3 boundary has 6 vertices, up to 10 across icosahedron edges


@dataclass
class GridCells:
    """A store's cells sorted by id, their centres, and their hexagons once computed
    (vertices as float32 offsets from the centre: ~1e-9 degree, well under a tile unit
    at any zoom, at half the memory).
    """

    key: tuple[str, int, int]
    res: int
    h3: np.ndarray  # uint64, sorted
    lon: np.ndarray
    lat: np.ndarray
    vertices: np.ndarray = field(init=False)  # (cells, MAX_VERTICES, 2) lon/lat offsets
    counts: np.ndarray = field(init=False)  # vertices per cell; 0 until computed

    def __post_init__(self) -> None:
        self.vertices = np.zeros((len(self.h3), MAX_VERTICES, 2), np.float32)
        self.counts = np.zeros(len(self.h3), np.int8)

    def in_box(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """Positions (sorted, so ids ascending) of the cells whose centre is in the box."""
        return np.flatnonzero((self.lon >= west) & (self.lon <= east)
                              & (self.lat >= south) & (self.lat <= north))

    def boundaries(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hexagons of the cells at ``positions``: flat lon, lat and ring offsets."""
        missing = positions[self.counts[positions] == 0]
        if len(missing):
            boundary = h3.api.basic_int.cell_to_boundary
            rings = [boundary(c) for c in self.h3[missing].tolist()]
            sizes = np.fromiter(map(len, rings), np.int8, len(rings))
            for size in np.unique(sizes).tolist():  # one array per vertex count
                pick = np.flatnonzero(sizes == size)
                latlng = np.array([rings[i] for i in pick.tolist()], np.float64)
                where = missing[pick]
                self.vertices[where, :size, 0] = latlng[:, :, 1] - self.lon[where, None]
                self.vertices[where, :size, 1] = latlng[:, :, 0] - self.lat[where, None]
            self.counts[missing] = sizes  # last: another thread sees complete rings
        counts = self.counts[positions].astype(np.int64)
        take = np.arange(MAX_VERTICES) < counts[:, None]
        lon = (self.vertices[positions, :, 0] + self.lon[positions, None])[take]
        lat = (self.vertices[positions, :, 1] + self.lat[positions, None])[take]
        return lon, lat, np.concatenate([[0], np.cumsum(counts)])


def rings_table(cells: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> pa.Table:
    """Every cell's hexagon as the store keeps it (``cell_rings``): the vertex count and
    the padded offsets of :class:`GridCells`, flat.
    """
    order = np.argsort(cells, kind="stable")
    grid = GridCells(("", 0, 0), 0, cells[order], lon[order], lat[order])
    grid.boundaries(np.arange(len(order)))
    return pa.table({
        "h3": grid.h3, "vertices": grid.counts,
        "ring": pa.FixedSizeListArray.from_arrays(pa.array(grid.vertices.ravel()),
                                                  2 * MAX_VERTICES)})


def _stored_rings(con: duckdb.DuckDBPyConnection, grid: GridCells) -> bool:
    """Fill ``grid``'s hexagons from the store's ``cell_rings``; False when the store has
    none (written before them, or merged) or not one per cell.
    """
    try:
        table = con.execute("SELECT h3, vertices, ring FROM cell_rings ORDER BY h3"
                            ).to_arrow_table()
    except duckdb.CatalogException:
        return False
    ids = table.column("h3").to_numpy()
    if len(ids) != len(grid.h3) or not np.array_equal(ids, grid.h3):
        return False
    flat = table.column("ring").combine_chunks().flatten().to_numpy()
    grid.vertices[:] = flat.reshape(len(ids), MAX_VERTICES, 2)
    grid.counts[:] = table.column("vertices").to_numpy()
    return True


_lock = threading.Lock()
_cache: dict[str, GridCells] = {}


def grid_cells(store: TwinStore) -> GridCells:
    """The cells of the store, cached until its file changes."""
    try:
        stat = Path(store.path).stat()
    except FileNotFoundError:
        raise TwinMissing("no twin has been built yet: run `vntwin fuse`") from None
    key = (str(store.path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        hit = _cache.get(key[0])
    if hit is not None and hit.key == key:
        return hit
    with store.read() as con:
        data = con.execute("SELECT h3, lon, lat FROM cells ORDER BY h3").fetchnumpy()
        row = con.execute("SELECT max(res) FROM layers").fetchone()
        cells = np.asarray(data["h3"], np.uint64)
        res = int(row[0]) if row and row[0] is not None else (
            h3.get_resolution(h3.int_to_str(int(cells[0]))) if len(cells) else 8)
        fresh = GridCells(key, res, cells, np.asarray(data["lon"], np.float64),
                          np.asarray(data["lat"], np.float64))
        stored = _stored_rings(con, fresh)
    with _lock:
        _cache[key[0]] = fresh
    if not stored:
        # every hexagon computed once in the background (~2 s for 400k cells): requests
        # meanwhile compute the few they need themselves
        threading.Thread(target=_fill, args=(fresh,), daemon=True, name="hexagons").start()
    return fresh


def _fill(grid: GridCells, chunk: int = 256, pause_s: float = 0.0005) -> None:
    """Every hexagon, in small chunks with a pause after each: h3 holds the GIL, and a
    request thread waiting for it would otherwise wait out the interpreter's switch
    interval (5 ms) at each of its own hand-offs, which made the first second of
    requests after a start or a fusion 5–20 times slower (p50 8 ms, then 40–180 ms).
    """
    for start in range(0, len(grid.h3), chunk):
        with _lock:
            if _cache.get(grid.key[0]) is not grid:
                return  # the store changed: a newer GridCells fills itself
        grid.boundaries(np.arange(start, min(start + chunk, len(grid.h3))))
        time.sleep(pause_s)


def layer_values(store: TwinStore, grid: GridCells, layer: str,
                 cells: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Which of ``cells`` (sorted ids) have values of ``layer``, and each variable's value
    per such cell (NaN where that cell has none). For a time-stamped layer
    (:mod:`vntwin.twin.times`) that is each cell's latest value, whatever its time, as an
    "as of" query without a time answers (OGC items and grid tiles show that).
    """
    if not len(cells):
        return cells, {}
    shift = bucket_shift(grid.res)
    _, first = np.unique(cells >> np.uint64(shift), return_index=True)
    last = np.r_[first[1:], len(cells)] - 1
    # one range per bucket, as tight as the cells asked for; literal bounds, because
    # DuckDB prunes by zone map on constants (the same ranges as parameters scanned all)
    base = ("SELECT h3, variable, value, epoch_us(valid_time) AS t FROM cell_values "
            "WHERE layer = $layer AND h3 BETWEEN ")
    if len(first) <= MAX_BUCKETS:
        query = " UNION ALL ".join(f"({base}{int(cells[a])} AND {int(cells[b])})"
                                   for a, b in zip(first.tolist(), last.tolist(), strict=True))
    else:
        query = f"{base}{int(cells[0])} AND {int(cells[-1])}"
    with store.read() as con:
        rows = con.execute(query, {"layer": layer}).fetchnumpy()
    ids = np.asarray(rows["h3"], np.uint64)
    times = rows["t"]
    if np.ma.count(times):  # time-stamped: the last of each cell and variable wins below
        stamps = np.ma.filled(np.ma.asarray(times, np.int64), np.iinfo(np.int64).min)
        order = np.argsort(stamps, kind="stable")
        rows = {k: np.asarray(v)[order] for k, v in rows.items()}
        ids = ids[order]
    inside = np.isin(ids, cells)
    ids, values = ids[inside], np.asarray(rows["value"], np.float64)[inside]
    variables = np.asarray(rows["variable"], dtype=object)[inside]
    found = np.unique(ids)
    where = np.searchsorted(found, ids)
    columns: dict[str, np.ndarray] = {}
    for name in sorted(set(variables.tolist())):
        column = np.full(len(found), np.nan)
        pick = np.flatnonzero(variables == name)
        if len(pick) > len(np.unique(where[pick])):  # several times: keep the latest
            latest = len(pick) - 1 - np.unique(where[pick][::-1], return_index=True)[1]
            pick = pick[latest]
        column[where[pick]] = values[pick]
        columns[str(name)] = column
    return found, columns
