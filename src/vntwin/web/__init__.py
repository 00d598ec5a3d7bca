"""The portal's web pages: catalogue, sign-in and tokens, editing forms, map explorer,
planning scenarios, data requests and the operations dashboard.

``install(app)`` adds the page routes, the static files and the error pages to the API
app; the pages are server-rendered Jinja2 (autoescaped) in Vietnamese and English, with
scripts only from our own static files under a Content-Security-Policy.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vntwin.scenarios.jobs import Jobs
from vntwin.web import (
    errors,
    routes_account,
    routes_catalog,
    routes_dashboard,
    routes_edit,
    routes_feedback,
    routes_map,
    routes_quality,
    routes_request_edits,
    routes_requests,
    routes_scenario_results,
    routes_scenarios,
)
from vntwin.web.assets import STATIC_DIR, maplibre_dir
from vntwin.web.context import Templates
from vntwin.web.session import SessionCodec

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the pages to ``app`` (after the API routes, which they must not shadow)."""
    app.state.web_sessions = SessionCodec(app.state.settings)
    app.state.web_templates = Templates()
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")
    dist = maplibre_dir()
    if dist is not None:
        app.mount("/static/maplibre-gl", StaticFiles(directory=dist), name="maplibre")
    app.include_router(routes_edit.router())  # /dataset/new before /dataset/{name}
    app.include_router(routes_catalog.router())
    app.include_router(routes_quality.router())
    app.include_router(routes_account.router())
    app.include_router(routes_map.router())
    app.include_router(routes_scenarios.router(Jobs()))
    app.include_router(routes_scenario_results.router())
    app.include_router(routes_requests.router())
    app.include_router(routes_request_edits.router())
    app.include_router(routes_feedback.router())
    app.include_router(routes_dashboard.router())
    errors.install(app)
