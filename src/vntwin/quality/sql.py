"""SQL fragments the checks share (DuckDB dialect)."""

from __future__ import annotations

from collections.abc import Iterable

from vntwin.datastore.files import quote_literal
from vntwin.quality.columns import Column


def missing(column: Column, tokens: Iterable[str]) -> str:
    """True where the cell is empty: NULL, or text that only says "missing"."""
    if not column.textual:
        return f"({column.sql} IS NULL)"
    words = ", ".join(quote_literal(t.lower()) for t in tokens)
    return f"({column.sql} IS NULL OR lower(trim({column.sql})) IN ({words}))"


def present(column: Column, tokens: Iterable[str]) -> str:
    """The opposite of :func:`missing`."""
    return f"(NOT {missing(column, tokens)})"


def as_text(column: Column) -> str:
    """The value as trimmed text (codes stored as numbers included)."""
    return f"trim(CAST({column.sql} AS VARCHAR))"
