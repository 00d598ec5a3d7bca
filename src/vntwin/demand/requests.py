"""Data requests: ask for a dataset, and the agency's triage of it.

Anyone signed in may ask (title, description, purpose, suggested agency, needed by). The
agency's editors and admins (and sysadmins) triage: ``accepted`` with a planned date,
``in_progress``, ``published`` with the dataset that answers it, or ``declined`` with a
reason. The author may edit an open request and withdraw it. The agency's first answer
(a triage step or a comment from its staff) is the response whose time is measured
against the deadline: ``VNTWIN_REQUEST_DEADLINE_DAYS`` working days after the request,
counted in Vietnam's calendar (:mod:`vntwin.demand.workdays`). The deadline is fixed when
the request is made, so a later change of the setting does not move old deadlines.

The action names and fields follow ckanext-datarequests (``datarequest_create``,
``_show``, ``_update``, ``_close`` ...). Every write goes through ``Catalog.write``, so it
is audited with the change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.lookup import get_group, get_package
from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog, WriteContext
from vntwin.catalog.validation import Errors
from vntwin.demand.dictize import is_staff, request_dicts
from vntwin.demand.models import (
    CLOSED_STATUSES,
    REQUEST_STATUSES,
    DataRequest,
    status_name,
)
from vntwin.demand.validation import TITLE_MAX, iso_date, text
from vntwin.demand.workdays import deadline, local_date
from vntwin.errors import Message, NotAuthorized, NotFound, ValidationError

CONTENT_FIELDS = ("title", "description", "purpose", "needed_by")
TRIAGE_FIELDS = ("status", "planned_date", "dataset_id", "accepted_dataset_id", "close_reason",
                 "close_circumstance")


def _signed_in(actor: Actor, what: str) -> None:
    if actor.user_id is None and not actor.sysadmin:
        raise NotAuthorized(f"{what} requires a signed-in user")


def get_request(session: Session, ref: Any) -> DataRequest:
    """A request by id, or NotFound."""
    req = session.get(DataRequest, ref) if isinstance(ref, str) and ref else None
    if req is None:
        raise NotFound(f"Data request {str(ref)[:60]!r} was not found")
    return req


def _organization(ctx: WriteContext | Session, value: Any, errors: Errors) -> str | None:
    if value in (None, ""):
        return None
    session = ctx.session if isinstance(ctx, WriteContext) else ctx
    try:
        return get_group(session, str(value), organization=True).id
    except NotFound:
        errors.add("organization_id", Message("Organization %(value)r does not exist",
                                               value=str(value)[:60]))
        return None


def _content(data: dict[str, Any], errors: Errors, *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    title = text(data, "title", errors, required=creating, maximum=TITLE_MAX)
    if title is not None:
        if not title and not creating:
            errors.add("title", "Missing value")
        out["title"] = title
    for key in ("description", "purpose"):
        value = text(data, key, errors)
        if value is not None:
            out[key] = value
    if (creating or "description" in out) and not out.get("description"):
        errors.add("description", "Missing value: say what data you need")
    if "needed_by" in data:
        out["needed_by"] = iso_date(data, "needed_by", errors)
    return out


def create(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """datarequest_create: a new open request; its author follows it."""
    from vntwin.demand.social import add_follower

    _signed_in(actor, "Creating a data request")
    errors = Errors()
    fields = _content(data, errors, creating=True)
    with cat.write(actor) as ctx:
        org_ref = data.get("organization_id", data.get("organization"))
        org_id = _organization(ctx, org_ref, errors)
        errors.raise_if_any()
        now = utcnow()
        req = DataRequest(
            user_id=actor.user_id, organization_id=org_id, status="open", created=now,
            modified=now, close_reason="",
            response_deadline=deadline(local_date(now), cat.settings.request_deadline_days),
            **{"description": "", "purpose": "", **fields})
        ctx.session.add(req)
        ctx.session.flush()
        if actor.user_id:
            add_follower(ctx.session, req.id, actor.user_id)
        ctx.log("datarequest_create", "datarequest", req.id, title=req.title,
                organization_id=org_id)
        ctx.session.flush()
        return request_dicts(ctx.session, actor, [req])[0]


def show(cat: Catalog, actor: Actor, ref: str) -> dict[str, Any]:
    """datarequest_show: one request (requests are public, like the catalogue)."""
    with cat.read() as session:
        return request_dicts(session, actor, [get_request(session, ref)])[0]


def _dataset_id(ctx: WriteContext, actor: Actor, data: dict[str, Any], errors: Errors) -> Any:
    ref = data.get("dataset_id") or data.get("accepted_dataset_id")
    if not ref:
        return None
    try:
        return get_package(ctx.session, actor, str(ref)).id
    except NotFound:
        errors.add("dataset_id", Message("Dataset %(value)r was not found",
                                          value=str(ref)[:60]))
        return None


def _apply_status(ctx: WriteContext, req: DataRequest, data: dict[str, Any],
                  errors: Errors) -> None:
    """Check and apply a triage step; each status needs its own piece of information."""
    status = data.get("status", req.status)
    if status == "withdrawn" == req.status:
        errors.add("status", "The author withdrew this request; only they may ask again")
        return
    if status not in REQUEST_STATUSES or status == "withdrawn":
        errors.add("status", "Must be one of open, accepted, in_progress, published, declined")
        return
    planned = iso_date(data, "planned_date", errors) if "planned_date" in data \
        else req.planned_date
    reason = text(data, "close_reason", errors)
    if reason is None:
        reason = text(data, "close_circumstance", errors)
    dataset_id = _dataset_id(ctx, ctx.actor, data, errors)
    if status == "accepted" and planned is None:
        errors.add("planned_date", "Accepting a request needs the planned publication date")
    if status == "published" and dataset_id is None and req.dataset_id is None:
        errors.add("dataset_id", "Publishing needs the dataset that answers the request")
    if status == "declined" and not (reason or (req.status == "declined" and req.close_reason)):
        errors.add("close_reason", "Declining a request needs a reason")
    if req.status in CLOSED_STATUSES and status not in (req.status, "open") \
            and not ctx.actor.sysadmin:
        errors.add("status", Message("The request is %(status)s; reopen it first",
                                     status=status_name(req.status)))
    errors.raise_if_any()
    if status != req.status:
        ctx.log("datarequest_triage", "datarequest", req.id, old=req.status, new=status)
    req.status = status
    req.planned_date = planned
    if dataset_id is not None:
        req.dataset_id = dataset_id
    if reason is not None:
        req.close_reason = reason
    if status in CLOSED_STATUSES:
        req.closed_at = req.closed_at or utcnow()
    else:
        req.closed_at = None
    if status == "open":
        req.dataset_id = None  # reopened: whatever answered it no longer does


def record_response(req: DataRequest, actor: Actor) -> None:
    """The agency's first answer stops the response clock (later ones do not move it)."""
    if req.first_response_at is None and is_staff(actor, req):
        req.first_response_at = utcnow()
        req.first_response_by = actor.user_id


