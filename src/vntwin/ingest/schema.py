"""Column types: typing CSV text, naming columns, and the schema a layer reports.

A CSV arrives as text; its columns are typed here with rules chosen for Vietnamese data:
a number with a leading zero ("01", "00097") is a code and stays text, as does every
column named like a unit code (``ma_tinh``, ``ma_xa``: "79" is a code, not a number);
day-first dates (31/12/2024) are dates; a decimal comma is accepted when the file is not
comma-separated. Datetimes without a UTC
offset are local time in Vietnam and are stored in UTC (DESIGN.md: times are UTC).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from typing import Any

import pandas as pd

SCHEMA_TYPES = ("integer", "number", "string", "boolean", "date", "datetime", "geometry")
LOCAL_TZ = "Asia/Ho_Chi_Minh"

_INT = re.compile(r"[+-]?(0|[1-9]\d{0,17})")
_NUM = re.compile(r"[+-]?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NUM_COMMA = re.compile(r"[+-]?(0|[1-9]\d*)(,\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOLS = {"true": True, "false": False}


def type_text_columns(frame: pd.DataFrame, decimal_comma: bool = False,
                      keep_text: Collection[str] = ()) -> pd.DataFrame:
    """Give each all-text column (as read from CSV) the narrowest type all its values fit;
    columns in ``keep_text`` (codes, whatever their digits) stay text.
    """
    typed = {name: _type_column(frame[name], decimal_comma, keep=name in keep_text)
             for name in frame.columns}
    return pd.DataFrame(typed, index=frame.index)


def _type_column(column: pd.Series, decimal_comma: bool, keep: bool) -> pd.Series:
    cells = [v.strip() or None if isinstance(v, str) else None for v in column]
    text = pd.Series(cells, index=column.index, dtype=object, name=column.name)
    values = [v for v in cells if v is not None]
    if not values or keep:
        return text
    if all(v.lower() in _BOOLS for v in values):
        return text.map(lambda v: None if v is None else _BOOLS[v.lower()]).astype("boolean")
    if all(_INT.fullmatch(v) for v in values):
        return pd.to_numeric(text).astype("Int64")
    if all(_NUM.fullmatch(v) for v in values):
        return pd.to_numeric(text).astype("float64")
    if decimal_comma and all(_NUM_COMMA.fullmatch(v) for v in values):
        return pd.to_numeric(text.map(lambda v: v and v.replace(",", "."))).astype("float64")
    dates = _dates(values)
    if dates is not None:
        return text.map(lambda v: None if v is None else dates[v])
    if all(_DATETIME.fullmatch(v) for v in values):
        return _datetimes(text)
    return text


def _dates(values: list[str]) -> dict[str, dt.date] | None:
    """ISO or day-first dates, or None if any value is not a real date."""
    if all(_ISO_DATE.fullmatch(v) for v in values):
        fmt = "%Y-%m-%d"
    elif all(_DMY_DATE.fullmatch(v) for v in values):
        fmt = "%d/%m/%Y"
    else:
        return None
    try:
        return {v: dt.datetime.strptime(v, fmt).date() for v in set(values)}
    except ValueError:
        return None


def _datetimes(text: pd.Series) -> pd.Series:
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=False)
    except (ValueError, TypeError):
        return text
    return utc_datetimes(parsed)


def utc_datetimes(column: pd.Series) -> pd.Series:
    """Naive datetimes as Vietnam's local time, converted to UTC; aware ones to UTC."""
    if not pd.api.types.is_datetime64_any_dtype(column):
        try:
            column = pd.to_datetime(column, utc=True)
        except (ValueError, TypeError):
            return column
    if getattr(column.dt, "tz", None) is None:
        column = column.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
    return column.dt.tz_convert("UTC")


def clean_names(names: list[Any], reserved: tuple[str, ...] = ("geometry",)) -> list[str]:
    """Column names as NFC text, stripped, non-empty and unique (``x``, ``x_2``...)."""
    seen: set[str] = set(reserved)
    out = []
    for position, name in enumerate(names, start=1):
        base = unicodedata.normalize("NFC", str(name)).strip() or f"column_{position}"
        candidate, n = base, 2
        while candidate.lower() in {s.lower() for s in seen}:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out


def nfc_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text value NFC (Windows-1258 and some GIS tools write decomposed tones)."""
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            frame[name] = column.map(
                lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
            )
    return frame


def infer(frame: pd.DataFrame) -> list[dict[str, str]]:
    """The layer's schema: ``[{"name", "type"}]`` with types from ``SCHEMA_TYPES``."""
    geometry = getattr(frame, "_geometry_column_name", None)
    return [
        {"name": str(name), "type": "geometry" if name == geometry else _kind(frame[name])}
        for name in frame.columns
    ]


def _kind(column: pd.Series) -> str:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = [v for v in column if v is not None and not _isna(v)]
    if not values:
        return "string"
    for kind, test in _OBJECT_KINDS:
        if all(test(v) for v in values):
            return kind
    return "string"


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_OBJECT_KINDS = (
    ("boolean", lambda v: isinstance(v, bool)),
    ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    ("number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    ("datetime", lambda v: isinstance(v, dt.datetime)),
    ("date", lambda v: isinstance(v, dt.date)),
)
