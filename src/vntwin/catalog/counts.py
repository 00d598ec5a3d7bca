"""Datasets per organisation or group, counted once per catalogue revision.

Why a cache: counting 100,000 datasets by organisation and access level reads the whole
covering index (~50 ms on SQLite), and the organisation list, the request forms and
``organization_list`` need it on every call. Why it cannot go stale: every change that
moves a count (dataset create, update, delete, access level, owner, state, groups) goes
through ``packages.record_version``, which bumps the catalogue revision in the same
transaction (``WriteContext.next_revision``); bulk loaders bump it too (see
``bench/bench_catalog.py``). The revision is read *before* the counting query, so counts
stored under revision R are at least as new as R; a commit in between only makes the next
call count again.

What is cached is actor-free: rows of (group, access level, owning organisation, count).
Each call filters them with its own ``Actor.can_read``, so private datasets are counted
only for those who may see them, exactly as the uncached query did.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.models import Package, PackageGroup

if TYPE_CHECKING:
    from vntwin.catalog.service import Catalog

Row = tuple[str, str, str | None, int]  # group, access level, owning organisation, datasets


def count_rows(session: Session, organization: bool, only: str | None = None) -> list[Row]:
    """Active datasets per (group, access level, owner), read from the indexes.

    Organisations are counted from the (owner_org, state, access_level) index alone;
    groups through their membership table. ``only``: of one group.
    """
    if organization:
        stmt = (select(Package.owner_org, Package.access_level, Package.owner_org,
                       func.count())
                .where(Package.state == "active")
                .group_by(Package.owner_org, Package.access_level))
        if only is not None:
            stmt = stmt.where(Package.owner_org == only)
    else:
        stmt = (select(PackageGroup.group_id, Package.access_level, Package.owner_org,
                       func.count())
                .join(Package, Package.id == PackageGroup.package_id)
                .where(Package.state == "active")
                .group_by(PackageGroup.group_id, Package.access_level, Package.owner_org))
        if only is not None:
            stmt = stmt.where(PackageGroup.group_id == only)
    return [(gid, level, owner, int(n)) for gid, level, owner, n in session.execute(stmt)
            if gid]


def visible(rows: list[Row], actor: Actor) -> dict[str, int]:
    """Per group, the datasets of ``rows`` that ``actor`` may see."""
    counts: dict[str, int] = {}
    for gid, level, owner, n in rows:
        if actor.can_read(level, owner):
            counts[gid] = counts.get(gid, 0) + n
    return counts


class PackageCounts:
    """The rows of :func:`count_rows` for every organisation (or group), per revision.

    One per ``Catalog``; thread-safe. A miss counts under a lock, so concurrent visits
    after a write count once, not once each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: dict[bool, tuple[int, list[Row]]] = {}

    def rows(self, cat: Catalog, organization: bool) -> list[Row]:
        """The current rows: from the cache while the revision has not moved."""
        revision = cat.revision()
        hit = self._cached.get(organization)
        if hit is not None and hit[0] == revision:
            return hit[1]
        with self._lock:
            hit = self._cached.get(organization)
            if hit is not None and hit[0] == revision:
                return hit[1]  # another thread counted meanwhile
            with cat.read() as session:
                rows = count_rows(session, organization)
            self._cached[organization] = (revision, rows)
            return rows

    def for_actor(self, cat: Catalog, actor: Actor, organization: bool) -> dict[str, int]:
        """Per organisation (or group), the datasets ``actor`` may see."""
        return visible(self.rows(cat, organization), actor)
