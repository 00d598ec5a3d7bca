"""Reading the SensorThings API: collections, entities and navigation, with ``$top``,
``$skip``, ``$count``, ``$orderby``, ``$filter``, ``$select`` and ``$expand``.

>>> collection(session, "Datastreams", parse_options({"$expand": "Thing,ObservedProperty",
...            "$filter": "ObservedProperty/name eq 'PM2.5'"}), root)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from vntwin.errors import NotFound, ValidationError
from vntwin.live.sta_expr import concrete
from vntwin.live.sta_filter import compile_filter
from vntwin.live.sta_geo import read_literal
from vntwin.live.sta_model import SETS, EntitySet, dictize, self_link
from vntwin.live.sta_resolve import resolver

DEFAULT_TOP = 100
MAX_TOP = 10_000
MAX_EXPAND_DEPTH = 4


@dataclass
class Options:
    """Parsed query options of one level (the top, or one ``$expand`` item)."""

    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    filter: str | None = None
    select: list[str] | None = None
    expand: dict[str, Options] = field(default_factory=dict)


def _bad(option: str, message: str) -> ValidationError:
    return ValidationError({option: [message]})


def _split(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise _bad("$expand", "unbalanced parentheses")
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        raise _bad("$expand", "unbalanced parentheses or quotes")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _int(option: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _bad(option, f"must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise _bad(option, f"must be between {low} and {high}")
    return number


def parse_options(params: Mapping[str, str], depth: int = 0) -> Options:
    """Query options from request parameters (``$top=5`` ...); unknown ``$`` options are
    refused so that a typo is not silently ignored.
    """
    if depth > MAX_EXPAND_DEPTH:
        raise _bad("$expand", f"nested more than {MAX_EXPAND_DEPTH} levels")
    opts = Options()
    for key, value in params.items():
        if not key.startswith("$"):
            continue
        if key == "$top":
            opts.top = _int(key, value, 0, MAX_TOP)
        elif key == "$skip":
            opts.skip = _int(key, value, 0, 10**12)
        elif key == "$count":
            if value not in ("true", "false"):
                raise _bad(key, "must be true or false")
            opts.count = value == "true"
        elif key == "$orderby":
            for item in _split(value, ","):
                words = item.split()
                if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc",
                                                                                   "desc")):
                    raise _bad(key, f"expected 'property [asc|desc]', got {item!r}")
                opts.orderby.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
        elif key == "$filter":
            opts.filter = value
        elif key == "$select":
            opts.select = [s.strip() for s in value.split(",") if s.strip()]
        elif key == "$expand":
            for item in _split(value, ","):
                _add_expand(opts, item, depth)
        elif key == "$resultFormat":
            raise _bad(key, "only the default JSON result format is served")
        else:
            raise _bad(key, "unknown query option; supported: $top, $skip, $count, $orderby, "
                            "$filter, $select, $expand")
    return opts


def to_params(opts: Options) -> dict[str, str]:
    """The query options that give ``opts`` again (the inverse of ``parse_options``), so a
    next link repeats the whole query, not only its paging.
    """
    out = {"$top": str(opts.top)}
    if opts.skip:
        out["$skip"] = str(opts.skip)
    if opts.count:
        out["$count"] = "true"
    if opts.orderby:
        out["$orderby"] = ",".join(f"{p} desc" if desc else p for p, desc in opts.orderby)
    if opts.filter is not None:
        out["$filter"] = opts.filter
    if opts.select is not None:
        out["$select"] = ",".join(opts.select)
    if opts.expand:
        out["$expand"] = ",".join(_expand_item(name, sub) for name, sub in opts.expand.items())
    return out


def _expand_item(name: str, sub: Options) -> str:
    inner = {k: v for k, v in to_params(sub).items() if (k, v) != ("$top", str(DEFAULT_TOP))}
    if not inner:
        return name
    return f"{name}({';'.join(f'{k}={v}' for k, v in inner.items())})"


def _add_expand(opts: Options, item: str, depth: int) -> None:
    name, paren, rest = item.partition("(")
    name = name.strip()
    if paren and not rest.endswith(")"):
        raise _bad("$expand", f"cannot read {item!r}")
    head, _, tail = name.partition("/")
    inner: dict[str, str] = {}
    if paren:
        for part in _split(rest[:-1], ";"):
            key, eq, val = part.partition("=")
            if not eq:
                raise _bad("$expand", f"expected $option=value in {item!r}")
            inner[key.strip()] = val.strip()
    if tail:  # A/B: expand A, and B inside it (with the options)
        sub = opts.expand.setdefault(head, Options())
        _add_expand(sub, tail + (f"({rest}" if paren else ""), depth + 1)
        return
    opts.expand[head] = parse_options(inner, depth + 1)


def _condition(entity_set: EntitySet, text: str, session: Session) -> ColumnElement[bool]:
    return compile_filter(text, resolver(entity_set, session), read_literal)


def _order(entity_set: EntitySet, opts: Options) -> list[Any]:
    order = []
    for prop, desc in opts.orderby:
        try:
            column = entity_set.column(prop)
        except ValidationError:
            raise _bad("$orderby", f"{entity_set.name} cannot be ordered by {prop!r}") from None
        keys = column.order_keys() if hasattr(column, "order_keys") else [column]
        for key in keys:
            key = concrete(key)
            order.append(key.desc() if desc else key.asc())
    order.append(entity_set.model.id.asc())
    return order


def _shape(session: Session, set_name: str, rows: list[Any], opts: Options,
           root: str) -> list[dict[str, Any]]:
    entity_set = SETS[set_name]
    for wanted in opts.expand:
        if wanted not in entity_set.navs:
            raise _bad("$expand", f"{set_name} have no navigation property {wanted!r}; known: "
                                  f"{', '.join(entity_set.navs)}")
    bodies = dictize(session, set_name, rows, root)
    for row, body in zip(rows, bodies, strict=True):
        for nav_name, sub in opts.expand.items():
            nav = entity_set.navs[nav_name]
            if nav.many:
                page = _page(session, nav.target, sub, root, nav.related(row))
                body[nav_name] = page["value"]
                if "@iot.count" in page:
                    body[f"{nav_name}@iot.count"] = page["@iot.count"]
                if len(page["value"]) == sub.top and sub.top > 0:
                    following = {**to_params(sub), "$skip": str(sub.skip + sub.top)}
                    body[f"{nav_name}@iot.nextLink"] = (
                        f"{body['@iot.selfLink']}/{nav_name}?{urlencode(following)}")
            else:
                target = session.scalars(select(SETS[nav.target].model)
                                         .where(nav.related(row))).first()
                body[nav_name] = _shape(session, nav.target, [target], sub, root)[0] \
                    if target is not None else None
    if opts.select:
        keep = set(opts.select) | set(opts.expand)
        if "id" in keep:
            keep.add("@iot.id")
        bodies = [{k: v for k, v in b.items() if k in keep} for b in bodies]
    return bodies


@contextmanager
def _refused_as_bad(session: Session, opts: Options) -> Iterator[None]:
    """A statement the database refuses because of the ``$filter`` (a text compared with
    a number, a division by zero) is the request's fault: a 400 naming it, not a 500.
    Failures of the database itself (connection lost) still raise.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        down = isinstance(exc, DBAPIError) and (exc.connection_invalidated or (
            isinstance(exc, OperationalError)
            and session.get_bind().dialect.name != "sqlite"))
        if opts.filter is None or down or isinstance(exc, InterfaceError):
            raise
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise _bad("$filter", f"the database cannot evaluate {opts.filter!r}: {reason}"
                   ) from None


