"""Parse and check datastore_search's identifier parameters against the table's columns.

Every identifier a caller sends (fields, filter keys, sort columns, ``q`` keys) must be
one of the table's columns; only then is it quoted into SQL. Values never reach SQL
text: they are bound parameters. Errors are CKAN's ValidationError shape, naming the
parameter and the unknown column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vntwin.errors import ValidationError

MAX_LIMIT = 32000
DEFAULT_LIMIT = 100

_DIRECTION = re.compile(r"^(?P<column>.*?)\s+(?P<direction>asc|desc)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SortKey:
    """One ``ORDER BY`` item: a known column and its direction."""

    column: str
    descending: bool


def split_names(value: str) -> list[str]:
    """Split ``a, "b, c", d`` on commas outside double quotes, unquoting each part."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [_unquote(part.strip()) for part in parts if part.strip()]


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def check_column(name: object, columns: Sequence[str], param: str) -> str:
    """Return ``name`` if it is a column, else ValidationError naming ``param`` and the name."""
    if not isinstance(name, str) or name not in columns:
        raise ValidationError({param: [f'field "{name}" not in table']})
    return name


def parse_fields(fields: str | Sequence[str] | None, columns: Sequence[str]) -> list[str]:
    """Return the requested columns in order (all when empty), each checked."""
    if fields is None:
        return list(columns)
    names = split_names(fields) if isinstance(fields, str) else list(fields)
    if not names:
        return list(columns)
    return [check_column(name, columns, "fields") for name in names]


def parse_sort(sort: str | Sequence[str] | None, columns: Sequence[str]) -> list[SortKey]:
    """Parse ``"col desc, other"`` (or a list of such items) into checked sort keys."""
    if not sort:
        return []
    items = split_names(sort) if isinstance(sort, str) else [str(item) for item in sort]
    keys = []
    for item in items:
        text = item.strip()
        if text in columns:
            keys.append(SortKey(text, False))
            continue
        found = _DIRECTION.match(text)
        if found is None:
            column, descending = _unquote(text), False
        else:
            column = _unquote(found.group("column").strip())
            descending = found.group("direction").lower() == "desc"
        keys.append(SortKey(check_column(column, columns, "sort"), descending))
    return keys


def parse_filters(filters: Mapping[str, object] | None, columns: Sequence[str]
                  ) -> dict[str, list[object]]:
    """Check ``{column: value or [values]}``; return each column's values as a list."""
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError({"filters": ["filters must be an object of column: value"]})
    checked: dict[str, list[object]] = {}
    for key, value in filters.items():
        column = check_column(key, columns, "filters")
        values = list(value) if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, dict | list | tuple):
                raise ValidationError({"filters": [f'invalid value for "{column}"']})
        checked[column] = values
    return checked


def parse_q(q: str | Mapping[str, object] | None, columns: Sequence[str]
            ) -> dict[str | None, list[str]]:
    """Return search words per column (``None``: all text columns), from a string or dict."""
    if q is None or q == "":
        return {}
    if isinstance(q, str):
        return {None: q.split()} if q.split() else {}
    if not isinstance(q, Mapping):
        raise ValidationError({"q": ["q must be a string or an object of column: text"]})
    words: dict[str | None, list[str]] = {}
    for key, value in q.items():
        column = check_column(key, columns, "q")
        if str(value).split():
            words[column] = str(value).split()
    return words


def parse_paging(limit: object, offset: object) -> tuple[int, int]:
    """Return ``limit`` (capped at MAX_LIMIT) and ``offset`` as non-negative integers."""
    return (min(_non_negative(limit, "limit"), MAX_LIMIT), _non_negative(offset, "offset"))


def _non_negative(value: object, name: str) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationError({name: ["must be a natural number"]}) from None
    if number < 0 or isinstance(value, bool) or (isinstance(value, float)
                                                 and not value.is_integer()):
        raise ValidationError({name: ["must be a natural number"]})
    return number
