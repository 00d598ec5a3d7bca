"""Signing in and out, and the API-token page.

Signing in exchanges the password for an API token (``catalog.users.sign_in``: scrypt,
rate-limited per client, the same answer for a wrong name and a wrong password); the
session cookie carries that token, and signing out revokes it.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.catalog import users
from vntwin.errors import NotAuthorized, RateLimited, ValidationError, VntwinError
from vntwin.web.context import Page, page
from vntwin.web.tokens import list_tokens, token_id

PageDep = Annotated[Page, Depends(page)]
MAX_TOKEN_DAYS = 3650


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to after signing in; anything else (another site, a
    scheme-relative ``//host`` or a backslash trick) becomes the default.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) \
            or "\\" in target or any(c in target for c in "\r\n\t"):
        return default
    return target[:2000]


def _client(p: Page) -> str:
    return p.request.client.host if p.request.client else ""


def router() -> APIRouter:
    """``/user/login``, ``/user/logout``, ``/user/api-tokens``."""
    api = APIRouter(include_in_schema=False)

    @api.get("/user/login", name="web_login")
    async def login_form(p: PageDep) -> Response:
        target = safe_next(p.request.query_params.get("next"), p.url("web_home"))
        if not p.actor.anonymous:
            return p.redirect(target)
        return p.render("login.html", next=target, username="", error=None)

    @api.post("/user/login", name="web_login_post")
    async def login(p: PageDep) -> Response:
        form = await p.form()
        username = str(form.get("username") or "").strip()[:100]
        password = str(form.get("password") or "")[:1000]
        target = safe_next(str(form.get("next") or ""), p.url("web_home"))
        try:
            token = await run_in_threadpool(users.sign_in, p.cat, username, password,
                                            _client(p))
        except RateLimited:
            return p.render("login.html", status=429, next=target, username=username,
                            error=p._("Too many failed attempts. Wait a minute and try "
                                      "again."))
        except NotAuthorized:
            return p.render("login.html", status=401, next=target, username=username,
                            error=p._("Wrong user name or password."))
        p.sign_in(token, username)
        return p.redirect(target, p._("You are signed in."))

    @api.post("/user/logout", name="web_logout")
    async def logout(p: PageDep) -> Response:
        await p.form()
        token = p.session.token
        if token and not p.actor.anonymous:
            with contextlib.suppress(VntwinError):  # already revoked: signing out succeeds
                await run_in_threadpool(users.token_revoke, p.cat, p.actor, token)
        p.sign_out()
        return p.redirect(p.url("web_home"), p._("You are signed out."))

    def tokens_page(p: Page, new_token: str | None = None, errors: dict | None = None,
                    status: int = 200) -> Response:
        tokens = list_tokens(p.cat, p.actor)
        return p.render("tokens.html", status=status, tokens=tokens, new_token=new_token,
                        errors=errors or {}, session_token_id=token_id(p.session.token))

    @api.get("/user/api-tokens", name="web_tokens")
    async def tokens(p: PageDep) -> Response:
        if p.actor.anonymous:
            return p.redirect(p.url("web_login", query={"next": p.url("web_tokens")}))
        return await run_in_threadpool(tokens_page, p)

    @api.post("/user/api-tokens", name="web_tokens_post")
    async def create_token(p: PageDep) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return p.redirect(p.url("web_login", query={"next": p.url("web_tokens")}))
        name = str(form.get("name") or "").strip()[:200]
        errors: dict[str, list[str]] = {}
        days: int | None = None
        raw_days = str(form.get("days") or "").strip()
        if raw_days:
            if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_TOKEN_DAYS:
                errors["days"] = [p._("Enter a number of days from 1 to 3650.")]
            else:
                days = int(raw_days)
        if not name:
            errors["name"] = [p._("Give the token a name, to recognise it later.")]
        if errors:
            return await run_in_threadpool(tokens_page, p, None, errors, 400)
        try:
            token = await run_in_threadpool(users.token_create, p.cat, p.actor, p.actor.name,
                                            name, days)
        except ValidationError as exc:
            return await run_in_threadpool(tokens_page, p, None, p.field_errors(exc.errors),
                                           400)
        return await run_in_threadpool(tokens_page, p, token)

    @api.post("/user/api-tokens/revoke", name="web_tokens_revoke")
    async def revoke_token(p: PageDep) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return p.redirect(p.url("web_login", query={"next": p.url("web_tokens")}))
        tid = str(form.get("token_id") or "")
        try:
            await run_in_threadpool(users.token_revoke, p.cat, p.actor, tid)
        except (ValidationError, NotAuthorized):
            return p.redirect(p.url("web_tokens"), p._("That token was not found."))
        if tid == token_id(p.session.token):
            p.sign_out()
            return p.redirect(p.url("web_home"), p._("You revoked this browser's token and "
                                                     "are signed out."))
        return p.redirect(p.url("web_tokens"), p._("The token was revoked."))

    return api
