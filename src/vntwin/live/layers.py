"""Live layers of the twin: the newest value of every datastream, on its H3 cell and in
its commune and province.

The twin's DuckDB file is written only by ``vntwin fuse``; live values stay in the
catalogue database and join the twin's answers through the hook in
``vntwin.twin.query`` (``EXTRA_LAYERS``), which ``attach_layers(cat)`` fills. There is one
layer per observed property, ``live-<name>`` (``live-pm2-5``), with the variables
``mean`` (intensive), ``min``, ``max`` and ``sensors`` (how many datastreams reported);
values older than ``live_max_age_minutes`` are left out.

Simulated streams (``"simulated": true`` on their Datastream, Thing or ObservedProperty)
are never mixed with measured ones, even when they observe the same property: they make
a layer of their own, ``live-<name>-simulated`` ("PM2.5 (mô phỏng / simulated)"), whose
values say ``simulated: true``. A real sensor's layer holds real values only.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import h3
from sqlalchemy import ColumnElement, Subquery, and_, func, or_, select

from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog
from vntwin.live.models import (
    LiveLatest,
    StaDatastream,
    StaLocation,
    StaObservedProperty,
    StaThing,
    StaThingLocation,
)
from vntwin.live.sta_model import iso

SIMULATED = " (mô phỏng / simulated)"
"""How the names of simulated things end (Things, Datastreams, layers, indicators)."""
_MAX_BOXES = 32
"""Up to this many cells, ``latest_rows`` filters by a bounding box per cell."""


def layer_name(observed_property: str, simulated: bool = False) -> str:
    """``live-`` and the property's name folded to a-z 0-9 - (``PM2.5`` → ``live-pm2-5``);
    for simulated streams ``-simulated`` after it (``live-pm2-5-simulated``), also when
    the property's own name says it is simulated ("PM2.5 (mô phỏng / simulated)").
    """
    name = observed_property.removesuffix(SIMULATED) if simulated else observed_property
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    folded = re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "value"
    return f"live-{folded}-simulated" if simulated else f"live-{folded}"


def shown_name(observed_property: str, simulated: bool) -> str:
    """The name an indicator or layer of these streams is shown with: the property's,
    with " (mô phỏng / simulated)" after it for simulated streams (once).
    """
    if simulated and not observed_property.endswith(SIMULATED):
        return observed_property + SIMULATED
    return observed_property


def is_simulated(*properties: dict[str, Any] | None) -> bool:
    """True when any of the entities' properties marks it simulated."""
    return any(bool((p or {}).get("simulated")) for p in properties)


def row_simulated(row: dict[str, Any]) -> bool:
    """Whether a ``latest_rows`` row is simulated: its Datastream, Thing or
    ObservedProperty says so. One mark is enough, so a generated value is never shown as a
    measurement (at worst a real one is shown as simulated).
    """
    return is_simulated(row["ds_properties"], row["thing_properties"],
                        row["property_properties"])


def row_layer(row: dict[str, Any]) -> str:
    """The live layer a ``latest_rows`` row belongs to (simulated rows have their own)."""
    return layer_name(row["property"], row_simulated(row))


def current_locations() -> Subquery:
    """Each Thing's current Location, as ``(thing_id, location_id)`` rows.

    In SensorThings a Thing's Location is its latest one: a sensor that moves gets a new
    Location linked to it, and the old links are its history. Links carry no time, but
    Locations are only ever linked when created (deep insert, or a Location posted with
    its Things), so the newest linked Location is the one with the highest id.
    """
    return (select(StaThingLocation.thing_id,
                   func.max(StaThingLocation.location_id).label("location_id"))
            .group_by(StaThingLocation.thing_id).subquery())


