"""Custom indicators: one aggregate SQL expression over twin variables, made safe.

The expression is parsed by DuckDB's own parser (``json_serialize_sql``) and its syntax
tree is checked against an allow-list: column references, constants, arithmetic,
comparisons, ``CASE``, ``CAST``, ``FILTER`` and a list of scalar and aggregate
functions. Sub-queries, table functions (``read_csv``...), ``*``, window functions and
anything else are refused before anything runs. It then runs on an in-memory DuckDB
that holds only a table of the needed variables, with external access, extension
loading and configuration changes switched off, grouped by unit (national, province,
commune, cell). Hand-written rather than a general SQL sandbox because the grammar
allowed is tiny and a parser's tree is the surest way to know what a string means.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from vntwin.errors import VntwinError

AGGREGATES = {"sum", "avg", "mean", "min", "max", "count", "median", "quantile_cont",
              "quantile_disc", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp",
              "variance", "bool_and", "bool_or", "count_if", "sumkahan", "fsum", "product",
              "mode", "arg_max", "arg_min", "corr", "covar_pop", "regr_slope", "count_star"}
SCALARS = {"abs", "ceil", "ceiling", "floor", "round", "sqrt", "ln", "log", "log10", "log2",
           "exp", "pow", "power", "greatest", "least", "coalesce", "nullif", "sign",
           "isnan", "isinf", "isfinite", "trunc", "if", "ifnull", "cbrt"}
OPERATORS = {"+", "-", "*", "/", "//", "%", "^", "**"}
_ALLOWED_CLASSES = {"FUNCTION", "COLUMN_REF", "CONSTANT", "COMPARISON", "CONJUNCTION",
                    "CASE", "CAST", "BETWEEN", "OPERATOR"}
_ALLOWED_OPERATOR_TYPES = {"OPERATOR_NOT", "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL",
                           "COMPARE_IN", "COMPARE_NOT_IN"}
_SAFE_CONFIG = {"enable_external_access": "false", "autoinstall_known_extensions": "false",
                "autoload_known_extensions": "false", "lock_configuration": "true",
                "threads": "1"}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UnsafeExpression(VntwinError):
    """The expression uses something outside the allowed grammar, or does not run."""


@dataclass(frozen=True)
class Parsed:
    """An allowed expression and the column names it reads."""

    expression: str
    columns: tuple[str, ...]


def _check(node: Any, columns: list[str], aggregate_depth: int) -> bool:
    """Walk the tree; returns whether an aggregate was seen. Raises on anything else."""
    if isinstance(node, list):
        seen = False
        for item in node:
            seen |= _check(item, columns, aggregate_depth)
        return seen
    if not isinstance(node, dict):
        return False
    cls = node.get("class")
    if cls is None:
        return False
    if cls not in _ALLOWED_CLASSES:
        raise UnsafeExpression(f"not allowed in a custom indicator: {cls.lower()}")
    if cls == "COLUMN_REF":
        names = node.get("column_names") or []
        if len(names) != 1:
            raise UnsafeExpression("name a variable as one identifier, e.g. "
                                   "\"layer:variable\" in double quotes")
        columns.append(str(names[0]))
        return False
    seen = False
    if cls == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if node.get("schema") or node.get("catalog"):
            raise UnsafeExpression(f"function {name!r}: schema-qualified calls are not allowed")
        if name in AGGREGATES:
            if aggregate_depth:
                raise UnsafeExpression(f"aggregate {name!r} inside another aggregate")
            aggregate_depth += 1
            seen = True
        elif name not in SCALARS and name not in OPERATORS:
            raise UnsafeExpression(f"function {name!r} is not allowed (allowed: "
                                   f"{', '.join(sorted(AGGREGATES | SCALARS))})")
    if cls == "OPERATOR" and node.get("type") not in _ALLOWED_OPERATOR_TYPES:
        raise UnsafeExpression(f"operator {str(node.get('type')).lower()} is not allowed")
    for key, value in node.items():
        if key in ("class", "type", "alias", "query_location", "function_name", "schema",
                   "catalog", "value", "column_names", "distinct", "is_operator",
                   "export_state", "cast_type", "try_cast"):
            continue
        if key == "order_bys":
            if value and value.get("orders"):
                raise UnsafeExpression("ORDER BY inside a function is not allowed")
            continue
        seen |= _check(value, columns, aggregate_depth)
    return seen


def parse(expression: str) -> Parsed:
    """Check an expression; returns it with the identifiers it reads."""
    if ";" in expression:
        raise UnsafeExpression("one expression only (no ';')")
    sql = f"SELECT ({expression}\n) AS value FROM t"
    con = duckdb.connect(config=dict(_SAFE_CONFIG))
    try:
        raw = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    finally:
        con.close()
    tree = json.loads(raw[0]) if raw else {}
    if tree.get("error"):
        raise UnsafeExpression(f"not a valid SQL expression: {tree.get('error_message')}")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise UnsafeExpression("one expression only")
    node = statements[0]["node"]
    from_table = node.get("from_table") or {}
    if (node.get("type") != "SELECT_NODE" or len(node.get("select_list", [])) != 1
            or from_table.get("table_name") != "t" or node.get("where_clause")
            or node.get("having") or node.get("group_expressions")
            or (node.get("cte_map") or {}).get("map") or node.get("modifiers")):
        raise UnsafeExpression("only an expression is allowed, not a query")
    columns: list[str] = []
    if not _check(node["select_list"][0], columns, 0):
        raise UnsafeExpression("the expression must aggregate (e.g. sum(population)), so it "
                               "can be reported per unit")
    return Parsed(expression, tuple(dict.fromkeys(columns)))


def evaluate(parsed: Parsed, table: pd.DataFrame | pa.Table, group: str | None) -> pd.Series:
    """The expression per value of ``group`` (one national value when None).

    ``table`` holds one column per identifier of the expression plus the group column.
    Runs on an isolated in-memory DuckDB (no files, no extensions, locked configuration).
    """
    con = duckdb.connect(config=dict(_SAFE_CONFIG))
    try:
        con.register("t", table)
        sql = f"SELECT ({parsed.expression}\n)::DOUBLE AS value FROM t"
        if group:
            sql = (f"SELECT {group} AS grp, ({parsed.expression}\n)::DOUBLE AS value "
                   f"FROM t GROUP BY {group}")
        try:
            frame = con.execute(sql).to_arrow_table().to_pandas()
        except duckdb.Error as exc:
            raise UnsafeExpression(f"the expression does not run: {exc}") from None
    finally:
        con.close()
    if group:
        return pd.Series(frame["value"].to_numpy(dtype=np.float64), index=frame["grp"])
    return pd.Series([float(frame["value"].iloc[0]) if len(frame) and
                      frame["value"].iloc[0] is not None else np.nan], index=["national"])


def evaluate_sets(parsed: Parsed, table: pd.DataFrame | pa.Table,
                  groups: list[str]) -> dict[str | None, pd.Series]:
    """The expression nationally (key None) and per value of each group column, in one
    pass (``GROUPING SETS``) on one isolated connection.
    """
    con = duckdb.connect(config=dict(_SAFE_CONFIG))
    sets = ", ".join(["()", *[f"({g})" for g in groups]])
    columns = ", ".join(groups)
    try:
        con.register("t", table)
        sql = (f"SELECT {columns}, GROUPING({columns}) AS g, ({parsed.expression}\n)::DOUBLE "
               f"AS value FROM t GROUP BY GROUPING SETS ({sets})")
        try:
            frame = con.execute(sql).to_arrow_table().to_pandas()
        except duckdb.Error as exc:
            raise UnsafeExpression(f"the expression does not run: {exc}") from None
    finally:
        con.close()
    out: dict[str | None, pd.Series] = {}
    full = (1 << len(groups)) - 1
    national = frame[frame["g"] == full]
    out[None] = pd.Series(national["value"].to_numpy(dtype=np.float64), index=["national"])
    for position, group in enumerate(groups):
        mask = full ^ (1 << (len(groups) - 1 - position))
        part = frame[frame["g"] == mask]
        out[group] = pd.Series(part["value"].to_numpy(dtype=np.float64),
                               index=part[group].to_numpy())
    return out


def dry_run(parsed: Parsed) -> None:
    """Run the expression on one row of zeros, to catch type errors before any work."""
    table = pd.DataFrame({name: [0.0] for name in parsed.columns})
    table["__grp"] = ["x"]
    evaluate(parsed, table, "__grp")
