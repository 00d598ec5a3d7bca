"""Data-request pages: the list with filters, asking for data, one request with its
comments, votes and the agency's triage.

Thin: each handler calls ``vntwin.demand`` with the visitor's ``Actor`` (the same calls the
``datarequest_*`` actions make), so who may ask, vote, comment and triage is decided there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from vntwin.catalog import groups
from vntwin.demand import listing, requests, social
from vntwin.demand.models import REQUEST_STATUSES
from vntwin.errors import NotAuthorized, NotFound, ValidationError
from vntwin.web.context import Page, page
from vntwin.web.messages import REQUEST_STATUS_LABELS, RESPONSE_STATE_LABELS
from vntwin.web.search import MAX_PAGE, PAGE_SIZE, pages

PageDep = Annotated[Page, Depends(page)]
NEW_FIELDS = ("title", "description", "purpose", "organization_id", "needed_by")
TRIAGE_STATUSES = ("accepted", "in_progress", "published", "declined")
# one more than the demand's longest text: an overlong field gets the domain's error, not a
# silent cut, while a huge post still costs no more than this
MAX_TEXT = 10_001


@dataclass
class RequestFilter:
    """The list's filters, read from and written back to the query string."""

    status: str = ""
    organization: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryParams) -> RequestFilter:
        """Read the filters, ignoring values the list does not know."""
        status = query.get("status", "")
        try:
            number = int(query.get("page", "1"))
        except ValueError:
            number = 1
        return cls(status=status if status in REQUEST_STATUSES else "",
                   organization=query.get("organization", "")[:100],
                   page=min(max(number, 1), MAX_PAGE))

    def link(self, path: str, *, page: int | None = None) -> str:
        """The same list on another page (for the pager macro)."""
        pairs = [(k, v) for k, v in (("status", self.status),
                                     ("organization", self.organization)) if v]
        if page and page > 1:
            pairs.append(("page", str(page)))
        return f"{path}?{urlencode(pairs)}" if pairs else path


def form_text(form: FormData, key: str) -> str:
    """A form field as trimmed text, cut to a sane length ("" when absent)."""
    value = form.get(key)
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


def _organisations(p: Page) -> list[dict[str, Any]]:
    return groups.group_list(p.cat, p.actor, organization=True, all_fields=True,
                             sort="title asc")


def _list_page(p: Page, flt: RequestFilter) -> Response:
    error = None
    try:
        found = listing.list_requests(
            p.cat, p.actor, organization=flt.organization or None,
            status=[flt.status] if flt.status else None, sort="newest", limit=PAGE_SIZE,
            offset=(flt.page - 1) * PAGE_SIZE)
    except ValidationError:
        error = p._("There is no such organisation.")
        found = {"count": 0, "result": [], "facets": {}}
    return p.render("requests.html", flt=flt, found=found, error=error,
                    paging=pages(found["count"], flt.page), orgs=_organisations(p),
                    statuses=REQUEST_STATUSES, status_labels=REQUEST_STATUS_LABELS,
                    response_labels=RESPONSE_STATE_LABELS)


def _new_page(p: Page, values: dict[str, Any], errors: dict[str, list[str]],
              status: int = 200) -> Response:
    return p.render("request_form.html", status=status, values=values, errors=errors,
                    orgs=_organisations(p))


def detail_page(p: Page, ref: str, triage: dict[str, Any] | None = None,
                errors: dict[str, list[str]] | None = None, status: int = 200,
                **extra: Any) -> Response:
    """One request's page, with a refused form's values and field errors (or 404);
    ``extra`` goes to the template (the withdraw form's values).
    """
    try:
        req = requests.show(p.cat, p.actor, ref)
    except NotFound:
        return p.not_found()
    comments = social.comment_list(p.cat, p.actor, req["id"], limit=500)
    return p.render("request.html", status=status, req=req, comments=comments,
                    triage=triage or {"status": req["status"],
                                      "planned_date": req["planned_date"] or "",
                                      "dataset_id": (req["dataset"] or {}).get("name", ""),
                                      "close_reason": req["close_reason"] or ""},
                    errors=errors or {}, triage_statuses=TRIAGE_STATUSES,
                    status_labels=REQUEST_STATUS_LABELS, response_labels=RESPONSE_STATE_LABELS,
                    **extra)


