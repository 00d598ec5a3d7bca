"""What the map explorer draws: the layer list, legends, time steps and boundary tiles.

Read-only summaries of the twin for the map's controls. The tiles themselves come from
the OGC routes (``/ogc/collections/{id}/tiles``) where those fit; two kinds they do not
serve are made here with the same encoder (``twin.tiles``): the administrative boundaries
(the base map: there is no web base map to fetch) and a grid layer "as of" a time (the OGC
grid tiles hold the timeless values only).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import h3
import pandas as pd
import shapely

from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound
from vntwin.live.layers import map_entries as live_map_entries
from vntwin.twin import tiles
from vntwin.twin.admin import AdminUnits
from vntwin.twin.features import GRID_PREFIX
from vntwin.twin.layers import layer_sources
from vntwin.twin.store import TwinBusy, TwinMissing, TwinStore

VECTOR_KINDS = ("point", "line", "polygon")
LEVELS = ("province", "commune")
BREAKS = (0.2, 0.4, 0.6, 0.8)  # quintile classes: readable legends for skewed data
_stats_cache: dict[Path, tuple[float, list[dict[str, Any]]]] = {}
_simplified: dict[tuple[Path, str, int], Any] = {}
UNIT_TILE_CACHE = 4096
_unit_tiles: OrderedDict[tuple[str, str, int, int, int], bytes] = OrderedDict()
_lock = threading.Lock()


def collection_id(dataset_name: str, layer: str) -> str:
    """The OGC collection id of a dataset's twin layer (the rule of ``layer_sources``)."""
    return f"{dataset_name}--{layer}" if layer != dataset_name else dataset_name


def dataset_collections(pkg: dict[str, Any], fused: set[str]) -> list[dict[str, str]]:
    """The OGC collections showing a dataset: its vector layers and its fused grid layers.

    Only public datasets feed the twin, so only they have any.
    """
    if pkg.get("access_level") != "public":
        return []
    out = []
    for res in pkg.get("resources", []):
        layer = res.get("twin_layer")
        if not layer or res.get("url_type") != "upload":
            continue
        cid = collection_id(pkg["name"], str(layer))
        if res.get("twin_kind") in VECTOR_KINDS:
            out.append({"id": cid, "kind": str(res["twin_kind"])})
        if cid in fused:
            out.append({"id": f"{GRID_PREFIX}{cid}", "kind": "grid"})
    return out


def fused_layers(store: TwinStore) -> list[dict[str, Any]]:
    """The twin's fused layers, or none when no twin is built (or it is being rebuilt)."""
    try:
        return store.layers()
    except (TwinMissing, TwinBusy):
        return []


def _variable_stats(store: TwinStore) -> list[dict[str, Any]]:
    """Per (layer, variable): range, quintile breaks and the distinct valid times;
    cached until the twin file changes.
    """
    path = store.path
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return []
    with _lock:
        cached = _stats_cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    with store.read() as con:
        rows = con.execute(
            "SELECT layer, variable, min(value), max(value), "
            f"quantile_cont(value, {list(BREAKS)}), count(DISTINCT h3), "
            "list(DISTINCT valid_time ORDER BY valid_time) FILTER (valid_time IS NOT NULL) "
            "FROM cell_values GROUP BY layer, variable ORDER BY layer, variable").fetchall()
    stats = [{"layer": r[0], "variable": r[1], "min": r[2], "max": r[3],
              "breaks": [float(b) for b in r[4]], "cells": r[5],
              "times": [t.isoformat() for t in (r[6] or [])]} for r in rows]
    with _lock:
        _stats_cache[path] = (stamp, stats)
    return stats


def map_layers(cat: Catalog, store: TwinStore) -> dict[str, Any]:
    """Everything the layer picker lists: vector layers as ingested, and one entry per
    variable of each fused grid layer, with its legend classes and time steps.
    """
    vectors = [{"id": s.name, "collection": s.name, "kind": s.kind, "dataset": s.dataset_name,
                "title": s.name, "variable": None}
               for s in layer_sources(cat) if s.kind in VECTOR_KINDS]
    info = {layer["layer"]: layer for layer in fused_layers(store)}
    grids = []
    for stat in (_variable_stats(store) if info else []):
        layer = info.get(stat["layer"])
        if layer is None:
            continue
        meta: dict[str, Any] = next(
            (v for v in layer["variables"] if v["name"] == stat["variable"]), {})
        grids.append({
            "id": f"{GRID_PREFIX}{stat['layer']}:{stat['variable']}",
            "collection": f"{GRID_PREFIX}{stat['layer']}", "kind": "grid",
            "dataset": layer["dataset"], "layer": stat["layer"],
            "title": f"{stat['layer']} · {stat['variable']}", "variable": stat["variable"],
            "variable_kind": meta.get("kind"), "unit": meta.get("unit"),
            "canonical": meta.get("canonical"), "min": stat["min"], "max": stat["max"],
            "breaks": stat["breaks"], "cells": stat["cells"], "times": stat["times"]})
    return {"layers": [*vectors, *grids, *live_map_entries(cat)]}


