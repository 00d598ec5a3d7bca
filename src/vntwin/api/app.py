"""``create_app()``: the FastAPI application, built from settings at call time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from vntwin import __version__, web
from vntwin.api import ckan, downloads, live, ogc, quality, signin, sta, twin
from vntwin.catalog.service import Catalog
from vntwin.live.service import LiveService
from vntwin.live.service import running as live_running
from vntwin.settings import Settings


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or catalogue."""
    settings = settings or Settings()
    cat = catalog or Catalog(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with live_running(app.state.live):  # no_data alerts, pruning, SSE hub
            yield
        if catalog is None:
            cat.close()

    app = FastAPI(title="vntwin", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Open data catalogue (CKAN Action API, DCAT-AP 3) and "
                              "territorial digital twin of Vietnam.")
    app.state.catalog = cat
    app.state.settings = settings
    app.state.live = LiveService(cat)
    app.include_router(ckan.router())
    app.include_router(downloads.router())
    app.include_router(signin.router())
    app.include_router(twin.router())
    app.include_router(_scenarios_router())
    app.include_router(ogc.router())
    app.include_router(live.router())
    app.include_router(sta.router())
    app.include_router(quality.router())
    _include_dcat(app)
    _include_docs(app)

    # "/" is the portal's home page (vntwin.web); the API's landing document lives here.
    @app.get("/api/landing", tags=["Landing"], summary="Landing page of the API")
    async def landing(request: Request) -> dict[str, object]:
        return {
            "title": settings.site_title,
            "version": __version__,
            "links": [
                {"rel": "service-desc", "href": str(request.url_for("openapi")),
                 "type": "application/vnd.oai.openapi+json;version=3.1"},
                {"rel": "service-doc", "href": str(request.url_for("swagger_ui_html")),
                 "type": "text/html"},
                {"rel": "ckan-action-api",
                 "href": str(request.url_for("ckan_action_v3", name="status_show"))},
                {"rel": "dcat-catalog", "href": f"{cat.site_url}/catalog.ttl",
                 "type": "text/turtle"},
            ],
        }

    web.install(app)  # last: the pages must not shadow API routes such as /dataset/{id}.ttl
    return app


def _include_docs(app: FastAPI) -> None:
    """Swagger UI from the installed ``swagger-ui-bundle-v2`` package: FastAPI's default
    page loads it from a CDN, and nothing may be fetched from the net at run time.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, name="swagger_ui_html")
    async def docs(request: Request) -> HTMLResponse:
        static = str(request.url_for("swagger-ui", path="")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=str(request.url_for("openapi")), title="vntwin API",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png")


def _include_dcat(app: FastAPI) -> None:
    from vntwin.api import dcat

    app.include_router(dcat.router())


def _scenarios_router():  # type: ignore[no-untyped-def]
    from vntwin.api import scenarios

    return scenarios.router()
