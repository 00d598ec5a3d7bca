"""A parser for the Solr query syntax CKAN clients send in ``q`` and ``fq``.

Supported: ``field:value``, quoted values, ``field:(a OR b)``, ranges
``field:[a TO b]`` / ``{a TO b}`` with ``*``, ``AND`` / ``OR`` / ``NOT``, ``-`` and ``+``
prefixes, parentheses, trailing-``*`` wildcards, and bare words (full-text terms).
Clauses without an operator are ANDed (CKAN's ``q.op``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vntwin.errors import SearchQueryError

_TOKEN = re.compile(
    r'\s*(?:(?P<lpar>\()|(?P<rpar>\))|(?P<range>[\[{][^\]}]*[\]}])|(?P<quoted>"(?:[^"\\]|\\.)*")'
    r"|(?P<word>[^\s()\"\[\]{}]+))"
)


@dataclass(frozen=True)
class Term:
    """A value matched against a field, or against the text fields when ``field`` is None."""

    field: str | None
    value: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Range:
    """``field:[low TO high]``; None is an open end."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool


@dataclass(frozen=True)
class Not:
    """Negation of a clause."""

    child: Node


@dataclass(frozen=True)
class And:
    """All children must match."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any child may match."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class MatchAll:
    """``*:*`` or an empty query."""


Node = Term | Range | Not | And | Or | MatchAll


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchQueryError(f"cannot parse query near {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise SearchQueryError("query ends too early")
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            return MatchAll()
        node = self.or_expr()
        if self.peek() is not None:
            raise SearchQueryError(f"unexpected {self.peek()[1]!r} in query")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek() == ("word", "OR") or self.peek() == ("word", "||"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while (tok := self.peek()) is not None and tok[0] != "rpar" and tok[1] not in ("OR", "||"):
            if tok[1] in ("AND", "&&"):
                self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        kind, value = self.take()
        if kind == "word" and value in ("NOT", "!"):
            return Not(self.unary())
        if kind == "word" and value[0] in "-+" and len(value) > 1:
            self.i -= 1
            self.toks[self.i] = ("word", value[1:])
            node = self.unary()
            return Not(node) if value[0] == "-" else node
        if kind == "word" and value in ("-", "+"):
            node = self.unary()
            return Not(node) if value == "-" else node
        if kind == "lpar":
            node = self.or_expr()
            if self.take()[0] != "rpar":
                raise SearchQueryError("missing closing parenthesis")
            return node
        if kind == "quoted":
            return Term(None, _unquote(value), phrase=True)
        if kind == "word":
            return self.field_or_word(value)
        raise SearchQueryError(f"unexpected {value!r} in query")

    def field_or_word(self, word: str) -> Node:
        if word in ("*:*", "*"):
            return MatchAll()
        field, sep, rest = word.partition(":")
        if not sep or not field or not re.fullmatch(r"[A-Za-z_][\w.]*", field):
            return _word(None, word)
        if rest:
            if rest == "*":
                return Range(field, None, None, True, True)
            return _word(field, rest)
        nxt = self.take()
        if nxt[0] == "quoted":
            return Term(field, _unquote(nxt[1]), phrase=True)
        if nxt[0] == "range":
            return _range(field, nxt[1])
        if nxt[0] == "lpar":
            values: list[Node] = []
            op_or = True
            while (tok := self.take())[0] != "rpar":
                if tok[1] in ("OR", "||"):
                    continue
                if tok[1] in ("AND", "&&"):
                    op_or = False
                    continue
                values.append(Term(field, _unquote(tok[1]), phrase=tok[0] == "quoted")
                              if tok[0] == "quoted" else _word(field, tok[1]))
            if not values:
                raise SearchQueryError(f"empty value list for {field}")
            return Or(tuple(values)) if op_or else And(tuple(values))
        if nxt[0] == "word":
            return _word(field, nxt[1])
        raise SearchQueryError(f"missing value for field {field!r}")


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _word(field: str | None, value: str) -> Term:
    value = re.sub(r"\\(.)", r"\1", value)
    if value.endswith("*") and len(value) > 1:
        return Term(field, value[:-1], prefix=True)
    return Term(field, value)


def _range(field: str, text: str) -> Range:
    inner = text[1:-1].strip()
    parts = re.split(r"\s+TO\s+", inner)
    if len(parts) != 2:
        raise SearchQueryError(f"range for {field!r} must be [low TO high]")
    low, high = (None if p.strip() in ("*", "") else p.strip().strip('"') for p in parts)
    return Range(field, low, high, text[0] == "[", text[-1] == "]")


def parse(text: str | None) -> Node:
    """Parse a q or fq string into a query tree."""
    if text is None or not str(text).strip():
        return MatchAll()
    if len(text) > 5000:
        raise SearchQueryError("query is longer than 5000 characters")
    return _Parser(str(text)).parse()
