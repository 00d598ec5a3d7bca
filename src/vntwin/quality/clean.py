"""*Clean* (sạch): no duplicate rows, no outliers, no encoding damage, no stray whitespace."""

from __future__ import annotations

from vntwin.datastore.files import quote_literal
from vntwin.quality.base import CheckResult, Context, Finding, check
from vntwin.quality.columns import Column
from vntwin.quality.tables import Table


@check("duplicates")
def duplicates(ctx: Context) -> CheckResult | None:
    """Rows that repeat an earlier row in every column."""
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        if not table.rows or not table.columns:
            continue
        cols = ", ".join(c.sql for c in table.columns)
        # hash every row once; only rows whose hash repeats are compared column by column
        repeated = f"""WITH h AS (SELECT _id, hash({cols}) AS h FROM {table.rel}),
            r AS (SELECT h FROM h GROUP BY h HAVING count(*) > 1)
            SELECT t.* FROM {table.rel} t JOIN h ON h._id = t._id WHERE h.h IN (SELECT h FROM r)"""
        dup, = table.con.execute(
            f"SELECT count(*) - count(DISTINCT ({cols})) FROM ({repeated})").fetchone() \
            or (0,)
        total += table.rows
        if not dup:
            continue
        dup = int(dup)
        failing += dup
        pairs = table.con.execute(
            f"SELECT _id, first_id FROM (SELECT _id, min(_id) OVER (PARTITION BY {cols}) "
            f"AS first_id FROM ({repeated})) WHERE _id > first_id ORDER BY _id "
            f"LIMIT {ctx.max_rows}").fetchall()
        findings.append(Finding(
            "duplicates", f"{dup} rows repeat an earlier row", dup, table.resource_id,
            table.resource_name, None, [int(r[0]) for r in pairs],
            [f"row {int(r[0])} = row {int(r[1])}" for r in pairs[: ctx.rules.max_examples]]))
    return CheckResult(total - failing, total, findings, unit="rows") if total else None


def _measures(table: Table) -> list[Column]:
    return table.of_role("measure")


@check("outliers")
def outliers(ctx: Context) -> CheckResult | None:
    """Tukey's far-out values (log scale for positive values spanning decades)."""
    rules = ctx.rules_of("outliers")
    k = float(rules.param("iqr_factor", 3.0))
    span = float(rules.param("log_span", 2.0))
    least = int(rules.param("min_values", 20))
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c in _measures(table):
            x = f"CAST({c.sql} AS DOUBLE)"
            row = table.con.execute(
                f"SELECT count({x}), min({x}), max({x}) FROM {table.rel} "
                f"WHERE isfinite({x})").fetchone()
            n, low, high = (int(row[0]), row[1], row[2]) if row else (0, None, None)
            if n < least or low is None:
                continue
            # heavy-tailed counts and areas are tested on a log scale, zeros left out
            # (a zero may be real or stand for "unknown": completeness is not this check)
            positive = table.con.execute(
                f"SELECT min({x}) FROM {table.rel} WHERE isfinite({x}) AND {x} > 0"
            ).fetchone()
            smallest = positive[0] if positive else None
            logged = low >= 0 and smallest is not None and high / smallest > 10 ** span
            f = f"log10({x})" if logged else x
            domain = f"isfinite({x}) AND {x} > 0" if logged else f"isfinite({x})"
            q1, q3 = table.con.execute(
                f"SELECT quantile_cont({f}, 0.25), quantile_cont({f}, 0.75) FROM {table.rel} "
                f"WHERE {domain}").fetchone() or (None, None)
            total += n
            if q1 is None or q3 is None or q3 <= q1:
                continue
            lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
            cond = f"{domain} AND ({f} < {lo!r} OR {f} > {hi!r})"
            bad = int(table.scalar(f"SELECT count(*) FROM {table.rel} WHERE {cond}") or 0)
            if bad:
                failing += bad
                shown = (f"[{10 ** lo:.4g}, {10 ** hi:.4g}]" if logged
                         else f"[{lo:.4g}, {hi:.4g}]")
                findings.append(ctx.rows_finding(
                    "outliers", table, c, cond, f"{bad} values of '{c.name}' are far outside "
                    f"the rest {shown}{' (log scale)' if logged else ''}", bad))
    return CheckResult(total - failing, total, findings) if total else None


def _text_check(ctx: Context, check_id: str, condition: str, what: str,
                params: list[str]) -> CheckResult | None:
    """Count and list text values where ``condition`` (with ``{c}`` for the column) holds,
    every text column of a table in one scan.
    """
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        texts = [c for c in table.columns if c.textual and c.role != "geometry"]
        if not texts:
            continue
        parts = []
        for c in texts:
            parts += [f"count({c.sql})",
                      f"count(*) FILTER (WHERE {condition.format(c=c.sql)})"]
        counts = table.con.execute(f"SELECT {', '.join(parts)} FROM {table.rel}",
                                   params * len(texts)).fetchone() or ()
        for i, c in enumerate(texts):
            n, bad = int(counts[2 * i]), int(counts[2 * i + 1])
            total += n
            if bad:
                failing += bad
                findings.append(ctx.rows_finding(
                    check_id, table, c, condition.format(c=c.sql),
                    f"{bad} values of '{c.name}' have {what}", bad, params=tuple(params)))
    return CheckResult(total - failing, total, findings) if total else None


def _literal(text: str) -> str:
    return quote_literal(text).replace("{", "{{").replace("}", "}}")


@check("encoding")
def encoding(ctx: Context) -> CheckResult | None:
    """Mojibake: text decoded in the wrong encoding, or replacement characters."""
    rules = ctx.rules_of("encoding")
    patterns = rules.param("patterns", [])
    if not patterns:
        return None
    pattern = "|".join(f"(?:{p})" for p in patterns)
    prefilter = str(rules.param("prefilter", "") or ".")
    # literals, not parameters: DuckDB compiles a constant pattern once, not per row
    condition = (f"(regexp_matches({{c}}, {_literal(prefilter)}) AND "
                 f"regexp_matches({{c}}, {_literal(pattern)}))")
    return _text_check(ctx, "encoding", condition, "encoding damage (mojibake)", [])


@check("whitespace")
def whitespace(ctx: Context) -> CheckResult | None:
    """Leading, trailing or doubled whitespace (plain string functions: no regex)."""
    return _text_check(ctx, "whitespace",
                       "({c} <> trim({c}, ' \t\r\n') OR contains({c}, '  ') OR "
                       "contains({c}, chr(9)))", "stray whitespace", [])


__all__ = ["duplicates", "encoding", "outliers", "whitespace"]
