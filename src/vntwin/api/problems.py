"""Domain errors as RFC 9457 problem details: one mapping for every JSON API but CKAN's.

The CKAN action API keeps CKAN's own envelope (``api/ckan.py``); ``/twin``, ``/scenarios``,
``/live``, ``/sta`` and ``/quality`` answer errors with ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vntwin.errors import (
    BadRequest,
    Conflict,
    NotAuthorized,
    NotFound,
    RateLimited,
    SearchQueryError,
    TooLarge,
    ValidationError,
    VntwinError,
)
from vntwin.twin.store import TwinBusy, TwinMissing

# (error class, HTTP status, title); the first that matches wins
_STATUSES: tuple[tuple[type[VntwinError] | tuple[type[VntwinError], ...], int, str], ...] = (
    ((ValidationError, BadRequest, SearchQueryError), 400, "Bad Request"),
    (NotAuthorized, 403, "Forbidden"),
    ((NotFound, TwinMissing), 404, "Not Found"),
    (Conflict, 409, "Conflict"),
    (TooLarge, 413, "Content Too Large"),
    (RateLimited, 429, "Too Many Requests"),
    (TwinBusy, 503, "Service Unavailable"),
)


def problem(exc: VntwinError) -> JSONResponse:
    """The problem+json answer for ``exc``; field errors and spec issues go in ``errors``."""
    status, title = 500, "Internal Server Error"
    for kinds, code, name in _STATUSES:
        if isinstance(exc, kinds):
            status, title = code, name
            break
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": exc.message}
    issues = getattr(exc, "issues", None)  # a scenario SpecError: issues with spec lines
    if issues is not None:
        body["errors"] = [issue.as_dict() for issue in issues]
    elif isinstance(exc, ValidationError):
        body["errors"] = exc.errors
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    elif status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers or None)


async def answer(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run blocking ``fn`` in the thread pool; a domain error becomes its problem answer."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except VntwinError as exc:
        return problem(exc)
