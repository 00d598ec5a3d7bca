"""*Accurate* (đúng): values have their column's type and lie in their range,
administrative codes and names exist, geometries are valid, points lie inside the
declared territory.
"""

from __future__ import annotations

import logging

import numpy as np

from vntwin.quality.base import CheckResult, Context, Finding, check
from vntwin.quality.columns import ISO_DATE_SQL, Column
from vntwin.quality.sql import as_text, present
from vntwin.quality.tables import Table
from vntwin.quality.territory import outside, territory_of
from vntwin.quality.variables import mappings
from vntwin.twin.vocabulary import load_vocabulary

log = logging.getLogger(__name__)
_DMY = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$"


def _is_kind(c: Column) -> str:
    """SQL true where a text value is a number (a date, for time columns)."""
    if c.role == "time":
        return (f"(regexp_matches(trim({c.sql}), '{_DMY}') OR "
                f"regexp_matches(trim({c.sql}), '{ISO_DATE_SQL}'))")
    return f"(TRY_CAST(trim({c.sql}) AS DOUBLE) IS NOT NULL)"


def _tokens(ctx: Context) -> list[str]:
    return list(ctx.rules_of("completeness").param("missing_tokens", []))


@check("types")
def types(ctx: Context) -> CheckResult | None:
    """Text columns that are mostly numbers (or dates) have no other values."""
    share = float(ctx.rules_of("types").param("dominant_share", 0.9))
    total = failing = 0
    findings: list[Finding] = []
    if not len(ctx.tables):
        return None
    for table in ctx.tables:
        cols = [c for c in table.columns if c.role != "geometry"]
        if not cols:
            continue
        parts = [f"count(*) FILTER (WHERE {present(c, _tokens(ctx))})" for c in cols]
        # codes may be digits or not; dates are the *unified* check's business
        texts = [c for c in cols if c.textual and c.role not in ("admin_code", "admin_name",
                                                                  "id", "time")]
        for c in texts:
            parts.append(f"count(*) FILTER (WHERE {present(c, _tokens(ctx))} AND "
                         f"{_is_kind(c)})")
        row = table.con.execute(f"SELECT {', '.join(parts)} FROM {table.rel}").fetchone()
        counts = list(row or [])
        total += sum(int(n) for n in counts[:len(cols)])
        present_of = {c.name: int(n) for c, n in zip(cols, counts[:len(cols)], strict=True)}
        for c, good in zip(texts, counts[len(cols):], strict=True):
            n = present_of[c.name]
            if n and share <= int(good) / n < 1.0:
                kind = "date" if c.role == "time" else "number"
                cond = f"{present(c, _tokens(ctx))} AND NOT {_is_kind(c)}"
                finding = ctx.rows_finding("types", table, c, cond,
                                           f"{n - int(good)} values of {kind} column "
                                           f"'{c.name}' are not {kind}s", n - int(good))
                failing += finding.count
                findings.append(finding)
    return CheckResult(total - failing, total, findings)


def _range_columns(ctx: Context, table: Table) -> list[tuple[Column, float, float, str]]:
    out: list[tuple[Column, float, float, str]] = []
    for c in table.of_role("lat"):
        out.append((c, -90.0, 90.0, "latitude"))
    for c in table.of_role("lon"):
        out.append((c, -180.0, 180.0, "longitude"))
    vocab = load_vocabulary()
    least = float(ctx.rules_of("variables").param("min_confidence", 0.8))
    for c in table.of_role("measure"):
        m = mappings(ctx, table).get(c.name)
        var = vocab.get(m.variable_id) if m and m.variable_id else None
        if var is None or var.value_range is None or m is None or m.confidence < least:
            continue
        if m.source_unit not in (None, var.unit):
            continue  # values in another unit: the unified check asks for conversion
        out.append((c, var.value_range[0], var.value_range[1],
                    f"{var.id} ({var.unit})"))
    return out


@check("ranges")
def ranges(ctx: Context) -> CheckResult | None:
    """Coordinates within degrees; canonical variables within their plausible range."""
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c, low, high, what in _range_columns(ctx, table):
            n, bad = table.con.execute(
                f"SELECT count({c.sql}), count(*) FILTER (WHERE {c.sql} < ? OR {c.sql} > ?) "
                f"FROM {table.rel}", [low, high]).fetchone() or (0, 0)
            total += int(n)
            if bad:
                cond = f"({c.sql} < {low!r} OR {c.sql} > {high!r})"
                findings.append(ctx.rows_finding(
                    "ranges", table, c, cond, f"{bad} values of '{c.name}' are outside "
                    f"[{low:g}, {high:g}] for {what}", int(bad)))
                failing += int(bad)
    return CheckResult(total - failing, total, findings) if total else None


