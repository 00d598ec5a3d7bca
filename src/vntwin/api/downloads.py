"""File downloads at CKAN's URL shape, with the dataset's access level enforced."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from vntwin.catalog.resources import file_for_download
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import NotAuthorized, NotFound, RateLimited, VntwinError


def router() -> APIRouter:
    """``GET /dataset/{id}/resource/{rid}/download/{filename}``."""
    api = APIRouter(tags=["Downloads"])

    @api.get("/dataset/{package_id}/resource/{resource_id}/download/{filename}",
             summary="Download an uploaded resource file")
    async def download(package_id: str, resource_id: str, filename: str,
                       request: Request) -> Response:
        cat: Catalog = request.app.state.catalog
        token = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
        try:
            actor = await run_in_threadpool(
                authenticate, cat, token, request.client.host if request.client else "")
            path, name, mimetype = await run_in_threadpool(
                file_for_download, cat, actor, resource_id)
        except (NotFound, NotAuthorized, RateLimited) as exc:
            status = 404 if isinstance(exc, NotFound) else 403
            return JSONResponse({"title": type(exc).__name__, "status": status,
                                 "detail": exc.message}, status_code=status,
                                media_type="application/problem+json")
        except VntwinError as exc:
            return JSONResponse({"title": "Bad Request", "status": 400, "detail": exc.message},
                                status_code=400, media_type="application/problem+json")
        return FileResponse(path, media_type=mimetype, filename=name)

    return api
