"""DuckDB's spatial extension, loaded from its PyPI wheel: never installed from the net.

One loader for every DuckDB connection that needs ST_* functions (datastore previews,
quality checks, vector tiles); see ../shared/RECIPES.md for why the wheel.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def load_spatial(con: duckdb.DuckDBPyConnection) -> bool:
    """Load the extension matching this DuckDB into ``con``; False when it is missing."""
    try:
        import duckdb_extension_spatial as wheel
    except ImportError:
        return False
    row = con.execute("PRAGMA version").fetchone()
    version = str(row[0]) if row else ""
    extension = Path(wheel.__file__).parent / "extensions" / version / "spatial.duckdb_extension"
    literal = "'" + extension.as_posix().replace("'", "''") + "'"
    try:
        con.execute(f"LOAD {literal}")
    except duckdb.Error:
        return False
    return True
