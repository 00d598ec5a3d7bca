"""The catalogue as one object: settings, database, upload store and search index.

Subsystem functions take a ``Catalog`` and an ``Actor``; they are the only place business
rules live. ``write()`` is the one door for changes: it bumps the catalogue revision (so
every process's search index can catch up) and appends to the audit log in the same
transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from vntwin.catalog.auth import Actor, FailureLimiter
from vntwin.catalog.models import AuditLog, CatalogState
from vntwin.catalog.storage import UploadStore
from vntwin.db import make_engine, session_factory, upgrade
from vntwin.settings import Settings


@dataclass
class WriteContext:
    """What a write needs besides the session: who, and what to audit."""

    session: Session
    actor: Actor
    audit: list[dict[str, Any]] = field(default_factory=list)
    revision: int | None = None

    def log(self, action: str, object_type: str, object_id: str, **detail: Any) -> None:
        """Queue an audit record; it is written with the change, or not at all."""
        self.audit.append(
            {"action": action, "object_type": object_type, "object_id": object_id,
             "detail": detail}
        )

    def next_revision(self) -> int:
        """The catalogue revision this transaction's changes carry.

        The UPDATE takes the row lock until commit, so revisions become visible in order
        (a search index never skips a revision committed later).
        """
        if self.revision is None:
            self.session.execute(
                update(CatalogState).where(CatalogState.id == 1)
                .values(revision=CatalogState.revision + 1)
            )
            self.revision = int(
                self.session.execute(select(CatalogState.revision).where(CatalogState.id == 1))
                .scalar_one()
            )
        return self.revision


class Catalog:
    """Entry point of the catalogue subsystem; one per app or CLI invocation."""

    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = make_engine(settings.resolved_database_url)
        if migrate:
            upgrade(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.uploads = UploadStore(settings.uploads_dir, settings.max_upload_bytes)
        self.failures = FailureLimiter(settings.auth_failures_per_minute)
        from vntwin.catalog.counts import PackageCounts
        from vntwin.catalog.search import SearchIndex

        self.index = SearchIndex(self)
        self.counts = PackageCounts()  # datasets per organisation, per revision
        # caches of the subsystems built on the catalogue (e.g. demand's agency figures),
        # by name: they live and die with this catalogue, each checks its own markers
        self.caches: dict[str, Any] = {}

    @property
    def site_url(self) -> str:
        """Public base URL without a trailing slash."""
        return self.settings.site_url.rstrip("/")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self, actor: Actor) -> Iterator[WriteContext]:
        """A transaction that commits the change, its revision and its audit records
        together, or nothing at all.
        """
        with self.sessions() as session, session.begin():
            ctx = WriteContext(session, actor)
            yield ctx
            for record in ctx.audit:
                session.add(
                    AuditLog(
                        user_id=actor.user_id, user_name=actor.name, client=actor.client,
                        **record,
                    )
                )

    def revision(self) -> int:
        """The catalogue's current revision (cheap: one row)."""
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT revision FROM catalog_state WHERE id = 1"))
                       .scalar_one())

    def close(self) -> None:
        """Cancel this catalogue's background measurements, then release its connections."""
        from vntwin.quality import refresh

        refresh.forget(self)
        self.engine.dispose()
