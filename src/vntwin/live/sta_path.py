"""SensorThings resource paths (STA 1.1 section 9.2): what a URL below the service root
addresses, and its answer.

- ``Things``, ``Things(1)``: a collection, an entity;
- ``Things(1)/Datastreams``, ``Datastreams(1)/Thing/Locations``,
  ``Things(1)/Datastreams(3)/Observations``: navigation, through as many levels as given;
- ``Things(1)/name``: a property, ``{"name": ...}``; ``Things(1)/name/$value``: its raw
  value as plain text;
- ``Datastreams(1)/Observations/$ref``: the links of a collection,
  ``{"value": [{"@iot.selfLink": ...}]}`` (with the query options of a collection);
  ``Datastreams(1)/Thing/$ref``: the link of one entity, ``{"@iot.selfLink": ...}``.

>>> split_segment("Datastreams(3)")
('Datastreams', 3)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from vntwin.errors import NotFound, ValidationError
from vntwin.live import sta_read
from vntwin.live.sta_model import SETS, dictize, self_link
from vntwin.live.sta_read import Options

_SEGMENT = re.compile(r"(?P<name>[$@A-Za-z_][\w.@]*)(?:\((?P<id>[^()]*)\))?")
MAX_DEPTH = 8


@dataclass(frozen=True)
class PlainValue:
    """The answer of ``.../$value``: a property's value as text (None: no content)."""

    text: str | None


def parse_id(text: str) -> int:
    """The integer ``@iot.id`` inside ``Set(...)``; a 400 naming it otherwise (every
    vntwin entity has an integer id, so a quoted or other id can address nothing).
    """
    value = text.strip()
    if re.fullmatch(r"\d{1,18}", value):
        return int(value)
    raise ValidationError({"@iot.id": [f"must be a whole number, as in Things(1), "
                                       f"not {text!r}"]})


def split_segment(segment: str) -> tuple[str, int | None]:
    """``Name(7)`` → ("Name", 7); ``Name`` → ("Name", None)."""
    m = _SEGMENT.fullmatch(segment)
    if m is None:
        raise NotFound(f"cannot read the path segment {segment!r}")
    ident = m.group("id")
    return m.group("name"), parse_id(ident) if ident is not None else None


@dataclass
class _At:
    """Where a path has got to: a collection of ``set_name`` (rows matching ``where``),
    one entity (``row``), or one property of an entity.
    """

    set_name: str
    where: ColumnElement[bool] | None = None
    row: Any = None
    prop: str | None = None
    many: bool = True
    label: str = ""


def _step(session: Session, at: _At, segment: str) -> _At:
    """One segment further along the path."""
    name, ident = split_segment(segment)
    if at.row is None:
        raise NotFound(f"{at.label} is a collection: choose one by its id "
                       f"({at.label}(1)/{name}) before going further")
    entity_set = SETS[at.set_name]
    label = f"{at.label}/{segment}"
    nav = entity_set.navs.get(name)
    if nav is None:
        if ident is None and name in _properties(session, at):
            return _At(at.set_name, row=at.row, prop=name, many=False, label=label)
        raise NotFound(f"{at.set_name} have no property or navigation property {name!r}")
    where = nav.related(at.row)
    target = SETS[nav.target]
    if nav.many and ident is None:
        return _At(nav.target, where=where, label=label)
    if not nav.many and ident is not None:
        raise NotFound(f"{name} is a single entity: address it as {at.label}/{name}")
    query = select(target.model).where(where)
    if ident is not None:
        query = query.where(target.model.id == ident)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"{label} does not exist")
    return _At(nav.target, row=row, many=False, label=label)


def _properties(session: Session, at: _At) -> dict[str, Any]:
    body = dictize(session, at.set_name, [at.row], "")[0]
    return {k: v for k, v in body.items() if not k.startswith("@") and "@iot." not in k}


def _start(session: Session, segment: str) -> _At:
    name, ident = split_segment(segment)
    if name not in SETS:
        raise NotFound(f"no entity set {name!r}; known: {', '.join(SETS)}")
    if ident is None:
        return _At(name, label=name)
    return _At(name, row=sta_read.get_row(session, name, ident), many=False, label=segment)


def resolve(session: Session, path: str) -> tuple[_At, str | None]:
    """Where ``path`` leads, and its ending ``$value`` or ``$ref`` if any."""
    segments = [s for s in path.strip("/").split("/") if s]
    if not segments:
        raise NotFound("an empty resource path")
    if len(segments) > MAX_DEPTH:
        raise ValidationError({"path": [f"longer than {MAX_DEPTH} segments"]})
    ending = segments.pop() if segments[-1] in ("$value", "$ref") else None
    at = _start(session, segments[0])
    for segment in segments[1:]:
        if at.prop is not None:
            raise NotFound(f"{at.label} is a property: only /$value may follow it")
        at = _step(session, at, segment)
    if ending == "$value" and at.prop is None:
        raise NotFound("$value follows a property, as in Things(1)/name/$value")
    if ending == "$ref" and at.prop is not None:
        raise NotFound("$ref follows a collection or a navigation property, not a property")
    return at, ending


def get(session: Session, path: str, opts: Options, root: str, url: str,
        params: Mapping[str, str]) -> dict[str, Any] | PlainValue:
    """The answer to ``GET {root}/{path}``: STA JSON, or a plain value for ``$value``."""
    at, ending = resolve(session, path)
    if at.prop is not None:
        value = _properties(session, at)[at.prop]
        if ending != "$value":
            return {at.prop: value}
        if value is None:
            return PlainValue(None)
        return PlainValue(value if isinstance(value, str) else json.dumps(value,
                                                                         ensure_ascii=False))
    refs = ending == "$ref"
    if at.row is not None:
        if refs:
            return {"@iot.selfLink": self_link(root, at.set_name, at.row.id)}
        return sta_read.shape_one(session, at.set_name, at.row, opts, root)
    return sta_read.collection(session, at.set_name, opts, root, url, params, at.where,
                               refs=refs)


__all__ = ["PlainValue", "get", "parse_id", "resolve", "split_segment"]
