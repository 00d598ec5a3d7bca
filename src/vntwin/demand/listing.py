"""Listing data requests with filters, text search, sorting, paging and facets: one call
per list page (``datarequest_list``).

Text search folds diacritics like the catalogue's (``du lieu`` finds *dữ liệu*). Requests
number in the thousands at most, so the text filter runs in Python over the rows the
SQL filters leave.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Select, func, select

from vntwin.catalog.auth import Actor
from vntwin.catalog.lookup import get_group, get_user
from vntwin.catalog.models import Group, utcnow
from vntwin.catalog.service import Catalog
from vntwin.demand.dictize import request_dicts, response_state
from vntwin.demand.models import CLOSED_STATUSES, REQUEST_STATUSES, DataRequest, DataRequestVote
from vntwin.demand.workdays import local_date
from vntwin.errors import NotFound, ValidationError
from vntwin.text import fold, tokens

SORTS = ("newest", "oldest", "votes", "deadline", "updated", "asc", "desc")
"""``asc``/``desc`` are ckanext-datarequests' names for oldest/newest first."""

RESPONSE_STATES = ("pending", "overdue", "on_time", "late", "none")


def _filtered(stmt: Select[Any], *, organization_id: str | None, user_id: str | None,
              statuses: list[str], closed: bool | None) -> Select[Any]:
    if organization_id is not None:
        stmt = stmt.where(DataRequest.organization_id == organization_id)
    if user_id is not None:
        stmt = stmt.where(DataRequest.user_id == user_id)
    if statuses:
        stmt = stmt.where(DataRequest.status.in_(statuses))
    if closed is True:
        stmt = stmt.where(DataRequest.status.in_(CLOSED_STATUSES))
    elif closed is False:
        stmt = stmt.where(DataRequest.status.not_in(CLOSED_STATUSES))
    return stmt


def _matches(req: DataRequest, words: list[str]) -> bool:
    haystack = fold(f"{req.title} {req.description} {req.purpose}")
    return all(word in haystack for word in words)


def _response_filter(req: DataRequest, states: list[str], today: Any) -> bool:
    return response_state(req, today)["state"] in states


def list_requests(cat: Catalog, actor: Actor, *, organization: str | None = None,
                  user: str | None = None, status: list[str] | None = None,
                  closed: bool | None = None, q: str = "", response: list[str] | None = None,
                  sort: str = "newest", limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """datarequest_list: ``{count, result, facets}`` as in ckanext-datarequests.

    Filters: ``organization`` (id or name), ``user`` (author id or name), ``status``
    (any of them), ``closed``, ``response`` (``pending``, ``overdue``, ``on_time``,
    ``late``), ``q`` (words in title, description or purpose). ``facets`` count the
    filtered requests by status, agency and response state.
    """
    statuses = list(status or [])
    bad = [s for s in statuses if s not in REQUEST_STATUSES]
    if bad:
        raise ValidationError({"status": [f"Unknown status {bad[0]!r}; use one of "
                                          f"{', '.join(REQUEST_STATUSES)}"]})
    states = list(response or [])
    if any(s not in RESPONSE_STATES for s in states):
        raise ValidationError({"response": [f"Use any of {', '.join(RESPONSE_STATES)}"]})
    if sort not in SORTS:
        raise ValidationError({"sort": [f"Use one of {', '.join(SORTS)}"]})
    with cat.read() as session:
        org_id = user_id = None
        try:
            if organization:
                org_id = get_group(session, organization, organization=True).id
            if user:
                user_id = get_user(session, user).id
        except NotFound as exc:
            raise ValidationError({"organization" if organization and org_id is None
                                   else "user": [exc.message]}) from None
        votes = (select(DataRequestVote.datarequest_id, func.count().label("n"))
                 .group_by(DataRequestVote.datarequest_id).subquery())
        stmt = _filtered(select(DataRequest).outerjoin(votes, votes.c.datarequest_id ==
                                                       DataRequest.id),
                         organization_id=org_id, user_id=user_id, statuses=statuses,
                         closed=closed)
        orders: dict[str, list[Any]] = {
            "newest": [DataRequest.created.desc()], "desc": [DataRequest.created.desc()],
            "oldest": [DataRequest.created.asc()], "asc": [DataRequest.created.asc()],
            "votes": [func.coalesce(votes.c.n, 0).desc(), DataRequest.created.desc()],
            "deadline": [DataRequest.response_deadline.asc(), DataRequest.created.asc()],
            "updated": [DataRequest.modified.desc()],
        }
        rows = list(session.scalars(stmt.order_by(*orders[sort], DataRequest.id)))
        words = tokens(q or "")
        if words:
            rows = [r for r in rows if _matches(r, words)]
        today = local_date(utcnow())
        if states:
            rows = [r for r in rows if _response_filter(r, states, today)]
        facets = _facets(session, rows, today)
        page = rows[offset: offset + limit]
        return {"count": len(rows), "result": request_dicts(session, actor, page),
                "facets": facets, "limit": limit, "offset": offset, "sort": sort}


def _facets(session: Any, rows: list[DataRequest], today: Any) -> dict[str, Any]:
    orgs = Counter(r.organization_id for r in rows if r.organization_id)
    names = {g.id: (g.name, g.title or g.name) for g in session.scalars(
        select(Group).where(Group.id.in_(list(orgs))))} if orgs else {}
    return {
        "status": dict(Counter(r.status for r in rows)),
        "organization": [{"id": oid, "name": names[oid][0], "title": names[oid][1], "count": n}
                         for oid, n in orgs.most_common() if oid in names],
        "response": dict(Counter(response_state(r, today)["state"] for r in rows)),
        "closed": sum(r.status in CLOSED_STATUSES for r in rows),
    }
