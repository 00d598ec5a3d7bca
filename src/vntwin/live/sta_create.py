"""Creating SensorThings entities with POST, deep insert included (STA 1.1 section 10.2).

A Thing may carry new or linked (``{"@iot.id": n}``) Locations and new Datastreams, each
with a new or linked Sensor and ObservedProperty, and with new Observations; a Location
may carry new or linked Things; a Datastream may link or create its Thing. The whole
request is one transaction: any error leaves nothing behind. Entities belong to the
source whose token created them; a source may link only its own Things and Locations
(Sensors and ObservedProperties are shared vocabulary). A catalogue sysadmin may link
anything. Observations are checked and stored by ``Writer.store``
(``vntwin.live.sta_observe``), with the same checks and counters as the ingest path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from vntwin.errors import NotAuthorized, ValidationError
from vntwin.live.models import (
    StaDatastream,
    StaLocation,
    StaObservedProperty,
    StaSensor,
    StaThing,
    StaThingLocation,
)
from vntwin.live.places import locate
from vntwin.live.sources import SourceInfo
from vntwin.live.sta_model import OBSERVATION_TYPES
from vntwin.settings import Settings


@dataclass(frozen=True)
class Pending:
    """An Observation nested in a new Datastream: the Datastream, the Observation's JSON
    and where it was in the request (for error messages).
    """

    stream: StaDatastream
    body: Any
    path: str


StoreObservations = Callable[[Session, list[Pending]], Any]


@dataclass(frozen=True)
class Writer:
    """Who creates: a source (by its token) or a catalogue sysadmin (``source`` None).

    ``store`` stores Observations nested in new Datastreams, in the same transaction
    (``vntwin.live.sta_observe.store_nested``); without it they are refused.
    """

    source: SourceInfo | None
    settings: Settings
    store: StoreObservations | None = None
    pending: list[Pending] = field(default_factory=list)

    @property
    def source_id(self) -> int | None:
        return self.source.id if self.source else None


def _text(body: dict[str, Any], key: str, path: str, required: bool = True) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise ValidationError({f"{path}{key}": ["is required"]})
        return ""
    if not isinstance(value, str):
        raise ValidationError({f"{path}{key}": ["must be text"]})
    return unicodedata.normalize("NFC", value)


def _props(body: dict[str, Any], path: str, key: str = "properties") -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise ValidationError({f"{path}{key}": ["must be a JSON object"]})
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError({path: ["must be a JSON object"]})
    return value


def _link_id(value: dict[str, Any]) -> int | None:
    if "@iot.id" not in value:
        return None
    ident = value["@iot.id"]
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ValidationError({"@iot.id": [f"must be an integer, not {ident!r}"]})
    return ident


def _owned(session: Session, writer: Writer, model: Any, ident: int, path: str,
           shared: bool = False) -> Any:
    row = session.get(model, ident)
    if row is None:
        raise ValidationError({path: [f"links to {model.__name__.removeprefix('Sta')}"
                                      f"({ident}), which does not exist"]})
    if not shared and writer.source is not None and row.source_id != writer.source_id:
        raise NotAuthorized(f"{path}: ({ident}) belongs to another source")
    return row


def create_location(session: Session, writer: Writer, body: Any, path: str = "") -> StaLocation:
    """A new Location (``location`` is GeoJSON), placed in the twin's cell and units."""
    body = _object(body, path or "Location")
    encoding = _text(body, "encodingType", path)
    if encoding not in ("application/geo+json", "application/vnd.geo+json"):
        raise ValidationError({f"{path}encodingType": ["only application/geo+json "
                                                       "locations are supported"]})
    place = locate(writer.settings, body.get("location"))
    row = StaLocation(name=_text(body, "name", path),
                      description=_text(body, "description", path),
                      encoding_type=encoding, location=body["location"],
                      properties=_props(body, path), lat=place.lat, lon=place.lon, h3=place.h3,
                      province_code=place.province_code, commune_code=place.commune_code,
                      source_id=writer.source_id)
    session.add(row)
    session.flush()
    for linked in _linked_or_created(session, writer, body, path, "Things", StaThing,
                                     create_thing):
        session.add(StaThingLocation(thing_id=linked.id, location_id=row.id))
    session.flush()
    return row


def create_sensor(session: Session, writer: Writer, body: Any, path: str = "") -> StaSensor:
    """A new Sensor."""
    body = _object(body, path or "Sensor")
    meta = body.get("metadata")
    row = StaSensor(name=_text(body, "name", path), description=_text(body, "description", path),
                    encoding_type=_text(body, "encodingType", path),
                    sensor_metadata=meta if isinstance(meta, str) else _text(body, "metadata",
                                                                             path),
                    properties=_props(body, path), source_id=writer.source_id)
    session.add(row)
    session.flush()
    return row


def create_observed_property(session: Session, writer: Writer, body: Any,
                             path: str = "") -> StaObservedProperty:
    """A new ObservedProperty."""
    body = _object(body, path or "ObservedProperty")
    row = StaObservedProperty(name=_text(body, "name", path),
                              definition=_text(body, "definition", path),
                              description=_text(body, "description", path),
                              properties=_props(body, path), source_id=writer.source_id)
    session.add(row)
    session.flush()
    return row


