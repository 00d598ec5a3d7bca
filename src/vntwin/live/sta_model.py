"""The SensorThings entity sets: their JSON properties, columns, links and JSON shape.

One ``EntitySet`` per collection (Things, Locations, Datastreams, ObservedProperties,
Sensors, Observations) says which column each filterable property is, which navigation
properties lead where, and how a row becomes STA JSON with ``@iot.id`` and
``@iot.selfLink``. Reading (``sta_read``) and creating (``sta_create``) use only this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import False_, True_

from vntwin.errors import ValidationError
from vntwin.live.models import (
    LiveLatest,
    StaDatastream,
    StaLocation,
    StaObservation,
    StaObservedProperty,
    StaSensor,
    StaThing,
    StaThingLocation,
)
from vntwin.live.sta_expr import Deferred, JsonPath, Null
from vntwin.live.sta_sql import json_any_text, json_bool, json_number, json_text

OBSERVATION_TYPES = {
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement": "number",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation": "integer",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation": "boolean",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation": "text",
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation": "any",
}
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
TRUTH = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"


class ResultPath(Deferred):
    """An Observation's ``result``: numbers, counts and booleans are kept in ``result_num``
    (booleans as 1.0 and 0.0), categories and other values as JSON in ``result_json``. A
    text literal is compared with text results, a number with numeric ones, wherever
    they are kept, so one filter reads the same on SQLite and PostgreSQL.
    """

    def typed(self, other: Any) -> Any:
        """Text, number or boolean (as a number), as ``other`` is."""
        num, raw = StaObservation.result_num, StaObservation.result_json
        if isinstance(other, bool | True_ | False_):
            return func.coalesce(num, json_bool(raw))
        if isinstance(other, Null):
            return func.coalesce(cast(num, String), json_any_text(raw))
        if isinstance(other, str) or (isinstance(other, ColumnElement)
                                      and isinstance(other.type, String)):
            return json_text(raw)
        return func.coalesce(num, json_number(raw))

    def literal(self, other: Any) -> Any:
        """A boolean literal as the number it is kept as."""
        if isinstance(other, bool):
            return 1.0 if other else 0.0
        if isinstance(other, True_ | False_):
            return 1.0 if isinstance(other, True_) else 0.0
        return other

    def order_keys(self) -> list[Any]:
        """Numbers first by value, then text results by text."""
        return [self.typed(0), self.typed("")]


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z``, as STA servers write times."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Nav:
    """A navigation property: ``target`` entity set, to-many or to-one, and how to find
    the related rows of one parent row (a condition on the target's table).
    """

    target: str
    many: bool
    related: Callable[[Any], ColumnElement[bool]]
    fk: Any = None  # to-one: the parent's column holding the target's id (for $filter)


@dataclass(frozen=True)
class EntitySet:
    """One STA collection."""

    name: str
    model: Any
    props: dict[str, Any]
    json_props: tuple[str, ...] = ()
    navs: dict[str, Nav] = field(default_factory=dict)

    def column(self, prop: str) -> Any:
        """The column of a property, for ``$orderby`` and ``$filter``."""
        if prop in ("id", "@iot.id"):
            return self.model.id
        if prop in self.props:
            return self.props[prop]
        head, _, key = prop.partition("/")
        if head in self.json_props and key:
            keys = tuple(key.split("/"))
            return JsonPath(getattr(self.model, head)[keys if len(keys) > 1 else keys[0]])
        raise ValidationError({"$filter": [f"{self.name} have no property {prop!r}; known: "
                                           f"@iot.id, {', '.join(self.props)}"]})


def _link_locations(thing: Any) -> ColumnElement[bool]:
    """The Locations of ``thing`` (a row, or the Things table in a ``$filter`` subquery,
    correlated to the query around it however deep).
    """
    return StaLocation.id.in_(select(StaThingLocation.location_id)
                              .where(StaThingLocation.thing_id == thing.id)
                              .correlate_except(StaThingLocation))


def _link_things(location: Any) -> ColumnElement[bool]:
    return StaThing.id.in_(select(StaThingLocation.thing_id)
                           .where(StaThingLocation.location_id == location.id)
                           .correlate_except(StaThingLocation))


SETS: dict[str, EntitySet] = {
    "Things": EntitySet(
        "Things", StaThing,
        {"name": StaThing.name, "description": StaThing.description},
        ("properties",),
        {"Locations": Nav("Locations", True, _link_locations),
         "Datastreams": Nav("Datastreams", True, lambda t: StaDatastream.thing_id == t.id)}),
    "Locations": EntitySet(
        "Locations", StaLocation,
        {"name": StaLocation.name, "description": StaLocation.description,
         "encodingType": StaLocation.encoding_type},
        ("properties",),
        {"Things": Nav("Things", True, _link_things)}),
    "Datastreams": EntitySet(
        "Datastreams", StaDatastream,
        {"name": StaDatastream.name, "description": StaDatastream.description,
         "observationType": StaDatastream.observation_type,
         "unitOfMeasurement/name": StaDatastream.unit_name,
         "unitOfMeasurement/symbol": StaDatastream.unit_symbol,
         "unitOfMeasurement/definition": StaDatastream.unit_definition},
        ("properties",),
        {"Thing": Nav("Things", False, lambda d: StaThing.id == d.thing_id,
                      StaDatastream.thing_id),
         "Sensor": Nav("Sensors", False, lambda d: StaSensor.id == d.sensor_id,
                       StaDatastream.sensor_id),
         "ObservedProperty": Nav("ObservedProperties", False,
                                 lambda d: StaObservedProperty.id == d.observed_property_id,
                                 StaDatastream.observed_property_id),
         "Observations": Nav("Observations", True,
                             lambda d: StaObservation.datastream_id == d.id)}),
    "Sensors": EntitySet(
        "Sensors", StaSensor,
        {"name": StaSensor.name, "description": StaSensor.description,
         "encodingType": StaSensor.encoding_type, "metadata": StaSensor.sensor_metadata},
        ("properties",),
        {"Datastreams": Nav("Datastreams", True, lambda s: StaDatastream.sensor_id == s.id)}),
    "ObservedProperties": EntitySet(
        "ObservedProperties", StaObservedProperty,
        {"name": StaObservedProperty.name, "definition": StaObservedProperty.definition,
         "description": StaObservedProperty.description},
        ("properties",),
        {"Datastreams": Nav("Datastreams", True,
                            lambda p: StaDatastream.observed_property_id == p.id)}),
    "Observations": EntitySet(
        "Observations", StaObservation,
        {"phenomenonTime": StaObservation.phenomenon_time,
         "resultTime": StaObservation.result_time, "result": ResultPath()},
        ("parameters",),
        {"Datastream": Nav("Datastreams", False,
                           lambda o: StaDatastream.id == o.datastream_id,
                           StaObservation.datastream_id)}),
}


# -- JSON shapes ---------------------------------------------------------------------------
def self_link(root: str, set_name: str, entity_id: int) -> str:
    """``{root}/{Set}({id})``."""
    return f"{root}/{set_name}({entity_id})"


def _links(root: str, set_name: str, entity_id: int) -> dict[str, str]:
    base = self_link(root, set_name, entity_id)
    out = {"@iot.selfLink": base}
    for nav in SETS[set_name].navs:
        out[f"{nav}@iot.navigationLink"] = f"{base}/{nav}"
    return out


def _time_interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    return iso(start) if end is None or end == start else f"{iso(start)}/{iso(end)}"


def dictize(session: Session, set_name: str, rows: list[Any], root: str) -> list[dict]:
    """STA JSON of rows of one entity set (one query for extras such as Datastreams'
    phenomenon time).
    """
    if not rows:
        return []
    latest: dict[int, LiveLatest] = {}
    truth: set[int] = set()
    if set_name == "Datastreams":
        latest = {r.datastream_id: r for r in session.scalars(
            select(LiveLatest).where(LiveLatest.datastream_id.in_([d.id for d in rows])))}
    if set_name == "Observations":
        truth = set(session.scalars(select(StaDatastream.id).where(
            StaDatastream.id.in_({o.datastream_id for o in rows}),
            StaDatastream.observation_type == TRUTH)))
    out = []
    for row in rows:
        body: dict[str, Any] = {"@iot.id": row.id, **_links(root, set_name, row.id)}
        body.update(_fields(set_name, row, latest))
        if set_name == "Observations" and row.datastream_id in truth \
                and isinstance(body["result"], int | float):
            body["result"] = bool(body["result"])  # kept as 1.0 / 0.0
        out.append(body)
    return out


def _fields(set_name: str, row: Any, latest: dict[int, LiveLatest]) -> dict[str, Any]:
    if set_name == "Things":
        return {"name": row.name, "description": row.description,
                "properties": row.properties or {}}
    if set_name == "Locations":
        return {"name": row.name, "description": row.description,
                "encodingType": row.encoding_type, "location": row.location,
                "properties": row.properties or {},
                "twin": {"h3": format(row.h3, "x") if row.h3 else None,
                         "province_code": row.province_code,
                         "commune_code": row.commune_code}}
    if set_name == "Datastreams":
        last = latest.get(row.id)
        return {"name": row.name, "description": row.description,
                "observationType": row.observation_type,
                "unitOfMeasurement": {"name": row.unit_name, "symbol": row.unit_symbol,
                                      "definition": row.unit_definition},
                "phenomenonTime": _time_interval(last.first_time, last.phenomenon_time)
                if last else None,
                "properties": row.properties or {}}
    if set_name == "Sensors":
        return {"name": row.name, "description": row.description,
                "encodingType": row.encoding_type, "metadata": row.sensor_metadata,
                "properties": row.properties or {}}
    if set_name == "ObservedProperties":
        return {"name": row.name, "definition": row.definition,
                "description": row.description, "properties": row.properties or {}}
    result: Any = row.result_json if row.result_num is None else row.result_num
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        result = int(result)  # counts read back as the integers they were
    body = {"phenomenonTime": _time_interval(row.phenomenon_time, row.phenomenon_end),
            "resultTime": iso(row.result_time), "result": result}
    if row.parameters:
        body["parameters"] = row.parameters
    return body
