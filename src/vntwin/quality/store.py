"""Stored quality scores: one row per dataset, keyed by the dataset's change stamp.

A score is *fresh* while the stamp it was computed for equals the dataset's current
stamp (:func:`vntwin.quality.stamp.dataset_stamp`); otherwise it is recomputed on the
next read that needs it. Scores are derived data: writing one bumps no catalogue revision
and leaves no audit record. It bumps the *quality revision* instead (:class:`QualityState`),
so figures derived from many scores can be cached and known fresh by one row's read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    select,
    update,
)
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


# an agency's mean score from the index alone (vntwin.demand.figures)
Index("ix_quality_score_overall", QualityScore.package_id, QualityScore.overall)


class QualityState(Base):
    """Single row: a counter that every score write bumps in its own transaction.

    Why: an agency's mean score is worth caching (it averages thousands of rows), but
    scores change without a catalogue revision; this counter is the cheap change marker
    such a cache checks (:mod:`vntwin.demand.figures`).
    """

    __tablename__ = "quality_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


def quality_revision(session: Session) -> int:
    """The current quality revision (one row)."""
    return int(session.execute(select(QualityState.revision).where(QualityState.id == 1))
               .scalar_one())


def load_score(session: Session, package_id: str) -> QualityScore | None:
    """The stored score of a dataset, if any (fresh or not)."""
    return session.get(QualityScore, package_id)


def save_score(session: Session, package_id: str, stamp: str, report: dict[str, Any],
               seconds: float) -> QualityScore:
    """Insert or replace the dataset's score and bump the quality revision (the caller
    commits both together).

    The revision's row is locked first, before the score's: one lock order for every
    score writer.
    """
    session.execute(update(QualityState).where(QualityState.id == 1)
                    .values(revision=QualityState.revision + 1))
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
