"""SQLAlchemy models of demand-driven publishing: data requests, their votes, comments and
followers, feedback on datasets, and agencies' yearly targets.

Declared on the catalogue's ``Base`` so one metadata holds every table; the schema itself
is created by migration ``0002``. Times are timezone-aware UTC; dates a person picks
(needed by, planned for) are plain dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vntwin.catalog.models import Base, new_id, utcnow
from vntwin.errors import Message

REQUEST_STATUSES = ("open", "accepted", "in_progress", "published", "declined", "withdrawn")
"""Life cycle of a request: ``open`` until the agency triages it; ``published`` (linked to
the dataset that answers it), ``declined`` (with a reason) and ``withdrawn`` (by its
author) are closed."""

CLOSED_STATUSES = ("published", "declined", "withdrawn")


def status_name(status: str) -> Message:
    """A status as words for a message ("in progress"), a :class:`Message` so that a page
    shows it in the visitor's language (the portal's catalogue translates these words:
    ``vntwin.web.messages.REQUEST_STATUS_LABELS``, pinned equal by a test).
    """
    return Message(status.replace("_", " "))


class DataRequest(Base):
    """Someone's request for a dataset, and the agency's answer to it."""

    __tablename__ = "datarequest"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("group.id", ondelete="SET NULL"), nullable=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    needed_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    planned_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("package.id", ondelete="SET NULL"), nullable=True)
    close_reason: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    response_deadline: Mapped[date] = mapped_column(Date)
    first_response_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_response_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class DataRequestVote(Base):
    """One signed-in user's vote for a request (at most one each)."""

    __tablename__ = "datarequest_vote"
    __table_args__ = (UniqueConstraint("datarequest_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    datarequest_id: Mapped[str] = mapped_column(ForeignKey("datarequest.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestFollower(Base):
    """A user who wants to hear about a request's progress (its author follows it)."""

    __tablename__ = "datarequest_follower"
    __table_args__ = (UniqueConstraint("datarequest_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    datarequest_id: Mapped[str] = mapped_column(ForeignKey("datarequest.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DataRequestComment(Base):
    """A comment on a request; staff of the request's agency answer this way too."""

    __tablename__ = "datarequest_comment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    datarequest_id: Mapped[str] = mapped_column(ForeignKey("datarequest.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True)
    comment: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime | None] = mapped_column(nullable=True)


class DatasetFeedback(Base):
    """A user's rating (1-5) and comment on a dataset; one per user and dataset, editable."""

    __tablename__ = "dataset_feedback"
    __table_args__ = (UniqueConstraint("package_id", "user_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(ForeignKey("package.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow)


class AgencyTarget(Base):
    """An agency's publication targets for one year, set by a sysadmin.

    ``None`` means "no target of that kind this year".
    """

    __tablename__ = "agency_target"
    __table_args__ = (UniqueConstraint("organization_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    datasets_to_publish: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requests_to_answer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quality_to_reach: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    modified: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_datarequest_organization", DataRequest.organization_id)
Index("ix_datarequest_status", DataRequest.status)
Index("ix_datarequest_comment_request", DataRequestComment.datarequest_id)
Index("ix_dataset_feedback_package", DatasetFeedback.package_id)