def _linked_or_new(session: Session, writer: Writer, body: Any, path: str, model: Any,
                   create: Any, shared: bool) -> Any:
    if body is None:
        raise ValidationError({path: ["is required"]})
    body = _object(body, path)
    ident = _link_id(body)
    if ident is not None:
        return _owned(session, writer, model, ident, path, shared)
    return create(session, writer, body, f"{path}/")


def create_datastream(session: Session, writer: Writer, body: Any, path: str = "",
                      thing: StaThing | None = None) -> StaDatastream:
    """A new Datastream with its Sensor and ObservedProperty (new or linked)."""
    body = _object(body, path or "Datastream")
    obs_type = _text(body, "observationType", path)
    if obs_type not in OBSERVATION_TYPES:
        raise ValidationError({f"{path}observationType": [
            "must be one of the O&M observation types: " + ", ".join(OBSERVATION_TYPES)]})
    unit = _object(body.get("unitOfMeasurement"), f"{path}unitOfMeasurement")
    upath = f"{path}unitOfMeasurement/"
    if thing is None:
        thing = _linked_or_new(session, writer, body.get("Thing"), f"{path}Thing", StaThing,
                               create_thing, shared=False)
    sensor = _linked_or_new(session, writer, body.get("Sensor"), f"{path}Sensor", StaSensor,
                            create_sensor, shared=True)
    prop = _linked_or_new(session, writer, body.get("ObservedProperty"),
                          f"{path}ObservedProperty", StaObservedProperty,
                          create_observed_property, shared=True)
    observations = body.get("Observations") or []
    if not isinstance(observations, list):
        raise ValidationError({f"{path}Observations": ["must be a list"]})
    if observations and writer.store is None:
        raise ValidationError({f"{path}Observations": [
            "Observations cannot be created with this Datastream here: send them to its "
            "Observations once it exists"]})
    props = _props(body, path)
    valid = (props or {}).get("validRange")
    if valid is not None and not (isinstance(valid, list) and len(valid) == 2
                                  and all(isinstance(v, int | float) for v in valid)
                                  and valid[0] < valid[1]):
        raise ValidationError({f"{path}properties/validRange": ["must be [min, max]"]})
    row = StaDatastream(name=_text(body, "name", path),
                        description=_text(body, "description", path),
                        observation_type=obs_type, unit_name=_text(unit, "name", upath),
                        unit_symbol=_text(unit, "symbol", upath),
                        unit_definition=_text(unit, "definition", upath, required=False),
                        properties=props, thing_id=thing.id, sensor_id=sensor.id,
                        observed_property_id=prop.id, source_id=writer.source_id)
    session.add(row)
    session.flush()
    writer.pending.extend(Pending(row, obs, f"{path}Observations[{i}]")
                          for i, obs in enumerate(observations))
    return row


def _linked_or_created(session: Session, writer: Writer, body: dict[str, Any], path: str,
                       key: str, model: Any, create: Callable[..., Any]) -> list[Any]:
    """The entities a deep insert lists under ``key``: an ``{"@iot.id": n}`` links an
    existing one the writer owns, anything else is created (``create``).
    """
    items = body.get(key) or []
    if not isinstance(items, list):
        raise ValidationError({f"{path}{key}": ["must be a list"]})
    out = []
    for i, item in enumerate(items):
        ipath = f"{path}{key}[{i}]"
        ident = _link_id(_object(item, ipath))
        out.append(_owned(session, writer, model, ident, ipath) if ident is not None
                   else create(session, writer, item, f"{ipath}/"))
    return out


def create_thing(session: Session, writer: Writer, body: Any, path: str = "") -> StaThing:
    """A new Thing with its Locations and Datastreams (deep insert)."""
    body = _object(body, path or "Thing")
    row = StaThing(name=_text(body, "name", path), description=_text(body, "description", path),
                   properties=_props(body, path), source_id=writer.source_id)
    session.add(row)
    session.flush()
    for location in _linked_or_created(session, writer, body, path, "Locations", StaLocation,
                                       create_location):
        session.add(StaThingLocation(thing_id=row.id, location_id=location.id))
    streams = body.get("Datastreams") or []
    if not isinstance(streams, list):
        raise ValidationError({f"{path}Datastreams": ["must be a list"]})
    for i, stream in enumerate(streams):
        if _link_id(_object(stream, f"{path}Datastreams[{i}]")) is not None:
            raise ValidationError({f"{path}Datastreams[{i}]": [
                "a Datastream belongs to one Thing: create it here, not link it"]})
        create_datastream(session, writer, stream, f"{path}Datastreams[{i}]/", thing=row)
    session.flush()
    return row


CREATORS = {
    "Things": create_thing,
    "Locations": create_location,
    "Datastreams": create_datastream,
    "Sensors": create_sensor,
    "ObservedProperties": create_observed_property,
}


def create(session: Session, writer: Writer, set_name: str, body: Any) -> Any:
    """Create an entity of ``set_name`` from its JSON body, with everything nested in it
    (Observations of new Datastreams included, by ``writer.store``); returns the row.
    """
    creator = CREATORS.get(set_name)
    if creator is None:
        raise ValidationError({"entity": [f"{set_name} cannot be created here"]})
    row = creator(session, writer, body)
    if writer.pending and writer.store is not None:
        pending = list(writer.pending)
        writer.pending.clear()
        writer.store(session, pending)
    return row
