"""Asking the twin: every layer's values at a point, a cell, an administrative unit or a
bounding box, optionally "as of" a time.

Aggregation follows each variable's kind (``store.VariableInfo``): a province's
population is the sum over its cells, its mean PM2.5 the coverage-weighted mean, its
forest cover the covered share of its cells, its share of national roads the length of
national roads over all road length (a category's share: a cell without the category
has no row, and counts as 0 with its whole weight).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import h3

from vntwin.errors import NotFound, ValidationError
from vntwin.twin.store import TwinStore

# Latest value per (cell, layer, variable) at the "as of" time; timeless rows always count.
_LATEST = """
    SELECT h3, layer, variable, value, valid_time FROM cell_values
    WHERE h3 IN (SELECT h3 FROM area) AND (valid_time IS NULL OR ? IS NULL OR valid_time <= ?)
    QUALIFY row_number() OVER (PARTITION BY h3, layer, variable
                               ORDER BY valid_time DESC NULLS LAST) = 1
"""
_AGGREGATE = f"""
    WITH area AS ({{area}}),
    v AS ({_LATEST}),
    n AS (SELECT count(*) AS cells FROM area),
    wt AS (SELECT layer, variable, sum(value) AS total FROM v GROUP BY layer, variable)
    SELECT v.layer, v.variable, k.kind, k.unit, k.canonical,
      CASE
        WHEN k.kind IN ('extensive', 'count') THEN sum(v.value)
        WHEN k.kind = 'share' THEN sum(v.value * w.value) / nullif(max(wt.total), 0)
        WHEN k.kind = 'fraction' THEN sum(v.value) / max(n.cells)
        WHEN k.kind = 'min' THEN min(v.value)
        WHEN k.kind = 'max' THEN max(v.value)
        ELSE sum(v.value * coalesce(w.value, 1)) / nullif(sum(coalesce(w.value, 1)), 0)
      END AS value,
      count(*) AS cells, max(v.valid_time) AS valid_time
    FROM v JOIN variables k USING (layer, variable)
    LEFT JOIN v AS w ON w.h3 = v.h3 AND w.layer = v.layer AND w.variable = k.weight
    LEFT JOIN wt ON wt.layer = v.layer AND wt.variable = k.weight
    CROSS JOIN n
    GROUP BY v.layer, v.variable, k.kind, k.unit, k.canonical ORDER BY v.layer, v.variable
"""


# Hook: layers kept outside the twin file join the answers (the live sensor layers of
# `vntwin.live.layers`, read from the catalogue database). Keyed by twin file; a provider
# gets the area as {"cells": [h3]} or {"unit": (column, code)}; only "now" answers get them.
EXTRA_LAYERS: dict[Path, Callable[[dict[str, Any]], dict[str, dict[str, Any]]]] = {}


def _extra_layers(store: TwinStore, when: datetime | None, **area: Any) -> dict[str, Any]:
    provider = EXTRA_LAYERS.get(store.path.resolve())
    return provider(area) if provider is not None and when is None else {}


def _as_of(value: str | datetime | None) -> datetime | None:
    from vntwin.twin.times import as_of_time

    return as_of_time(value)


def _nest(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    layers: dict[str, dict[str, Any]] = {}
    for layer, variable, kind, unit, canonical, value, cells, valid_time in rows:
        layers.setdefault(layer, {})[variable] = {
            "value": value, "kind": kind, "unit": unit, "canonical": canonical,
            "cells": cells, "valid_time": valid_time.isoformat() if valid_time else None}
    return layers


def _run(con: duckdb.DuckDBPyConnection, area_sql: str, params: list[Any],
         as_of: datetime | None) -> tuple[int, dict[str, Any]]:
    cells = con.execute(f"SELECT count(*) FROM ({area_sql})", params).fetchone()
    rows = con.execute(_AGGREGATE.format(area=area_sql), [*params, as_of, as_of]).fetchall()
    return int(cells[0]) if cells else 0, _nest(rows)


def cell_index(value: str | int) -> int:
    """An H3 index given as hex text or integer, validated."""
    try:
        index = int(value, 16) if isinstance(value, str) else int(value)
    except ValueError:
        raise ValidationError({"h3": [f"not an H3 cell: {value!r}"]}) from None
    if not h3.is_valid_cell(h3.int_to_str(index)):
        raise ValidationError({"h3": [f"not an H3 cell: {value!r}"]})
    return index


# One cell's rows, read by a constant filter on h3 (the store's zone maps skip every row
# group but the cell's bucket; see store.py) and aggregated in Python: over one cell every
# kind's aggregate is the latest value itself, except an intensive one whose weight is 0.
_CELL = """
    SELECT v.layer, v.variable, v.value, v.valid_time, k.kind, k.unit, k.canonical, k.weight
    FROM cell_values v LEFT JOIN variables k USING (layer, variable)
    WHERE v.h3 = ?::UBIGINT AND (v.valid_time IS NULL OR ?::TIMESTAMPTZ IS NULL
                                 OR v.valid_time <= ?::TIMESTAMPTZ)
"""


def _latest_in_cell(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per (layer, variable) the row ``_LATEST`` keeps: the latest time, timeless last."""
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for row in rows:
        key, seen = (row[0], row[1]), latest.get((row[0], row[1]))
        if seen is None or (row[3] is not None and (seen[3] is None or row[3] > seen[3])):
            latest[key] = row
    return latest


