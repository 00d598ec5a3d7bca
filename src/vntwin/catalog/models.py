"""SQLAlchemy 2 models of the catalogue.

Column names follow CKAN where a CKAN concept exists, so that dictizing to the Action API
shape is a rename-free copy. Times are timezone-aware UTC.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC, always hand back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    """CKAN uses UUID4 strings as ids; so do we."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


ACCESS_LEVELS = ("public", "agencies", "restricted")
ROLES = ("admin", "editor", "member")


class Base(DeclarativeBase):
    """Declarative base; ``type_annotation_map`` makes every datetime UTC-aware."""

    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012


class Group(Base):
    """An organisation (agency, ``is_organization``) or a thematic group, as in CKAN."""

    __tablename__ = "group"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    title_en: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    is_organization: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    extras: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    """A person or machine account; ``sysadmin`` may do anything."""

    __tablename__ = "user"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    fullname: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    sysadmin: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="active")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Member(Base):
    """A user's role in an organisation: admin, editor or member (CKAN's capacities)."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("user_id", "group_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))
    capacity: Mapped[str] = mapped_column(String(20))


class ApiToken(Base):
    """An API token: only a salted hash of its secret is kept, so a stolen database
    does not give working tokens.
    """

    __tablename__ = "api_token"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text, default="")
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_access: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Package(Base):
    """A dataset. ``revision`` is the catalogue revision of its last change: search
    indexes in every process catch up by reading rows with a newer revision.
    """

    __tablename__ = "package"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    title_en: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    notes_en: Mapped[str] = mapped_column(Text, default="")
    license_id: Mapped[str] = mapped_column(String(100), default="")
    access_level: Mapped[str] = mapped_column(String(20), default="public")
    owner_org: Mapped[str | None] = mapped_column(ForeignKey("group.id"), nullable=True)
    author: Mapped[str] = mapped_column(Text, default="")
    author_email: Mapped[str] = mapped_column(Text, default="")
    maintainer: Mapped[str] = mapped_column(Text, default="")
    maintainer_email: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    theme: Mapped[list[str]] = mapped_column(JSON, default=list)
    update_frequency: Mapped[str] = mapped_column(String(40), default="")
    spatial: Mapped[str] = mapped_column(Text, default="")
    spatial_label: Mapped[str] = mapped_column(Text, default="")
    temporal_start: Mapped[str] = mapped_column(String(40), default="")
    temporal_end: Mapped[str] = mapped_column(String(40), default="")
    type: Mapped[str] = mapped_column(String(40), default="dataset")
    state: Mapped[str] = mapped_column(String(20), default="active")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow)
    creator_user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    extras: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(BigInteger, default=0, index=True)

    organization: Mapped[Group | None] = relationship(lazy="joined")
    resources: Mapped[list[Resource]] = relationship(
        back_populates="package",
        order_by="Resource.position",
        lazy="selectin",
        primaryjoin="and_(Resource.package_id == Package.id, Resource.state == 'active')",
        viewonly=True,
    )


class PackageGroup(Base):
    """A dataset's membership of a thematic group."""

    __tablename__ = "package_group"
    __table_args__ = (UniqueConstraint("package_id", "group_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("package.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(ForeignKey("group.id", ondelete="CASCADE"))


class Resource(Base):
    """A file or URL of a dataset. Uploaded files are stored by their sha256."""

    __tablename__ = "resource"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(ForeignKey("package.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(40), default="")
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    hash: Mapped[str] = mapped_column(String(80), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    url_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    filename: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    datastore_active: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), default="active")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_modified: Mapped[datetime | None] = mapped_column(nullable=True)
    extras: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    package: Mapped[Package] = relationship(back_populates="resources", viewonly=True)


class PackageVersion(Base):
    """Version history: the full dataset dict after each change, never updated."""

    __tablename__ = "package_version"
    __table_args__ = (UniqueConstraint("package_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    activity_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditLog(Base):
    """Append-only record of every write: who, when, what. Database triggers refuse
    UPDATE and DELETE on this table (see the migration).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    user_name: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CatalogState(Base):
    """Single-row table holding the catalogue's revision counter."""

    __tablename__ = "catalog_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


Index("ix_package_owner_org", Package.owner_org)
# covers the per-organisation counts of visible datasets (organisation list and pages)
Index("ix_package_org_state_access", Package.owner_org, Package.state, Package.access_level)
# covers an agency's datasets published in a period, and its datasets' ids (programme figures)
Index("ix_package_org_state_created", Package.owner_org, Package.state, Package.created,
      Package.access_level, Package.id)
Index("ix_resource_package", Resource.package_id)
Index("ix_member_user", Member.user_id)
