"""DCAT-AP 3 endpoints: the catalogue (paged) and each dataset, as Turtle or JSON-LD."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from vntwin.catalog import packages
from vntwin.catalog.find import package_search
from vntwin.catalog.search import SearchParams
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.dcat.serialize import catalog_graph, dataset_graph, serialize
from vntwin.errors import NotAuthorized, NotFound, RateLimited

RdfFormat = Literal["turtle", "json-ld"]
FORMATS: dict[str, tuple[RdfFormat, str]] = {"ttl": ("turtle", "text/turtle; charset=utf-8"),
           "jsonld": ("json-ld", "application/ld+json")}
PAGE_SIZE = 100


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"title": "Not Found" if status == 404 else "Forbidden",
                         "status": status, "detail": detail}, status_code=status,
                        media_type="application/problem+json")


def router() -> APIRouter:
    """``/catalog.{ttl,jsonld}`` and ``/dataset/{name}.{ttl,jsonld}``."""
    api = APIRouter(tags=["DCAT-AP"])

    async def _actor(request: Request, cat: Catalog):  # type: ignore[no-untyped-def]
        token = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
        return await run_in_threadpool(
            authenticate, cat, token, request.client.host if request.client else "")

    @api.get("/catalog.{ext}", summary="The DCAT-AP 3 catalogue, paged")
    async def catalog(request: Request, ext: str,
                      page: int = Query(1, ge=1, le=100000)) -> Response:
        if ext not in FORMATS:
            return _problem(404, f"unknown format {ext!r}; use ttl or jsonld")
        cat: Catalog = request.app.state.catalog
        try:
            actor = await _actor(request, cat)
        except (NotAuthorized, RateLimited) as exc:
            return _problem(403, exc.message)
        found = await run_in_threadpool(package_search, cat, actor, SearchParams(
            rows=PAGE_SIZE, start=(page - 1) * PAGE_SIZE, sort="name asc",
            include_private=True))
        fmt, media = FORMATS[ext]
        graph = catalog_graph(found["results"], site_url=cat.site_url,
                              title=cat.settings.site_title,
                              publisher_name=cat.settings.publisher_name, page=page,
                              page_size=PAGE_SIZE, total=found["count"], ext=ext)
        return Response(serialize(graph, fmt), media_type=media)

    @api.get("/dataset/{name}.{ext}", summary="One dataset in DCAT-AP 3")
    async def dataset(request: Request, name: str, ext: str) -> Response:
        if ext not in FORMATS:
            return _problem(404, f"unknown format {ext!r}; use ttl or jsonld")
        cat: Catalog = request.app.state.catalog
        try:
            actor = await _actor(request, cat)
            pkg = await run_in_threadpool(packages.show, cat, actor, name)
        except NotFound as exc:
            return _problem(404, exc.message)
        except (NotAuthorized, RateLimited) as exc:
            return _problem(403, exc.message)
        fmt, media = FORMATS[ext]
        return Response(serialize(dataset_graph(pkg, cat.site_url), fmt), media_type=media)

    return api
