"""A safe subset of OData ``$filter`` for the SensorThings API, compiled to SQLAlchemy.

Grammar (STA 1.1 section 9.3.3.5, the commonly used part)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := value (("eq"|"ne"|"gt"|"ge"|"lt"|"le") value)?
    value   := "(" expr ")" | function | literal | path
    function:= substringof(value, value) | startswith(value, value) | endswith(value, value)
               | tolower(value) | toupper(value)
    literal := 'text' | number | true | false | null | 2024-01-01T00:00:00Z
    path    := name ("/" name)*     e.g. phenomenonTime, Datastream/@iot.id, properties/kind

Paths are resolved by the entity set (``resolve``) to column expressions, so nothing from
the query reaches SQL but bound values and known columns. Written by hand: the OData
filter libraries on PyPI map names one to one onto model attributes, while STA needs
``@iot.id``, camelCase names, JSON ``properties/...`` and navigation paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true
from sqlalchemy.sql.elements import False_, True_

from vntwin.errors import ValidationError

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<punct>[(),])
    | (?P<name>[@A-Za-z_][\w.@]*(?:/[@A-Za-z_][\w.@]*)*)
    )""", re.X)
_OPS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__",
        "le": "__le__"}
_FUNCS = {"substringof", "startswith", "endswith", "tolower", "toupper", "contains"}
MAX_LENGTH = 2000


@dataclass(frozen=True)
class Tok:
    """One token of a filter."""

    kind: str
    text: str


Resolver = Callable[[str], ColumnElement[Any]]


def _error(message: str) -> ValidationError:
    return ValidationError({"$filter": [message]})


def tokenize(text: str) -> list[Tok]:
    """Split a filter into tokens; anything unrecognised is an error naming its position."""
    if len(text) > MAX_LENGTH:
        raise _error(f"longer than {MAX_LENGTH} characters")
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _error(f"cannot read {text[pos:pos + 20]!r} (at character {pos + 1})")
        kind = m.lastgroup or ""
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[Tok], resolve: Resolver) -> None:
        self.tokens = tokens
        self.pos = 0
        self.resolve = resolve
        self.depth = 0

    def peek(self) -> Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise _error("ends too early")
        self.pos += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.lower() == word:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text:
            raise _error(f"expected {text!r}, found {tok.text!r}")

    def parse(self) -> ColumnElement[bool]:
        expr = self.or_()
        if self.peek() is not None:
            raise _error(f"unexpected {self.next().text!r}")
        return condition(expr)

    def or_(self) -> Any:
        left = self.and_()
        while self.keyword("or"):
            left = or_(condition(left), condition(self.and_()))
        return left

    def and_(self) -> Any:
        left = self.not_()
        while self.keyword("and"):
            left = and_(condition(left), condition(self.not_()))
        return left

    def not_(self) -> Any:
        if self.keyword("not"):
            return not_(condition(self.not_()))
        return self.cmp()

    def cmp(self) -> Any:
        left = self.value()
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.lower() in _OPS:
            self.pos += 1
            return compare(tok.text.lower(), left, self.value())
        return left

    def value(self) -> Any:
        self.depth += 1
        if self.depth > 50:
            raise _error("nested too deeply")
        try:
            return self._value()
        finally:
            self.depth -= 1

    def _value(self) -> Any:
        tok = self.next()
        if tok.text == "(":
            inner = self.or_()
            self.expect(")")
            return inner
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "time":
            return datetime.fromisoformat(tok.text.replace("Z", "+00:00"))
        if tok.kind != "name":
            raise _error(f"unexpected {tok.text!r}")
        word = tok.text.lower()
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return Null()
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            if word not in _FUNCS:
                raise _error(f"unsupported function {tok.text!r}; supported: "
                             f"{', '.join(sorted(_FUNCS))}")
            self.pos += 1
            args = [self.value()]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.pos += 1
                args.append(self.value())
            self.expect(")")
            return _call(word, args)
        return self.resolve(tok.text)


class Null:
    """The literal null: only ``eq null`` / ``ne null`` make sense."""

    def __repr__(self) -> str:
        return "null"


