"""Feedback on datasets: a rating from 1 to 5 and a comment, one per user and dataset.

Agencies read it to learn what users need fixed; the summary (mean rating, counts per
star) is what a dataset page shows. Giving feedback again replaces one's earlier
feedback, as app stores do, so one user cannot stack ratings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from vntwin.catalog.auth import Actor
from vntwin.catalog.dictize import iso
from vntwin.catalog.lookup import get_package
from vntwin.catalog.models import User, utcnow
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import Errors
from vntwin.demand.models import DatasetFeedback
from vntwin.demand.validation import number, text
from vntwin.errors import NotAuthorized, NotFound


def _dict(row: DatasetFeedback, user: User | None, actor: Actor) -> dict[str, Any]:
    return {"id": row.id, "package_id": row.package_id, "user_id": row.user_id,
            "user": {"id": user.id, "name": user.name,
                     "display_name": user.fullname or user.name} if user else None,
            "rating": row.rating, "comment": row.comment, "created": iso(row.created),
            "modified": iso(row.modified),
            "mine": actor.user_id is not None and actor.user_id == row.user_id}


def create(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """feedback_create: rate a dataset the caller can see (replacing their earlier rating)."""
    if actor.user_id is None:
        raise NotAuthorized("Feedback requires a signed-in user")
    errors = Errors()
    rating = number(data, "rating", errors, minimum=1, maximum=5)
    if rating is None and "rating" not in errors.errors:
        errors.add("rating", "Missing value: a rating from 1 to 5")
    body = text(data, "comment", errors, maximum=5_000) or ""
    errors.raise_if_any()
    with cat.write(actor) as ctx:
        pkg = get_package(ctx.session, actor, str(data.get("package_id") or data.get("id")
                                                  or ""))
        row = ctx.session.scalars(select(DatasetFeedback).where(
            DatasetFeedback.package_id == pkg.id, DatasetFeedback.user_id == actor.user_id)
        ).first()
        now = utcnow()
        if row is None:
            row = DatasetFeedback(package_id=pkg.id, user_id=actor.user_id, created=now)
            ctx.session.add(row)
        row.rating = int(rating or 0)
        row.comment = body
        row.modified = now
        ctx.session.flush()
        ctx.log("feedback_create", "package", pkg.id, rating=row.rating)
        return _dict(row, ctx.session.get(User, actor.user_id), actor)


def list_feedback(cat: Catalog, actor: Actor, ref: str, *, limit: int = 50,
                  offset: int = 0) -> dict[str, Any]:
    """feedback_list: ``{count, rating_mean, ratings: {"1": n, ...}, result}``, newest first."""
    with cat.read() as session:
        pkg = get_package(session, actor, ref)
        counts = {str(k): 0 for k in range(1, 6)}
        for rating, n in session.execute(
                select(DatasetFeedback.rating, func.count()).where(
                    DatasetFeedback.package_id == pkg.id).group_by(DatasetFeedback.rating)):
            counts[str(rating)] = int(n)
        total = sum(counts.values())
        mean = sum(int(k) * n for k, n in counts.items()) / total if total else None
        rows = list(session.scalars(select(DatasetFeedback)
                                    .where(DatasetFeedback.package_id == pkg.id)
                                    .order_by(DatasetFeedback.modified.desc(), DatasetFeedback.id)
                                    .offset(offset).limit(limit)))
        users = {u.id: u for u in session.scalars(
            select(User).where(User.id.in_({r.user_id for r in rows})))}
        return {"count": total, "rating_mean": round(mean, 2) if mean is not None else None,
                "ratings": counts,
                "result": [_dict(r, users.get(r.user_id), actor) for r in rows]}


def delete(cat: Catalog, actor: Actor, feedback_id: str) -> None:
    """feedback_delete: its author, an admin of the dataset's agency, or a sysadmin."""
    from vntwin.catalog.models import Package

    with cat.write(actor) as ctx:
        row = ctx.session.get(DatasetFeedback, feedback_id) if feedback_id else None
        if row is None:
            raise NotFound(f"Feedback {feedback_id[:60]!r} was not found")
        pkg = ctx.session.get(Package, row.package_id)
        owner = pkg.owner_org if pkg else None
        if not (actor.sysadmin or (actor.user_id and actor.user_id == row.user_id)
                or actor.can_admin_org(owner)):
            raise NotAuthorized("only its author, the agency's admin or a sysadmin may delete "
                                "feedback")
        ctx.log("feedback_delete", "package", row.package_id, feedback_id=row.id)
        ctx.session.delete(row)
