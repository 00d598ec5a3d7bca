"""*Sufficient* (đủ): values are present, the required metadata is filled in, and a table
of administrative units covers every unit of its territory.
"""

from __future__ import annotations

from typing import Any

from vntwin.quality.base import CheckResult, Context, Finding, check
from vntwin.quality.sql import as_text, missing, present
from vntwin.quality.tables import Table
from vntwin.quality.territory import declared_province


@check("completeness")
def completeness(ctx: Context) -> CheckResult | None:
    """Share of cells (rows x columns) holding a value."""
    tokens = list(ctx.rules_of("completeness").param("missing_tokens", []))
    total = failing = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        cols = table.columns
        if not cols or not table.rows:
            continue
        parts = ", ".join(f"count(*) FILTER (WHERE {missing(c, tokens)})" for c in cols)
        counts = table.con.execute(f"SELECT {parts} FROM {table.rel}").fetchone() or ()
        total += table.rows * len(cols)
        for c, n in zip(cols, counts, strict=True):
            if n:
                failing += int(n)
                findings.append(ctx.rows_finding(
                    "completeness", table, c, missing(c, tokens),
                    f"{n} of {table.rows} rows have no value in '{c.name}'", int(n),
                    with_examples=False))
    return CheckResult(total - failing, total, findings, unit="cells") if total else None


def _has(pkg: dict[str, Any], field: str) -> bool:
    if field == "organization":
        return bool(pkg.get("owner_org"))
    if field == "contact":
        return any(pkg.get(k) for k in ("maintainer", "maintainer_email", "author",
                                         "author_email"))
    if field == "license_id":
        return bool(pkg.get("license_id")) and pkg.get("license_id") != "notspecified"
    if field == "spatial":
        return bool(pkg.get("spatial") or pkg.get("spatial_label"))
    if field == "update_frequency":
        return pkg.get("update_frequency") not in (None, "", "UNKNOWN")
    value = pkg.get(field)
    return bool(value.strip()) if isinstance(value, str) else bool(value)


@check("metadata")
def metadata(ctx: Context) -> CheckResult:
    """Share of the required metadata fields (rules: ``required``) that are filled in."""
    required = list(ctx.rules_of("metadata").param("required", []))
    lacking = [f for f in required if not _has(ctx.pkg, f)]
    findings = [Finding("metadata", f"metadata field '{f}' is empty", 1, column=f)
                for f in lacking]
    return CheckResult(len(required) - len(lacking), len(required), findings, unit="fields")


def _claimed_level(ctx: Context, table: Table, unique_share: float) -> tuple[Any, str] | None:
    """The admin code column a table claims full coverage with, and its level."""
    extras = {e["key"]: e["value"] for e in ctx.pkg.get("extras") or [] if isinstance(e, dict)}
    declared = str(extras.get("coverage_level") or "").strip().lower()
    for c in table.of_role("admin_code"):
        if c.legacy or c.level not in ("province", "commune"):
            continue
        if declared == c.level:
            return c, c.level
        distinct = int(table.scalar(f"SELECT count(DISTINCT {as_text(c)}) FROM {table.rel}")
                       or 0)
        if table.rows and distinct >= unique_share * table.rows and distinct > 1:
            return c, str(c.level)
    return None


@check("coverage")
def coverage(ctx: Context) -> CheckResult | None:
    """A table with one row per unit covers every unit of its level in the territory."""
    if not any(t.of_role("admin_code") for t in ctx.tables):
        return None
    admin = ctx.admin
    if admin is None:
        return None
    share = float(ctx.rules_of("coverage").param("unique_share", 0.95))
    tokens = list(ctx.rules_of("completeness").param("missing_tokens", []))
    province = declared_province(ctx.pkg, admin)
    total = covered = 0
    findings: list[Finding] = []
    for table in ctx.tables:
        claim = _claimed_level(ctx, table, share)
        if claim is None:
            continue
        column, level = claim
        if level == "province":
            expected = set(admin.provinces["code"]) if province is None else {province}
        else:
            communes = admin.communes
            if province is not None:
                communes = communes[communes["province_code"] == province]
            expected = set(communes["code"])
        values = [str(r[0]) for r in table.con.execute(
            f"SELECT DISTINCT {as_text(column)} FROM {table.rel} WHERE "
            f"{present(column, tokens)}").fetchall()]
        found = {code for code in admin.match(values, level) if code}  # type: ignore[arg-type]
        absent = sorted(expected - found)
        total += len(expected)
        covered += len(expected) - len(absent)
        if absent:
            names = [f"{code} {admin.name(code) or ''}".strip()
                     for code in absent[: ctx.max_rows]]
            findings.append(Finding(
                "coverage", f"{len(absent)} of {len(expected)} {level}s have no row in "
                f"'{column.name}'", len(absent), table.resource_id, table.resource_name,
                column.name, [], names))
    return CheckResult(covered, total, findings, unit="units") if total else None
