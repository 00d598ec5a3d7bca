"""OData ``$filter`` for the SensorThings API, compiled to SQLAlchemy.

Grammar (STA 1.1 section 9.3.3.5)::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | cmp
    cmp      := additive (("eq"|"ne"|"gt"|"ge"|"lt"|"le") additive)?
    additive := multiply (("add"|"sub") multiply)*
    multiply := value (("mul"|"div"|"divby"|"mod") value)*
    value    := "(" expr ")" | function "(" [expr ("," expr)*] ")" | literal | path
    literal  := 'text' | number | true | false | null | 2024-01-01T00:00:00Z
                | 2024-01-01 | 12:30:00 | geography'POINT(105.85 21.03)'
    path     := name ("/" name)*   e.g. phenomenonTime, Datastream/Thing/name, properties/kind

The functions are those of :mod:`vntwin.live.sta_functions` (and the spatial ones of
:mod:`vntwin.live.sta_geo`). Paths are resolved by the entity set (``resolve``) to
column expressions, so nothing from the query reaches SQL but bound values and known
columns. Written by hand: the OData filter libraries on PyPI map names one to one onto
model attributes, while STA needs ``@iot.id``, camelCase names, JSON ``properties/...``
and navigation paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from vntwin.live import sta_functions
from vntwin.live.sta_expr import (
    OPS,
    Deferred,
    JsonPath,
    Null,
    compare,
    concrete,
    condition,
    error,
)

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<geo>(?:geography|geometry)'[^']*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:.])
    | (?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?![\w:])
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<punct>[(),])
    | (?P<name>[@A-Za-z_][\w.@]*(?:/[@A-Za-z_][\w.@]*)*)
    )""", re.X)
_ADDITIVE = ("add", "sub")
_MULTIPLICATIVE = ("mul", "div", "divby", "mod")
MAX_LENGTH = 2000


@dataclass(frozen=True)
class Tok:
    """One token of a filter."""

    kind: str
    text: str


Resolver = Callable[[str], Any]
GeoReader = Callable[[str], Any]


def tokenize(text: str) -> list[Tok]:
    """Split a filter into tokens; anything unrecognised is an error naming its position."""
    if len(text) > MAX_LENGTH:
        raise error(f"longer than {MAX_LENGTH} characters")
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise error(f"cannot read {text[pos:pos + 20]!r} (at character {pos + 1})")
        kind = m.lastgroup or ""
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[Tok], resolve: Resolver, geo: GeoReader | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.resolve = resolve
        self.geo = geo
        self.depth = 0

    def peek(self) -> Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise error("ends too early")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.text.lower() in words:
            self.pos += 1
            return tok.text.lower()
        return None

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok.text != text:
            raise error(f"expected {text!r}, found {tok.text!r}")

    def parse(self) -> ColumnElement[bool]:
        expr = self.or_()
        if self.peek() is not None:
            raise error(f"unexpected {self.next().text!r}")
        return condition(expr)  # type: ignore[no-any-return]

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
        left = self.additive()
        op = self.keyword(*OPS)
        if op is None:
            return left
        return compare(op, left, self.additive())

    def additive(self) -> Any:
        left = self.multiplicative()
        while (op := self.keyword(*_ADDITIVE)) is not None:
            left = sta_functions.arithmetic(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Any:
        left = self.value()
        while (op := self.keyword(*_MULTIPLICATIVE)) is not None:
            left = sta_functions.arithmetic(op, left, self.value())
        return left

    def value(self) -> Any:
        self.depth += 1
        if self.depth > 50:
            raise error("nested too deeply")
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
        if tok.kind != "name":
            return self._literal(tok)
        word = tok.text.lower()
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return Null()
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            return self._call(tok.text)
        return self.resolve(tok.text)

    def _literal(self, tok: Tok) -> Any:
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        try:
            if tok.kind == "datetime":
                return datetime.fromisoformat(tok.text.replace("Z", "+00:00"))
            if tok.kind == "date":
                return date.fromisoformat(tok.text)
            if tok.kind == "time":
                return time.fromisoformat(tok.text)
        except ValueError:
            raise error(f"{tok.text!r} is not a valid date or time") from None
        if tok.kind == "geo":
            if self.geo is None:
                raise error("geography literals are not supported here")
            return self.geo(tok.text)
        raise error(f"unexpected {tok.text!r}")

    def _call(self, name: str) -> Any:
        sta_functions.check_name(name)
        self.expect("(")
        args: list[Any] = []
        if self.peek() is not None and self.peek().text == ")":  # type: ignore[union-attr]
            self.pos += 1
        else:
            args.append(self.or_())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.pos += 1
                args.append(self.or_())
            self.expect(")")
        return sta_functions.call(name, args)


def compile_filter(text: str, resolve: Resolver,
                   geo: GeoReader | None = None) -> ColumnElement[bool]:
    """The SQL condition of a ``$filter``; ValidationError naming what is wrong.

    ``resolve`` turns a path into a column or a :class:`Deferred` property; ``geo`` reads
    a ``geography'...'`` literal (spatial functions are refused without it).
    """
    tokens = tokenize(text)
    if not tokens:
        raise error("is empty")
    try:
        expr = _Parser(tokens, resolve, geo).parse()
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise error(f"this comparison or function is not supported here ({exc})") from None
    if not isinstance(expr, ColumnElement):
        raise error("is not a condition")
    return expr


__all__ = ["Deferred", "JsonPath", "Null", "compile_filter", "concrete", "tokenize"]