def _page(session: Session, set_name: str, opts: Options, root: str,
          where: ColumnElement[bool] | None, refs: bool = False) -> dict[str, Any]:
    entity_set = SETS[set_name]
    query = select(entity_set.model)
    if where is not None:
        query = query.where(where)
    out: dict[str, Any] = {}
    with _refused_as_bad(session, opts):
        if opts.filter:
            query = query.where(_condition(entity_set, opts.filter, session))
        if opts.count:
            out["@iot.count"] = session.scalar(select(func.count())
                                               .select_from(query.subquery()))
        rows = list(session.scalars(query.order_by(*_order(entity_set, opts))
                                    .limit(opts.top).offset(opts.skip)))
    if refs:  # $ref: the links alone
        out["value"] = [{"@iot.selfLink": self_link(root, set_name, r.id)} for r in rows]
    else:
        out["value"] = _shape(session, set_name, rows, opts, root)
    return out


def collection(session: Session, set_name: str, opts: Options, root: str,
               url: str | None = None, params: Mapping[str, str] | None = None,
               where: ColumnElement[bool] | None = None, refs: bool = False) -> dict[str, Any]:
    """One page of a collection (of its links alone with ``refs``); ``url`` and ``params``
    build ``@iot.nextLink``.
    """
    page = _page(session, set_name, opts, root, where, refs)
    if url is not None and len(page["value"]) == opts.top and opts.top > 0:
        query = {**(params or {}), "$skip": str(opts.skip + opts.top), "$top": str(opts.top)}
        page["@iot.nextLink"] = f"{url}?{urlencode(query)}"
    return page


def get_row(session: Session, set_name: str, entity_id: int) -> Any:
    """The row of ``Set(id)``; NotFound if there is none."""
    row = session.get(SETS[set_name].model, entity_id)
    if row is None:
        raise NotFound(f"{set_name}({entity_id}) does not exist")
    return row


def shape_one(session: Session, set_name: str, row: Any, opts: Options,
              root: str) -> dict[str, Any]:
    """One row as STA JSON, with the expansions and selection of ``opts``."""
    return _shape(session, set_name, [row], opts, root)[0]


def entity(session: Session, set_name: str, entity_id: int, opts: Options,
           root: str) -> dict[str, Any]:
    """``Set(id)`` as STA JSON, with its expansions."""
    return shape_one(session, set_name, get_row(session, set_name, entity_id), opts, root)
