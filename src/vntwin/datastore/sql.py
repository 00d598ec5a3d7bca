"""``datastore_search_sql``: a caller's SELECT over resources, safely, with limits.

CKAN lets callers query resources in SQL, naming each table by its resource id in
double quotes (``SELECT * FROM "3f1c..." WHERE ...``). Here the query is first parsed by
DuckDB: exactly one statement, a SELECT. Then it runs on a fresh in-memory connection
that can see nothing but the resources it names and may read: each is ATTACHed
read-only and exposed as a view named by its id, after which file access, extension
loading and configuration changes are switched off. A worker thread runs the query and
is interrupted at the time limit; at most ``row_limit`` rows are fetched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from vntwin.datastore.files import TABLE, is_resource_id, quote_ident, quote_literal
from vntwin.datastore.records import format_records, table_rows
from vntwin.datastore.types import ckan_type
from vntwin.errors import NotAuthorized, NotFound, SearchQueryError

MAX_RESOURCES = 20
"""Most resources one query may name."""

_FIRST_WORDS = frozenset({"select", "with", "from", "values", "("})
MEMORY_LIMIT = "2GB"
"""Memory one query may use; nothing spills to disk, so a larger query fails instead."""

_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "memory_limit": MEMORY_LIMIT,
    "max_temp_directory_size": "0B",
}
# Introspection that would show the server's file paths or settings: attached resources
# are files in the data dir, and DuckDB has no setting that hides their paths.
_HIDDEN_FUNCTION_PREFIXES = ("duckdb_", "pragma_")
_HIDDEN_FUNCTIONS = frozenset({"current_setting", "getenv", "which_secret", "database_list"})
_LOCKDOWN = (
    "SET enable_progress_bar = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def datastore_search_sql(
    store_dir: Path,
    sql: str,
    *,
    allowed_resource_ids: Callable[[str], bool] | set[str],
    time_limit_s: float,
    row_limit: int,
) -> dict[str, Any]:
    """Run one read-only SELECT over the resources it names, CKAN-style.

    ``allowed_resource_ids`` says which resources the caller may read (a set, or a
    predicate). Raises SearchQueryError for anything but a single SELECT, for a query
    DuckDB rejects (reading files, loading extensions, ...) and at the time limit;
    NotFound for a named resource without a table; NotAuthorized for one the caller may
    not read. ``records_truncated`` says whether rows beyond ``row_limit`` were dropped.
    """
    check_select(sql)
    allowed = allowed_resource_ids if callable(allowed_resource_ids) \
        else allowed_resource_ids.__contains__
    resources = {}
    for name in referenced_tables(sql):
        if not is_resource_id(name):
            continue
        path = Path(store_dir) / f"{name}.duckdb"
        if not path.is_file():
            raise NotFound(f"resource {name!r} was not found in the datastore")
        if not allowed(name):
            raise NotAuthorized(f"not authorized to read resource {name!r}")
        resources[name] = path
    if len(resources) > MAX_RESOURCES:
        raise SearchQueryError(f"a query may use at most {MAX_RESOURCES} resources")
    names, types, table, truncated = _run_limited(_sandbox(resources), sql, time_limit_s,
                                                  row_limit)
    ckan_types = [ckan_type(kind) for kind in types]
    return {
        "sql": sql,
        "fields": [{"id": name, "type": kind}
                   for name, kind in zip(names, ckan_types, strict=True)],
        "records": format_records(table_rows(table, ckan_types), names, "objects"),
        "records_truncated": truncated,
    }


def check_select(sql: str) -> None:
    """SearchQueryError unless ``sql`` is exactly one SELECT (WITH/FROM/VALUES forms too).

    DuckDB's parser gives the statement type; ``PRAGMA``, ``SHOW`` and ``DESCRIBE`` also
    parse as SELECTs, so the first keyword is checked as well.
    """
    try:
        statements = duckdb.extract_statements(sql)
        tokens = duckdb.tokenize(sql)
    except duckdb.Error as error:
        raise SearchQueryError(f"invalid SQL: {_first_line(error)}") from None
    if len(statements) != 1:
        raise SearchQueryError(f"expected exactly one SQL statement, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SearchQueryError(f"only SELECT statements are allowed, not {kind.name}")
    if not tokens:
        raise SearchQueryError("empty SQL statement")
    start = tokens[0][0]
    end = tokens[1][0] if len(tokens) > 1 else len(sql)
    first = sql[start:end].strip().lower()
    if first not in _FIRST_WORDS:
        raise SearchQueryError(f"only SELECT statements are allowed, not {first.upper()}")


def referenced_tables(sql: str) -> set[str]:
    """Unqualified table names the SELECT reads, minus its own CTE names."""
    with duckdb.connect(":memory:", config=dict(_CONFIG)) as con:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise SearchQueryError(f"invalid SQL: {tree.get('error_message', 'cannot parse')}")
    tables: set[str] = set()
    ctes: set[str] = set()
    for node in _walk(tree):
        function = str(node.get("function_name", "")).lower()
        if function.startswith(_HIDDEN_FUNCTION_PREFIXES) or function in _HIDDEN_FUNCTIONS:
            raise SearchQueryError(f"the function {function}() is not available")
        if node.get("type") == "BASE_TABLE" and node.get("catalog_name", "") in ("", "memory") \
                and node.get("schema_name", "") in ("", "main"):
            tables.add(str(node.get("table_name", "")))
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            ctes.update(str(item.get("key")) for item in cte_map.get("map", []))
    return tables - ctes


def _walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _sandbox(resources: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    """In-memory connection seeing only ``resources``, then locked down."""
    con = duckdb.connect(":memory:", config=dict(_CONFIG))
    try:
        for number, (name, path) in enumerate(sorted(resources.items())):
            alias = f"resource_{number}"
            con.execute(f"ATTACH {quote_literal(str(path))} AS {alias} (READ_ONLY)")
            con.execute(f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM {alias}.main.{TABLE}")
        for statement in _LOCKDOWN:
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def _run_limited(con: duckdb.DuckDBPyConnection, sql: str, time_limit_s: float,
                 row_limit: int) -> tuple[list[str], list[str], pa.Table, bool]:
    """Execute and fetch at most ``row_limit`` rows in a worker, interrupting it in time.

    Closes ``con`` when done; a worker that ignores the interrupt keeps its connection
    (closing it under a running query is unsafe) and ends on its own.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            result = con.execute(sql)
            description = result.description or []
            outcome["names"] = [str(item[0]) for item in description]
            outcome["types"] = [str(item[1]) for item in description]
            batches, rows = [], 0
            reader = result.to_arrow_reader(max(1, min(row_limit + 1, 10_000)))
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > row_limit:
                    break
            outcome["table"] = pa.Table.from_batches(batches, schema=reader.schema)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="datastore-sql", daemon=True)
    worker.start()
    worker.join(time_limit_s)
    timed_out = worker.is_alive()
    if timed_out:
        con.interrupt()
        worker.join(5.0)
    if not worker.is_alive():
        con.close()
    if timed_out:
        raise SearchQueryError(f"the query took longer than the {time_limit_s:g} s time limit")
    error = outcome.get("error")
    if isinstance(error, duckdb.InterruptException):
        raise SearchQueryError(f"the query took longer than the {time_limit_s:g} s time limit")
    if isinstance(error, duckdb.Error):
        raise SearchQueryError(f"query failed: {_first_line(error)}") from None
    if error is not None:
        raise error
    table: pa.Table = outcome["table"]
    truncated = table.num_rows > row_limit
    return outcome["names"], outcome["types"], table.slice(0, row_limit), truncated


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
