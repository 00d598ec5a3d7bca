"""The functions and arithmetic of SensorThings ``$filter`` (STA 1.1 section 9.3.3.5.2).

String functions (substringof, startswith, endswith, length, indexof, substring, tolower,
toupper, trim, concat; OData's contains), date functions (year, month, day, hour, minute,
second, fractionalseconds, date, time, totaloffsetminutes, now, mindatetime, maxdatetime,
all in UTC, as every time here is stored), math functions (round, floor, ceiling) and
the arithmetic operators add, sub, mul, div, mod. The spatial ones (``geo.*``, ``st_*``)
are added by :mod:`vntwin.live.sta_geo` through :func:`register`.

A function given a navigation path (``tolower(Thing/name)``) is computed inside that
path's subquery, so the comparison around it still narrows by an indexed ``IN``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, String, case, cast, func, literal

from vntwin.live import sta_sql
from vntwin.live.sta_expr import Deferred, concrete, error, is_sql, sql

Function = Callable[..., Any]
FUNCTIONS: dict[str, tuple[int, int, Function]] = {}
"""name → (fewest arguments, most arguments, implementation)."""


def register(name: str, low: int, high: int | None = None) -> Callable[[Function], Function]:
    """Add a ``$filter`` function taking ``low`` to ``high`` arguments."""
    def add(fn: Function) -> Function:
        FUNCTIONS[name] = (low, low if high is None else high, fn)
        return fn
    return add


def check_name(name: str) -> None:
    """A 400 naming an unknown function and listing the known ones."""
    if name.lower() not in FUNCTIONS:
        raise error(f"unsupported function {name!r}; supported: "
                    f"{', '.join(sorted(FUNCTIONS))}")


def call(name: str, args: list[Any]) -> Any:
    """``name(args)``; a 400 for an unknown function or a wrong number of arguments."""
    check_name(name)
    low, high, fn = FUNCTIONS[name.lower()]
    if not low <= len(args) <= high:
        count = str(low) if low == high else f"{low} to {high}"
        raise error(f"{name} takes {count} argument(s), not {len(args)}")
    return _through_path(fn, args)


def _through_path(fn: Function, args: list[Any]) -> Any:
    """``fn(args)``, pushed inside the one navigation path among ``args`` if the others
    are literals; otherwise each path is a scalar subquery.
    """
    paths = [a for a in args if isinstance(a, Deferred) and a.is_path]
    if len(paths) == 1 and all(a is paths[0] or not is_sql(a) for a in args):
        path = paths[0]
        mapped = path.map_inner(lambda inner: _through_path(
            fn, [inner if a is path else a for a in args]))
        if mapped is not None:
            return mapped
    return fn(*args)


# -- arithmetic ---------------------------------------------------------------------------
_PY_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "divby": operator.truediv, "mod": operator.mod}


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``left op right`` for add, sub, mul, div (divby) and mod."""
    return _through_path(lambda a, b: _arith(op, a, b), [left, right])


def _number(value: Any) -> Any:
    if isinstance(value, bool) or (not is_sql(value) and not isinstance(value, int | float)):
        raise error(f"arithmetic needs numbers, not {value!r}")
    return concrete(value, 0)


def _arith(op: str, left: Any, right: Any) -> Any:
    a, b = _number(left), _number(right)
    if op in ("div", "divby", "mod") and not is_sql(b) and b == 0:
        raise error(f"{op} by zero")
    if not is_sql(a) and not is_sql(b):
        try:
            return _PY_ARITHMETIC[op](a, b)
        except ZeroDivisionError:
            raise error(f"{op} by zero") from None
    if op == "mod":
        return sta_sql.modulo(sql(a), sql(b))
    if op in ("div", "divby"):
        return sql(a) / cast(sql(b), Float)
    return _PY_ARITHMETIC[op](sql(a), sql(b))


# -- strings ------------------------------------------------------------------------------
def _text(value: Any) -> Any:
    return sql(value, "")


def _needle(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise error(f"{name} needs a text literal to look for")
    return value


@register("substringof", 2)
def _substringof(needle: Any, hay: Any) -> Any:
    return _text(hay).contains(_needle("substringof", needle), autoescape=True)


@register("contains", 2)
def _contains(hay: Any, needle: Any) -> Any:
    return _text(hay).contains(_needle("contains", needle), autoescape=True)


@register("startswith", 2)
def _startswith(text: Any, prefix: Any) -> Any:
    return _text(text).startswith(_needle("startswith", prefix), autoescape=True)


@register("endswith", 2)
def _endswith(text: Any, suffix: Any) -> Any:
    return _text(text).endswith(_needle("endswith", suffix), autoescape=True)


@register("length", 1)
def _length(text: Any) -> Any:
    return func.length(_text(text))


@register("indexof", 2)
def _indexof(text: Any, part: Any) -> Any:
    """0-based, -1 when absent, as OData counts."""
    return sta_sql.index_of(_text(text), _text(part))


@register("substring", 2, 3)
def _substring(text: Any, start: Any, length: Any = None) -> Any:
    """0-based start, as OData counts."""
    begin = sql(start, 0) + 1
    if length is None:
        return func.substr(_text(text), begin)
    return func.substr(_text(text), begin, sql(length, 0))


@register("tolower", 1)
def _tolower(text: Any) -> Any:
    return func.lower(_text(text))


@register("toupper", 1)
def _toupper(text: Any) -> Any:
    return func.upper(_text(text))


@register("trim", 1)
def _trim(text: Any) -> Any:
    return func.trim(_text(text))


@register("concat", 2)
def _concat(left: Any, right: Any) -> Any:
    return cast(_text(left), String).concat(cast(_text(right), String))


# -- dates and times ----------------------------------------------------------------------
def _moment(value: Any) -> Any:
    return sql(value, datetime.now(UTC))


def _part(name: str) -> Function:
    return lambda value: sta_sql.PARTS[name](_moment(value))


for _name in sta_sql.PARTS:
    register(_name, 1)(_part(_name))


@register("fractionalseconds", 1)
def _fractional(value: Any) -> Any:
    return sta_sql.fractional_seconds(_moment(value))


@register("date", 1)
def _date(value: Any) -> Any:
    return sta_sql.date_text(_moment(value))


@register("time", 1)
def _time(value: Any) -> Any:
    return sta_sql.time_text(_moment(value))


@register("totaloffsetminutes", 1)
def _offset(value: Any) -> Any:
    """Every stored time is UTC: 0 (NULL for no time)."""
    return case((_moment(value).is_(None), None), else_=literal(0, Integer))


@register("now", 0)
def _now() -> datetime:
    return datetime.now(UTC)


@register("mindatetime", 0)
def _min() -> datetime:
    return datetime(1, 1, 1, tzinfo=UTC)


@register("maxdatetime", 0)
def _max() -> datetime:
    return datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


# -- math ---------------------------------------------------------------------------------
@register("round", 1)
def _round(value: Any) -> Any:
    return sta_sql.round_(sql(value, 0))


@register("floor", 1)
def _floor(value: Any) -> Any:
    return sta_sql.floor(sql(value, 0))


@register("ceiling", 1)
def _ceiling(value: Any) -> Any:
    return sta_sql.ceiling(sql(value, 0))


__all__ = ["FUNCTIONS", "arithmetic", "call", "check_name", "register"]
