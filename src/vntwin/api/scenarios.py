"""``/scenarios/...``: planning scenarios over HTTP (JSON; errors as RFC 9457
problem+json, like ``/twin``). Running needs a token: results become datasets.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vntwin.api.problems import answer as _answer
from vntwin.api.problems import problem
from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import ValidationError, VntwinError
from vntwin.scenarios import service
from vntwin.scenarios.compare import comparison
from vntwin.scenarios.difference import read_geojson
from vntwin.scenarios.jobs import Jobs
from vntwin.scenarios.pdf import PdfUnavailable, html_to_pdf
from vntwin.scenarios.report import render_html
from vntwin.scenarios.runner import check_batch, run_batch
from vntwin.scenarios.spec import json_schema

Detail = Literal["national", "province", "commune"]


class SpecsBody(BaseModel):
    """Specs to check or run: objects, or YAML/JSON text (errors then name the line)."""

    specs: Annotated[list[dict[str, Any] | str], Field(min_length=1, max_length=200)]
    org: str | None = Field(None, description="organisation that receives the results")
    reuse: bool = Field(True, description="reuse a stored result of the same spec and twin")
    workers: Annotated[int, Field(ge=1, le=64)] | None = None
    detail: Detail = Field("province", description="per-unit rows in the answer")


def _credentials(request: Request) -> tuple[Catalog, str | None, str]:
    token = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
    return request.app.state.catalog, token, request.client.host if request.client else ""


async def _actor(request: Request) -> Actor:
    return await run_in_threadpool(authenticate, *_credentials(request))


async def _for_caller(request: Request, work: Callable[[Actor], Any]) -> Any:
    """``work(actor)`` in the thread pool for the request's caller; errors as problems."""
    cat, token, client = _credentials(request)
    return await _answer(lambda: work(authenticate(cat, token, client)))


def _unauthorized() -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": "Unauthorized", "status": 401,
                         "detail": "running scenarios stores datasets: send an API token in "
                                   "the Authorization header"},
                        status_code=401, media_type="application/problem+json",
                        headers={"WWW-Authenticate": "Bearer"})


