"""Stored quality scores: one row per dataset, keyed by the dataset's change stamp.

A score is *fresh* while the stamp it was computed for equals the dataset's current
stamp (:func:`vntwin.quality.stamp.dataset_stamp`); otherwise it is recomputed on the
next read that needs it. Scores are derived data: writing one bumps no catalogue revision
and leaves no audit record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from vntwin.catalog.models import Base, utcnow
from vntwin.quality.rules import DIMENSIONS


class QualityScore(Base):
    """The last quality measurement of a dataset, with every finding behind it."""

    __tablename__ = "quality_score"
    package_id: Mapped[str] = mapped_column(
        ForeignKey("package.id", ondelete="CASCADE"), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(128))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules_version: Mapped[str] = mapped_column(String(40), default="")
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


def load_score(session: Session, package_id: str) -> QualityScore | None:
    """The stored score of a dataset, if any (fresh or not)."""
    return session.get(QualityScore, package_id)


def save_score(session: Session, package_id: str, stamp: str, report: dict[str, Any],
               seconds: float) -> QualityScore:
    """Insert or replace the dataset's score (the caller commits)."""
    row = session.get(QualityScore, package_id)
    if row is None:
        row = QualityScore(package_id=package_id)
        session.add(row)
    row.stamp = stamp
    row.computed_at = utcnow()
    row.overall = report.get("overall")
    row.scores = {name: report[name].get("score") for name in DIMENSIONS if name in report}
    row.report = report
    row.rules_version = str(report.get("rules_version", ""))
    row.seconds = round(seconds, 3)
    return row
