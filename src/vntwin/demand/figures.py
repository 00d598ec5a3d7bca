"""An agency's dataset figures for a period — published (and public), in total, and the
mean quality score — cached per (agency, period) while nothing they depend on changed.

Why: with 100,000 datasets these took ~20 ms an organisation page (counting the period's
publications read table rows for ``created``; the mean score joined thousands of scores
through table rows). Two covering indexes (migration 0006) bring a count to ~2-5 ms, and
the cache makes a repeated visit one row's read, whatever the number of scores.

Why it cannot go stale: the figures depend on dataset rows (owner, state, access level,
creation time), every change of which bumps the catalogue revision in its transaction
(see :mod:`vntwin.catalog.counts`), and on stored quality scores, every write of which
bumps the quality revision in its transaction (:func:`vntwin.quality.store.save_score`).
Both counters are read in the session that then counts, *before* counting, so figures
stored under a marker are at least as new as it; any later change moves the marker and
the next read counts again. Requests and targets are not cached: they change without
either counter, are few per agency, and whether a request is overdue depends on the day.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vntwin.catalog.models import CatalogState, Package
from vntwin.quality.store import QualityScore, QualityState

if TYPE_CHECKING:
    from vntwin.catalog.service import Catalog

Marker = tuple[int, int]  # catalogue revision, quality revision
MAX_ENTRIES = 10_000  # (agency, period) pairs kept; far more than agencies × periods shown


def marker(session: Session) -> Marker:
    """The catalogue and quality revisions, in one statement."""
    row = session.execute(select(
        select(CatalogState.revision).where(CatalogState.id == 1).scalar_subquery(),
        select(QualityState.revision).where(QualityState.id == 1).scalar_subquery())).one()
    return int(row[0]), int(row[1])


def count_figures(session: Session, ids: Sequence[str], start: datetime,
                  end: datetime) -> dict[str, dict[str, Any]]:
    """Uncached: per agency id, ``datasets`` (published and public in ``[start, end)``,
    total active) and ``quality`` (mean overall score of its active datasets, how many).
    """
    datasets = {i: {"published": 0, "public": 0, "total": 0} for i in ids}
    quality: dict[str, dict[str, Any]] = {i: {"mean": None, "datasets_scored": 0} for i in ids}
    for owner, level, n in session.execute(
            select(Package.owner_org, Package.access_level, func.count())
            .where(Package.owner_org.in_(ids), Package.state == "active",
                   Package.created >= start, Package.created < end)
            .group_by(Package.owner_org, Package.access_level)):
        datasets[str(owner)]["published"] += int(n)
        if level == "public":
            datasets[str(owner)]["public"] += int(n)
    for owner, n in session.execute(
            select(Package.owner_org, func.count())
            .where(Package.owner_org.in_(ids), Package.state == "active")
            .group_by(Package.owner_org)):
        datasets[str(owner)]["total"] = int(n)
    for owner, mean, n in session.execute(
            select(Package.owner_org, func.avg(QualityScore.overall), func.count())
            .join(QualityScore, QualityScore.package_id == Package.id)
            .where(Package.owner_org.in_(ids), Package.state == "active",
                   QualityScore.overall.is_not(None))
            .group_by(Package.owner_org)):
        quality[str(owner)] = {"mean": round(float(mean), 1), "datasets_scored": int(n)}
    return {i: {"datasets": datasets[i], "quality": quality[i]} for i in ids}


class AgencyFigures:
    """The cache: one per ``Catalog`` (``cat.caches``), thread-safe.

    Entries are kept for one marker only: when it moves, they are all dropped (any
    dataset or score may have changed any agency's figures).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marker: Marker | None = None
        self._entries: dict[tuple[str, datetime, datetime], dict[str, Any]] = {}

    def get(self, session: Session, ids: Sequence[str], start: datetime,
            end: datetime) -> dict[str, dict[str, Any]]:
        """Per agency id, :func:`count_figures`' answer: cached ones, the rest counted
        (all in one query each) and kept. Callers may not change what they get.
        """
        now = marker(session)
        with self._lock:
            if now != self._marker:
                self._marker, self._entries = now, {}
            found = {i: self._entries[(i, start, end)] for i in ids
                     if (i, start, end) in self._entries}
        missing = [i for i in ids if i not in found]
        if missing:
            counted = count_figures(session, missing, start, end)
            with self._lock:
                if now == self._marker:
                    if len(self._entries) + len(counted) > MAX_ENTRIES:
                        self._entries = {}
                    self._entries.update({(i, start, end): f for i, f in counted.items()})
            found.update(counted)
        return found


def agency_figures(cat: Catalog, session: Session, ids: Sequence[str], start: datetime,
                   end: datetime) -> dict[str, dict[str, Any]]:
    """The catalogue's cache of :class:`AgencyFigures`, asked for ``ids``."""
    cache = cat.caches.get("agency_figures")
    if not isinstance(cache, AgencyFigures):
        cache = cat.caches.setdefault("agency_figures", AgencyFigures())
    return cache.get(session, ids, start, end)