def _pdf(html: str) -> Response:
    """The report as PDF, or 501 when no converter is installed."""
    with tempfile.TemporaryDirectory(prefix="vntwin-report-") as tmp:
        source = Path(tmp) / "bao-cao.html"
        source.write_text(html, encoding="utf-8")
        target = source.with_suffix(".pdf")
        try:
            html_to_pdf(source, target)
        except PdfUnavailable as exc:
            return JSONResponse({"type": "about:blank", "title": "Not Implemented",
                                 "status": 501, "detail": exc.message}, status_code=501,
                                media_type="application/problem+json")
        return Response(target.read_bytes(), media_type="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="bao-cao-kich-ban.pdf"'})


def _datasets(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def router() -> APIRouter:
    """The scenario endpoints."""
    api = APIRouter(prefix="/scenarios", tags=["Planning scenarios"])
    jobs = Jobs()

    @api.get("/schema.json", summary="JSON Schema of a scenario spec")
    async def schema() -> dict[str, Any]:
        return json_schema()

    @api.get("/examples", summary="The example scenario specs")
    async def examples() -> Any:
        return await _answer(service.examples)

    @api.post("/validate", summary="Check specs against the current twin, without running")
    async def validate(request: Request, body: SpecsBody) -> Any:
        cat: Catalog = request.app.state.catalog

        def work(actor: Actor) -> dict[str, Any]:
            base, prepared = check_batch(cat, actor, service.load_items(body.specs))
            return {"valid": True, "twin_version": base.version,
                    "scenarios": [{"name": p.loaded.spec.name, "key": p.key,
                                   "spec_hash": p.loaded.spec.spec_hash(), "notes": p.notes}
                                  for p in prepared]}
        try:
            actor = await _actor(request)
        except VntwinError as exc:
            return problem(exc)
        return await _answer(work, actor)

    @api.post("/run", summary="Run one scenario or a batch; results become datasets")
    async def run(request: Request, body: SpecsBody) -> Any:
        cat: Catalog = request.app.state.catalog
        try:
            actor = await _actor(request)
        except VntwinError as exc:
            return problem(exc)
        if actor.anonymous:
            return _unauthorized()

        def work() -> dict[str, Any]:
            loaded = service.load_items(body.specs)
            report = run_batch(cat, actor, loaded, org=body.org, workers=body.workers,
                               reuse=body.reuse)
            return {"twin_version": report.twin_version, "seconds": report.seconds,
                    "workers": report.workers,
                    "results": [service.trim(r, body.detail) for r in report.results],
                    "comparison": comparison(report.results)}
        return await _answer(work)

    @api.post("/jobs", summary="Start a batch in the background; poll it for progress",
              status_code=202)
    async def start_job(request: Request, body: SpecsBody) -> Any:
        cat: Catalog = request.app.state.catalog
        try:
            actor = await _actor(request)
        except VntwinError as exc:
            return problem(exc)
        if actor.anonymous:
            return _unauthorized()

        def work() -> Any:
            loaded = service.load_items(body.specs)
            check_batch(cat, actor, loaded)  # refuse a bad batch now, at its spec lines
            job = jobs.start(cat, actor, loaded, org=body.org, workers=body.workers)
            return JSONResponse(job.view(), status_code=202, headers={
                "Location": str(request.url_for("scenario_job", job_id=job.id))})
        return await _answer(work)

    @api.get("/jobs/{job_id}", summary="Progress (and results) of a background batch",
             name="scenario_job")
    async def job(request: Request, job_id: str, detail: Detail = "national") -> Any:
        return await _for_caller(request, lambda actor: jobs.get(job_id, actor).view(detail))

    @api.get("/results", summary="Stored scenario results, newest first")
    async def results(request: Request,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
        cat: Catalog = request.app.state.catalog
        return await _for_caller(request, lambda actor: service.list_results(cat, actor, limit))

    @api.get("/results/{dataset}", summary="One stored result")
    async def result(request: Request, dataset: str, detail: Detail = "commune") -> Any:
        cat: Catalog = request.app.state.catalog
        return await _for_caller(request, lambda actor: service.trim(
            service.get_result(cat, actor, dataset), detail))

    @api.get("/results/{dataset}/difference.geojson",
             summary="A result's difference layer (scenario − base per cell) as GeoJSON")
    async def difference(request: Request, dataset: str,
                         bbox: Annotated[str | None, Query(description="w,s,e,n")] = None,
                         limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Any:
        cat: Catalog = request.app.state.catalog
        box = None
        if bbox:
            try:
                west, south, east, north = (float(v) for v in bbox.split(","))
                box = (west, south, east, north)
            except ValueError:
                return problem(ValidationError({"bbox": ["four numbers: w,s,e,n"]}))
        body = await _for_caller(request, lambda actor: read_geojson(
            service.difference_path(cat, actor, dataset), box, limit))
        if isinstance(body, JSONResponse):
            return body
        return JSONResponse(body, media_type="application/geo+json")

    @api.get("/compare", summary="Comparison table of stored results")
    async def compare(request: Request,
                      datasets: Annotated[str, Query(description="result datasets, comma-"
                                                                 "separated")],
                      level: Literal["province", "commune"] = "province") -> Any:
        cat: Catalog = request.app.state.catalog
        return await _for_caller(request, lambda actor: comparison(
            service.get_results(cat, actor, _datasets(datasets)), level))

    @api.get("/report", summary="Report of stored results with plots (HTML, or PDF when a "
                                "converter is installed)", response_class=HTMLResponse)
    async def report(request: Request,
                     datasets: Annotated[str, Query(description="result datasets, comma-"
                                                                "separated")],
                     format: Literal["html", "pdf"] = "html") -> Any:
        cat: Catalog = request.app.state.catalog
        body = await _for_caller(request, lambda actor: render_html(
            service.get_results(cat, actor, _datasets(datasets))))
        if isinstance(body, JSONResponse):
            return body
        if format == "pdf":
            return await run_in_threadpool(_pdf, body)
        return HTMLResponse(body)

    return api
