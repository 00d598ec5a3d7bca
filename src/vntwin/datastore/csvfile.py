"""CSV dialect, header and DuckDB ``read_csv`` calls for the loader.

DuckDB's sniffer is fast and types columns from the whole file (``sample_size=-1``), but
on a malformed file it either gives up without a line number or settles for a wrong
dialect (one column holding every line). So the delimiter and header are read here,
from the first records, and passed to DuckDB explicitly with ``strict_mode``; when the
fast read fails, a second all-VARCHAR read without the sniffer finds the line.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from vntwin.datastore.files import quote_literal
from vntwin.errors import ValidationError

DELIMITERS = (",", ";", "\t", "|")
_HEAD_BYTES = 1 << 20
_PROBE_RECORDS = 20
_LOOKS_LIKE_DATA = re.compile(r"^[-+]?(\d[\d.,]*|\d{4}-\d{2}-\d{2}.*)$")


@dataclass(frozen=True)
class CsvLayout:
    """What the loader needs to know before DuckDB reads the file."""

    delimiter: str
    header: list[str]


def sniff_layout(path: Path, delimiter: str | None = None) -> CsvLayout:
    """Read the header and choose the delimiter (``,`` ``;`` tab ``|``) from the first rows.

    The delimiter that splits the header into the most fields, with the following rows
    agreeing, wins. Raises ValidationError for an empty file or a missing header.
    """
    with path.open("rb") as file:
        data = file.read(_HEAD_BYTES + 1)
    if len(data) > _HEAD_BYTES:  # keep whole lines only
        data = data[: data.rfind(b"\n") + 1] or data[:_HEAD_BYTES]
    head = data.decode("utf-8-sig", errors="replace")
    if not head.strip():
        raise ValidationError({"file": ["the file is empty"]})
    choice = delimiter or _choose_delimiter(head)
    header = next(csv.reader(io.StringIO(head), delimiter=choice), [])
    _check_header(header)
    return CsvLayout(choice, header)


def _choose_delimiter(head: str) -> str:
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        try:
            rows = _first_records(head, delimiter)
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or [rows[0]]
        agree = sum(len(row) == width for row in body) / len(body)
        score = (agree, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _first_records(head: str, delimiter: str) -> list[list[str]]:
    """Return the first records of ``head``, up to a few dozen."""
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    rows: list[list[str]] = []
    for row in reader:
        if row:
            rows.append(row)
        if len(rows) > _PROBE_RECORDS:
            break
    return rows


def _check_header(header: list[str]) -> None:
    cells = [cell.strip() for cell in header]
    if not any(cells):
        raise ValidationError({"file": ["line 1: the header row is empty"]})
    if all(_LOOKS_LIKE_DATA.match(cell) for cell in cells):
        raise ValidationError(
            {"file": ["line 1: the file has no header row (the first row holds only data)"]}
        )


def placeholder_names(count: int) -> list[str]:
    """Positional column names used while loading (renamed to the real ones at the end)."""
    return [f"__c{i}" for i in range(count)]


def read_csv_sql(path: Path, layout: CsvLayout, *, all_varchar: bool = False) -> str:
    """Return a ``read_csv(...)`` table expression ``path``, with placeholder column names.

    ``all_varchar`` skips DuckDB's sniffer: every column is text, and the first malformed
    record is reported with its line number.
    """
    names = placeholder_names(len(layout.header))
    options = [
        "header = true",
        f"delim = {quote_literal(layout.delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
        "skip = 0",
        "strict_mode = true",
        "null_padding = false",
    ]
    if all_varchar:
        columns = ", ".join(f"{quote_literal(name)}: 'VARCHAR'" for name in names)
        options += [f"columns = {{{columns}}}", "auto_detect = false"]
    else:
        listed = ", ".join(quote_literal(name) for name in names)
        options += ["sample_size = -1", f"names = [{listed}]"]
    return f"read_csv({quote_literal(str(path))}, {', '.join(options)})"


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_PROBLEMS = (
    (re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)"),
     "expected {0} columns, found {1}"),
    (re.compile(r"unterminated quote", re.IGNORECASE), "a quoted value is not closed"),
    (re.compile(r"quote", re.IGNORECASE), "a quote character in the wrong place"),
    (re.compile(r"Invalid unicode", re.IGNORECASE), "invalid UTF-8"),
    (re.compile(r"Maximum line size", re.IGNORECASE), "the line is too long"),
)


def describe_csv_error(message: str) -> str | None:
    """``"line N: problem"`` from a DuckDB CSV error, or None if it names no line."""
    line = _LINE.search(message)
    if line is None:
        return None
    detail = message.split("Original Line:", 1)[-1]
    for pattern, text in _PROBLEMS:
        found = pattern.search(detail)
        if found:
            return f"line {line.group(1)}: {text.format(*found.groups())}"
    return f"line {line.group(1)}: malformed CSV record"
