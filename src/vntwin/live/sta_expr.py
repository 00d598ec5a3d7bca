"""The values a SensorThings ``$filter`` computes with, and comparing them.

A value is a Python literal (text, number, boolean, date-time, date, time, ``Null``), a
SQL expression, or a :class:`Deferred` property whose SQL depends on what it meets: a
JSON value is text, number or boolean as the literal it is compared with, an
Observation's result is read where its type keeps it, and a navigation path
(``Datastream/Thing/name``) becomes a subquery around whatever is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, DateTime, String, false, literal, true
from sqlalchemy.sql.elements import False_, True_

from vntwin.catalog.models import UTCDateTime
from vntwin.errors import ValidationError

OPS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__",
       "le": "__le__"}
_SWAP = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}


def error(message: str) -> ValidationError:
    """A 400 naming ``$filter``."""
    return ValidationError({"$filter": [message]})


class Null:
    """The literal null: only ``eq null`` / ``ne null`` make sense."""

    def __repr__(self) -> str:
        return "null"


class Deferred:
    """A property whose SQL is decided by what it is used with."""

    is_path = False  # a navigation path, whose value is computed in a subquery

    def typed(self, other: Any) -> Any:
        """The SQL expression of this property, to be used with ``other``."""
        raise NotImplementedError

    def literal(self, other: Any) -> Any:
        """``other`` as this property's SQL wants it (a boolean as 1.0 for a number)."""
        return other

    def compare(self, op: str, other: Any) -> Any:
        """The condition ``self op other``."""
        left = self.typed(other)
        return binary(left, op, fit(self.literal(other), left))

    def as_condition(self) -> Any:
        """The property used as a condition on its own (a boolean)."""
        return self.compare("eq", True)

    def map_inner(self, fn: Callable[[Any], Any]) -> Deferred | None:
        """For a navigation path: the same path around ``fn`` of the value at its end (so
        ``tolower(Thing/name)`` is computed inside the subquery); None for the others.
        """
        return None


class JsonPath(Deferred):
    """A key inside a JSON column (``properties/kind``): typed by what it is compared to."""

    def __init__(self, element: Any) -> None:
        self.element = element

    def typed(self, other: Any) -> Any:
        """The value as text, number or boolean, to compare with ``other``."""
        if isinstance(other, bool | True_ | False_):
            return self.element.as_boolean()
        if isinstance(other, int | float) or (isinstance(other, ColumnElement)
                                              and _numeric(other)):
            return self.element.as_float()
        return self.element.as_string()


def _numeric(expr: ColumnElement[Any]) -> bool:
    try:
        return expr.type.python_type in (int, float) or "NUMERIC" in str(expr.type).upper()
    except NotImplementedError:
        return False


def concrete(value: Any, hint: Any = "") -> Any:
    """A SQL expression or literal for ``value`` (a deferred property typed by ``hint``)."""
    return value.typed(hint) if isinstance(value, Deferred) else value


def sql(value: Any, hint: Any = "") -> Any:
    """``value`` as a SQL expression: literals bound as parameters of their type."""
    value = concrete(value, hint)
    if isinstance(value, ColumnElement) or hasattr(value, "__clause_element__"):
        return value
    if isinstance(value, Null):
        return literal(None)
    if isinstance(value, datetime):
        return literal(value, UTCDateTime())
    if isinstance(value, date | time):
        return literal(_text_of(value), String())
    return literal(value)


def _text_of(value: date | time) -> str:
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def fit(value: Any, other: Any) -> Any:
    """A date or time literal as ``other`` holds it: a date-time at midnight UTC beside a
    date-time, otherwise the text that ``date()`` and ``time()`` give.
    """
    if isinstance(value, date | time) and not isinstance(value, datetime):
        if isinstance(value, date) and _holds_datetime(other):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return _text_of(value)
    return value


def _holds_datetime(expr: Any) -> bool:
    kind = getattr(expr, "type", None)
    return isinstance(getattr(kind, "impl", kind), DateTime)


def is_sql(value: Any) -> bool:
    """True for properties and expressions, False for literals."""
    return isinstance(value, ColumnElement | Deferred) or hasattr(value, "__clause_element__")


def condition(value: Any) -> Any:
    """``value`` used as a condition: a boolean literal, a boolean property, a condition."""
    if isinstance(value, bool):
        return true() if value else false()
    if isinstance(value, Deferred):
        return value.as_condition()
    if isinstance(value, ColumnElement):
        return value
    raise error(f"{value!r} is not a condition")


def binary(left: Any, op: str, right: Any) -> Any:
    """``left op right`` in SQL; ``null`` only with eq and ne."""
    if isinstance(right, Null):
        if op not in ("eq", "ne"):
            raise error("null can only be compared with eq or ne")
        return left.is_(None) if op == "eq" else left.is_not(None)
    return getattr(left, OPS[op])(right)


def compare(op: str, left: Any, right: Any) -> Any:
    """The condition ``left op right``: a property on at least one side."""
    if not is_sql(left) and is_sql(right):
        left, right, op = right, left, _SWAP.get(op, op)
    if not is_sql(left):
        raise error("a comparison needs a property on one side")
    if isinstance(right, Deferred):
        right = right.typed(left.typed("") if isinstance(left, Deferred) else left)
    if isinstance(left, Deferred):
        return left.compare(op, right)
    return binary(left, op, fit(right, left))


__all__ = ["OPS", "Deferred", "JsonPath", "Null", "binary", "compare", "concrete",
           "condition", "error", "fit", "is_sql", "sql"]
