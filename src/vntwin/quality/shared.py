"""*Shared* (dùng chung): an open licence, open machine-readable formats, access through
the API, an open access level, and documentation.
"""

from __future__ import annotations

from vntwin.catalog.formats import DATASTORE_FORMATS
from vntwin.catalog.licenses import BY_ID
from vntwin.quality.base import CheckResult, Context, Finding, check


@check("open_licence")
def open_licence(ctx: Context) -> CheckResult:
    """The licence conforms to the Open Definition."""
    lic = BY_ID.get(str(ctx.pkg.get("license_id") or ""))
    ok = bool(lic) and lic.get("od_conformance") == "approved"  # type: ignore[union-attr]
    findings = [] if ok else [Finding(
        "open_licence", f"licence {ctx.pkg.get('license_id') or '(none)'!r} is not an open "
        "licence", 1, column="license_id")]
    return CheckResult(1.0 if ok else 0.0, 1.0, findings, unit="dataset")


def _resources(ctx: Context) -> list[dict]:
    return [r for r in ctx.pkg.get("resources") or [] if r.get("state", "active") == "active"]


@check("open_format")
def open_format(ctx: Context) -> CheckResult:
    """Resources are in open machine-readable formats (proprietary ones earn part)."""
    rules = ctx.rules_of("open_format")
    open_ = {f.upper() for f in rules.param("open", [])}
    proprietary = {f.upper() for f in rules.param("proprietary", [])}
    credit = float(rules.param("proprietary_credit", 0.5))
    resources = _resources(ctx)
    passed = 0.0
    findings = []
    for res in resources:
        fmt = str(res.get("format") or "").upper()
        if fmt in open_:
            passed += 1
            continue
        passed += credit if fmt in proprietary else 0.0
        kind = "proprietary" if fmt in proprietary else "not machine-readable"
        findings.append(Finding("open_format", f"format {fmt or '(none)'} is {kind}", 1,
                                res.get("id"), res.get("name"), "format"))
    if not resources:
        findings.append(Finding("open_format", "the dataset has no resources", 1))
    return CheckResult(passed, max(len(resources), 1), findings, unit="resources")


@check("api_access")
def api_access(ctx: Context) -> CheckResult | None:
    """Tabular and spatial resources can be queried through the API."""
    considered = 0
    passed = 0
    findings = []
    for res in _resources(ctx):
        fmt = str(res.get("format") or "").upper()
        if fmt not in DATASTORE_FORMATS and not res.get("twin_layer"):
            continue
        considered += 1
        if res.get("datastore_active") or res.get("twin_layer"):
            passed += 1
        else:
            why = res.get("datastore_error") or "not loaded into the datastore"
            findings.append(Finding("api_access", f"resource is not queryable: {why}", 1,
                                    res.get("id"), res.get("name")))
    return CheckResult(passed, considered, findings, unit="resources") if considered else None


@check("access")
def access(ctx: Context) -> CheckResult:
    """Public datasets are shared with everyone; restricted ones earn less."""
    credits = ctx.rules_of("access").param("credit", {}) or {}
    level = str(ctx.pkg.get("access_level") or "public")
    share = float(credits.get(level, 0.0))
    findings = [] if share >= 1.0 else [Finding("access", f"access level is {level}", 1,
                                                column="access_level")]
    return CheckResult(share, 1.0, findings, unit="dataset")


@check("documentation")
def documentation(ctx: Context) -> CheckResult:
    """A description, resource descriptions, a contact and a source are given."""
    pkg = ctx.pkg
    least = int(ctx.rules_of("documentation").param("min_notes_chars", 100))
    items = {
        "description": len(str(pkg.get("notes") or "").strip()) >= least,
        "resource descriptions": all(str(r.get("description") or "").strip()
                                     for r in _resources(ctx)) and bool(_resources(ctx)),
        "contact": any(pkg.get(k) for k in ("maintainer_email", "author_email", "maintainer",
                                            "author")),
        "source or landing page": bool(pkg.get("url")),
    }
    findings = [Finding("documentation", f"missing: {name}"
                        + (f" (at least {least} characters)" if name == "description" else ""),
                        1) for name, ok in items.items() if not ok]
    return CheckResult(sum(items.values()), len(items), findings, unit="items")
