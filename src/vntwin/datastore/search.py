"""``datastore_search``: CKAN's row search over one resource's DuckDB table.

The result has CKAN's shape (``fields``, ``records``, ``total``, ``_links``, ...), so
CKAN clients page through it unchanged. Full-text ``q`` ignores case and diacritics
(``"ha noi"`` finds ``"Hà Nội"``, ``"da nang"`` finds ``"Đà Nẵng"``; see ``textmatch``).
Identifiers are checked against the table and quoted (``params``); values are bound
parameters.

>>> datastore_search(store, "3f1c", q="ha noi", sort="Dân số desc", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
from duckdb.sqltypes import DuckDBPyType

from vntwin.datastore.files import TABLE, connect_read_only, existing_resource_file, quote_ident
from vntwin.datastore.params import (
    DEFAULT_LIMIT,
    SortKey,
    parse_fields,
    parse_filters,
    parse_paging,
    parse_q,
    parse_sort,
)
from vntwin.datastore.records import RECORDS_FORMATS, format_records, table_rows
from vntwin.datastore.textmatch import word_pattern
from vntwin.datastore.types import ckan_type
from vntwin.errors import SearchQueryError, ValidationError

DEFAULT_PATH = "/api/3/action/datastore_search"


def datastore_search(
    store_dir: Path,
    resource_id: str,
    *,
    q: str | Mapping[str, object] | None = None,
    filters: Mapping[str, object] | None = None,
    fields: str | Sequence[str] | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    include_total: bool = True,
    records_format: str = "objects",
    distinct: bool = False,
    base_path: str | None = None,
) -> dict[str, Any]:
    """Search a loaded resource's rows, CKAN-style.

    ``q``: words that must all occur in the row's text columns (or a dict of
    ``{column: words}``); ``filters``: ``{column: value or [values]}`` (equality);
    ``fields``: columns to return; ``sort``: ``"col desc, other"``; ``limit`` is capped
    at 32000. Raises NotFound for a resource without a table, ValidationError for an
    unknown column or a bad value, SearchQueryError if DuckDB rejects the query.
    """
    if records_format not in RECORDS_FORMATS:
        raise ValidationError({"records_format": [f"must be one of {', '.join(RECORDS_FORMATS)}"]})
    limit, offset = parse_paging(limit, offset)
    path = existing_resource_file(Path(store_dir), resource_id)
    con = connect_read_only(path)
    try:
        relation = con.table(TABLE)
        types = dict(zip(relation.columns, relation.types, strict=True))
        columns = list(types)
        selected = parse_fields(fields, columns)
        where, values = _where(parse_q(q, columns), parse_filters(filters, columns), types, con)
        order = _order_by(parse_sort(sort, columns), selected, distinct)
        select = ", ".join(quote_ident(name) for name in selected)
        head = "SELECT DISTINCT" if distinct else "SELECT"
        query = f"{head} {select} FROM {TABLE}{where}{order} LIMIT {limit} OFFSET {offset}"
        table = _run(con, query, values).to_arrow_table()
        total = _count(con, select, where, values, distinct) if include_total else None
    finally:
        con.close()
    ckan_types = [ckan_type(types[name]) for name in selected]
    result: dict[str, Any] = {
        "resource_id": resource_id,
        "fields": [{"id": name, "type": kind} for name, kind in zip(selected, ckan_types,
                                                                     strict=True)],
        "records": format_records(table_rows(table, ckan_types), selected, records_format),
        "records_format": records_format,
        "limit": limit,
        "_links": _links(base_path or DEFAULT_PATH, resource_id, offset, limit, {
            "q": q, "filters": filters, "fields": fields, "sort": sort,
            "distinct": distinct, "records_format": records_format,
            "include_total": include_total,
        }),
    }
    if offset:
        result["offset"] = offset
    if total is not None:
        result["total"] = total
        result["total_was_estimated"] = False
    return result


def _where(words: dict[str | None, list[str]], filters: dict[str, list[object]],
           types: dict[str, DuckDBPyType], con: duckdb.DuckDBPyConnection
           ) -> tuple[str, list[object]]:
    """Build the WHERE clause and its bound values from ``q`` words and equality filters."""
    clauses: list[str] = []
    values: list[object] = []
    text_columns = [name for name, kind in types.items() if ckan_type(kind) == "text"]
    for column, terms in words.items():
        targets = [column] if column is not None else text_columns
        if not targets:
            clauses.append("false")
            continue
        for term in terms:
            tests = [f"regexp_matches(CAST({quote_ident(name)} AS VARCHAR), ?)"
                     for name in targets]
            clauses.append("(" + " OR ".join(tests) + ")")
            values.extend([word_pattern(term)] * len(targets))
    for column, wanted in filters.items():
        sql_type = str(types[column])
        present = [_filter_value(value) for value in wanted if value is not None]
        _check_filter_values(con, column, sql_type, present)
        tests = []
        if present:
            marks = ", ".join(f"CAST(? AS {sql_type})" for _ in present)
            tests.append(f"{quote_ident(column)} IN ({marks})")
            values.extend(present)
        if len(present) < len(wanted):
            tests.append(f"{quote_ident(column)} IS NULL")
        clauses.append("(" + " OR ".join(tests) + ")" if tests else "false")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def _filter_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_filter_values(con: duckdb.DuckDBPyConnection, column: str, sql_type: str,
                         values: list[str]) -> None:
    """ValidationError naming the column if a filter value is not of the column's type."""
    if not values or sql_type in ("VARCHAR", "JSON"):
        return
    row = con.execute(
        f"SELECT list_filter(?::VARCHAR[], v -> TRY_CAST(v AS {sql_type}) IS NULL)", [values]
    ).fetchone()
    bad = row[0] if row else []
    if bad:
        raise ValidationError({"filters": [f'invalid value for "{column}": {bad[0]!r}']})


