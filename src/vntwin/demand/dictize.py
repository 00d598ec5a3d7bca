"""Data requests as API dicts: ckanext-datarequests' field names, plus vntwin's triage,
response-time and social fields, so ckanext clients and vntwin's pages read one shape.

Counts (votes, followers, comments) and the caller's own vote are fetched for a whole
page of requests at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.dictize import iso
from vntwin.catalog.models import Group, Package, User, utcnow
from vntwin.demand.models import (
    CLOSED_STATUSES,
    DataRequest,
    DataRequestComment,
    DataRequestFollower,
    DataRequestVote,
)
from vntwin.demand.workdays import local_date, working_days_between


def is_staff(actor: Actor, req: DataRequest) -> bool:
    """Editors and admins of the request's agency, and sysadmins, triage it."""
    return actor.sysadmin or (req.organization_id is not None
                              and actor.can_edit_org_datasets(req.organization_id))


def response_state(req: DataRequest, today: date | None = None) -> dict[str, Any]:
    """How the agency's response compares with the deadline.

    ``state`` is ``on_time`` or ``late`` once answered; before that ``pending`` (deadline
    not passed), ``overdue`` (passed), or ``none`` (withdrawn unanswered).
    """
    today = today or local_date(utcnow())
    created = local_date(req.created)
    out: dict[str, Any] = {"deadline": req.response_deadline.isoformat(),
                           "responded_at": iso(req.first_response_at), "working_days": None}
    if req.first_response_at is not None:
        answered = local_date(req.first_response_at)
        out["working_days"] = working_days_between(created, answered)
        out["state"] = "on_time" if answered <= req.response_deadline else "late"
    elif req.status == "withdrawn":
        out["state"] = "none"
    else:
        out["state"] = "overdue" if today > req.response_deadline else "pending"
        out["working_days_left"] = (working_days_between(today, req.response_deadline)
                                    if today <= req.response_deadline else 0)
    return out


def _counts(session: Session, model: Any, ids: list[str]) -> dict[str, int]:
    rows = session.execute(select(model.datarequest_id, func.count())
                           .where(model.datarequest_id.in_(ids))
                           .group_by(model.datarequest_id))
    return {rid: int(n) for rid, n in rows}


def _mine(session: Session, model: Any, ids: list[str], user_id: str | None) -> set[str]:
    if user_id is None:
        return set()
    return set(session.scalars(select(model.datarequest_id).where(
        model.datarequest_id.in_(ids), model.user_id == user_id)))


def request_dicts(session: Session, actor: Actor,
                  reqs: Sequence[DataRequest]) -> list[dict[str, Any]]:
    """Dicts of several requests, with counts, in the given order."""
    ids = [r.id for r in reqs]
    if not ids:
        return []
    votes = _counts(session, DataRequestVote, ids)
    followers = _counts(session, DataRequestFollower, ids)
    comments = _counts(session, DataRequestComment, ids)
    voted = _mine(session, DataRequestVote, ids, actor.user_id)
    following = _mine(session, DataRequestFollower, ids, actor.user_id)
    org_ids = {r.organization_id for r in reqs if r.organization_id}
    orgs = {g.id: g for g in session.scalars(select(Group).where(Group.id.in_(org_ids)))}
    user_ids = {r.user_id for r in reqs if r.user_id}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    pkg_ids = {r.dataset_id for r in reqs if r.dataset_id}
    pkgs = {p.id: p for p in session.scalars(select(Package).where(Package.id.in_(pkg_ids)))}
    today = local_date(utcnow())
    out = []
    for req in reqs:
        org = orgs.get(req.organization_id or "")
        user = users.get(req.user_id or "")
        pkg = pkgs.get(req.dataset_id or "")
        if pkg is not None and (pkg.state == "deleted"
                                or not actor.can_read(pkg.access_level, pkg.owner_org)):
            pkg = None
        staff = is_staff(actor, req)
        author = actor.user_id is not None and actor.user_id == req.user_id
        out.append({
            "id": req.id,
            "title": req.title,
            "description": req.description,
            "purpose": req.purpose,
            "organization_id": req.organization_id,
            "organization": {"id": org.id, "name": org.name, "title": org.title or org.name}
            if org else None,
            "user_id": req.user_id,
            "user": {"id": user.id, "name": user.name,
                     "display_name": user.fullname or user.name} if user else None,
            "needed_by": req.needed_by.isoformat() if req.needed_by else None,
            "status": req.status,
            "closed": req.status in CLOSED_STATUSES,
            "planned_date": req.planned_date.isoformat() if req.planned_date else None,
            "approx_publishing_date": req.planned_date.isoformat() if req.planned_date else None,
            "accepted_dataset_id": pkg.id if pkg else None,
            "dataset": {"id": pkg.id, "name": pkg.name, "title": pkg.title or pkg.name}
            if pkg else None,
            "close_reason": req.close_reason,
            "close_circumstance": req.close_reason,
            "open_time": iso(req.created),
            "created": iso(req.created),
            "modified": iso(req.modified),
            "close_time": iso(req.closed_at),
            "response": response_state(req, today),
            "votes": votes.get(req.id, 0),
            "voted": req.id in voted,
            "followers": followers.get(req.id, 0),
            "following": req.id in following,
            "comments_count": comments.get(req.id, 0),
            "can": {"edit": actor.sysadmin or (author and req.status == "open"),
                    "triage": staff, "withdraw": author and req.status not in CLOSED_STATUSES,
                    "delete": actor.sysadmin or (author and req.status == "open"
                                                 and req.first_response_at is None),
                    # a closed request takes no new votes; a vote given may be taken back
                    "vote": not actor.anonymous and actor.user_id is not None
                    and (req.status not in CLOSED_STATUSES or req.id in voted),
                    "comment": not actor.anonymous and actor.user_id is not None},
        })
    return out


def comment_dict(comment: DataRequestComment, user: User | None, staff_ids: set[str],
                 actor: Actor) -> dict[str, Any]:
    """A comment, naming its author and whether they spoke for the agency."""
    return {
        "id": comment.id,
        "datarequest_id": comment.datarequest_id,
        "user_id": comment.user_id,
        "user": {"id": user.id, "name": user.name, "display_name": user.fullname or user.name}
        if user else None,
        "comment": comment.comment,
        "time": iso(comment.created),
        "created": iso(comment.created),
        "modified": iso(comment.modified),
        "from_agency": comment.user_id in staff_ids,
        "can_delete": actor.sysadmin or (actor.user_id is not None
                                         and actor.user_id == comment.user_id),
    }
