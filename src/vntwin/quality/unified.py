"""*Unified* (thống nhất): standard administrative codes, a standard CRS, canonical
variables and units (the twin's vocabulary), ISO 8601 dates and NFC text.
"""

from __future__ import annotations

from vntwin.quality.base import CheckResult, Context, Finding, check
from vntwin.quality.columns import ISO_DATE_SQL
from vntwin.quality.sql import as_text, present
from vntwin.quality.variables import mappings
from vntwin.twin.vocabulary import load_vocabulary


def _tokens(ctx: Context) -> list[str]:
    return list(ctx.rules_of("completeness").param("missing_tokens", []))


@check("admin_codes")
def admin_codes(ctx: Context) -> CheckResult | None:
    """Administrative units are given by their 2025 codes, as zero-padded text."""
    if not any(t.of_role("admin_code", "admin_name") for t in ctx.tables):
        return None
    admin = ctx.admin
    if admin is None:
        return None
    standard = {"province": set(admin.provinces["code"]), "commune": set(admin.communes["code"])}
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        codes = [c for c in table.of_role("admin_code") if not c.legacy and c.level in standard]
        for c in codes:
            rows = table.con.execute(
                f"SELECT {as_text(c)} v, count(*) FROM {table.rel} WHERE "
                f"{present(c, _tokens(ctx))} GROUP BY v").fetchall()
            ok = standard[str(c.level)]
            bad = sorted(str(v) for v, _ in rows if str(v) not in ok)
            n = sum(int(k) for _, k in rows)
            total += n
            if not bad:
                continue
            bad_set = set(bad)
            count = sum(int(k) for v, k in rows if str(v) in bad_set)
            failing += count
            why = "not 2025 codes (pre-2025 codes, or numbers that lost their leading zeros)"
            findings.append(ctx.rows_finding(
                "admin_codes", table, c, f"list_contains(?, {as_text(c)})",
                f"{count} values of '{c.name}' are {why}", count, params=(bad,)))
        levels_with_codes = {c.level for c in codes}
        for c in table.of_role("admin_name"):
            if c.legacy or c.level in levels_with_codes:
                continue
            total += table.rows
            failing += table.rows
            levels_with_codes.add(c.level)
            findings.append(Finding(
                "admin_codes", f"{c.level} names in '{c.name}' have no column of standard "
                f"{c.level} codes beside them", table.rows, table.resource_id,
                table.resource_name, c.name))
    return CheckResult(total - failing, total, findings) if total else None


@check("crs")
def crs(ctx: Context) -> CheckResult | None:
    """Coordinates are WGS 84 degrees; resources declare no other CRS."""
    standard = {s.upper() for s in ctx.rules_of("crs").param("standard", [])}
    total = failing = 0
    findings: list[Finding] = []
    for res in ctx.pkg.get("resources") or []:
        declared = str(res.get("crs") or "").strip()
        if declared:
            total += 1
            if declared.upper() not in standard:
                failing += 1
                findings.append(Finding("crs", f"resource declares CRS {declared}", 1,
                                        res.get("id"), res.get("name"), "crs"))
    for table in ctx.tables:
        lats, lons = table.of_role("lat"), table.of_role("lon")
        if lats and lons:
            y, x = lats[0], lons[0]
            cond = (f"{x.sql} IS NOT NULL AND {y.sql} IS NOT NULL AND "
                    f"(abs({y.sql}) > 90 OR abs({x.sql}) > 180)")
            n, bad = table.con.execute(
                f"SELECT count(*) FILTER (WHERE {x.sql} IS NOT NULL AND {y.sql} IS NOT NULL), "
                f"count(*) FILTER (WHERE {cond}) FROM {table.rel}").fetchone() or (0, 0)
            total += int(n)
            if bad:
                failing += int(bad)
                findings.append(ctx.rows_finding(
                    "crs", table, None, cond, f"{bad} coordinates in '{x.name}'/'{y.name}' are "
                    "not degrees (a projected CRS such as VN-2000?)", int(bad)))
        for c in table.of_role("geometry"):
            total += int(table.scalar(f"SELECT count({c.sql}) FROM {table.rel}") or 0)
    return CheckResult(total - failing, total, findings) if total else None


@check("variables")
def variables(ctx: Context) -> CheckResult | None:
    """Measure columns are canonical variables of the vocabulary, in its units."""
    vocab = load_vocabulary()
    least = float(ctx.rules_of("variables").param("min_confidence", 0.8))
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for name, m in mappings(ctx, table).items():
            total += 1
            var = vocab.get(m.variable_id) if m.variable_id else None
            if var is None or m.confidence < least or m.needs_review:
                failing += 1
                hint = f" (closest: {m.variable_id}, {m.confidence:.2f})" if var else ""
                findings.append(Finding("variables", f"'{name}' is not a canonical variable"
                                        f"{hint}", 1, table.resource_id, table.resource_name,
                                        name))
            elif m.source_unit and m.source_unit != var.unit:
                failing += 1
                findings.append(Finding("variables", f"'{name}' is {var.id} in "
                                        f"{m.source_unit}; the canonical unit is {var.unit}", 1,
                                        table.resource_id, table.resource_name, name))
    return CheckResult(total - failing, total, findings, unit="columns") if total else None


@check("dates")
def dates(ctx: Context) -> CheckResult | None:
    """Dates and times are typed, or written as ISO 8601 text."""
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c in table.of_role("time"):
            n = int(table.scalar(f"SELECT count(*) FROM {table.rel} WHERE "
                                 f"{present(c, _tokens(ctx))}") or 0)
            total += n
            if not c.textual:
                continue
            cond = (f"{present(c, _tokens(ctx))} AND NOT "
                    f"regexp_matches(trim({c.sql}), '{ISO_DATE_SQL}')")
            bad = int(table.scalar(f"SELECT count(*) FROM {table.rel} WHERE {cond}") or 0)
            if bad:
                failing += bad
                findings.append(ctx.rows_finding(
                    "dates", table, c, cond, f"{bad} values of '{c.name}' are not ISO 8601 "
                    "dates (YYYY-MM-DD)", bad))
    return CheckResult(total - failing, total, findings) if total else None


@check("text_form")
def text_form(ctx: Context) -> CheckResult | None:
    """Text is in Unicode normal form C (precomposed Vietnamese letters).

    The datastore stores text NFC whatever it was uploaded as, so this finds decomposed
    text in files read where they are stored (GeoParquet twin layers).
    """
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        for c in table.columns:
            if not c.textual or c.role == "geometry":
                continue
            cond = f"{c.sql} IS NOT NULL AND {c.sql} <> nfc_normalize({c.sql})"
            n, bad = table.con.execute(
                f"SELECT count({c.sql}), count(*) FILTER (WHERE {cond}) FROM {table.rel}"
            ).fetchone() or (0, 0)
            total += int(n)
            if bad:
                failing += int(bad)
                findings.append(ctx.rows_finding(
                    "text_form", table, c, cond, f"{bad} values of '{c.name}' are not NFC "
                    "(decomposed accents)", int(bad)))
    return CheckResult(total - failing, total, findings) if total else None
