"""``vntwin fuse``: bring the twin up to date with the catalogue.

Incremental: a layer whose file, resolution and options are unchanged since the last
fusion is skipped, so re-fusing after one dataset changed touches only that layer, which
is swapped into the store on its own (``TwinStore.replace_layer``).

Many changed layers (a first fusion, a new resolution) go through a bulk load instead
(:mod:`vntwin.twin.bulk`): each layer is fused and spilled to disk sorted by cell —
vector and raster layers in a pool of worker processes, one per core, so that the
kernels of two layers run at once — and all of them are written into the store in one
transaction, already clustered by cell, so that no compaction pass is needed.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd

from vntwin.catalog.service import Catalog
from vntwin.errors import VntwinError
from vntwin.twin.bulk import BulkLoad, Spilled, SpillPlan, spill_values
from vntwin.twin.fuse.grid import HexGrid
from vntwin.twin.fuse.tables import TableMatch, merge_unit_rows
from vntwin.twin.kinds import ColumnPlan, keep_top_categories, plan_columns, variable_kinds
from vntwin.twin.layer import Layer
from vntwin.twin.layers import (
    LayerSource,
    fingerprint,
    layer_sources,
    read_layer,
    read_layer_file,
)
from vntwin.twin.store import LayerRecord, TwinStore, VariableInfo

Progress = Callable[[str, int, int], None]


@dataclass
class FuseReport:
    """What a fusion run did."""

    res: int
    fused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    compacted: bool = False  # cell_values rewritten clustered by cell (TwinStore.compact)
    repaired: dict[str, int] = field(default_factory=dict)  # layer -> polygons made valid
    # table layer -> how its rows matched units (TableMatch.as_dict: matched, merged into
    # one 2025 unit, unmatched rows and values); also in the layer's notes
    matching: dict[str, dict[str, Any]] = field(default_factory=dict)
    # layer kind -> phase (read, plan, fuse, spill, store) -> seconds, summed over layers
    # (and over worker processes, so with a pool they add up to more than the wall time)
    phases: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    bulk_seconds: float = 0.0  # writing the spilled layers into the store (bulk.BulkLoad)
    workers: int = 0  # worker processes that fused layers (0: all in this process)
    worker_peak_mib: float = 0.0  # the largest peak RSS of one worker process


BULK_MIN_LAYERS = 4  # fusing at least this many layers at once goes through a bulk load
POOL_MIN_LAYERS = 16  # ... and a pool of worker processes from this many (start-up ~3 s)
POOL_KINDS = frozenset({"point", "polygon", "line", "raster"})  # need no catalogue


def twin_store(cat: Catalog) -> TwinStore:
    """The twin of this catalogue's data dir."""
    return TwinStore(cat.settings.data_dir / "twin.duckdb")


def _grid(cat: Catalog, res: int) -> pd.DataFrame:
    from vntwin.twin.admin import AdminUnits

    return AdminUnits.load(cat.settings.admin_dir).cells(res)


