"""The tables a dataset's quality is measured on, in one DuckDB connection.

Each datastore resource is ATTACHed read-only (``r0``, ``r1``...) into an in-memory
connection, as ``datastore_search_sql`` does, so measuring never locks or changes the
datastore; an uploaded (Geo)Parquet file that is not in the datastore (a twin layer) is
read where it is stored. Row numbers are the datastore's ``_id`` (1 = first data row).
DuckDB's spatial extension is loaded from its PyPI wheel when installed, for geometry
checks. Every check runs as SQL over whole tables, so a 10-million-row table is
measured in DuckDB's memory budget, never in Python lists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vntwin.datastore.files import quote_literal
from vntwin.duckdb_spatial import load_spatial
from vntwin.quality.columns import Column, classify

MEMORY_LIMIT = "3GB"
SAMPLE_ROWS = 500
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "memory_limit": MEMORY_LIMIT,
}


@dataclass
class Table:
    """One resource's rows: where they are (``rel``), how many, and their columns."""

    resource_id: str
    resource_name: str
    rel: str
    rows: int
    columns: list[Column]
    con: duckdb.DuckDBPyConnection = field(repr=False)

    def of_role(self, *roles: str) -> list[Column]:
        """The columns with one of these roles, in table order."""
        return [c for c in self.columns if c.role in roles]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first value of a query's first row."""
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def row_ids(self, condition: str, limit: int, params: Sequence[Any] = ()) -> list[int]:
        """The first ``limit`` row numbers where ``condition`` holds, in order."""
        rows = self.con.execute(f"SELECT _id FROM {self.rel} WHERE {condition} "
                                f"ORDER BY _id LIMIT {int(limit)}", list(params)).fetchall()
        return [int(r[0]) for r in rows]

    def examples(self, column: Column, condition: str, limit: int,
                 params: Sequence[Any] = ()) -> list[str]:
        """A few distinct failing values, for a person to recognise the problem."""
        if limit <= 0:
            return []
        rows = self.con.execute(
            f"SELECT DISTINCT CAST({column.sql} AS VARCHAR) FROM {self.rel} "
            f"WHERE {condition} LIMIT {int(limit)}", list(params)).fetchall()
        return [str(r[0])[:120] for r in rows]


class Tables:
    """The connection and every measurable table of one dataset; close when done."""

    def __init__(self) -> None:
        self.con = duckdb.connect(config=dict(_CONFIG))
        self.con.execute("SET enable_progress_bar = false")
        self.spatial = load_spatial(self.con)
        self.tables: list[Table] = []

    def add_datastore(self, path: Path, resource_id: str, name: str) -> None:
        """Attach a datastore resource's DuckDB file."""
        alias = f"r{len(self.tables)}"
        self.con.execute(f"ATTACH {quote_literal(str(path))} AS {alias} (READ_ONLY)")
        self._add(f"{alias}.main.data", resource_id, name)

    def add_parquet(self, path: Path, resource_id: str, name: str) -> None:
        """Read an uploaded (Geo)Parquet file, numbering its rows in file order."""
        alias = f"r{len(self.tables)}"
        self.con.execute(f"CREATE TEMP TABLE {alias} AS SELECT row_number() OVER () AS _id, "
                         f"* FROM read_parquet({quote_literal(str(path))})")
        self._add(alias, resource_id, name)

    def _add(self, rel: str, resource_id: str, name: str) -> None:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
        names = [str(r[0]) for r in described]
        types = [str(r[1]) for r in described]
        sample = self.con.execute(f"SELECT * FROM {rel} LIMIT {SAMPLE_ROWS}").fetchall()
        columns = [classify(n, t, [row[i] for row in sample])
                   for i, (n, t) in enumerate(zip(names, types, strict=True)) if n != "_id"]
        rows = int(self.con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0])  # type: ignore[index]
        self.tables.append(Table(resource_id, name, rel, rows, columns, self.con))

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def close(self) -> None:
        """Release the connection (and the attached files)."""
        with contextlib.suppress(duckdb.Error):
            self.con.close()
