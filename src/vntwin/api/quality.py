"""``/quality/...`` and ``/programme/...``: quality reports and the open-data programme's
progress over HTTP. JSON bodies have pydantic models; errors are RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from vntwin.api.twin import problem
from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import NotAuthorized, RateLimited, VntwinError

Year = Annotated[int | None, Query(ge=2000, le=2100, description="Calendar year (Vietnam's).")]


class FindingModel(BaseModel):
    """One failed check, with the row numbers behind it."""

    check: str
    message: str
    count: int
    resource_id: str | None = None
    resource_name: str | None = None
    column: str | None = None
    rows: list[int]
    examples: list[str]


class CheckModel(BaseModel):
    """One check's score and what it measured."""

    id: str
    label_vi: str
    label_en: str
    advice_vi: str
    advice_en: str
    weight: float
    score: float | None
    passed: float | None
    total: float | None
    unit: str | None
    measured: bool


class DimensionModel(BaseModel):
    """One dimension: 0-100 (null when nothing could be measured) and its findings."""

    score: float | None
    weight: float
    label_vi: str
    label_en: str
    checks: list[CheckModel]
    findings: list[FindingModel]


class QualityModel(BaseModel):
    """A dataset's quality: the six dimensions and the overall score."""

    model_config = ConfigDict(extra="allow")
    dataset: dict[str, Any]
    overall: float | None
    accurate: DimensionModel
    sufficient: DimensionModel
    clean: DimensionModel
    live: DimensionModel
    unified: DimensionModel
    shared: DimensionModel
    rules_version: str
    computed_at: str | None
    up_to_date: bool
    errors: list[str]


async def _actor(request: Request, cat: Catalog) -> Actor:
    token = request.headers.get("authorization") or request.headers.get("x-ckan-api-key")
    return await run_in_threadpool(authenticate, cat, token,
                                   request.client.host if request.client else "")


async def _report(request: Request, dataset: str) -> dict[str, Any] | JSONResponse:
    from vntwin.quality.service import quality_for

    cat: Catalog = request.app.state.catalog
    try:
        actor = await _actor(request, cat)
        return await run_in_threadpool(quality_for, cat, actor, dataset)
    except (NotAuthorized, RateLimited) as exc:
        return JSONResponse({"type": "about:blank", "title": "Forbidden", "status": 403,
                             "detail": exc.message}, status_code=403,
                            media_type="application/problem+json")
    except VntwinError as exc:
        return problem(exc)


def router() -> APIRouter:
    """Quality reports and programme progress."""
    api = APIRouter(tags=["Quality and programme"])

    @api.get("/quality/{dataset}", response_model=QualityModel, name="quality_show",
             summary="A dataset's six quality dimensions, overall score and findings")
    async def quality(request: Request, dataset: str) -> Any:
        return await _report(request, dataset)

    @api.get("/quality/{dataset}/report.html", response_class=HTMLResponse,
             name="quality_report_html",
             summary="The findings report as a web page")
    async def report_html(request: Request, dataset: str) -> Response:
        from vntwin.quality.report import report_html as render

        found = await _report(request, dataset)
        if isinstance(found, Response):
            return found
        return HTMLResponse(render(found))

    @api.get("/quality/{dataset}/report.csv", name="quality_report_csv",
             summary="The findings report as CSV, a row each")
    async def report_csv(request: Request, dataset: str) -> Response:
        from vntwin.quality.report import csv_download

        found = await _report(request, dataset)
        if isinstance(found, Response):
            return found
        body, filename = csv_download(found)
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @api.get("/programme/progress", summary="The open-data programme's progress in a year")
    async def programme(request: Request, year: Year = None) -> Any:
        from vntwin.demand.progress import programme_progress

        cat: Catalog = request.app.state.catalog
        try:
            return await run_in_threadpool(lambda: programme_progress(cat, year=year))
        except VntwinError as exc:
            return problem(exc)

    @api.get("/programme/agencies/{organization}",
             summary="One agency's datasets, requests, quality and targets in a year")
    async def agency(request: Request, organization: str, year: Year = None) -> Any:
        from vntwin.demand.progress import agency_progress

        cat: Catalog = request.app.state.catalog
        try:
            return await run_in_threadpool(lambda: agency_progress(cat, organization,
                                                                   year=year))
        except VntwinError as exc:
            return problem(exc)

    return api
