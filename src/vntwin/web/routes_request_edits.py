"""The author's and moderators' forms on a data request: edit it, withdraw it, delete a
comment.

Thin, like ``routes_requests``: who may do what is decided by ``vntwin.demand`` (the same
functions behind ``datarequest_update``, ``datarequest_close`` and
``datarequest_comment_delete``), with the visitor's ``Actor``. The pages only offer the
forms the request's ``can`` flags allow; a forged post is refused by the domain all the
same. Every form carries the session's CSRF token (``Page.form`` checks it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.demand import requests, social
from vntwin.errors import NotAuthorized, NotFound, ValidationError
from vntwin.web.context import Page, page
from vntwin.web.routes_requests import detail_page, form_text

PageDep = Annotated[Page, Depends(page)]
EDIT_FIELDS = ("title", "description", "purpose", "needed_by")
# the withdraw form's one field has its own id: the triage form also has a close_reason
WITHDRAW_FIELD = "withdraw_reason"


def _refused(p: Page, status: int) -> Response:
    return p.render("error.html", status=status, status_code=status)


def _edit_page(p: Page, req: dict[str, Any], values: dict[str, Any],
               errors: dict[str, list[str]], status: int = 200) -> Response:
    return p.render("request_form.html", status=status, values=values, errors=errors,
                    editing=req, orgs=[])


def _editable(p: Page, request_id: str) -> dict[str, Any] | Response:
    """The request if the visitor may edit it, else the page that says why not."""
    try:
        req = requests.show(p.cat, p.actor, request_id)
    except NotFound:
        return _refused(p, 404)
    return req if req["can"]["edit"] else _refused(p, 403)


def router() -> APIRouter:
    """``/requests/{id}/edit``, ``/requests/{id}/withdraw`` and
    ``/requests/{id}/comments/{comment_id}/delete``.
    """
    api = APIRouter(include_in_schema=False)

    def login_first(p: Page, target: str) -> Response:
        return p.redirect(p.url("web_login", query={"next": target}))

    @api.get("/requests/{request_id}/edit", name="web_request_edit")
    async def edit_form(p: PageDep, request_id: str) -> Response:
        if p.actor.anonymous:
            return login_first(p, p.url("web_request_edit", request_id=request_id))
        req = await run_in_threadpool(_editable, p, request_id)
        if isinstance(req, Response):
            return req
        values = {k: req[k] or "" for k in EDIT_FIELDS}
        return _edit_page(p, req, values, {})

    @api.post("/requests/{request_id}/edit", name="web_request_update")
    async def edit(p: PageDep, request_id: str) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return login_first(p, p.url("web_request_edit", request_id=request_id))
        values = {k: form_text(form, k) for k in EDIT_FIELDS}
        try:
            await run_in_threadpool(requests.update, p.cat, p.actor,
                                    {"id": request_id, **values})
        except NotFound:
            return _refused(p, 404)
        except NotAuthorized:
            return _refused(p, 403)
        except ValidationError as exc:
            req = await run_in_threadpool(_editable, p, request_id)
            if isinstance(req, Response):
                return req
            return _edit_page(p, req, values, p.field_errors(exc.errors), 400)
        return p.redirect(p.url("web_request", request_id=request_id),
                          p._("Your request was changed."))

    @api.post("/requests/{request_id}/withdraw", name="web_request_withdraw")
    async def withdraw(p: PageDep, request_id: str) -> Response:
        form = await p.form()
        target = p.url("web_request", request_id=request_id)
        if p.actor.anonymous:
            return login_first(p, target)
        reason = form_text(form, WITHDRAW_FIELD)
        try:
            await run_in_threadpool(requests.withdraw, p.cat, p.actor,
                                    {"id": request_id, "close_reason": reason})
        except NotFound:
            return _refused(p, 404)
        except NotAuthorized:
            return _refused(p, 403)
        except ValidationError as exc:
            if "status" in exc.errors:  # closed meanwhile: the page shows how it stands
                return p.redirect(target, p._("This request is already closed."))
            errors = {WITHDRAW_FIELD: [m for messages in p.field_errors(exc.errors)
                                       .values() for m in messages]}
            return await run_in_threadpool(detail_page, p, request_id, None, errors, 400,
                                           withdraw={WITHDRAW_FIELD: reason})
        return p.redirect(target, p._("You withdrew your request."))

    @api.post("/requests/{request_id}/comments/{comment_id}/delete",
              name="web_request_comment_delete")
    async def delete_comment(p: PageDep, request_id: str, comment_id: str) -> Response:
        await p.form()
        target = p.url("web_request", request_id=request_id)
        if p.actor.anonymous:
            return login_first(p, target)
        try:
            await run_in_threadpool(social.comment_delete, p.cat, p.actor, comment_id,
                                    request_id)
        except NotFound:
            return _refused(p, 404)
        except NotAuthorized:
            return _refused(p, 403)
        return p.redirect(target + "#comments", p._("The comment was deleted."))

    return api