class Deferred:
    """A property whose SQL depends on what it meets: a JSON value is text, number or
    boolean as the literal it is compared with; a navigation path becomes a subquery.
    """

    def typed(self, other: Any) -> Any:
        """The SQL expression of this property, to be used with ``other``."""
        raise NotImplementedError

    def literal(self, other: Any) -> Any:
        """``other`` as this property's SQL wants it (a boolean as 1.0 for a number)."""
        return other

    def compare(self, op: str, other: Any) -> Any:
        """The condition ``self op other``."""
        return _binary(self.typed(other), op, self.literal(other))


class JsonPath(Deferred):
    """A key inside a JSON column (``properties/kind``): typed by what it is compared to."""

    def __init__(self, element: Any) -> None:
        self.element = element

    def typed(self, other: Any) -> Any:
        """The value as text, number or boolean, to compare with ``other``."""
        if isinstance(other, bool | True_ | False_):
            return self.element.as_boolean()
        if isinstance(other, int | float):
            return self.element.as_float()
        return self.element.as_string()


def concrete(value: Any, hint: Any = "") -> Any:
    """A SQL expression or literal for ``value`` (a deferred property typed by ``hint``)."""
    return value.typed(hint) if isinstance(value, Deferred) else value


def condition(value: Any) -> Any:
    """``value`` used as a condition: a boolean literal, a boolean property, a condition."""
    if isinstance(value, bool):
        return true() if value else false()
    if isinstance(value, Deferred):
        return value.compare("eq", True)
    if isinstance(value, ColumnElement):
        return value
    raise _error(f"{value!r} is not a condition")


def _binary(left: Any, op: str, right: Any) -> Any:
    if isinstance(right, Null):
        if op not in ("eq", "ne"):
            raise _error("null can only be compared with eq or ne")
        return left.is_(None) if op == "eq" else left.is_not(None)
    return getattr(left, _OPS[op])(right)


def compare(op: str, left: Any, right: Any) -> Any:
    """The condition ``left op right``: a property on at least one side."""
    if not _is_sql(left) and _is_sql(right):
        left, right, op = right, left, _SWAP.get(op, op)
    if not _is_sql(left):
        raise _error("a comparison needs a property on one side")
    if isinstance(right, Deferred):
        right = right.typed(left.typed("") if isinstance(left, Deferred) else left)
    if isinstance(left, Deferred):
        return left.compare(op, right)
    return _binary(left, op, right)


_SWAP = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}


def _is_sql(value: Any) -> bool:
    return isinstance(value, ColumnElement | Deferred) or hasattr(value, "__clause_element__")


def _call(name: str, args: list[Any]) -> Any:
    args = [concrete(a) for a in args]
    want = 1 if name in ("tolower", "toupper") else 2
    if len(args) != want:
        raise _error(f"{name} takes {want} argument(s)")
    if name == "tolower":
        return func.lower(args[0])
    if name == "toupper":
        return func.upper(args[0])
    if name in ("substringof", "contains"):
        # substringof('text', name) (STA 1.1), contains(name, 'text') (OData 4)
        needle, hay = (args[0], args[1]) if name == "substringof" else (args[1], args[0])
        if not isinstance(needle, str):
            raise _error(f"{name} needs a text literal to look for")
        return hay.contains(needle, autoescape=True)
    needle = args[1]
    if not isinstance(needle, str):
        raise _error(f"{name} needs a text literal as its second argument")
    if name == "startswith":
        return args[0].startswith(needle, autoescape=True)
    return args[0].endswith(needle, autoescape=True)


def compile_filter(text: str, resolve: Resolver) -> ColumnElement[bool]:
    """The SQL condition of a ``$filter``; ValidationError naming what is wrong."""
    tokens = tokenize(text)
    if not tokens:
        raise _error("is empty")
    try:
        expr = _Parser(tokens, resolve).parse()
    except (AttributeError, TypeError) as exc:
        raise _error(f"this comparison or function is not supported here ({exc})") from None
    if not isinstance(expr, ColumnElement):
        raise _error("is not a condition")
    return expr


__all__ = ["Deferred", "JsonPath", "Null", "compare", "compile_filter", "concrete", "condition",
           "tokenize"]
