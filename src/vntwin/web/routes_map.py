"""The map explorer page and the small JSON and tile endpoints its script reads.

The JSON endpoints are in the OpenAPI document (tag "Map explorer"): they are plain data
any client may use. Values of a clicked cell or unit come from the ``/twin`` API itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.api.ogc import MVT
from vntwin.api.problems import problem
from vntwin.catalog.service import Catalog
from vntwin.errors import VntwinError
from vntwin.live.layers import sensor_features
from vntwin.twin.build import twin_store
from vntwin.web import maplayers
from vntwin.web.assets import maplibre_available
from vntwin.web.context import Page, page

PageDep = Annotated[Page, Depends(page)]


def map_strings(p: Page) -> dict[str, str]:
    """The map script's words, in the page's language."""
    return {
        "layers_found": p._("%(shown)s of %(total)s layers shown"),
        "no_layers": p._("No layer matches."),
        "opacity": p._("Opacity"),
        "time": p._("Time"),
        "remove": p._("Switch off"),
        "legend": p._("Legend"),
        "points": p._("Points"),
        "lines": p._("Lines"),
        "areas": p._("Areas"),
        "loading": p._("Loading…"),
        "cell": p._("H3 cell %(id)s"),
        "unit": p._("Administrative unit %(id)s"),
        "province": p._("Province"),
        "commune": p._("Commune"),
        "no_values": p._("No layer has a value here."),
        "outside": p._("This place is outside the twin's territory."),
        "error": p._("The values could not be loaded: %(error)s"),
        "all_communes": p._("All communes"),
        "choose_province": p._("Choose a province first"),
        "feature": p._("Feature of %(layer)s"),
        "cells": p._("%(n)s cells"),
        "no_data": p._("no data"),
        "live": p._("live sensors, newest values"),
        "simulated": p._("simulated"),
    }


def _tile(data: bytes) -> Response:
    if not data:
        return Response(status_code=204)
    return Response(data, media_type=MVT, headers={"Cache-Control": "public, max-age=300"})


def router() -> APIRouter:
    """``/map`` and ``/map/...``."""
    api = APIRouter(tags=["Map explorer"])

    @api.get("/map", name="web_map", include_in_schema=False)
    async def map_page(p: PageDep) -> Response:
        return p.render("map.html", maplibre=maplibre_available(), strings=map_strings(p))

    @api.get("/map/layers.json", name="map_layers",
             summary="Layers of the map explorer: vector layers and grid variables with "
                     "legend classes and time steps")
    async def layers(request: Request) -> Any:
        cat: Catalog = request.app.state.catalog
        try:
            return await run_in_threadpool(maplayers.map_layers, cat, twin_store(cat))
        except VntwinError as exc:
            return problem(exc)

    @api.get("/map/live/{layer}.geojson", name="map_live",
             summary="Sensors of a live layer with their newest values (GeoJSON)")
    async def live(request: Request, layer: str) -> Any:
        body = await run_in_threadpool(sensor_features, request.app.state.catalog, layer)
        return JSONResponse(body, media_type="application/geo+json",
                            headers={"Cache-Control": "no-store"})

    @api.get("/map/units/provinces.json", name="map_provinces",
             summary="The 34 provinces (2025): code, name, bounding box")
    async def provinces(request: Request) -> Any:
        try:
            body = await run_in_threadpool(maplayers.provinces, request.app.state.catalog)
        except VntwinError as exc:
            return problem(exc)
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})

    @api.get("/map/units/{province}/communes.json", name="map_communes",
             summary="The communes of a province: code, name, bounding box")
    async def communes(request: Request, province: str) -> Any:
        try:
            body = await run_in_threadpool(maplayers.communes, request.app.state.catalog,
                                           province)
        except VntwinError as exc:
            return problem(exc)
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})

    @api.get("/map/units/{level}/tiles/{z}/{x}/{y}.mvt", name="map_unit_tile",
             summary="Vector tiles of the province or commune boundaries (the base map)",
             response_class=Response,
             responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}})
    async def unit_tile(request: Request, level: str, z: int, x: int, y: int) -> Response:
        try:
            data = await run_in_threadpool(maplayers.unit_tile, request.app.state.catalog,
                                           level, z, x, y)
        except VntwinError as exc:
            return problem(exc)
        return _tile(data)

    @api.get("/map/grid/{layer}/{variable}/tiles/{z}/{x}/{y}.mvt", name="map_grid_tile",
             summary="Vector tiles of one grid variable as of a time (the time slider)",
             response_class=Response,
             responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}})
    async def grid_tile(request: Request, layer: str, variable: str, z: int, x: int, y: int,
                        as_of: Annotated[str, Query(max_length=40)]) -> Response:
        cat: Catalog = request.app.state.catalog
        try:
            data = await run_in_threadpool(maplayers.grid_tile_at, twin_store(cat), layer,
                                           variable, as_of, z, x, y)
        except VntwinError as exc:
            return problem(exc)
        return _tile(data)

    return api
