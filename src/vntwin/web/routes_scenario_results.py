"""A stored scenario result's report and difference layer, for the signed-in browser.

Why not link the JSON API (``/scenarios/report``, ``/scenarios/results/{d}/difference
.geojson``): it authenticates by ``Authorization`` header only, which a link click never
sends, so a private result's links were refused to its own owner. Why not let the API
accept the session cookie instead: every API endpoint would then have to defend itself
against cross-site requests. These two routes are read-only GETs that authenticate by the
session cookie (``SameSite=Lax``: a cross-site page can make the browser navigate here,
never read the answer or embed it) and call the same ``vntwin.scenarios.service``
functions with the session's ``Actor`` as the API does, so the access rules are the API's:
a result the visitor may not read is "not found", exactly as a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.errors import NotAuthorized, NotFound, ValidationError
from vntwin.scenarios import service
from vntwin.scenarios.difference import read_geojson
from vntwin.scenarios.report import render_html
from vntwin.web.context import Page, page

PageDep = Annotated[Page, Depends(page)]
MAX_REPORTED = 8  # as many results as the page compares


def _datasets(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    return list(dict.fromkeys(names))[:MAX_REPORTED]


def _refused(p: Page, exc: Exception) -> Response:
    """404 for what is missing or hidden (the same answer: nothing leaks), 400 for a
    report that names no result.
    """
    return p.not_found(400 if isinstance(exc, ValidationError) else 404)


def router() -> APIRouter:
    """``/scenarios/report.html`` and ``/scenarios/difference/{dataset}.geojson``."""
    api = APIRouter(include_in_schema=False)

    @api.get("/scenarios/report.html", name="web_scenario_report")
    async def report(p: PageDep, datasets: Annotated[str, Query(max_length=2000)] = ""
                     ) -> Response:
        names = _datasets(datasets)
        try:
            html = await run_in_threadpool(
                lambda: render_html(service.get_results(p.cat, p.actor, names)))
        except (NotFound, NotAuthorized, ValidationError) as exc:
            return _refused(p, exc)
        return p.report(html)

    @api.get("/scenarios/difference/{dataset}.geojson", name="web_scenario_difference")
    async def difference(p: PageDep, dataset: str) -> Response:
        try:
            body = await run_in_threadpool(
                lambda: read_geojson(service.difference_path(p.cat, p.actor, dataset)))
        except (NotFound, NotAuthorized) as exc:
            return _refused(p, exc)
        return p.attachment(JSONResponse(body, media_type="application/geo+json"),
                            f"{dataset}-difference.geojson")

    return api