def _unit_cells(grid: pd.DataFrame, place_level: str, units: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """Each cell of the grid with its unit; a unit that holds no cell of its own (a
    commune smaller than a cell at a coarse resolution) shares the grid cell holding its
    representative point, so a table's values for it stay in the twin (totals are
    conserved) instead of being dropped.
    """
    from vntwin.twin.grid import latlng_to_cells

    column = "commune_code" if place_level == "commune" else "province_code"
    out = grid[["h3", column]].rename(columns={column: "unit_code"})
    if units is None or out.empty:
        return out
    missing = units[~units["code"].isin(set(out["unit_code"]))]
    if missing.empty:
        return out
    points = missing.geometry.representative_point()
    res = h3.get_resolution(h3.int_to_str(int(out["h3"].iloc[0])))
    cells = latlng_to_cells(points.y.to_numpy(), points.x.to_numpy(), res)
    extra = pd.DataFrame({"h3": cells.astype(out["h3"].dtype),
                          "unit_code": missing["code"].to_numpy()})
    extra = extra[extra["h3"].isin(set(out["h3"]))]
    return pd.concat([out, extra], ignore_index=True)


WEIGHT_EXTRA = "twin_weight"  # "layer/variable": spread a unit table by it, not by area


def _weight_ref(value: str) -> tuple[str, str]:
    layer, _, variable = value.rpartition("/")
    if not layer or not variable:
        raise VntwinError(f"{WEIGHT_EXTRA} must be 'layer/variable', not {value!r}")
    return layer, variable


def _weight_values(store: TwinStore, value: str) -> pd.DataFrame:
    """Cells' weights (a fused variable, e.g. a population layer's people), with their
    ``valid_time`` when the weight layer is time-stamped (NaT when it is not).
    """
    layer, variable = _weight_ref(value)
    with store.read() as con:
        frame = con.execute("SELECT h3, valid_time, sum(value) AS value FROM cell_values "
                            "WHERE layer = ? AND variable = ? GROUP BY h3, valid_time",
                            [layer, variable]).fetchdf()
    if frame.empty:
        raise VntwinError(f"weight {value!r}: the twin has no variable {variable!r} in layer "
                          f"{layer!r}; fuse that layer first or fix {WEIGHT_EXTRA}")
    frame["valid_time"] = pd.to_datetime(frame["valid_time"], utc=True)
    return frame.astype({"h3": "uint64"})


UnitCells = Callable[[pd.Timestamp | None], pd.DataFrame]  # a table's cells as of a time


def _unit_cells_at(cells: pd.DataFrame, weights: pd.DataFrame | None) -> UnitCells:
    """A table's unit cells as of each of its times: weighted, when it is spread by a
    weight layer, by each cell's weight as "as of" queries see it at that time.
    """
    from vntwin.twin.times import latest_per_cell

    def at(moment: pd.Timestamp | None) -> pd.DataFrame:
        if weights is None:
            return cells
        weight = latest_per_cell(weights, moment).rename(columns={"value": "weight"})
        out = cells.merge(weight, on="h3", how="left")
        out["weight"] = out["weight"].fillna(0.0)
        return out

    return at


def _fingerprint(source: LayerSource, res: int, done: dict[str, str]) -> str:
    """The layer's fingerprint, and its weight layer's when it is spread by one: a new
    population layer re-spreads the tables weighted by it.
    """
    own = fingerprint(source, res)
    weight = source.extras.get(WEIGHT_EXTRA)
    if not weight:
        return own
    try:
        layer, _ = _weight_ref(str(weight))
    except VntwinError:
        return own
    return f"{own}+{done.get(layer, '')}"


Phases = dict[str, float]


def _fuse_values(layer: Layer, source: LayerSource, res: int, hexes: HexGrid | None,
                 unit_cells: UnitCells | None, phases: Phases
                 ) -> tuple[pd.DataFrame, dict[str, VariableInfo], int]:
    """One read layer's long frame, how its variables aggregate, and how many polygons
    were repaired; the same in this process and in a worker. A time-stamped layer
    (:mod:`vntwin.twin.times`) is fused once per time, its rows carrying ``valid_time``.
    """
    from vntwin.twin.fuse import fuse_layer
    from vntwin.twin.fuse.polygons import REPAIRED_ATTR
    from vntwin.twin.times import fuse_by_time, layer_times

    started = time.perf_counter()
    layer, times = layer_times(layer, source.extras)  # the time column is not a quantity
    plan = plan_columns(layer, source.extras)
    layer = keep_top_categories(layer, plan)
    planned = time.perf_counter()
    values = fuse_by_time(layer, times, lambda part, moment: fuse_layer(
        part, res, extensive=plan.extensive, intensive=plan.intensive,
        categorical=plan.categorical, grid=hexes,
        unit_cells=unit_cells(moment) if unit_cells is not None else None))
    fused = time.perf_counter()
    kinds = variable_kinds(layer, plan, sorted(values["variable"].unique()))
    phases["plan"] = phases.get("plan", 0.0) + planned - started + time.perf_counter() - fused
    phases["fuse"] = phases.get("fuse", 0.0) + fused - planned
    return values, kinds, int(values.attrs.get(REPAIRED_ATTR, 0))


def _add_phases(report: FuseReport | None, kind: str, phases: Phases) -> None:
    if report is not None:
        for phase, seconds in phases.items():
            report.phases[kind][phase] += seconds


def _record(source: LayerSource, res: int, kind: str, done: dict[str, str],
            match: TableMatch | None = None) -> LayerRecord:
    notes = [str(source.extras.get("twin_notes", "")), match.note() if match else ""]
    return LayerRecord(source.name, source.dataset_id, source.dataset_name,
                       source.resource_id, _fingerprint(source, res, done), kind, res,
                       modelled=str(source.extras.get("twin_modelled", "")).lower() == "true",
                       notes=" ".join(n for n in notes if n))


def _matching(layer: Layer) -> TableMatch | None:
    """How a table layer's rows matched units (None for other layers)."""
    frame = layer.frame
    return frame.attrs.get(MATCH_ATTR) if isinstance(frame, pd.DataFrame) else None


def _report_matching(report: FuseReport | None, name: str, match: TableMatch | None) -> None:
    if report is not None and match is not None:
        report.matching[name] = match.as_dict()


MERGE_WEIGHT_EXTRA = "twin_merge_weight"  # column weighting rates of merged old units
MATCH_ATTR = "twin_matching"  # in a read table's frame.attrs: its TableMatch


def _merge_weight(source: LayerSource, plan: ColumnPlan) -> str | None:
    """The extensive column weighting the intensive means of rows merged into one 2025
    unit: ``twin_merge_weight`` when declared, else a column the vocabulary knows as
    population, else none (plain means).
    """
    declared = str(source.extras.get(MERGE_WEIGHT_EXTRA) or "").strip()
    if declared:
        if declared not in plan.extensive:
            raise VntwinError(f"{MERGE_WEIGHT_EXTRA} {declared!r} is not an extensive "
                              f"column of the table ({', '.join(plan.extensive) or 'none'})")
        return declared
    return next((c for c in plan.extensive if plan.canonical.get(c) == "population"), None)


def _read(cat: Catalog, store: TwinStore, source: LayerSource, grid: pd.DataFrame | None,
          phases: Phases) -> tuple[Layer, UnitCells | None]:
    """The layer, and for a table the cells of its units (weighted when asked)."""
    started = time.perf_counter()
    layer = read_layer(cat, source, for_fusion=True)
    phases["read"] = phases.get("read", 0.0) + time.perf_counter() - started
    unit_cells = None
    if layer.kind == "table":
        if grid is None:
            raise VntwinError("the grid is needed to spread a table over its units")
        from vntwin.twin.admin import AdminUnits

        admin = AdminUnits.load(cat.settings.admin_dir)
        found = admin.match_report(layer.frame[layer.place_column].tolist())
        codes = found.codes
        level = "commune" if any(c and len(c) == 5 for c in codes) else "province"
        from vntwin.twin.times import layer_times

        timeless, times = layer_times(layer, source.extras)  # a long table: units by time
        plan = plan_columns(timeless, source.extras)
        layer.frame, match = merge_unit_rows(
            layer.frame, codes, found.keys, found.old, extensive=plan.extensive,
            intensive=plan.intensive, weight=_merge_weight(source, plan),
            place=layer.place_column, times=times if isinstance(times, np.ndarray) else None)
        match.split = found.split
        layer.frame.attrs[MATCH_ATTR] = match
        weight = source.extras.get(WEIGHT_EXTRA)
        units = admin.communes if level == "commune" else admin.provinces
        unit_cells = _unit_cells_at(_unit_cells(grid, level, units),
                                    _weight_values(store, str(weight)) if weight else None)
    return layer, unit_cells


def fuse_source(cat: Catalog, store: TwinStore, source: LayerSource, res: int,
                grid: pd.DataFrame | None, hexes: HexGrid | None = None,
                report: FuseReport | None = None) -> int:
    """Fuse one layer and swap it into the store; returns the number of values.

    ``hexes`` is the territory's grid: every layer lands on the same cells, and what lies
    outside the territory is left out (totals are "inside the territory"). Polygons
    repaired on the way (``shapely.make_valid``) are counted in ``report.repaired``.
    """
    phases: Phases = {}
    layer, unit_cells = _read(cat, store, source, grid, phases)
    match = _matching(layer)
    values, kinds, repaired = _fuse_values(layer, source, res, hexes, unit_cells, phases)
    if report is not None and repaired:
        report.repaired[source.name] = repaired
    _report_matching(report, source.name, match)
    started = time.perf_counter()
    rows = store.replace_layer(_record(source, res, layer.kind, store.fingerprints(), match),
                               values, kinds)
    phases["store"] = time.perf_counter() - started
    _add_phases(report, layer.kind, phases)
    return rows


# -- many layers at once: worker processes and a bulk load --------------------------------
@dataclass(frozen=True)
class _Fused:
    """A layer fused and spilled (in a worker or here), or why it failed."""

    spilled: Spilled | None
    kind: str
    kinds: dict[str, VariableInfo]
    repaired: int
    phases: Phases
    seconds: float
    error: str | None = None
    peak_mib: float = 0.0
    match: TableMatch | None = None  # a table's matching to units


_WORKER: dict[str, Any] = {}


def _init_worker(cells: np.ndarray, res: int, plan: SpillPlan) -> None:
    """A worker's one-time set-up: the territory grid, and numba on one thread (the
    workers already keep every core busy).
    """
    import numba

    numba.set_num_threads(1)
    _WORKER.update(hexes=HexGrid.from_cells(cells, res), res=res, plan=plan)


def _peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _fuse_to_spill(source: LayerSource, path: Path, spill: Path) -> _Fused:
    """In a worker: read, fuse and spill one vector or raster layer."""
    started = time.perf_counter()
    phases: Phases = {}
    try:
        layer = read_layer_file(path, source, for_fusion=True)
        phases["read"] = time.perf_counter() - started
        values, kinds, repaired = _fuse_values(layer, source, _WORKER["res"],
                                               _WORKER["hexes"], None, phases)
        spilled_at = time.perf_counter()
        spilled = spill_values(values, source.name, spill, _WORKER["plan"])
        phases["spill"] = time.perf_counter() - spilled_at
    except VntwinError as exc:  # subclasses need not pickle: send the message
        return _Fused(None, source.kind, {}, 0, phases, 0.0, exc.message, _peak_mib())
    return _Fused(spilled, layer.kind, kinds, repaired, phases,
                  time.perf_counter() - started, None, _peak_mib())


def _fuse_here(cat: Catalog, store: TwinStore, source: LayerSource, res: int,
               grid: pd.DataFrame, hexes: HexGrid, plan: SpillPlan, spill: Path) -> _Fused:
    """The same as a worker, in this process (tables, other kinds, or no pool)."""
    started = time.perf_counter()
    phases: Phases = {}
    try:
        layer, unit_cells = _read(cat, store, source, grid, phases)
        values, kinds, repaired = _fuse_values(layer, source, res, hexes, unit_cells, phases)
        spilled_at = time.perf_counter()
        spilled = spill_values(values, source.name, spill, plan)
        phases["spill"] = time.perf_counter() - spilled_at
    except VntwinError as exc:
        return _Fused(None, source.kind, {}, 0, phases, 0.0, exc.message)
    return _Fused(spilled, layer.kind, kinds, repaired, phases, time.perf_counter() - started,
                  match=_matching(layer))


def _file_size(cat: Catalog, source: LayerSource) -> int:
    try:
        return cat.uploads.path_for(source.sha256).stat().st_size
    except OSError:
        return 0


def _fuse_many(cat: Catalog, store: TwinStore, sources: list[LayerSource], res: int,
               grid: pd.DataFrame, done: dict[str, str], report: FuseReport,
               progress: Progress | None, workers: int) -> None:
    """Fuse ``sources`` (none spread by a weight layer) through a bulk load: the largest
    files first, so that the pool does not end waiting on one big layer.
    """
    plan = SpillPlan.for_cells(grid["h3"].to_numpy(), res)
    sources = sorted(sources, key=lambda s: -_file_size(cat, s))
    pooled = ([s for s in sources if s.kind in POOL_KINDS]
              if workers > 1 and len(sources) >= POOL_MIN_LAYERS else [])
    local = [s for s in sources if s not in pooled]
    finished = 0

    def finish(source: LayerSource, fused: _Fused, load: BulkLoad) -> None:
        nonlocal finished
        finished += 1
        if progress:
            progress(source.name, finished, len(sources))
        _add_phases(report, fused.kind, fused.phases)
        report.worker_peak_mib = max(report.worker_peak_mib, fused.peak_mib)
        if fused.error is not None or fused.spilled is None:
            report.failed[source.name] = fused.error or "not fused"
            return
        if fused.repaired:
            report.repaired[source.name] = fused.repaired
        _report_matching(report, source.name, fused.match)
        load.add(fused.spilled, _record(source, res, fused.kind, done, fused.match),
                 fused.kinds)
        report.fused.append(source.name)
        report.seconds[source.name] = round(fused.seconds, 3)

    with BulkLoad(store, plan) as load:
        paths = {s.name: load.spill_path(i) for i, s in enumerate(sources)}
        if pooled:
            report.workers = workers
            context = multiprocessing.get_context("spawn")  # no fork of DuckDB/SQLite state
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                     initargs=(grid["h3"].to_numpy(), res, plan)) as pool:
                futures: dict[Future[_Fused], LayerSource] = {
                    pool.submit(_fuse_to_spill, s, cat.uploads.path_for(s.sha256),
                                paths[s.name]): s for s in pooled}
                try:
                    _fuse_locally(cat, store, local, res, grid, plan, paths, finish, load)
                    for future in as_completed(futures):
                        finish(futures[future], future.result(), load)
                except BaseException:  # an unexpected error: stop, as one by one would
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        else:
            _fuse_locally(cat, store, local, res, grid, plan, paths, finish, load)
        started = time.perf_counter()
        load.commit()
        report.bulk_seconds = time.perf_counter() - started