def triage_data(form: FormData) -> dict[str, Any]:
    """The ``datarequest_update`` input of the triage form: each status sends only what
    it needs (a planned date, a dataset, a reason), so stale fields do not leak in.
    """
    status = form_text(form, "status")
    data: dict[str, Any] = {"status": status}
    if status == "accepted":
        data["planned_date"] = form_text(form, "planned_date")
    elif status == "published":
        data["dataset_id"] = form_text(form, "dataset_id")
    elif status == "declined":
        data["close_reason"] = form_text(form, "close_reason")
    return data


def router() -> APIRouter:
    """``/requests``, ``/requests/new``, ``/requests/{id}`` and its forms."""
    api = APIRouter(include_in_schema=False)

    def login_first(p: Page, target: str) -> Response:
        return p.redirect(p.url("web_login", query={"next": target}))

    @api.get("/requests", name="web_requests")
    async def request_list(p: PageDep) -> Response:
        flt = RequestFilter.from_query(p.request.query_params)
        return await run_in_threadpool(_list_page, p, flt)

    @api.get("/requests/new", name="web_request_new")
    async def new_form(p: PageDep) -> Response:
        if p.actor.anonymous:
            return login_first(p, p.url("web_request_new"))
        values = {"organization_id": p.request.query_params.get("organization", "")}
        return await run_in_threadpool(_new_page, p, values, {})

    @api.post("/requests/new", name="web_request_create")
    async def create(p: PageDep) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return login_first(p, p.url("web_request_new"))
        values = {key: form_text(form, key) for key in NEW_FIELDS}
        data = {k: v for k, v in values.items() if v or k in ("title", "description")}
        try:
            req = await run_in_threadpool(requests.create, p.cat, p.actor, data)
        except ValidationError as exc:
            return await run_in_threadpool(_new_page, p, values,
                                           p.field_errors(exc.errors), 400)
        return p.redirect(p.url("web_request", request_id=req["id"]),
                          p._("Your request was sent to the agency."))

    @api.get("/requests/{request_id}", name="web_request")
    async def detail(p: PageDep, request_id: str) -> Response:
        return await run_in_threadpool(detail_page, p, request_id)

    @api.post("/requests/{request_id}/comment", name="web_request_comment")
    async def comment(p: PageDep, request_id: str) -> Response:
        form = await p.form()
        target = p.url("web_request", request_id=request_id)
        if p.actor.anonymous:
            return login_first(p, target)
        try:
            await run_in_threadpool(social.comment, p.cat, p.actor, request_id,
                                    {"comment": form_text(form, "comment")})
        except NotFound:
            return p.not_found()
        except ValidationError as exc:
            return await run_in_threadpool(detail_page, p, request_id, None,
                                           p.field_errors(exc.errors), 400)
        return p.redirect(target + "#comments", p._("Your comment was added."))

    @api.post("/requests/{request_id}/vote", name="web_request_vote")
    async def vote(p: PageDep, request_id: str) -> Response:
        form = await p.form()
        target = p.url("web_request", request_id=request_id)
        if p.actor.anonymous:
            return login_first(p, target)
        toggle = social.unvote if form.get("vote") == "off" else social.vote
        try:
            await run_in_threadpool(toggle, p.cat, p.actor, request_id)
        except NotFound:
            return p.not_found()
        except ValidationError as exc:  # closed: the page says why, at the votes
            refusal = " ".join(m for ms in p.field_errors(exc.errors).values() for m in ms)
            return await run_in_threadpool(detail_page, p, request_id, status=400,
                                           vote_error=refusal)
        message = p._("Your vote was withdrawn.") if toggle is social.unvote \
            else p._("Your vote was counted.")
        return p.redirect(target, message)

    @api.post("/requests/{request_id}/triage", name="web_request_triage")
    async def triage(p: PageDep, request_id: str) -> Response:
        form = await p.form()
        target = p.url("web_request", request_id=request_id)
        if p.actor.anonymous:
            return login_first(p, target)
        data = triage_data(form)
        values = {k: form_text(form, k) for k in ("status", "planned_date", "dataset_id",
                                               "close_reason")}
        try:
            await run_in_threadpool(requests.update, p.cat, p.actor,
                                    {"id": request_id, **data})
        except NotFound:
            return p.not_found()
        except NotAuthorized:
            return p.render("error.html", status=403, status_code=403)
        except ValidationError as exc:
            return await run_in_threadpool(detail_page, p, request_id, values,
                                           p.field_errors(exc.errors), 400)
        return p.redirect(target, p._("The request's status was changed."))

    return api
