"""Query results → CKAN records: JSON-ready values in objects, lists, CSV or TSV.

Results are fetched as Arrow (DuckDB streams them, and no Python time-zone package is
needed), then each column is turned into plain JSON values the way CKAN renders them:
dates and times in ISO 8601, decimals as numbers, JSON columns parsed, binary in base64.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")


def column_values(column: pa.ChunkedArray | pa.Array, ckan_type: str) -> list[Any]:
    """Return one Arrow column as a list of JSON-ready Python values."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.timestamp("us"), safe=False)  # UTC wall time, no zone
    values = column.to_pylist()
    if ckan_type == "json" or _is_json(kind):
        return [None if value is None else _parse_json(value) for value in values]
    return [jsonable(value) for value in values]


def _is_json(kind: pa.DataType) -> bool:
    return isinstance(kind, pa.ExtensionType) and kind.extension_name == "arrow.json"


def _parse_json(value: object) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return jsonable(value)


def jsonable(value: Any) -> Any:
    """Turn a Python value from Arrow into something ``json.dumps`` accepts, recursively."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if all(isinstance(item, tuple) and len(item) == 2 for item in value) and value:
            return {str(key): jsonable(item) for key, item in value}  # Arrow MAP
        return [jsonable(item) for item in value]
    return str(value)


def table_rows(table: pa.Table, ckan_types: Sequence[str]) -> list[list[Any]]:
    """Return the rows of ``table`` as lists of JSON-ready values."""
    columns = [column_values(table.column(i), ckan_types[i]) for i in range(table.num_columns)]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def format_records(rows: list[list[Any]], names: Sequence[str], records_format: str
                   ) -> list[dict[str, Any]] | list[list[Any]] | str:
    """Shape rows in CKAN's ``records_format``: objects, lists, or CSV/TSV text (no header)."""
    if records_format == "objects":
        return [dict(zip(names, row, strict=True)) for row in rows]
    if records_format == "lists":
        return rows
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if records_format == "tsv" else ",",
                        lineterminator="\n")
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
