"""Table sources for Parquet and GeoJSON: a SELECT with positional column names.

Each function returns ``(select_sql, original_names)``; the SELECT yields columns named
``__c0``, ``__c1``, ... so the loader can type and rename them the same way for every
format. Types come from DuckDB reading the whole file (Parquet carries them; for
GeoJSON ``sample_size=-1`` makes DuckDB look at every feature).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import duckdb
from duckdb.sqltypes import DuckDBPyType

from vntwin.datastore.files import quote_ident, quote_literal
from vntwin.errors import ValidationError

_JSON_BYTE = re.compile(r"at byte (\d+)")


def parquet_source(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, list[str]]:
    """SELECT over a Parquet file's columns, text in NFC (GeoParquet geometry is GEOMETRY)."""
    relation = f"read_parquet({quote_literal(str(path))})"
    try:
        described = con.sql(f"SELECT * FROM {relation}")
        names, types = described.columns, described.types
    except duckdb.Error as error:
        raise ValidationError({"file": [f"not a readable Parquet file: {_first_line(error)}"]}) \
            from None
    columns = [f"nfc_normalize({quote_ident(name)})" if str(kind) == "VARCHAR"
               else quote_ident(name) for name, kind in zip(names, types, strict=True)]
    select = ", ".join(f"{column} AS __c{i}" for i, column in enumerate(columns))
    return f"SELECT {select} FROM {relation}", list(names)


def geojson_source(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, list[str]]:
    """SELECT over a FeatureCollection: the feature id and properties, then ``geometry``.

    Geometry is kept as GeoJSON text; nested property values become JSON.
    """
    size = path.stat().st_size
    reader = (f"read_json({quote_literal(str(path))}, sample_size = -1, "
              f"maximum_object_size = {size + 1024})")
    try:
        relation = con.sql(f"SELECT * FROM {reader}")
        types = dict(zip(relation.columns, relation.types, strict=True))
    except duckdb.Error as error:
        raise json_error(error, path) from None
    feature = types.get("features")
    keys = _struct_fields(feature.child) if feature is not None and \
        str(feature).endswith("[]") else None
    if keys is None:
        raise ValidationError({"file": ["expected a GeoJSON FeatureCollection with features"]})
    columns: list[tuple[str, str]] = []
    if "id" in keys:
        columns.append(("id", "f.id"))
    properties = keys.get("properties")
    names = _struct_fields(properties) if properties is not None else None
    if names is not None:
        columns += [(name, f"f.properties.{quote_ident(name)}") for name in names]
    elif properties is not None:
        columns.append(("properties", "f.properties"))
    columns.append(("geometry", "CAST(to_json(f.geometry) AS VARCHAR)"))
    select = ", ".join(f"{expr} AS __c{i}" for i, (_, expr) in enumerate(columns))
    source = f"SELECT {select} FROM (SELECT unnest(features) AS f FROM {reader})"
    return source, [name for name, _ in columns]


def _struct_fields(kind: object) -> dict[str, DuckDBPyType] | None:
    """Return a STRUCT type's fields by name, or None for any other type."""
    if not isinstance(kind, DuckDBPyType) or not str(kind).startswith("STRUCT"):
        return None
    return dict(cast(list[tuple[str, DuckDBPyType]], kind.children))


def json_error(error: Exception, path: Path) -> ValidationError:
    """Turn a DuckDB JSON parse error into a ValidationError naming its line, if known."""
    found = _JSON_BYTE.search(str(error))
    if found is None:
        return ValidationError({"file": [f"not a readable GeoJSON file: {_first_line(error)}"]})
    offset = int(found.group(1))
    with path.open("rb") as file:
        line = file.read(offset).count(b"\n") + 1
    return ValidationError({"file": [f"line {line}: malformed JSON"]})


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
