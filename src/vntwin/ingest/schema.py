"""Column types: typing CSV text, naming columns, and the schema a layer reports.

A CSV arrives as text; its columns are typed here with rules chosen for Vietnamese data:
a number with a leading zero ("01", "00097") is a code and stays text, as does every
column named like a unit code (``ma_tinh``, ``ma_xa``: "79" is a code, not a number);
day-first dates (31/12/2024) are dates. Datetimes without a UTC offset are local time in
Vietnam and are stored in UTC (DESIGN.md: times are UTC).

Numbers follow the file's convention, one column at a time. A file that is not
comma-separated (Excel in Vietnamese writes semicolons) uses the Vietnamese one: dot for
thousands, comma for decimals ("8.435.700", "3.358,6"; "1.234" is 1234). A comma-separated
file uses the English one ("8,435,700" quoted, "1.5"). Whatever the file, a column whose
values all group digits in threes with the other separator, at least once twice
("8.435.700" in a comma-separated file), holds whole numbers: no decimal has two points.
Coordinate columns never group digits (21.028 is a latitude). A column that still looks
numeric but mixes formats or holds words stays text, and the report says so: text columns
are not fused into the twin.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pandas as pd

SCHEMA_TYPES = ("integer", "number", "string", "boolean", "date", "datetime", "geometry")
LOCAL_TZ = "Asia/Ho_Chi_Minh"

_INT = re.compile(r"[+-]?(0|[1-9]\d{0,17})")
_NUM = re.compile(r"[+-]?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NUMBERISH = re.compile(r"[+-]?\d[\d.,\s]*")
_CODE = re.compile(r"0\d[\d\s.]*")  # zero-padded codes, phone numbers
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOLS = {"true": True, "false": False}


def type_text_columns(frame: pd.DataFrame, decimal_comma: bool = False,
                      keep_text: Collection[str] = (), coordinates: Collection[str] = (),
                      report: list[str] | None = None) -> pd.DataFrame:
    """Give each all-text column (as read from CSV) the narrowest type all its values fit.

    ``decimal_comma`` says the file follows the Vietnamese number convention (module
    docstring); columns in ``keep_text`` (codes, whatever their digits) stay text; those
    in ``coordinates`` never group digits. Numeric-looking columns left as text are noted
    in ``report``, with the first row that kept them so (rows numbered from 1).
    """
    convention = _VIETNAMESE if decimal_comma else _ENGLISH
    typed = {}
    for name in frame.columns:
        typed[name] = _type_column(frame[name], convention, keep=name in keep_text,
                                   grouping=name not in coordinates)
        if report is not None and name not in keep_text:
            note = _numeric_text_note(str(name), typed[name], convention.number(
                grouping=name not in coordinates))
            if note:
                report.append(note)
    return pd.DataFrame(typed, index=frame.index)


@dataclass(frozen=True)
class _Convention:
    """How a file writes numbers: its thousands and decimal separators."""

    thousands: str
    decimal: str

    @staticmethod
    def grouped_int(separator: str) -> re.Pattern[str]:
        """Whole numbers with digits grouped in threes by ``separator`` ("8.435.700")."""
        return re.compile(rf"[+-]?[1-9]\d{{0,2}}(?:{re.escape(separator)}\d{{3}})+")

    def number(self, grouping: bool) -> re.Pattern[str]:
        """Numbers in this convention, digits grouped or not ("3.358,6", "3358,6")."""
        whole = r"0|[1-9]\d*"
        if grouping:
            whole += rf"|[1-9]\d{{0,2}}(?:{re.escape(self.thousands)}\d{{3}})+"
        return re.compile(rf"[+-]?(?:{whole})(?:{re.escape(self.decimal)}\d+)?")

    def to_float(self, value: str) -> str:
        """A number in this convention as Python writes it."""
        return value.replace(self.thousands, "").replace(self.decimal, ".")


_VIETNAMESE = _Convention(thousands=".", decimal=",")
_ENGLISH = _Convention(thousands=",", decimal=".")


def _type_column(column: pd.Series, convention: _Convention, keep: bool,
                 grouping: bool = True) -> pd.Series:
    cells = [v.strip() or None if isinstance(v, str) else None for v in column]
    text = pd.Series(cells, index=column.index, dtype=object, name=column.name)
    values = [v for v in cells if v is not None]
    if not values or keep:
        return text
    if all(v.lower() in _BOOLS for v in values):
        return text.map(lambda v: None if v is None else _BOOLS[v.lower()]).astype("boolean")
    if all(_INT.fullmatch(v) for v in values):
        return pd.to_numeric(text).astype("Int64")
    separator = _thousands_separator(values, convention) if grouping else None
    if separator is not None:
        return pd.to_numeric(text.map(lambda v: v and v.replace(separator, ""))).astype("Int64")
    if all(_NUM.fullmatch(v) for v in values):
        return pd.to_numeric(text).astype("float64")
    number = convention.number(grouping)
    if all(number.fullmatch(v) for v in values):
        return pd.to_numeric(text.map(lambda v: v and convention.to_float(v))).astype("float64")
    dates = _dates(values)
    if dates is not None:
        return text.map(lambda v: None if v is None else dates[v])
    if all(_DATETIME.fullmatch(v) for v in values):
        return _datetimes(text)
    return text


def _thousands_separator(values: list[str], convention: _Convention) -> str | None:
    """The separator grouping every value's digits in threes (whole numbers), if any: the
    convention's, or the other one when some value uses it twice ("8.435.700").
    """
    for separator in (convention.thousands, convention.decimal):
        grouped = convention.grouped_int(separator)
        matches = [bool(grouped.fullmatch(v)) for v in values]
        if not any(matches) or not all(m or _INT.fullmatch(v) for m, v in zip(
                matches, values, strict=True)):
            continue
        if not all(_INT.fullmatch(v.replace(separator, "")) for v in values):
            continue  # more digits than Int64 holds
        if separator == convention.thousands or any(v.count(separator) > 1 for v in values):
            return separator
    return None


def _numeric_text_note(name: str, column: pd.Series, number: re.Pattern[str]) -> str | None:
    """A report line for a text column most of whose values look like numbers (``number``
    being how the file writes them), showing the first value that is not like the others.
    """
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return None
    values = [(i, v) for i, v in column.items() if isinstance(v, str)]
    numeric = [(i, v) for i, v in values if _NUMBERISH.fullmatch(v)]
    if not numeric or len(numeric) * 2 < len(values):
        return None
    if all(_CODE.fullmatch(v) for _, v in numeric):
        return None  # zero-padded codes, text on purpose
    best = max((number, _NUM), key=lambda p: sum(bool(p.fullmatch(v)) for _, v in values))
    odd = [(i, v) for i, v in values if not best.fullmatch(v)]
    if not odd:
        return None
    row, value = odd[0]
    where = f"row {int(row) + 1}: " if pd.api.types.is_integer(row) else ""
    return (f"column {name!r} looks numeric but was kept as text: {len(odd)} of {len(values)} "
            f"values are not numbers written like the others ({where}{value!r}); fix them "
            f"to have the column fused into the twin")


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
