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

from sqlalchemy import ColumnElement, and_, false, func, not_, null, or_, true
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
        return expr

    def or_(self) -> Any:
        left = self.and_()
        while self.keyword("or"):
            left = or_(left, self.and_())
        return left

    def and_(self) -> Any:
        left = self.not_()
        while self.keyword("and"):
            left = and_(left, self.not_())
        return left

    def not_(self) -> Any:
        if self.keyword("not"):
            return not_(self.not_())
        return self.cmp()

    def cmp(self) -> Any:
        left = self.value()
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.lower() in _OPS:
            self.pos += 1
            right = self.value()
            op = tok.text.lower()
            if not _is_sql(left) and _is_sql(right):
                left, right, op = right, left, _SWAP.get(op, op)
            if not _is_sql(left) and not isinstance(left, _Null):
                raise _error("a comparison needs a property on one side")
            left = left.typed(right) if isinstance(left, JsonPath) else left
            if isinstance(right, _Null) or isinstance(left, _Null):
                other = left if isinstance(right, _Null) else right
                if op not in ("eq", "ne"):
                    raise _error("null can only be compared with eq or ne")
                return other.is_(None) if op == "eq" else other.is_not(None)
            return getattr(left, _OPS[op])(right)
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
        if word == "true":
            return true()
        if word == "false":
            return false()
        if word == "null":
            return _Null()
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


class _Null:
    """The literal null: only ``eq null`` / ``ne null`` make sense."""


class JsonPath:
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


_SWAP = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}


def _is_sql(value: Any) -> bool:
    return isinstance(value, ColumnElement | JsonPath) or hasattr(value, "__clause_element__")


def _call(name: str, args: list[Any]) -> Any:
    args = [a.typed("") if isinstance(a, JsonPath) else a for a in args]
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


__all__ = ["JsonPath", "compile_filter", "null", "tokenize"]
