"""Votes, followers and comments on data requests.

Votes say how many people need a dataset (one each, withdrawable); followers are told of
progress by the pages and feeds built on this; comments carry the conversation, and a
comment from the agency's staff counts as its response to the request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.models import Member, User, utcnow
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import Errors
from vntwin.demand.dictize import comment_dict, request_dicts
from vntwin.demand.models import (
    CLOSED_STATUSES,
    DataRequestComment,
    DataRequestFollower,
    DataRequestVote,
    status_name,
)
from vntwin.demand.requests import get_request, record_response
from vntwin.demand.validation import text
from vntwin.errors import Message, NotAuthorized, NotFound, ValidationError

COMMENT_MAX = 5_000


def _user(actor: Actor, what: str) -> str:
    """Votes, follows and comments belong to a user account (not the CLI's system actor)."""
    if actor.user_id is None:
        raise NotAuthorized(f"{what} requires a signed-in user")
    return actor.user_id


def add_follower(session: Session, request_id: str, user_id: str) -> bool:
    """Make the user follow the request; False if they already did."""
    exists = session.scalars(select(DataRequestFollower.id).where(
        DataRequestFollower.datarequest_id == request_id,
        DataRequestFollower.user_id == user_id)).first()
    if exists is not None:
        return False
    session.add(DataRequestFollower(datarequest_id=request_id, user_id=user_id))
    return True


def _toggle(cat: Catalog, actor: Actor, ref: str, model: Any, on: bool,
            what: str) -> dict[str, Any]:
    user_id = _user(actor, what)
    with cat.write(actor) as ctx:
        req = get_request(ctx.session, ref)
        if on and what == "vote" and req.status in CLOSED_STATUSES:
            # a vote says "we need this too": a closed request can no longer act on it
            # (taking a vote back stays allowed)
            raise ValidationError({"status": [Message(
                "The request is %(status)s: it takes no more votes",
                status=status_name(req.status))]})
        row = ctx.session.scalars(select(model).where(
            model.datarequest_id == req.id, model.user_id == user_id)).first()
        if on and row is None:
            ctx.session.add(model(datarequest_id=req.id, user_id=user_id))
            ctx.log(f"datarequest_{what}", "datarequest", req.id)
        elif not on and row is not None:
            ctx.session.delete(row)
            ctx.log(f"datarequest_un{what}", "datarequest", req.id)
        ctx.session.flush()
        return request_dicts(ctx.session, actor, [req])[0]


def vote(cat: Catalog, actor: Actor, ref: str) -> dict[str, Any]:
    """datarequest_vote: add the caller's vote (voting twice counts once); refused with a
    ``ValidationError`` on ``status`` once the request is closed (published, declined,
    withdrawn).
    """
    return _toggle(cat, actor, ref, DataRequestVote, True, "vote")


def unvote(cat: Catalog, actor: Actor, ref: str) -> dict[str, Any]:
    """datarequest_unvote: take the caller's vote back."""
    return _toggle(cat, actor, ref, DataRequestVote, False, "vote")


def follow(cat: Catalog, actor: Actor, ref: str) -> dict[str, Any]:
    """datarequest_follow: follow the request's progress."""
    return _toggle(cat, actor, ref, DataRequestFollower, True, "follow")


def unfollow(cat: Catalog, actor: Actor, ref: str) -> dict[str, Any]:
    """datarequest_unfollow: stop following it."""
    return _toggle(cat, actor, ref, DataRequestFollower, False, "follow")


def _staff_ids(session: Session, org_id: str | None) -> set[str]:
    ids = set(session.scalars(select(User.id).where(User.sysadmin.is_(True))))
    if org_id:
        ids |= set(session.scalars(select(Member.user_id).where(
            Member.group_id == org_id, Member.capacity.in_(("admin", "editor")))))
    return ids


def comment(cat: Catalog, actor: Actor, ref: str, data: dict[str, Any]) -> dict[str, Any]:
    """datarequest_comment: add a comment; the commenter follows the request after."""
    user_id = _user(actor, "Commenting")
    errors = Errors()
    body = text(data, "comment", errors, required=True, maximum=COMMENT_MAX)
    errors.raise_if_any()
    with cat.write(actor) as ctx:
        req = get_request(ctx.session, ref)
        row = DataRequestComment(datarequest_id=req.id, user_id=user_id, comment=body or "",
                                 created=utcnow())
        ctx.session.add(row)
        record_response(req, actor)
        req.modified = utcnow()
        add_follower(ctx.session, req.id, user_id)
        ctx.session.flush()
        ctx.log("datarequest_comment", "datarequest", req.id, comment_id=row.id)
        user = ctx.session.get(User, user_id)
        return comment_dict(row, user, _staff_ids(ctx.session, req.organization_id), actor)


def comment_list(cat: Catalog, actor: Actor, ref: str, *, limit: int = 100, offset: int = 0,
                 newest_first: bool = False) -> list[dict[str, Any]]:
    """datarequest_comment_list: a request's comments, oldest first by default."""
    with cat.read() as session:
        req = get_request(session, ref)
        order = DataRequestComment.created.desc() if newest_first \
            else DataRequestComment.created.asc()
        rows = list(session.scalars(select(DataRequestComment)
                                    .where(DataRequestComment.datarequest_id == req.id)
                                    .order_by(order, DataRequestComment.id)
                                    .offset(offset).limit(limit)))
        users = {u.id: u for u in session.scalars(
            select(User).where(User.id.in_({r.user_id for r in rows if r.user_id})))}
        staff = _staff_ids(session, req.organization_id)
        return [comment_dict(r, users.get(r.user_id or ""), staff, actor) for r in rows]


def comment_delete(cat: Catalog, actor: Actor, comment_id: str,
                   request_id: str | None = None) -> None:
    """datarequest_comment_delete: its author or a sysadmin (a response already given
    stays counted: the clock is not restarted by deleting the answer).

    ``request_id``: the request the caller thinks the comment is on (a page's address);
    a comment of another request is then "not found".
    """
    with cat.write(actor) as ctx:
        row = ctx.session.get(DataRequestComment, comment_id) if comment_id else None
        if row is None or (request_id is not None and row.datarequest_id != request_id):
            raise NotFound(f"Comment {comment_id[:60]!r} was not found")
        if not (actor.sysadmin or (actor.user_id and actor.user_id == row.user_id)):
            raise NotAuthorized("only the comment's author or a sysadmin may delete it")
        ctx.log("datarequest_comment_delete", "datarequest", row.datarequest_id,
                comment_id=row.id)
        ctx.session.delete(row)