def _order_by(keys: list[SortKey], selected: list[str], distinct: bool) -> str:
    """ORDER BY the sort keys, then ``_id`` so pages are stable (DISTINCT: all columns)."""
    items = [f"{quote_ident(key.column)} {'DESC' if key.descending else 'ASC'}" for key in keys]
    if distinct:
        sorted_names = {key.column for key in keys}
        missing = [name for name in selected if name not in sorted_names]
        if any(key.column not in selected for key in keys):
            raise ValidationError({"sort": ["with distinct, sort only by returned fields"]})
        items += [quote_ident(name) for name in missing]
    elif not any(key.column == "_id" for key in keys):
        items.append("_id")
    return " ORDER BY " + ", ".join(items) if items else ""


def _run(con: duckdb.DuckDBPyConnection, query: str, values: list[object]
         ) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(query, values)
    except duckdb.ConversionException as error:
        raise ValidationError({"filters": [str(error).splitlines()[0]]}) from None
    except duckdb.Error as error:
        raise SearchQueryError(f"search failed: {str(error).splitlines()[0]}") from None


def _count(con: duckdb.DuckDBPyConnection, select: str, where: str, values: list[object],
           distinct: bool) -> int:
    if distinct:
        query = f"SELECT count(*) FROM (SELECT DISTINCT {select} FROM {TABLE}{where})"
    else:
        query = f"SELECT count(*) FROM {TABLE}{where}"
    row = _run(con, query, values).fetchone()
    return int(row[0]) if row else 0


def _links(base_path: str, resource_id: str, offset: int, limit: int,
           params: dict[str, Any]) -> dict[str, str]:
    """CKAN's ``_links``: this search from the start, and the next page."""
    query: dict[str, str] = {"resource_id": resource_id}
    for name, value in params.items():
        if (name == "distinct" and not value) or (name == "include_total" and value):
            continue
        if name == "records_format" and value == "objects":
            continue
        if value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        elif isinstance(value, Mapping):
            query[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, str):
            query[name] = value
        else:
            query[name] = ",".join(str(item) for item in value)
    if limit != DEFAULT_LIMIT:
        query["limit"] = str(limit)
    start = f"{base_path}?{urlencode(query)}"
    following = f"{base_path}?{urlencode({**query, 'offset': str(offset + limit)})}"
    return {"start": start, "next": following}
