"""``vntwin fuse``: bring the twin up to date with the catalogue, one layer at a time.

Incremental: a layer whose file, resolution and options are unchanged since the last
fusion is skipped, so re-fusing after one dataset changed touches only that layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from vntwin.catalog.service import Catalog
from vntwin.errors import VntwinError
from vntwin.twin.fuse.grid import HexGrid
from vntwin.twin.kinds import plan_columns, variable_kinds
from vntwin.twin.layers import LayerSource, fingerprint, layer_sources, read_layer
from vntwin.twin.store import LayerRecord, TwinStore

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


def twin_store(cat: Catalog) -> TwinStore:
    """The twin of this catalogue's data dir."""
    return TwinStore(cat.settings.data_dir / "twin.duckdb")


def _grid(cat: Catalog, res: int) -> pd.DataFrame:
    from vntwin.twin.admin import AdminUnits

    return AdminUnits.load(cat.settings.admin_dir).cells(res)


def _unit_cells(grid: pd.DataFrame, place_level: str) -> pd.DataFrame:
    column = "commune_code" if place_level == "commune" else "province_code"
    return grid[["h3", column]].rename(columns={column: "unit_code"})


WEIGHT_EXTRA = "twin_weight"  # "layer/variable": spread a unit table by it, not by area


def _weight_ref(value: str) -> tuple[str, str]:
    layer, _, variable = value.rpartition("/")
    if not layer or not variable:
        raise VntwinError(f"{WEIGHT_EXTRA} must be 'layer/variable', not {value!r}")
    return layer, variable


def _weight_cells(store: TwinStore, value: str) -> pd.DataFrame:
    """Cells and their weight (a fused variable, e.g. a population layer's people)."""
    layer, variable = _weight_ref(value)
    with store.read() as con:
        frame = con.execute("SELECT h3, sum(value) AS weight FROM cell_values WHERE layer = ? "
                            "AND variable = ? AND valid_time IS NULL GROUP BY h3",
                            [layer, variable]).fetchdf()
    if frame.empty:
        raise VntwinError(f"weight {value!r}: the twin has no variable {variable!r} in layer "
                          f"{layer!r}; fuse that layer first or fix {WEIGHT_EXTRA}")
    return frame.astype({"h3": "uint64"})


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


def fuse_source(cat: Catalog, store: TwinStore, source: LayerSource, res: int,
                grid: pd.DataFrame | None, hexes: HexGrid | None = None,
                report: FuseReport | None = None) -> int:
    """Fuse one layer and swap it into the store; returns the number of values.

    ``hexes`` is the territory's grid: every layer lands on the same cells, and what lies
    outside the territory is left out (totals are "inside the territory"). Polygons
    repaired on the way (``shapely.make_valid``) are counted in ``report.repaired``.
    """
    from vntwin.twin.fuse import fuse_layer
    from vntwin.twin.fuse.polygons import REPAIRED_ATTR

    layer = read_layer(cat, source, for_fusion=True)
    plan = plan_columns(layer, source.extras)
    unit_cells = None
    if layer.kind == "table":
        if grid is None:
            raise VntwinError("the grid is needed to spread a table over its units")
        from vntwin.twin.admin import AdminUnits

        admin = AdminUnits.load(cat.settings.admin_dir)
        codes = admin.match(layer.frame[layer.place_column].tolist())
        level = "commune" if any(c and len(c) == 5 for c in codes) else "province"
        layer.frame = layer.frame.assign(unit_code=codes).dropna(subset=["unit_code"])
        unit_cells = _unit_cells(grid, level)
        if source.extras.get(WEIGHT_EXTRA):
            unit_cells = unit_cells.merge(
                _weight_cells(store, str(source.extras[WEIGHT_EXTRA])), on="h3", how="left")
            unit_cells["weight"] = unit_cells["weight"].fillna(0.0)
    values = fuse_layer(layer, res, extensive=plan.extensive, intensive=plan.intensive,
                        categorical=plan.categorical, unit_cells=unit_cells, grid=hexes)
    repaired = int(values.attrs.get(REPAIRED_ATTR, 0))
    if report is not None and repaired:
        report.repaired[source.name] = repaired
    kinds = variable_kinds(layer, plan, sorted(values["variable"].unique()))
    record = LayerRecord(source.name, source.dataset_id, source.dataset_name,
                         source.resource_id, _fingerprint(source, res, store.fingerprints()),
                         layer.kind, res,
                         modelled=str(source.extras.get("twin_modelled", "")).lower() == "true",
                         notes=str(source.extras.get("twin_notes", "")))
    return store.replace_layer(record, values, kinds)


def fuse_catalog(cat: Catalog, res: int | None = None, *, force: bool = False,
                 progress: Progress | None = None, compact: bool = True) -> FuseReport:
    """Fuse every public twin layer of the catalogue that changed since the last run.

    At the end the store is compacted when it needs it (a first fusion, a store from before
    the clustered layout, or many re-fused rows; see ``TwinStore.compact``), which keeps
    lookups by cell fast; ``compact=False`` leaves that to a later run.
    """
    store = twin_store(cat)
    res = res or cat.settings.h3_resolution
    grid: pd.DataFrame | None = None
    if store.resolution() != res:
        grid = _grid(cat, res)
        store.set_grid(grid, res)
        force = True
    # tables spread by a weight layer come after the layers they are weighted by
    sources = sorted(layer_sources(cat), key=lambda s: bool(s.extras.get(WEIGHT_EXTRA)))
    report = FuseReport(res=res)
    done = store.fingerprints()
    hexes: HexGrid | None = None
    for number, source in enumerate(sources, 1):
        if progress:
            progress(source.name, number, len(sources))
        if source.extras.get(WEIGHT_EXTRA):
            done = store.fingerprints()  # weight layers may have been re-fused just now
        current = _fingerprint(source, res, done)
        if not force and done.get(source.name) == current:
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
