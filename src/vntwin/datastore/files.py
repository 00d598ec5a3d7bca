"""Where a resource's DuckDB file lives, and how readers open it.

One file per resource keeps loads atomic (write a temporary file, rename it into place)
and lets a reader open exactly the tables it may see. Resource ids become file names,
so they are checked here before any path is built from them.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from vntwin.errors import NotFound, ValidationError

TABLE = "data"
"""Name of the table inside every resource file."""

_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

READ_ONLY_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
"""Config for every reader connection. DuckDB refuses to open one file twice in a process
with different configs, so all readers must use this same dict."""


def is_resource_id(value: str) -> bool:
    """Whether ``value`` can name a resource (CKAN ids are UUIDs; we allow a-z 0-9 - _)."""
    return bool(_RESOURCE_ID.fullmatch(value))


def resource_file(store_dir: Path, resource_id: str) -> Path:
    """Path of the resource's DuckDB file; rejects ids that could escape ``store_dir``."""
    if not is_resource_id(resource_id):
        raise ValidationError({"resource_id": [f"invalid resource id: {resource_id!r}"]})
    return Path(store_dir) / f"{resource_id}.duckdb"


def existing_resource_file(store_dir: Path, resource_id: str) -> Path:
    """Path of a loaded resource's file, or NotFound (also for ids that cannot exist)."""
    if not is_resource_id(resource_id):
        raise NotFound(f"resource {resource_id!r} was not found in the datastore")
    path = Path(store_dir) / f"{resource_id}.duckdb"
    if not path.is_file():
        raise NotFound(f"resource {resource_id!r} was not found in the datastore")
    return path


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a resource file read-only, with file access and extension loading disabled."""
    con = duckdb.connect(str(path), read_only=True, config=dict(READ_ONLY_CONFIG))
    con.execute("SET enable_progress_bar = false")  # long queries would print to stdout
    return con


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL (double quotes, inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for DuckDB SQL, for the few places that cannot bind it."""
    return "'" + value.replace("'", "''") + "'"