def _fuse_locally(cat: Catalog, store: TwinStore, sources: list[LayerSource], res: int,
                  grid: pd.DataFrame, plan: SpillPlan, paths: dict[str, Path],
                  finish: Callable[[LayerSource, _Fused, BulkLoad], None],
                  load: BulkLoad) -> None:
    hexes: HexGrid | None = None
    for source in sources:
        if hexes is None:
            hexes = HexGrid.from_cells(grid["h3"].to_numpy(), res)
        finish(source, _fuse_here(cat, store, source, res, grid, hexes, plan,
                                  paths[source.name]), load)


def fuse_catalog(cat: Catalog, res: int | None = None, *, force: bool = False,
                 progress: Progress | None = None, compact: bool = True,
                 workers: int | None = None) -> FuseReport:
    """Fuse every public twin layer of the catalogue that changed since the last run.

    ``BULK_MIN_LAYERS`` or more changed layers go through a bulk load (module docstring)
    with up to ``workers`` processes (default: one per core available to this process);
    fewer are swapped in one by one. At the end the store is compacted when it needs it (a
    store from before the clustered layout, or many re-fused rows; see
    ``TwinStore.compact``), which keeps lookups by cell fast; ``compact=False`` leaves that
    to a later run.
    """
    store = twin_store(cat)
    res = res or cat.settings.h3_resolution
    grid: pd.DataFrame | None = None
    from vntwin.twin.admin import CELLS_VERSION

    if store.resolution() != res or store.grid_version() != CELLS_VERSION:
        # a new resolution, or units that now own other cells (every value moves with
        # its cell's unit): a new grid, and every layer fused again
        grid = _grid(cat, res)
        store.set_grid(grid, res, CELLS_VERSION)
        force = True
    # tables spread by a weight layer come after the layers they are weighted by
    sources = sorted(layer_sources(cat), key=lambda s: bool(s.extras.get(WEIGHT_EXTRA)))
    report = FuseReport(res=res)
    done = store.fingerprints()
    weighted = [s for s in sources if s.extras.get(WEIGHT_EXTRA)]  # checked once their
    plain = [s for s in sources if s not in weighted]  # weight layers are up to date
    changed = [s for s in plain if force or done.get(s.name) != _fingerprint(s, res, done)]
    report.skipped = [s.name for s in plain if s not in changed]
    if len(changed) >= BULK_MIN_LAYERS:
        grid = grid if grid is not None else _grid(cat, res)
        _fuse_many(cat, store, changed, res, grid, done, report, progress,
                   workers or len(os.sched_getaffinity(0)))
        changed = []
    changed += weighted
    hexes: HexGrid | None = None
    for number, source in enumerate(changed, 1):
        if progress:
            progress(source.name, number, len(changed))
        if source.extras.get(WEIGHT_EXTRA):
            done = store.fingerprints()  # weight layers may have been re-fused just now
            if not force and done.get(source.name) == _fingerprint(source, res, done):
                report.skipped.append(source.name)
                continue
        if grid is None:
            grid = _grid(cat, res)
        if hexes is None:
            hexes = HexGrid.from_cells(grid["h3"].to_numpy(), res)
        started = time.perf_counter()
        try:
            fuse_source(cat, store, source, res, grid, hexes, report)
        except VntwinError as exc:
            report.failed[source.name] = exc.message
            continue
        report.fused.append(source.name)
        report.seconds[source.name] = round(time.perf_counter() - started, 3)
    report.removed = store.drop_layers({s.name for s in sources})
    if compact:
        report.compacted = store.compact()
    return report