# -- the base map: administrative boundaries --------------------------------------------
def _units(cat: Catalog) -> AdminUnits:
    return AdminUnits.load(cat.settings.admin_dir)


def provinces(cat: Catalog) -> list[dict[str, Any]]:
    """The 34 provinces: code, name and bounding box, for the drill-down list."""
    frame = _units(cat).provinces
    return [{"code": row.code, "name": row.name, "full_name": row.full_name,
             "bbox": [round(v, 4) for v in row.geometry.bounds]}
            for row in frame.sort_values("name").itertuples()]


def communes(cat: Catalog, province_code: str) -> list[dict[str, Any]]:
    """The communes of one province, with their bounding boxes."""
    frame = _units(cat).communes
    rows = frame[frame["province_code"] == province_code]
    if rows.empty:
        raise NotFound(f"no province with code {province_code!r}")
    return [{"code": row.code, "name": row.name, "full_name": row.full_name,
             "bbox": [round(v, 4) for v in row.geometry.bounds]}
            for row in rows.sort_values("name").itertuples()]


def _simplified_frame(cat: Catalog, level: str, z: int) -> Any:
    """The boundaries simplified to about a pixel at zoom ``z`` (cached per zoom band):
    a country-wide tile would otherwise carry every vertex of 3,321 communes.
    """
    band = min(max(z, 4), 12)
    key = (cat.settings.admin_dir.resolve(), level, band)
    with _lock:
        if key in _simplified:
            return _simplified[key]
    units = _units(cat)
    frame = units.provinces if level == "province" else units.communes
    tolerance = 360 / (2**band * tiles.EXTENT) * 2
    cols = ["code", "name"] + (["province_code"] if level == "commune" else [])
    out = frame[cols].copy()
    out["geometry"] = shapely.simplify(frame.geometry.to_numpy(), tolerance,
                                       preserve_topology=True)
    result = (out, shapely.STRtree(out["geometry"].to_numpy()))
    with _lock:
        _simplified[key] = result
    return result


def unit_tile(cat: Catalog, level: str, z: int, x: int, y: int) -> bytes:
    """A vector tile of the province or commune boundaries (layer name = level).

    The boundaries change only when the package data does, so tiles are kept in memory
    (a few thousand of a few KB each): every visitor's map asks for the same first ones.
    """
    if level not in LEVELS:
        raise NotFound(f"no boundary level {level!r}; use province or commune")
    tiles.tile_bounds(z, x, y)  # validates before anything is cached
    key = (str(cat.settings.admin_dir.resolve()), level, z, x, y)
    with _lock:
        if key in _unit_tiles:
            _unit_tiles.move_to_end(key)
            return _unit_tiles[key]
    data = _make_unit_tile(cat, level, z, x, y)
    with _lock:
        _unit_tiles[key] = data
        while len(_unit_tiles) > UNIT_TILE_CACHE:
            _unit_tiles.popitem(last=False)
    return data


def _make_unit_tile(cat: Catalog, level: str, z: int, x: int, y: int) -> bytes:
    west, south, east, north = tiles.tile_bounds(z, x, y)
    frame, tree = _simplified_frame(cat, level, z)
    hits = sorted(tree.query(shapely.box(west, south, east, north), predicate="intersects"))
    if not hits:
        return b""
    sub = frame.iloc[hits]
    attrs = pd.DataFrame({"wkb": shapely.to_wkb(sub["geometry"].to_numpy()),
                          **{c: sub[c].astype(str).to_numpy() for c in sub.columns
                             if c != "geometry"}})
    return tiles._encode(attrs, level, z, x, y)


# -- grid layers as of a time ------------------------------------------------------------
def grid_tile_at(store: TwinStore, layer: str, variable: str, as_of: str, z: int, x: int,
                 y: int) -> bytes:
    """A tile of one grid variable with each cell's latest value at ``as_of`` (the time
    slider; a time without a zone is Vietnam's, as in :mod:`vntwin.twin.times`); the OGC
    grid tiles carry each cell's latest value, whatever its time.
    """
    from vntwin.twin.times import as_of_time

    when = as_of_time(as_of)
    west, south, east, north = tiles.tile_bounds(z, x, y)
    pad = 0.02
    with store.read() as con:
        rows = con.execute(
            "SELECT v.h3, arg_max(v.value, v.valid_time) FROM cell_values v "
            "JOIN cells c USING (h3) WHERE v.layer = ? AND v.variable = ? "
            "AND v.valid_time IS NOT NULL AND v.valid_time <= ? "
            "AND c.lon BETWEEN ? AND ? AND c.lat BETWEEN ? AND ? GROUP BY v.h3 LIMIT ?",
            [layer, variable, when, west - pad, east + pad, south - pad, north + pad,
             tiles.MAX_FEATURES]).fetchall()
    if not rows:
        return b""
    records = []
    for cell, value in rows:
        text = h3.int_to_str(int(cell))
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(text)]
        if not math.isfinite(value):
            continue
        records.append({"wkb": shapely.to_wkb(shapely.Polygon(ring)), "h3": text,
                        variable: float(value)})
    return tiles._encode(pd.DataFrame.from_records(records), f"{GRID_PREFIX}{layer}", z, x, y)
