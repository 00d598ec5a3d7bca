"""Quality scores in ``package_show``: extras ``quality_score`` (overall) and
``quality_<dimension>`` for each of the six dimensions, ``quality_measured_at`` and
``quality_up_to_date`` (``false`` while a change waits to be measured).

Called from ``catalog/dictize.package_dict`` for every dataset dict, so scores are read
for all datasets a session has loaded in one query (a search page is one query, not one
per result). Copies of these keys stored as ordinary extras (a dataset loaded from
another portal's dump) are dropped: only measured scores are shown.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from vntwin.catalog.models import Package
from vntwin.quality.rules import DIMENSIONS
from vntwin.quality.store import QualityScore

log = logging.getLogger(__name__)
KEYS = frozenset({"quality_score", "quality_measured_at", "quality_up_to_date",
                  *(f"quality_{d}" for d in DIMENSIONS)})
_CACHE = "vntwin_quality_scores"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _scores(session: Session, package_id: str) -> tuple[Any, ...] | None:
    cache: dict[str, tuple[Any, ...] | None] = session.info.setdefault(_CACHE, {})
    if package_id not in cache:
        ids = {o.id for o in list(session.identity_map.values())
               if isinstance(o, Package) and o.id not in cache} | {package_id}
        rows = session.execute(select(QualityScore.package_id, QualityScore.overall,
                                      QualityScore.scores, QualityScore.stamp,
                                      QualityScore.computed_at)
                               .where(QualityScore.package_id.in_(ids))).all()
        for pid in ids:
            cache[pid] = None
        for pid, *rest in rows:
            cache[pid] = tuple(rest)
    return cache[package_id]


def with_quality(extras: list[dict[str, Any]], pkg: Package) -> list[dict[str, Any]]:
    """``extras`` without stored quality keys, plus the dataset's measured scores."""
    out = [e for e in extras if e.get("key") not in KEYS]
    session = object_session(pkg)
    if session is None:
        return out
    try:
        found = _scores(session, pkg.id)
    except Exception:  # no score table yet (an old database mid-migration): no scores
        log.debug("quality scores unavailable", exc_info=True)
        return out
    if found is None:
        return out
    overall, scores, stamp, computed_at = found
    added = [{"key": "quality_score", "value": _fmt(overall)}]
    added += [{"key": f"quality_{d}", "value": _fmt((scores or {}).get(d))} for d in DIMENSIONS]
    added += [{"key": "quality_measured_at", "value": computed_at.isoformat()},
              {"key": "quality_up_to_date",
               "value": "true" if str(stamp).split(":", 1)[0] == str(pkg.revision)
               else "false"}]
    return sorted(out + added, key=lambda e: str(e["key"]))
