"""CKAN's Action API at ``/api/3/action/{name}`` and ``/api/action/{name}``.

The envelope ``{help, success, result}`` and the error shape
``{success: false, error: {__type, message, ...}}`` with CKAN's status codes are what
``ckanapi`` and harvesters depend on; ``test_ckan_errors`` pins them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vntwin.api.actions import ACTIONS, Call, run
from vntwin.api.uploads import parse_multipart
from vntwin.catalog.resources import StoredUpload, discard_unreferenced
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import (
    BadRequest,
    NotAuthorized,
    NotFound,
    RateLimited,
    SearchQueryError,
    TooLarge,
    ValidationError,
)

log = logging.getLogger(__name__)
MAX_JSON_BYTES = 20 * 1024 * 1024


def error_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """(HTTP status, CKAN ``error`` object) of a domain error: the one mapping."""
    if isinstance(exc, ValidationError):
        return 409, {"__type": "Validation Error", "message": exc.message, **exc.errors}
    if isinstance(exc, NotFound):
        return 404, {"__type": "Not Found Error", "message": f"Not found: {exc.message}"}
    if isinstance(exc, NotAuthorized):
        return 403, {"__type": "Authorization Error", "message": f"Access denied: {exc.message}"}
    if isinstance(exc, RateLimited):
        return 429, {"__type": "Authorization Error", "message": f"Access denied: {exc.message}"}
    if isinstance(exc, SearchQueryError):
        return 400, {
            "__type": "Search Query Error",
            "message": f"Search Query is invalid: {exc.message}",
        }
    if isinstance(exc, TooLarge):
        return 413, {"__type": "Validation Error", "message": exc.message, "upload": [exc.message]}
    if isinstance(exc, BadRequest):
        return 400, {"__type": "Bad Request", "message": f"Bad request - {exc.message}"}
    log.exception("internal error in action", exc_info=exc)
    return 500, {"__type": "Internal Server Error", "message": "Internal Server Error"}


def _envelope(
    request: Request, name: str, *, result: Any = None, error: Exception | None = None
) -> JSONResponse:
    help_url = str(request.url_for("ckan_action_v3", name="help_show")) + f"?name={name}"
    if error is None:
        return JSONResponse({"help": help_url, "success": True, "result": result})
    status, body = error_body(error)
    return JSONResponse({"help": help_url, "success": False, "error": body}, status_code=status)


def _query_data(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values[0] if len(values) == 1 else values
    return data


async def _body_data(request: Request, cat: Catalog) -> tuple[dict[str, Any], StoredUpload | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):

        async def discard(upload: StoredUpload) -> None:
            await run_in_threadpool(discard_unreferenced, cat, upload)

        return await parse_multipart(
            content_type, request.headers.get("content-length"), request.stream(), cat.uploads,
            discard,
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise TooLarge(f"request body is larger than {MAX_JSON_BYTES:,} bytes")
    if content_type.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qsl

        return dict(parse_qsl(body.decode("utf-8", "replace"))), None
    if not body.strip():
        return {}, None
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"JSON Error: could not decode the request body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(
            f"JSON Error: request data JSON decoded to {type(data).__name__} but "
            "it needs to be a dictionary"
        )
    return data, None


def _refuse_constant(name: str) -> None:
    """NaN and Infinity are not JSON; Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not valid JSON")


def _token(request: Request) -> str | None:
    return request.headers.get("authorization") or request.headers.get("x-ckan-api-key")


async def _handle(request: Request, name: str) -> JSONResponse:
    cat: Catalog = request.app.state.catalog
    if name not in ACTIONS:
        return _envelope(request, name, error=BadRequest(f"Action name not known: {name}"))
    upload: StoredUpload | None = None
    try:
        client = request.client.host if request.client else ""
        actor = await run_in_threadpool(authenticate, cat, _token(request), client)
        if request.method == "GET":
            if not ACTIONS[name][1]:
                raise BadRequest(
                    "JSON Error: Invalid request. Please use POST method for your request"
                )
            data = _query_data(request)
        else:
            data, upload = await _body_data(request, cat)
        path = request.url.path.rsplit("/", 1)[0]
        result = await run_in_threadpool(run, name, Call(cat, actor, data, upload, path))
    except Exception as exc:
        if upload is not None:
            await run_in_threadpool(discard_unreferenced, cat, upload)
        return _envelope(request, name, error=exc)
    return _envelope(request, name, result=result)


def router() -> APIRouter:
    """The Action API routes; POSTs are answered in place, never redirected."""
    api = APIRouter(tags=["CKAN Action API"])

    async def action(name: str, request: Request) -> JSONResponse:
        return await _handle(request, name)

    kinds = {"GET": "read-only actions", "POST": "any action"}
    for prefix, route_name in (("/api/3/action", "ckan_action_v3"), ("/api/action", "ckan_action")):
        for method in ("GET", "POST"):
            api.add_api_route(
                f"{prefix}/{{name}}",
                action,
                methods=[method],
                name=route_name if method == "GET" else f"{route_name}_post",
                operation_id=f"{route_name}_{method.lower()}",
                summary=f"CKAN Action API, {kinds[method]} ({prefix})",
            )

    @api.get("/api/3", summary="API version")
    @api.get("/api", summary="API version")
    async def version() -> dict[str, int]:
        return {"version": 3}

    return api
