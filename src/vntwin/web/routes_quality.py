"""A dataset's quality report (HTML, CSV, JSON) for the signed-in browser.

Why: the dataset page linked ``/quality/{name}/report.html`` and ``.csv``, API routes that
authenticate by ``Authorization`` header only, so the reader of a non-public dataset,
signed in to the portal, was refused its report. As for scenario results
(:mod:`vntwin.web.routes_scenario_results`), these are read-only GETs that take the session
cookie and call the API's own function, ``quality_for``, with the session's ``Actor``: the
access rules are the API's, and a dataset the visitor may not read is "not found", exactly
as a missing one. Public datasets keep linking the API (see :mod:`vntwin.web.links`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.errors import NotAuthorized, NotFound
from vntwin.quality.report import csv_download, report_html
from vntwin.quality.service import quality_for
from vntwin.web.context import Page, page

PageDep = Annotated[Page, Depends(page)]


async def _with_report(p: Page, name: str,
                       answer: Callable[[dict[str, Any]], Response]) -> Response:
    """``answer`` applied to the dataset's report, or the 404 page (missing or hidden)."""
    try:
        report = await run_in_threadpool(quality_for, p.cat, p.actor, name)
    except (NotFound, NotAuthorized):
        return p.not_found()
    return answer(report)


def router() -> APIRouter:
    """``/dataset/{name}/quality/report.html``, ``.../report.csv`` and ``.../quality.json``."""
    api = APIRouter(include_in_schema=False)

    @api.get("/dataset/{name}/quality/report.html", name="web_quality_report_html")
    async def quality_html(p: PageDep, name: str) -> Response:
        return await _with_report(p, name, lambda report: p.report(report_html(report)))

    @api.get("/dataset/{name}/quality/report.csv", name="web_quality_report_csv")
    async def quality_csv(p: PageDep, name: str) -> Response:
        def answer(report: dict[str, Any]) -> Response:
            body, filename = csv_download(report)
            return p.attachment(Response(body, media_type="text/csv; charset=utf-8"),
                                filename)
        return await _with_report(p, name, answer)

    @api.get("/dataset/{name}/quality.json", name="web_quality_json")
    async def quality_json(p: PageDep, name: str) -> Response:
        return await _with_report(p, name, lambda report: p.finish(JSONResponse(report)))

    return api
