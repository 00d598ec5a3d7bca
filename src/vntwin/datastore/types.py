"""DuckDB column types → CKAN datastore type names, and how to store the others.

CKAN clients see Postgres-flavoured type names (``text``, ``int``, ``numeric``,
``float8``, ``bool``, ``date``, ``timestamp``, ``time``, ``json``). A loaded table keeps
only DuckDB types that map cleanly onto those; anything else (time zones, nested values,
binary, geometry, ...) is converted once at load time, so readers never meet it.
"""

from __future__ import annotations

from duckdb.sqltypes import DuckDBPyType

_CKAN_BY_DUCKDB = {
    "TINYINT": "int",
    "SMALLINT": "int",
    "INTEGER": "int",
    "BIGINT": "int",
    "UTINYINT": "int",
    "USMALLINT": "int",
    "UINTEGER": "int",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "UHUGEINT": "numeric",
    "FLOAT": "float8",
    "DOUBLE": "float8",
    "VARCHAR": "text",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIME": "time",
    "TIME WITH TIME ZONE": "time",
    "JSON": "json",
}

_NESTED = ("STRUCT", "MAP", "UNION")


def ckan_type(duckdb_type: DuckDBPyType | str) -> str:
    """CKAN type name for a DuckDB type (``text`` for anything without a closer match).

    >>> ckan_type("DECIMAL(10,2)")
    'numeric'
    """
    name = str(duckdb_type).upper()
    if name in _CKAN_BY_DUCKDB:
        return _CKAN_BY_DUCKDB[name]
    if name.startswith("DECIMAL"):
        return "numeric"
    if name.endswith("]") or name.startswith(_NESTED):
        return "json"
    return "text"


def storage_conversion(duckdb_type: DuckDBPyType | str, column_sql: str,
                       geojson: bool) -> tuple[str, str] | None:
    """``(target type, USING expression)`` to store a column, or None to keep it as is.

    ``geojson`` says whether ``ST_AsGeoJSON`` is loaded; without it geometries are kept
    as WKT text.
    """
    name = str(duckdb_type).upper()
    if name == "TIMESTAMP WITH TIME ZONE":
        return "TIMESTAMP", f"timezone('UTC', {column_sql})"
    if name == "TIME WITH TIME ZONE":
        return "TIME", f"CAST({column_sql} AS TIME)"
    if name in ("TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"):
        return "TIMESTAMP", f"CAST({column_sql} AS TIMESTAMP)"
    if name.endswith("]") or name.startswith(_NESTED):
        return "JSON", f"to_json({column_sql})"
    if name.startswith("GEOMETRY"):
        if geojson:
            return "VARCHAR", f"CAST(ST_AsGeoJSON({column_sql}) AS VARCHAR)"
        return "VARCHAR", f"CAST({column_sql} AS VARCHAR)"
    if name == "BLOB":
        return "VARCHAR", f"base64({column_sql})"
    if name in _CKAN_BY_DUCKDB or name.startswith("DECIMAL"):
        return None
    return "VARCHAR", f"CAST({column_sql} AS VARCHAR)"