def _cell_layers(con: duckdb.DuckDBPyConnection, index: int,
                 when: datetime | None) -> dict[str, dict[str, Any]]:
    """What ``_AGGREGATE`` gives for a one-cell area, without its joins and windows."""
    latest = _latest_in_cell(con.execute(_CELL, [index, when, when]).fetchall())
    rows = []
    for (layer, variable), (_, _, value, valid_time, kind, unit, canonical,
                            weight) in sorted(latest.items()):
        if kind is None:  # no variables row: the SQL join leaves it out too
            continue
        if kind not in ("extensive", "count", "fraction", "min", "max"):
            w = latest.get((layer, weight))
            w_value = 1.0 if w is None else w[2]
            value = None if w_value == 0 else value * w_value / w_value
        rows.append((layer, variable, kind, unit, canonical, value, 1, valid_time))
    return _nest(rows)


def _at_cell(con: duckdb.DuckDBPyConnection, index: int, when: datetime | None) -> dict:
    unit = con.execute("SELECT province_code, commune_code, lat, lon FROM cells "
                       "WHERE h3 = ?::UBIGINT", [index]).fetchone()
    return {"h3": h3.int_to_str(index), "res": h3.get_resolution(h3.int_to_str(index)),
            "province_code": unit[0] if unit else None,
            "commune_code": unit[1] if unit else None,
            "inside_territory": unit is not None, "as_of": when.isoformat() if when else None,
            "layers": _cell_layers(con, index, when)}


MAX_CHILD_LEVELS = 6  # a coarser cell is summed over at most 7**6 = 117,649 cells


def at_cell(store: TwinStore, cell: str | int, as_of: str | datetime | None = None) -> dict:
    """All layers' values in one cell, with the cell's administrative units.

    A cell of another resolution than the twin's is answered as a GIS user means it: a
    finer cell by the twin's cell that holds it (``twin_h3``), a coarser one by its
    children at the twin's resolution, aggregated as an area (``cells`` of them; H3's
    children cover their parent only approximately, as everywhere in H3).
    """
    index = cell_index(cell)
    when = _as_of(as_of)
    with store.read() as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
        twin_res = int(row[0]) if row else None
        asked = h3.int_to_str(index)
        res = h3.get_resolution(asked)
        if twin_res is None or res == twin_res:
            out = _at_cell(con, index, when)
            cells = [index]
        elif res > twin_res:
            parent = h3.str_to_int(h3.cell_to_parent(asked, twin_res))
            out = {**_at_cell(con, parent, when), "h3": asked, "res": res,
                   "twin_h3": h3.int_to_str(parent)}
            cells = [parent]
        else:
            if twin_res - res > MAX_CHILD_LEVELS:
                raise ValidationError({"h3": [
                    f"cell {asked} is at resolution {res}, the twin at {twin_res}: at most "
                    f"{MAX_CHILD_LEVELS} levels coarser; ask /twin/unit or /twin/bbox"]})
            cells = [h3.str_to_int(c) for c in h3.cell_to_children(asked, twin_res)]
            area = "SELECT h3 FROM cells WHERE h3 IN (SELECT unnest(?::UBIGINT[]))"
            inside, layers = _run(con, area, [cells], when)
            out = {"h3": asked, "res": res, "cells": inside, "inside_territory": inside > 0,
                   "as_of": when.isoformat() if when else None, "layers": layers}
    out["twin_res"] = twin_res
    out["layers"] = {**out["layers"], **_extra_layers(store, when, cells=cells)}
    return out


def at_point(store: TwinStore, lat: float, lon: float,
             as_of: str | datetime | None = None) -> dict:
    """All layers' values at a place: the values of the grid cell that holds it (one
    connection to the store: its resolution, then the cell).
    """
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"lat": ["latitude must be in [-90, 90] and longitude in "
                                       "[-180, 180]"]})
    if not store.path.exists():
        raise NotFound("no twin has been built yet: run `vntwin fuse`")
    when = _as_of(as_of)
    with store.read() as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
        if row is None:
            raise NotFound("no twin has been built yet: run `vntwin fuse`")
        index = h3.str_to_int(h3.latlng_to_cell(lat, lon, int(row[0])))
        out = _at_cell(con, index, when)
    out["layers"] = {**out["layers"], **_extra_layers(store, when, cells=[index])}
    return {"lat": lat, "lon": lon, **out}


def in_unit(store: TwinStore, code: str, as_of: str | datetime | None = None) -> dict:
    """Aggregated values over a province (2-digit code) or commune (5-digit code)."""
    code = str(code).strip()
    if not code.isdigit() or len(code) not in (1, 2, 5):
        raise ValidationError({"code": ["a province code has 2 digits, a commune code 5"]})
    column = "commune_code" if len(code) == 5 else "province_code"
    code = code.zfill(2) if column == "province_code" else code
    when = _as_of(as_of)
    with store.read() as con:
        cells, layers = _run(con, f"SELECT h3 FROM cells WHERE {column} = ?", [code], when)
    if cells == 0:
        raise NotFound(f"no administrative unit with code {code!r} in the twin")
    return {"code": code, "level": column.removesuffix("_code"), "cells": cells,
            "layers": {**layers, **_extra_layers(store, when, unit=(column, code))}}


def in_bbox(store: TwinStore, west: float, south: float, east: float, north: float,
            as_of: str | datetime | None = None, max_cells: int = 500_000) -> dict:
    """Aggregated values over the cells whose centres fall in a bounding box."""
    if not (west < east and south < north):
        raise ValidationError({"bbox": ["must be west,south,east,north with west < east "
                                        "and south < north"]})
    area = "SELECT h3 FROM cells WHERE lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?"
    params = [west, east, south, north]
    with store.read() as con:
        count = con.execute(f"SELECT count(*) FROM ({area})", params).fetchone()
        if count and count[0] > max_cells:
            raise ValidationError({"bbox": [f"covers {count[0]:,} cells; at most "
                                            f"{max_cells:,}"]})
        cells, layers = _run(con, area, params, _as_of(as_of))
    return {"bbox": [west, south, east, north], "cells": cells, "layers": layers}
