"""``/twin/...``: the territorial twin over HTTP. Errors are RFC 9457 problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from vntwin.api.problems import answer as _answer
from vntwin.api.problems import problem
from vntwin.catalog.service import Catalog
from vntwin.errors import ValidationError
from vntwin.twin import query
from vntwin.twin.build import twin_store
from vntwin.twin.identify import DEFAULT_RADIUS_M, MAX_RADIUS_M
from vntwin.twin.identify import identify as features_at

AsOf = Annotated[str | None, Query(description="ISO 8601 time: values valid at that time.")]


def router() -> APIRouter:
    """The twin's query endpoints."""
    api = APIRouter(prefix="/twin", tags=["Territorial twin"])

    def store(request: Request):  # type: ignore[no-untyped-def]
        cat: Catalog = request.app.state.catalog
        return twin_store(cat)

    @api.get("/layers", summary="Fused layers and their variables")
    async def layers(request: Request) -> Any:
        return await _answer(lambda: store(request).layers())

    @api.get("/point", summary="Every layer's values at a place")
    async def point(request: Request, lat: Annotated[float, Query(ge=-90, le=90)],
                    lon: Annotated[float, Query(ge=-180, le=180)], as_of: AsOf = None,
                    identify: Annotated[bool, Query(
                        description="Also the features of each vector layer there.")] = False,
                    ) -> Any:
        def answer() -> dict[str, Any]:
            result = query.at_point(store(request), lat, lon, as_of)
            if identify:
                result["features"] = features_at(request.app.state.catalog, lat, lon)["layers"]
            return result

        return await _answer(answer)

    @api.get("/identify", summary="Features of each vector layer at a place (GIS identify)")
    async def identify(request: Request, lat: Annotated[float, Query(ge=-90, le=90)],
                       lon: Annotated[float, Query(ge=-180, le=180)],
                       radius_m: Annotated[float, Query(
                           ge=0, le=MAX_RADIUS_M,
                           description="Search radius for points and lines (m).")
                       ] = DEFAULT_RADIUS_M,
                       layers: Annotated[str | None, Query(
                           description="Comma-separated layer names (default: all).")] = None,
                       ) -> Any:
        names = [n.strip() for n in layers.split(",") if n.strip()] if layers else None
        return await _answer(lambda: features_at(request.app.state.catalog, lat, lon,
                                                 layers=names, radius_m=radius_m))

    @api.get("/cell/{cell}", summary="Every layer's values in one H3 cell")
    async def cell(request: Request, cell: str, as_of: AsOf = None) -> Any:
        return await _answer(query.at_cell, store(request), cell, as_of)

    @api.get("/unit/{code}", summary="Values aggregated over a province or commune")
    async def unit(request: Request, code: str, as_of: AsOf = None) -> Any:
        return await _answer(query.in_unit, store(request), code, as_of)

    @api.get("/bbox", summary="Values aggregated over a bounding box")
    async def bbox(request: Request,
                   bbox: Annotated[str, Query(description="west,south,east,north")],
                   as_of: AsOf = None) -> Any:
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError:
            return problem(ValidationError({"bbox": ["four numbers: west,south,east,north"]}))
        return await _answer(query.in_bbox, store(request), west, south, east, north, as_of)

    return api
