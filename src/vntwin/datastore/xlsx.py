"""XLSX → UTF-8 CSV, one row at a time, so the loader has a single typed path.

openpyxl's read-only mode streams the sheet XML, so a large workbook never sits in
memory; DuckDB then types each column from the whole CSV, exactly as for a CSV upload.
Cells are written in forms DuckDB recognises: ISO dates (a date when the time is
midnight), ``true``/``false``, Python's shortest float repr.
"""

from __future__ import annotations

import csv
import datetime as dt
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

import openpyxl

from vntwin.errors import ValidationError


def xlsx_to_csv(path: Path, target: Path,
                progress: Callable[[int, int], None] | None = None) -> None:
    """Write the first sheet of the workbook at ``path`` to ``target`` as CSV.

    The first row is the header. Empty rows are skipped; a value beyond the header's
    last column is an error naming its row, as is a sheet without a header.
    """
    with path.open("rb") as file:  # a file object: openpyxl would check the name's suffix
        try:
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
            raise ValidationError({"file": [f"not a readable XLSX workbook: {error}"]}) from None
        try:
            sheet = workbook.worksheets[0]
            total = sheet.max_row or 0
            rows = sheet.iter_rows(values_only=True)
            with target.open("w", encoding="utf-8", newline="") as out:
                _write_rows(rows, out, total, progress)
        finally:
            workbook.close()


def _write_rows(rows: Iterable[tuple[object, ...]], out: TextIO, total: int,
                progress: Callable[[int, int], None] | None) -> None:
    writer = csv.writer(out, lineterminator="\n")
    width = 0
    for number, row in enumerate(rows, start=1):
        cells = [_cell_text(value) for value in row]
        if not any(cells):
            continue
        if not width:
            width = _header_width(cells)
            writer.writerow(cells[:width])
            continue
        if any(cells[width:]):
            raise ValidationError({"file": [
                f"row {number}: a value beyond the header's {width} columns"
            ]})
        writer.writerow(cells[:width] + [""] * (width - len(cells)))
        if progress is not None and number % 10_000 == 0:
            progress(number, max(total, number))
    if not width:
        raise ValidationError({"file": ["the first sheet is empty"]})


def _header_width(cells: list[str]) -> int:
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _cell_text(value: object) -> str:
    """Write a cell as CSV text that DuckDB types the way Excel showed it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return unicodedata.normalize("NFC", str(value))