def latest_rows(cat: Catalog, *, cells: list[int] | None = None,
                unit: tuple[str, str] | None = None,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """Fresh latest values with their datastream, property and place.

    ``cells``: only Things located in these H3 cells, of any resolution (a twin fused at
    another resolution than the settings' asks for its own cells), each row's ``h3`` then
    being the cell it fell in; ``unit``: ``("province_code", "01")`` or
    ``("commune_code", "00004")``; neither: everywhere.
    """
    max_age = timedelta(minutes=cat.settings.live_max_age_minutes)
    here = current_locations()
    query = (select(LiveLatest.datastream_id, LiveLatest.phenomenon_time, LiveLatest.result,
                    StaDatastream.name, StaDatastream.unit_symbol, StaDatastream.properties,
                    StaObservedProperty.id, StaObservedProperty.name,
                    StaObservedProperty.properties, StaThing.name, StaThing.properties,
                    StaLocation.h3, StaLocation.province_code, StaLocation.commune_code,
                    StaLocation.lat, StaLocation.lon)
             .join(StaDatastream, StaDatastream.id == LiveLatest.datastream_id)
             .join(StaObservedProperty,
                   StaObservedProperty.id == StaDatastream.observed_property_id)
             .join(StaThing, StaThing.id == StaDatastream.thing_id)
             .join(here, here.c.thing_id == StaThing.id)
             .join(StaLocation, StaLocation.id == here.c.location_id)
             .where(LiveLatest.phenomenon_time >= (now or utcnow()) - max_age,
                    LiveLatest.result.is_not(None)))
    if cells is not None:
        if not cells:
            return []
        query = query.where(_around(cells))
    if unit is not None:
        column = StaLocation.commune_code if unit[0] == "commune_code" \
            else StaLocation.province_code
        query = query.where(column == unit[1])
    keys = ("datastream_id", "time", "result", "datastream", "unit", "ds_properties",
            "property_id", "property", "property_properties", "thing", "thing_properties",
            "h3", "province_code", "commune_code", "lat", "lon")
    with cat.read() as session:
        rows = [dict(zip(keys, row, strict=True)) for row in session.execute(query)]
    return rows if cells is None else _in_cells(rows, cells)


def _bounds(cell: int) -> tuple[float, float, float, float]:
    """(south, west, north, east) of an H3 cell's corners, widened by a tenth each way:
    its edges are great-circle arcs, which can bow out a little past the corners.
    """
    lats, lons = zip(*h3.cell_to_boundary(h3.int_to_str(cell)), strict=True)
    dlat, dlon = (max(lats) - min(lats)) / 10, (max(lons) - min(lons)) / 10
    if max(lons) - min(lons) > 180:  # across the antimeridian: no bound on longitude
        return min(lats) - dlat, -180.0, max(lats) + dlat, 180.0
    return min(lats) - dlat, min(lons) - dlon, max(lats) + dlat, max(lons) + dlon


def _around(cells: list[int]) -> ColumnElement[bool]:
    """A filter keeping every Location inside ``cells`` (and some near them), whatever
    the cells' resolution: the Locations' stored cell is at the settings' resolution, the
    twin's may be another, so points are matched by their coordinates. A box per cell for
    a few cells; around many (the map's visible cells), one box around them all.
    """
    boxes = [_bounds(int(c)) for c in cells]
    if len(boxes) > _MAX_BOXES:
        south, west, north, east = zip(*boxes, strict=True)
        boxes = [(min(south), min(west), max(north), max(east))]
    return or_(*(and_(StaLocation.lat.between(s, n), StaLocation.lon.between(w, e))
                 for s, w, n, e in boxes))


def _in_cells(rows: list[dict[str, Any]], cells: list[int]) -> list[dict[str, Any]]:
    """The rows whose point lies in one of ``cells``, their ``h3`` set to that cell: the
    cell the twin holds the sensor in at that resolution (``h3.latlng_to_cell``, as
    ``query.at_point`` finds a point's cell), not its parent, which can differ near edges.
    """
    wanted: dict[int, set[int]] = defaultdict(set)
    for cell in cells:
        wanted[h3.get_resolution(h3.int_to_str(int(cell)))].add(int(cell))
    out = []
    for row in rows:
        for res, these in wanted.items():
            cell = h3.str_to_int(h3.latlng_to_cell(row["lat"], row["lon"], res))
            if cell in these:
                out.append({**row, "h3": cell})
    return out


def aggregate(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Twin-shaped layers (``{layer: {variable: {...}}}``) over some latest values."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row_layer(row)].append(row)
    layers: dict[str, dict[str, Any]] = {}
    for layer, items in sorted(groups.items()):
        values = [float(r["result"]) for r in items]
        newest = max(r["time"] for r in items)
        units = sorted({r["unit"] for r in items})
        simulated = row_simulated(items[0])  # the same for all: it is in the layer's name
        common = {"unit": units[0] if len(units) == 1 else ", ".join(units),
                  "canonical": None, "cells": len({r["h3"] for r in items}),
                  "valid_time": iso(newest), "live": True,
                  "observed_property": shown_name(items[0]["property"], simulated),
                  "simulated": simulated}
        layers[layer] = {
            "mean": {"value": sum(values) / len(values), "kind": "intensive", **common},
            "min": {"value": min(values), "kind": "min", **common},
            "max": {"value": max(values), "kind": "max", **common},
            "sensors": {"value": len(values), "kind": "count", **common, "unit": None},
        }
    return layers


def live_values(cat: Catalog, cells: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Live layers per H3 cell, for the cells that have fresh sensor values."""
    by_cell: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in latest_rows(cat, cells=cells):
        by_cell[int(row["h3"])].append(row)
    return {cell: aggregate(rows) for cell, rows in by_cell.items()}


def live_layers(cat: Catalog, area: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Live layers over an area given as ``{"cells": [...]}`` or ``{"unit": (column,
    code)}``: the provider behind the twin query hook.
    """
    if "cells" in area:
        return aggregate(latest_rows(cat, cells=list(area["cells"])))
    if "unit" in area:
        return aggregate(latest_rows(cat, unit=tuple(area["unit"])))  # type: ignore[arg-type]
    return {}


def attach_layers(cat: Catalog) -> None:
    """Make the twin's queries on this catalogue's data dir include the live layers."""
    from vntwin.twin import query
    from vntwin.twin.build import twin_store

    ref = weakref.ref(cat)

    def provider(area: dict[str, Any]) -> dict[str, dict[str, Any]]:
        catalog = ref()
        return live_layers(catalog, area) if catalog is not None else {}

    query.EXTRA_LAYERS[twin_store(cat).path.resolve()] = provider


def map_entries(cat: Catalog) -> list[dict[str, Any]]:
    """The live layers for the map's layer picker: one per observed property with fresh
    values (and one for its simulated streams), with quintile legend breaks of the
    current values (as the grid layers have).
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in latest_rows(cat):
        groups[row_layer(row)].append(row)
    entries = []
    for layer, items in sorted(groups.items()):
        values = sorted(float(r["result"]) for r in items)
        units = sorted({r["unit"] for r in items if r["unit"]})
        breaks = [values[min(len(values) - 1, int(len(values) * q / 5))] for q in range(1, 5)]
        entries.append({
            "id": layer, "layer": layer, "kind": "live", "variable": "value",
            "title": shown_name(items[0]["property"], row_simulated(items[0])),
            "dataset": None, "unit": ", ".join(units) or None,
            "min": values[0], "max": values[-1], "breaks": breaks, "sensors": len(values),
            "valid_time": iso(max(r["time"] for r in items)),
            "simulated": row_simulated(items[0])})
    return entries


def sensor_features(cat: Catalog, layer: str) -> dict[str, Any]:
    """The sensors of one live layer with their newest values, as GeoJSON (for the map:
    a point per datastream; its ``h3``, the twin's cell holding it, lets a click show the
    whole cell).
    """
    res = _twin_resolution(cat)
    features = []
    for row in latest_rows(cat):
        if row_layer(row) != layer or row["lat"] is None or row["lon"] is None:
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {
                "value": row["result"], "unit": row["unit"], "time": iso(row["time"]),
                "datastream": row["datastream"], "datastream_id": row["datastream_id"],
                "thing": row["thing"],
                "h3": h3.latlng_to_cell(row["lat"], row["lon"], res),
                "province_code": row["province_code"], "commune_code": row["commune_code"],
                "simulated": row_simulated(row)}})
    return {"type": "FeatureCollection", "features": features}


def _twin_resolution(cat: Catalog) -> int:
    """The twin's H3 resolution, which may not be the settings' (``vntwin fuse --res``);
    the settings' before the first fusion or while one holds the file.
    """
    from vntwin.errors import VntwinError
    from vntwin.twin.build import twin_store

    try:
        return twin_store(cat).resolution() or cat.settings.h3_resolution
    except VntwinError:
        return cat.settings.h3_resolution