def update(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """datarequest_update: only the given fields change.

    The author (while the request is open) and sysadmins edit the content; the agency's
    staff triage (``status``, ``planned_date``, ``dataset_id``, ``close_reason``); a
    sysadmin or an admin of the current agency may hand it to another agency
    (``organization_id``).
    """
    _signed_in(actor, "Updating a data request")
    errors = Errors()
    with cat.write(actor) as ctx:
        req = get_request(ctx.session, data.get("id"))
        author = actor.user_id is not None and actor.user_id == req.user_id
        content = {k: data[k] for k in CONTENT_FIELDS if k in data}
        if content and not (actor.sysadmin or (author and req.status == "open")):
            raise NotAuthorized("only the author may edit a request, and only while it is open")
        if "organization_id" in data and (data["organization_id"] or None) != \
                req.organization_id:
            if not (actor.sysadmin or (req.organization_id
                                       and actor.can_admin_org(req.organization_id))
                    or (author and req.status == "open" and req.first_response_at is None)):
                raise NotAuthorized("only a sysadmin or the agency's admin may hand a request "
                                    "to another agency")
            req.organization_id = _organization(ctx, data["organization_id"], errors)
        fields = _content(content, errors, creating=False)
        triage = any(k in data for k in TRIAGE_FIELDS)
        if triage and not is_staff(actor, req):
            raise NotAuthorized("only the agency's editors and admins triage a request")
        errors.raise_if_any()
        for key, value in fields.items():
            setattr(req, key, value)
        if triage:
            _apply_status(ctx, req, data, errors)
            record_response(req, actor)
        req.modified = utcnow()
        ctx.log("datarequest_update", "datarequest", req.id, fields=sorted(
            k for k in data if k != "id"))
        ctx.session.flush()
        return request_dicts(ctx.session, actor, [req])[0]


def close(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """datarequest_close: with ``accepted_dataset_id`` the request is published; the
    agency may decline it with a ``close_reason``; its author may withdraw it.
    """
    _signed_in(actor, "Closing a data request")
    with cat.read() as session:
        req = get_request(session, data.get("id"))
        staff = is_staff(actor, req)
        author = actor.user_id is not None and actor.user_id == req.user_id
    has_dataset = bool(data.get("accepted_dataset_id") or data.get("dataset_id"))
    if staff:
        status = "published" if has_dataset else "declined"
        return update(cat, actor, {**data, "status": status})
    if not author:
        raise NotAuthorized("only the agency's staff or the request's author may close it")
    if has_dataset:
        raise NotAuthorized("only the agency's staff may mark a request as published")
    return withdraw(cat, actor, data)


def withdraw(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """The author takes back their request ``id`` (optional ``close_reason``): it is
    closed as ``withdrawn``, and an unanswered one no longer counts against the agency.

    Separate from :func:`close` because an author who is also the agency's staff would be
    declining there, while on the request's page they withdraw what they asked.
    """
    _signed_in(actor, "Withdrawing a data request")
    errors = Errors()
    reason = text(data, "close_reason", errors) or text(data, "close_circumstance", errors)
    errors.raise_if_any()
    with cat.write(actor) as ctx:
        req = get_request(ctx.session, data.get("id"))
        if actor.user_id is None or actor.user_id != req.user_id:
            raise NotAuthorized("only the request's author may withdraw it")
        if req.status in CLOSED_STATUSES:
            raise ValidationError({"status": [Message("The request is already %(status)s",
                                                      status=status_name(req.status))]})
        req.status = "withdrawn"
        req.close_reason = reason or ""
        req.closed_at = req.modified = utcnow()
        ctx.log("datarequest_close", "datarequest", req.id, status="withdrawn")
        ctx.session.flush()
        return request_dicts(ctx.session, actor, [req])[0]


def delete(cat: Catalog, actor: Actor, ref: str) -> None:
    """datarequest_delete: sysadmins, or the author while nobody has answered."""
    _signed_in(actor, "Deleting a data request")
    with cat.write(actor) as ctx:
        req = get_request(ctx.session, ref)
        author = actor.user_id is not None and actor.user_id == req.user_id
        if not (actor.sysadmin or (author and req.status == "open"
                                   and req.first_response_at is None)):
            raise NotAuthorized("only a sysadmin, or the author of an unanswered open request, "
                                "may delete it")
        ctx.log("datarequest_delete", "datarequest", req.id, title=req.title)
        ctx.session.delete(req)
