"""SQL functions the SensorThings ``$filter`` needs, written once for PostgreSQL and SQLite.

Each is a SQLAlchemy function element compiled per dialect, so the filter parser builds
one expression and the database it runs on decides the SQL. PostgreSQL gets its own
functions (``json_typeof``, ``to_char``, ``extract`` on UTC); SQLite gets only what every
SQLite has (its JSON1 and date functions, arithmetic), not the optional math functions.

>>> from sqlalchemy import column
>>> str(json_text(column("result_json")))  # doctest: +SKIP
'sta_json_text(result_json)'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    String,
    case,
    cast,
    extract,
    func,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

Builder = Callable[..., Any]


def portable(name: str, type_: TypeEngine[Any], postgresql: Builder,
             other: Builder) -> Callable[..., Any]:
    """A SQL function ``sta_<name>(args)`` compiled by ``postgresql(*args)`` there and by
    ``other(*args)`` elsewhere (SQLite); both build SQLAlchemy expressions.
    """
    cls: Any = type(f"sta_{name}", (FunctionElement,),
                    {"inherit_cache": True, "type": type_, "name": f"sta_{name}"})

    def _pg(element: Any, compiler: Any, **kw: Any) -> str:
        return str(compiler.process(postgresql(*element.clauses.clauses), **kw))

    def _other(element: Any, compiler: Any, **kw: Any) -> str:
        return str(compiler.process(other(*element.clauses.clauses), **kw))

    compiles(cls, "postgresql")(_pg)
    compiles(cls)(_other)
    return cls  # type: ignore[no-any-return]


# -- JSON scalars (an Observation's result of any type) -----------------------------------
def _pg_scalar(x: Any) -> Any:
    return x.op("#>>")(literal_column("'{}'"))


def _lite_scalar(x: Any) -> Any:
    return func.json_extract(x, "$")


json_text = portable(
    "json_text", String(),
    lambda x: case((func.json_typeof(x) == "string", _pg_scalar(x))),
    lambda x: case((func.json_type(x) == "text", _lite_scalar(x))))
"""A JSON value that is a string, as text (NULL for anything else)."""

json_number = portable(
    "json_number", Float(),
    lambda x: case((func.json_typeof(x) == "number", cast(_pg_scalar(x), Float))),
    lambda x: case((func.json_type(x).in_(["integer", "real"]), _lite_scalar(x))))
"""A JSON value that is a number, as a number (NULL for anything else)."""

json_bool = portable(
    "json_bool", Float(),
    lambda x: case((func.json_typeof(x) == "boolean",
                    case((_pg_scalar(x) == "true", 1.0), else_=0.0))),
    lambda x: case((func.json_type(x) == "true", 1.0), (func.json_type(x) == "false", 0.0)))
"""A JSON boolean as 1.0 or 0.0 (as boolean results are kept in ``result_num``)."""

json_any_text = portable(
    "json_any_text", String(),
    lambda x: case((func.json_typeof(x) != "null", _pg_scalar(x))),
    lambda x: case((func.json_type(x) != "null", cast(_lite_scalar(x), String))))
"""Any non-null JSON value as text (NULL for JSON null or no value)."""


index_of = portable("indexof", Integer(), lambda a, b: func.strpos(a, b) - 1,
                    lambda a, b: func.instr(a, b) - 1)
"""OData's 0-based ``indexof(text, part)``, -1 when absent."""


# -- arithmetic ---------------------------------------------------------------------------
def _lite_mod(a: Any, b: Any) -> Any:
    return a - b * cast(a / b, Integer)  # truncated division: the sign of a, as PostgreSQL


modulo = portable("mod", Numeric(), lambda a, b: func.mod(cast(a, Numeric), cast(b, Numeric)),
                  _lite_mod)
"""``a mod b`` for whole and decimal numbers (PostgreSQL has no ``%`` for floats)."""


def _lite_floor(x: Any) -> Any:
    whole = cast(x, Integer)
    return whole - case((x < whole, 1), else_=0)


def _lite_ceiling(x: Any) -> Any:
    whole = cast(x, Integer)
    return whole + case((x > whole, 1), else_=0)


floor = portable("floor", Float(), func.floor, _lite_floor)
ceiling = portable("ceiling", Float(), func.ceil, _lite_ceiling)
round_ = portable("round", Float(), lambda x: func.round(cast(x, Numeric)), func.round)


# -- dates and times (stored in UTC; PostgreSQL's session zone must not matter) -----------
def _utc(x: Any) -> Any:
    return func.timezone("UTC", x)


def _pg_part(field: str) -> Builder:
    return lambda x: cast(func.floor(extract(field, _utc(x))), Integer)


def _lite_part(pattern: str) -> Builder:
    return lambda x: cast(func.strftime(pattern, x), Integer)


PARTS = {name: portable(name, Integer(), _pg_part(field), _lite_part(pattern))
         for name, field, pattern in (("year", "year", "%Y"), ("month", "month", "%m"),
                                      ("day", "day", "%d"), ("hour", "hour", "%H"),
                                      ("minute", "minute", "%M"), ("second", "second", "%S"))}
"""``year(t)`` ... ``second(t)``: whole numbers, in UTC."""

fractional_seconds = portable(
    "fractionalseconds", Float(),
    lambda x: extract("second", _utc(x)) - func.floor(extract("second", _utc(x))),
    lambda x: cast(func.strftime("%f", x), Float) - cast(func.strftime("%S", x), Float))
date_text = portable("date", String(), lambda x: func.to_char(_utc(x), "YYYY-MM-DD"),
                     lambda x: func.strftime("%Y-%m-%d", x))
"""``date(t)`` as ``YYYY-MM-DD`` text: compared with a date literal, which becomes text."""
time_text = portable("time", String(), lambda x: func.to_char(_utc(x), "HH24:MI:SS"),
                     lambda x: func.strftime("%H:%M:%S", x))
"""``time(t)`` as ``HH:MM:SS`` text."""


__all__ = ["PARTS", "ceiling", "date_text", "floor", "fractional_seconds", "index_of",
           "json_any_text", "json_bool", "json_number", "json_text", "modulo", "portable",
           "round_", "time_text"]
