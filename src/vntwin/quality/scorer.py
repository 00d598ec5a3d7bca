"""Run every check of the rules on a dataset and assemble the six dimensions' scores.

>>> report = score(pkg, tables, load_rules(), now, admin_loader)  # doctest: +SKIP
>>> report["overall"], report["clean"]["score"]  # doctest: +SKIP
(91.7, 99.97)

A check that fails with an unexpected error is reported under ``errors`` and left out of
its dimension, so one broken check never hides the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb

# the built-in checks register themselves on import
from vntwin.quality import accurate, clean, live, shared, sufficient, unified  # noqa: F401
from vntwin.quality.base import CHECKS, CheckResult, Context
from vntwin.quality.rules import DIMENSIONS, Rules
from vntwin.quality.tables import Tables
from vntwin.twin.admin import AdminUnits

log = logging.getLogger(__name__)


def _check_entry(rules: Rules, check_id: str, result: CheckResult | None) -> dict[str, Any]:
    rule = rules.check(check_id)
    return {"id": check_id, "label_vi": rule.label_vi, "label_en": rule.label_en,
            "advice_vi": rule.advice_vi, "advice_en": rule.advice_en, "weight": rule.weight,
            "score": result.score if result else None,
            "passed": round(result.passed, 4) if result else None,
            "total": round(result.total, 4) if result else None,
            "unit": result.unit if result else None, "measured": result is not None
            and result.score is not None}


def _weighted(pairs: list[tuple[float | None, float]]) -> float | None:
    measured = [(s, w) for s, w in pairs if s is not None and w > 0]
    weight = sum(w for _, w in measured)
    if not measured or weight <= 0:
        return None
    return round(sum(s * w for s, w in measured) / weight, 1)


def dimension(rules: Rules, name: str,
              results: dict[str, CheckResult | None]) -> dict[str, Any]:
    """One dimension's entry: score, its checks and their findings."""
    dim = rules.dimensions[name]
    checks = [_check_entry(rules, cid, results.get(cid)) for cid, rule in rules.checks.items()
              if rule.dimension == name]
    findings = []
    for entry in checks:
        result = results.get(entry["id"])
        findings += [f.to_dict() for f in (result.findings if result is not None else [])]
    return {"score": _weighted([(c["score"], c["weight"]) for c in checks]),
            "weight": dim.weight, "label_vi": dim.label_vi, "label_en": dim.label_en,
            "checks": checks, "findings": findings}


def overall(rules: Rules, report: dict[str, Any]) -> float | None:
    """The weighted mean of the measured dimensions."""
    return _weighted([(report[d]["score"], rules.dimensions[d].weight) for d in DIMENSIONS])


def score(pkg: dict[str, Any], tables: Tables, rules: Rules, now: datetime,
          admin_loader: Callable[[], AdminUnits | None]) -> dict[str, Any]:
    """Measure one dataset: the report with every dimension, check and finding."""
    ctx = Context(pkg, tables, rules, now, admin_loader)
    results: dict[str, CheckResult | None] = {}
    errors: list[str] = []
    timings: dict[str, float] = {}
    for check_id in rules.checks:
        fn = CHECKS.get(check_id)
        if fn is None:
            errors.append(f"{check_id}: no such check is installed")
            continue
        started = time.perf_counter()
        try:
            results[check_id] = fn(ctx)
        except (duckdb.Error, ValueError, KeyError, TypeError) as exc:
            log.exception("quality check %s failed on %s", check_id, pkg.get("name"))
            errors.append(f"{check_id}: {type(exc).__name__}: {str(exc)[:300]}")
            results[check_id] = None
        timings[check_id] = round(time.perf_counter() - started, 3)
    report: dict[str, Any] = {
        "dataset": {"id": pkg["id"], "name": pkg["name"], "title": pkg.get("title")},
        "rules_version": rules.version,
        "computed_at": now.isoformat(),
        "tables": [{"resource_id": t.resource_id, "resource_name": t.resource_name,
                    "rows": t.rows, "columns": [{"name": c.name, "type": c.type,
                                                 "role": c.role, "level": c.level}
                                                for c in t.columns]} for t in tables],
        "facts": {"live": ctx.facts.get("live") or live.gather_facts(pkg, tables, now)},
        "errors": errors,
        "timings_s": timings,
    }
    if ctx._admin_loaded and ctx._admin is None:
        errors.append("administrative units unavailable: checks of codes, coverage and "
                      "territory were skipped (run `make install`)")
    for name in DIMENSIONS:
        report[name] = dimension(rules, name, results)
    report["overall"] = overall(rules, report)
    return report


def reevaluate_live(report: dict[str, Any], rules: Rules, now: datetime) -> dict[str, Any]:
    """The stored report with *live* measured again as of ``now`` (it ages by itself)."""
    facts = (report.get("facts") or {}).get("live")
    if not facts:
        return report
    out = dict(report)
    out["live"] = dimension(rules, "live", live.evaluate(facts, rules, now))
    out["overall"] = overall(rules, out)
    out["evaluated_at"] = now.isoformat()
    return out
