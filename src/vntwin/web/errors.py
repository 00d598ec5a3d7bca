"""Error pages in the visitor's language: 403 (a refused form), 404 and 500.

Only page requests get HTML; the API families keep their own error envelopes, so a 404
under ``/api``, ``/ogc`` or ``/twin`` still answers JSON.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from vntwin.web.context import page
from vntwin.web.session import CsrfError

log = logging.getLogger(__name__)
API_PREFIXES = ("/api", "/ogc", "/twin", "/auth", "/catalog.", "/openapi.json", "/docs",
                "/static", "/map/")


def is_page_request(request: Request) -> bool:
    """A request a browser makes for a page (not an API call, not an asset)."""
    path = request.url.path
    if path.startswith(API_PREFIXES) or path.endswith((".ttl", ".jsonld", ".json", ".mvt")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


async def _error_page(request: Request, status: int) -> Response:
    try:
        p = await page(request)
        return p.render("error.html", status=status, status_code=status)
    except Exception:  # the error page itself failed: say so plainly
        log.exception("error page failed")
        return PlainTextResponse(f"Error {status}", status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (404, 405) and is_page_request(request):
            return await _error_page(request, exc.status_code)
        return await http_exception_handler(request, exc)

    @app.exception_handler(CsrfError)
    async def csrf_error(request: Request, exc: CsrfError) -> Response:
        log.warning("refused a form post to %s: %s", request.url.path, exc)
        return await _error_page(request, 403)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        if is_page_request(request):
            return await _error_page(request, 500)
        return PlainTextResponse("Internal Server Error", status_code=500)
