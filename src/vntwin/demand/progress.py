"""Progress of the open-data programme: per agency and for the whole catalogue.

For a period (a calendar year in Vietnam's time by default) each agency gets: datasets
published (created in the period and not deleted or draft), requests received, answered
(on time, late), overdue and pending, its datasets' mean quality score, and each of its
targets with the actual figure and whether it is met. The programme view adds the share
of agencies that published in the period, the share of requests answered on time and the
share of agencies with targets that met them all: the figures a city's or a ministry's
open-data plan is judged on.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.catalog.lookup import get_group
from vntwin.catalog.models import Group, utcnow
from vntwin.catalog.service import Catalog
from vntwin.demand.dictize import response_state
from vntwin.demand.figures import agency_figures
from vntwin.demand.models import AgencyTarget, DataRequest
from vntwin.demand.targets import target_dict
from vntwin.demand.workdays import LOCAL_TZ, local_date
from vntwin.errors import ValidationError


@dataclass(frozen=True)
class Period:
    """A half-open interval of local dates, ``[start, end)``, and its UTC bounds."""

    start: date
    end: date

    @property
    def utc(self) -> tuple[datetime, datetime]:
        """The period's bounds as aware UTC moments (midnight in Vietnam)."""
        def at(day: date) -> datetime:
            return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)
        return at(self.start), at(self.end)

    def as_dict(self) -> dict[str, Any]:
        """JSON form: the first and the last day of the period."""
        last = date.fromordinal(self.end.toordinal() - 1)
        return {"start": self.start.isoformat(), "end": last.isoformat()}


def period_for(year: int | None = None, start: date | None = None,
               end: date | None = None) -> Period:
    """The period of a year (default: this year in Vietnam) or between two dates
    (``end`` included).
    """
    if start or end:
        if not (start and end) or end < start:
            raise ValidationError({"start": ["Give both start and end, start first"]})
        return Period(start, date.fromordinal(end.toordinal() + 1))
    year = year or local_date(utcnow()).year
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": ["Must be between 2000 and 2100"]})
    return Period(date(year, 1, 1), date(year + 1, 1, 1))


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _request_figures(reqs: list[DataRequest], today: date) -> dict[str, Any]:
    states = [response_state(r, today) for r in reqs]
    count: defaultdict[str, int] = defaultdict(int)
    for state in states:
        count[state["state"]] += 1
    answered = count["on_time"] + count["late"]
    days = [s["working_days"] for s in states if s["working_days"] is not None]
    return {
        "received": len(reqs), "answered": answered, "answered_on_time": count["on_time"],
        "answered_late": count["late"], "overdue": count["overdue"],
        "pending": count["pending"], "withdrawn": sum(r.status == "withdrawn" for r in reqs),
        "published": sum(r.status == "published" for r in reqs),
        "declined": sum(r.status == "declined" for r in reqs),
        "on_time_rate": _share(count["on_time"], answered + count["overdue"]),
        "median_response_working_days": statistics.median(days) if days else None,
    }


def _targets(row: AgencyTarget | None, org: Group, figures: dict[str, Any]) -> dict[str, Any]:
    if row is None:
        return {"set": False, "items": [], "all_met": None}
    actual = {"datasets_to_publish": figures["datasets"]["published"],
              "requests_to_answer": figures["requests"]["answered"],
              "quality_to_reach": figures["quality"]["mean"]}
    items = []
    for key in ("datasets_to_publish", "requests_to_answer", "quality_to_reach"):
        goal = getattr(row, key)
        if goal is None:
            continue
        value = actual[key]
        items.append({"target": key, "goal": goal, "actual": value,
                      "met": value is not None and value >= goal,
                      "progress": round(min(100.0, 100.0 * (value or 0) / goal), 1) if goal
                      else 100.0})
    return {"set": True, **target_dict(row, org), "items": items,
            "all_met": all(i["met"] for i in items) if items else None}


def _agency_rows(cat: Catalog, session: Session, orgs: list[Group],
                 period: Period) -> list[dict[str, Any]]:
    start, end = period.utc
    ids = [o.id for o in orgs]
    counted = agency_figures(cat, session, ids, start, end)  # cached while unchanged
    reqs: dict[str, list[DataRequest]] = defaultdict(list)
    for req in session.scalars(select(DataRequest).where(
            DataRequest.organization_id.in_(ids), DataRequest.created >= start,
            DataRequest.created < end)):
        reqs[req.organization_id or ""].append(req)
    targets = {t.organization_id: t for t in session.scalars(select(AgencyTarget).where(
        AgencyTarget.organization_id.in_(ids), AgencyTarget.year == period.start.year))}
    today = local_date(utcnow())
    rows = []
    for org in orgs:
        figures: dict[str, Any] = {
            "organization": {"id": org.id, "name": org.name, "title": org.title or org.name},
            "datasets": dict(counted[org.id]["datasets"]),  # copies: the cache's are shared
            "requests": _request_figures(reqs[org.id], today),
            "quality": dict(counted[org.id]["quality"]),
        }
        figures["targets"] = _targets(targets.get(org.id), org, figures)
        rows.append(figures)
    return rows


def agency_progress(cat: Catalog, organization: str, *, year: int | None = None,
                    start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """agency_progress_show: one agency's figures and targets for the period."""
    period = period_for(year, start, end)
    with cat.read() as session:
        org = get_group(session, organization, organization=True)
        [row] = _agency_rows(cat, session, [org], period)
    return {"period": period.as_dict(), **row}


def programme_progress(cat: Catalog, *, year: int | None = None, start: date | None = None,
                       end: date | None = None) -> dict[str, Any]:
    """programme_progress_show: every agency's figures and the programme's totals."""
    period = period_for(year, start, end)
    with cat.read() as session:
        orgs = list(session.scalars(select(Group).where(
            Group.is_organization.is_(True), Group.state == "active").order_by(Group.name)))
        rows = _agency_rows(cat, session, orgs, period) if orgs else []
    all_reqs = [r["requests"] for r in rows]
    answered = sum(r["answered"] for r in all_reqs)
    on_time = sum(r["answered_on_time"] for r in all_reqs)
    overdue = sum(r["overdue"] for r in all_reqs)
    with_targets = [r for r in rows if r["targets"]["all_met"] is not None]
    means = [r["quality"]["mean"] for r in rows if r["quality"]["mean"] is not None]
    published = sum(1 for r in rows if r["datasets"]["published"] > 0)
    return {
        "period": period.as_dict(),
        "agencies": len(rows),
        "agencies_published": published,
        "agencies_published_share": _share(published, len(rows)),
        "datasets_published": sum(r["datasets"]["published"] for r in rows),
        "requests": {"received": sum(r["received"] for r in all_reqs), "answered": answered,
                     "answered_on_time": on_time, "overdue": overdue,
                     "pending": sum(r["pending"] for r in all_reqs),
                     "on_time_rate": _share(on_time, answered + overdue)},
        "agencies_with_targets": len(with_targets),
        "agencies_meeting_targets": sum(1 for r in with_targets if r["targets"]["all_met"]),
        "targets_met_share": _share(sum(1 for r in with_targets if r["targets"]["all_met"]),
                                    len(with_targets)),
        "quality_mean": round(statistics.fmean(means), 1) if means else None,
        "by_agency": rows,
    }
