"""*Live* (sống): the dataset declares how often it is updated, is updated that often,
and its newest figures are recent.

Freshness depends on the day it is measured, so these checks work from *facts* gathered
with the data (the last update, the newest date in the data) and are evaluated again
whenever a stored score is read: a score never stays "fresh" because nobody re-ran it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from vntwin.quality.base import CheckResult, Context, Finding, check
from vntwin.quality.columns import ISO_DATE_SQL
from vntwin.quality.rules import Rules
from vntwin.quality.tables import Tables

NO_PERIOD = ("NEVER",)


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def gather_facts(pkg: dict[str, Any], tables: Tables, now: datetime) -> dict[str, Any]:
    """What the live checks need, read once from the metadata and the data."""
    stamps = [r.get("last_modified") or r.get("created") for r in pkg.get("resources") or []]
    stamps = [s for s in stamps if s] or [pkg.get("metadata_modified")]
    moments = [m for m in (_parse(s) for s in stamps) if m is not None]
    latest: date | None = None
    today = now.date()
    for table in tables:
        for c in table.of_role("time"):
            if c.temporal:
                expr = f"CAST({c.sql} AS DATE)"
            elif c.numeric:
                expr = (f"CASE WHEN {c.sql} BETWEEN 1900 AND 2200 THEN make_date("
                        f"CAST({c.sql} AS INTEGER), 1, 1) END")
            else:
                t = f"trim({c.sql})"
                expr = (f"CASE WHEN regexp_matches({t}, '^\\d{{4}}$') THEN make_date("
                        f"CAST({t} AS INTEGER), 1, 1) "
                        f"WHEN regexp_matches({t}, '{ISO_DATE_SQL}') THEN TRY_CAST(left({t}, 10) "
                        f"AS DATE) ELSE TRY_CAST(TRY_STRPTIME({t}, '%d/%m/%Y') AS DATE) END")
            value = table.scalar(f"SELECT max(d) FROM (SELECT {expr} AS d FROM {table.rel}) "
                                 f"WHERE d <= ?", [today])
            if isinstance(value, datetime):
                value = value.date()
            if isinstance(value, date) and (latest is None or value > latest):
                latest = value
    return {"frequency": str(pkg.get("update_frequency") or ""),
            "last_update": max(moments).isoformat() if moments else None,
            "latest_data_date": latest.isoformat() if latest else None}


def _period_days(rules: Rules, frequency: str) -> float:
    days = rules.frequencies.get(frequency)
    if days is None:
        return float(rules.check("freshness").param("irregular_days", 365))
    return float(days)


def _decay(age: float, full: float, zero: float) -> float:
    if age <= full:
        return 1.0
    if age >= zero:
        return 0.0
    return 1.0 - (age - full) / (zero - full)


def evaluate(facts: dict[str, Any], rules: Rules, now: datetime) -> dict[str, CheckResult | None]:
    """The live checks' results from ``facts`` as of ``now``."""
    freq = facts.get("frequency") or ""
    known = freq in rules.frequencies or freq in ("NEVER", "IRREG", "OTHER")
    out: dict[str, CheckResult | None] = {"declared_frequency": CheckResult(
        1.0 if known else 0.0, 1.0,
        [] if known else [Finding("declared_frequency",
                                  "no update frequency declared" if not freq else
                                  f"update frequency {freq!r} is unknown", 1,
                                  column="update_frequency")], unit="dataset")}
    fresh = rules.check("freshness")
    grace, zero_at = float(fresh.param("grace", 1.25)), float(fresh.param("zero_at", 3.0))
    period = _period_days(rules, freq)
    last = _parse(facts.get("last_update"))
    if freq in NO_PERIOD or last is None:
        out["freshness"] = None
    else:
        age = (now - last).total_seconds() / 86400
        share = _decay(age, grace * period, zero_at * period)
        out["freshness"] = CheckResult(share, 1.0, [] if share == 1.0 else [Finding(
            "freshness", f"last updated {age:.0f} days ago; the declared frequency "
            f"({freq or 'none'}) means every {period:g} days", 1)], unit="dataset")
    latest = facts.get("latest_data_date")
    if freq in NO_PERIOD or not latest:
        out["data_time"] = None
    else:
        lag = float(rules.check("data_time").param("lag_periods", 1.0))
        age = (now.date() - date.fromisoformat(latest)).days
        share = _decay(age, (grace + lag) * period, (zero_at + lag) * period)
        out["data_time"] = CheckResult(share, 1.0, [] if share == 1.0 else [Finding(
            "data_time", f"the newest date in the data is {latest}, {age} days ago", 1,
            examples=[latest])], unit="dataset")
    return out


def _facts(ctx: Context) -> dict[str, Any]:
    if "live" not in ctx.facts:
        ctx.facts["live"] = gather_facts(ctx.pkg, ctx.tables, ctx.now)
    return dict(ctx.facts["live"])


@check("declared_frequency")
def declared_frequency(ctx: Context) -> CheckResult | None:
    """An update frequency is declared."""
    return evaluate(_facts(ctx), ctx.rules, ctx.now)["declared_frequency"]


@check("freshness")
def freshness(ctx: Context) -> CheckResult | None:
    """The last update is as recent as the declared frequency promises."""
    return evaluate(_facts(ctx), ctx.rules, ctx.now)["freshness"]


@check("data_time")
def data_time(ctx: Context) -> CheckResult | None:
    """The newest date in the data (not in the future) is recent for the frequency."""
    return evaluate(_facts(ctx), ctx.rules, ctx.now)["data_time"]