@check("code_lists")
def code_lists(ctx: Context) -> CheckResult | None:
    """Administrative codes and names are units of the national list (2025 or older)."""
    if not any(t.of_role("admin_code", "admin_name") for t in ctx.tables):
        return None
    admin = ctx.admin
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c in table.of_role("admin_code", "admin_name"):
            if admin is None:
                continue
            rows = table.con.execute(
                f"SELECT {as_text(c)} v, count(*) FROM {table.rel} WHERE "
                f"{present(c, _tokens(ctx))} GROUP BY v").fetchall()
            values = [str(v) for v, _ in rows]
            report = admin.match_report(values, c.level)  # type: ignore[arg-type]
            n = sum(int(k) for _, k in rows)
            total += n
            bad = set(report.unmatched)
            if not bad:
                continue
            bad_rows = sum(int(k) for v, k in rows if str(v) in bad)
            failing += bad_rows
            kind = "codes" if c.role == "admin_code" else "names"
            findings.append(ctx.rows_finding(
                "code_lists", table, c, f"list_contains(?, {as_text(c)})",
                f"{bad_rows} {c.level} {kind} in '{c.name}' are not in the national list "
                f"of administrative units", bad_rows, params=(sorted(bad),)))
    return CheckResult(total - failing, total, findings) if total else None


def _geometry_sql(c: Column) -> str:
    if c.geometry == "geojson":
        return f"TRY(ST_GeomFromGeoJSON({c.sql}))"
    if c.geometry == "wkt":
        return f"TRY(ST_GeomFromText({c.sql}))"
    if c.type.startswith("GEOMETRY"):
        return c.sql
    return f"TRY(ST_GeomFromWKB({c.sql}))"


@check("geometry")
def geometry(ctx: Context) -> CheckResult | None:
    """Geometries can be read and are valid (OGC simple features)."""
    if not ctx.tables.spatial:
        return None
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c in table.of_role("geometry"):
            g = _geometry_sql(c)
            cond = f"{c.sql} IS NOT NULL AND ({g} IS NULL OR NOT ST_IsValid({g}))"
            n, bad = table.con.execute(
                f"SELECT count({c.sql}), count(*) FILTER (WHERE {cond}) FROM {table.rel}"
            ).fetchone() or (0, 0)
            total += int(n)
            if bad:
                failing += int(bad)
                findings.append(ctx.rows_finding("geometry", table, None, cond,
                                                 f"{bad} geometries in '{c.name}' are invalid "
                                                 "or unreadable", int(bad)))
    return CheckResult(total - failing, total, findings) if total else None


def _points(table: Table, spatial: bool) -> list[tuple[str, str, str, str]]:
    """(label, x sql, y sql, condition) of each way the table gives points."""
    out = []
    lats, lons = table.of_role("lat"), table.of_role("lon")
    if lats and lons:
        out.append((f"{lons[0].name}/{lats[0].name}", lons[0].sql, lats[0].sql,
                    f"{lons[0].sql} IS NOT NULL AND {lats[0].sql} IS NOT NULL"))
    if spatial:
        for c in table.of_role("geometry"):
            g = _geometry_sql(c)
            out.append((c.name, f"ST_X({g})", f"ST_Y({g})",
                        f"{c.sql} IS NOT NULL AND ST_GeometryType({g}) = 'POINT'"))
    return out


@check("territory")
def territory(ctx: Context) -> CheckResult | None:
    """Points lie inside the declared territory (within the rules' tolerance)."""
    if not any(_points(t, ctx.tables.spatial) for t in ctx.tables):
        return None
    admin = ctx.admin
    if admin is None:
        return None
    rules = ctx.rules_of("territory")
    area, label = territory_of(ctx.pkg, admin, float(rules.param("tolerance_km", 5.0)),
                               float(rules.param("special_zone_radius_km", 0.0)),
                               dict(rules.param("archipelago_radius_km", {}) or {}))
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for what, x, y, cond in _points(table, ctx.tables.spatial):
            arrays = table.con.execute(
                f"SELECT _id, CAST({x} AS DOUBLE) x, CAST({y} AS DOUBLE) y FROM {table.rel} "
                f"WHERE {cond} ORDER BY _id").fetchnumpy()
            ids, xs, ys = arrays["_id"], np.asarray(arrays["x"], float), \
                np.asarray(arrays["y"], float)
            if not len(ids):
                continue
            mask = outside(area, xs, ys)
            total += len(ids)
            bad = int(mask.sum())
            if bad:
                failing += bad
                first = np.flatnonzero(mask)[: ctx.max_rows]
                findings.append(Finding(
                    "territory", f"{bad} points ({what}) lie outside {label}", bad,
                    table.resource_id, table.resource_name, what,
                    [int(i) for i in ids[first]],
                    [f"{xs[i]:.5f}, {ys[i]:.5f}" for i in first[: ctx.rules.max_examples]]))
    return CheckResult(total - failing, total, findings, unit="points") if total else None


__all__ = ["code_lists", "geometry", "ranges", "territory", "types"]
