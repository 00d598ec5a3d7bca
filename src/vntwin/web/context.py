"""What every page handler needs: the catalogue, who is asking, the language, the session,
and rendering a template into a response with the security headers and cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from vntwin.catalog.auth import ANONYMOUS, Actor
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import Message, NotAuthorized, RateLimited
from vntwin.web import i18n
from vntwin.web.messages import FREQUENCY_LABELS, THEME_LABELS
from vntwin.web.session import CSRF_FIELD, Session, SessionCodec, check_csrf, check_origin
from vntwin.web.sparkline import sparkline

TEMPLATES = Path(__file__).parent / "templates"

# No inline scripts or styles anywhere: every script and stylesheet is a file we serve.
# MapLibre's CSP build loads its worker from our static files (worker-src 'self').
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# A standalone report (scenario comparison, quality findings) has its own <style> and
# inline SVG plots, and no script at all: a policy of its own, stricter on scripts.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Templates:
    """One Jinja2 environment per language, with autoescape on and gettext installed."""

    def __init__(self) -> None:
        self.envs: dict[str, Environment] = {}
        for lang in i18n.LANGUAGES:
            env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
                ["html"], default_for_string=True, default=True),
                extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
            env.install_gettext_translations(i18n.translations(lang),  # type: ignore[attr-defined]
                                             newstyle=True)
            env.filters["datetime"] = lambda v, fmt="medium", _l=lang: i18n.show_datetime(
                v, _l, fmt)
            env.filters["number"] = lambda v, _l=lang: i18n.show_number(v, _l)
            env.filters["filesize"] = lambda v, _l=lang: i18n.show_size(v, _l)
            env.globals["sparkline"] = sparkline
            self.envs[lang] = env

    def render(self, lang: str, name: str, context: dict[str, Any]) -> str:
        """The named template rendered in ``lang``."""
        return self.envs[lang].get_template(name).render(context)


@dataclass
class Page:
    """The request as a page handler sees it."""

    request: Request
    cat: Catalog
    actor: Actor
    lang: str
    remember_lang: bool
    session: Session
    codec: SessionCodec
    templates: Templates

    # -- language ----------------------------------------------------------------------
    def _(self, message: str) -> str:
        """Translate a message of the Python code (the templates use ``_`` directly).

        A domain :class:`~vntwin.errors.Message` is translated by its template, then
        filled with its values ("Must be at most 200 characters" in Vietnamese too).
        """
        gettext = i18n.translations(self.lang).ugettext
        if isinstance(message, Message):
            return message.localise(gettext)
        return str(gettext(message))

    def field_errors(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """A ``ValidationError``'s field errors in the page's language, where the message
        (or a :class:`~vntwin.errors.Message`'s template) is in the catalogue.
        """
        return {key: [self._(m) for m in messages] for key, messages in errors.items()}

    # -- URLs ----------------------------------------------------------------------------
    def url(self, route: str, /, query: dict[str, Any] | None = None, **params: Any) -> str:
        """The path of a named route, with an optional query string."""
        path = str(self.request.app.url_path_for(route, **params))
        if query:
            pairs = [(k, v) for k, v in query.items() if v not in (None, "")]
            if pairs:
                path += "?" + urlencode(pairs, doseq=True)
        return path

    def lang_url(self, lang: str) -> str:
        """The same page in another language."""
        params = [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        params.append(("lang", lang))
        return f"{self.request.url.path}?{urlencode(params)}"

    # -- forms ---------------------------------------------------------------------------
    async def form(self, max_files: int = 0) -> FormData:
        """The POSTed form, after the origin and CSRF checks (``CsrfError`` otherwise).

        ``max_files``: how many small files the form may carry (a scenario spec); large
        uploads go through the streaming parser of ``routes_edit`` instead.
        """
        check_origin(self.request, self.cat.site_url)
        form = await self.request.form(max_files=max_files, max_fields=200)
        token = form.get(CSRF_FIELD)
        check_csrf(self.session, token if isinstance(token, str) else None)
        return form

    def sign_in(self, token: str, user: str) -> None:
        """Put a new token in the session, with a new CSRF token (no session fixation)."""
        import secrets

        self.session.token, self.session.user = token, user
        self.session.csrf = secrets.token_urlsafe(32)
        self.session.changed = True

    def sign_out(self) -> None:
        """Forget the token (the caller revokes it)."""
        import secrets

        self.session.token, self.session.user = None, None
        self.session.csrf = secrets.token_urlsafe(32)
        self.session.changed = True

    # -- responses -----------------------------------------------------------------------
    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """An HTML page; the base template gets the language, the user and the CSRF token."""
        flash, self.session.flash = self.session.flash, []
        if flash:
            self.session.changed = True
        html = self.templates.render(self.lang, template, {
            "page": self, "request": self.request, "lang": self.lang, "actor": self.actor,
            "user_name": self.actor.name if not self.actor.anonymous else None,
            "csrf_token": self.session.csrf, "url": self.url, "flash": flash,
            "site_title": self.cat.settings.site_title, "theme_labels": THEME_LABELS,
            "frequency_labels": FREQUENCY_LABELS, **context})
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, location: str, message: str | None = None) -> Response:
        """303 See Other (the browser GETs the new page), with an optional notice on it."""
        if message:
            self.session.flash.append(message)
            self.session.changed = True
        return self.finish(RedirectResponse(location, status_code=303))

    def json(self, body: dict[str, Any], status: int = 200) -> Response:
        """For the upload script, which asks for JSON."""
        return self.finish(JSONResponse(body, status_code=status))

    def not_found(self, status: int = 404) -> Response:
        """The error page for what is missing *or* hidden from this visitor: one answer
        for both, so a page never tells that a private dataset or result exists.
        ``status`` 400 for an address that names nothing at all.
        """
        return self.render("error.html", status=status, status_code=status)

    def report(self, html: str) -> Response:
        """A standalone HTML report (its own styles, no scripts) under :data:`REPORT_CSP`."""
        response = HTMLResponse(html)
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return self.finish(response)

    def attachment(self, response: Response, filename: str) -> Response:
        """``response`` as a download named ``filename``: never shown inline in our
        origin, whatever its type (a stored file could be HTML).
        """
        quoted = quote(filename)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{filename}"' if quoted == filename
            else f"attachment; filename*=utf-8''{quoted}")
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        """Security headers, the session cookie and the language cookie."""
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("Cache-Control", "no-store")
        self.codec.save(response, self.session)
        if self.remember_lang:
            response.set_cookie(i18n.LANG_COOKIE, self.lang, max_age=365 * 24 * 3600,
                                samesite="lax", secure=self.codec.secure, path="/")
        return response


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


async def page(request: Request) -> Page:
    """FastAPI dependency: the page context of a request.

    A session whose token stopped working (revoked, expired, its user disabled) is
    signed out quietly: the page is shown as to anyone, not as an error.
    """
    state = request.app.state
    cat: Catalog = state.catalog
    session = state.web_sessions.load(request)
    actor = ANONYMOUS
    if session.token:
        try:
            actor = await run_in_threadpool(authenticate, cat, session.token, _client(request))
        except (NotAuthorized, RateLimited):
            session.token, session.user, session.changed = None, None, True
    lang, remember = i18n.negotiate(request)
    return Page(request, cat, actor, lang, remember, session, state.web_sessions,
                state.web_templates)


def wants_json(request: Request) -> bool:
    """The upload script sends ``Accept: application/json``; plain forms get HTML."""
    return "application/json" in request.headers.get("accept", "")
