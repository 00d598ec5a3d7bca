"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) at ``/ogc``.

Collections are the twin's vector layers as ingested and its fused grid layers
(``grid-<layer>``); see ``vntwin.twin.features``. URLs are built with ``url_for``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from vntwin.api.twin import problem
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError, VntwinError
from vntwin.twin import features, tiles
from vntwin.twin.build import twin_store
from vntwin.twin.query import cell_index

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]  # not oas30: FastAPI describes the API in OpenAPI 3.1
ITEMS_PARAMETERS = {"bbox", "limit", "offset", "datetime", "f"}  # datetime: see items()
GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_LIMIT = 10_000


def _geojson(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=GEOJSON)


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    message = "four numbers minx,miny,maxx,maxy (or six, with minz and maxz)"
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValidationError({"bbox": [message]}) from None
    if len(parts) == 6:  # OGC API Features: minx,miny,minz,maxx,maxy,maxz; heights unused
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise ValidationError({"bbox": [message]})
    return parts[0], parts[1], parts[2], parts[3]


def _check_parameters(request: Request) -> None:
    """OGC API Features /req/core/query-param-unknown: a parameter the API does not define
    is a 400, not silently ignored (a typo such as ``bbx`` would return everything).
    """
    unknown = sorted(set(request.query_params) - ITEMS_PARAMETERS)
    if unknown:
        raise ValidationError({unknown[0]: [
            f"unknown query parameter; items takes {', '.join(sorted(ITEMS_PARAMETERS))}"]})
    fmt = request.query_params.get("f")
    if fmt is not None and fmt.lower() not in ("json", "geojson"):
        raise ValidationError({"f": ["items are served as GeoJSON only: f=json"]})


def _collection_json(request: Request, col: features.Collection) -> dict[str, Any]:
    base = str(request.url_for("ogc_collection", collection_id=col.id))
    out: dict[str, Any] = {
        "id": col.id, "title": col.title, "description": col.description,
        "itemType": "feature", "crs": [CRS84],
        "links": [
            {"rel": "self", "href": base, "type": "application/json"},
            {"rel": "items", "href": f"{base}/items", "type": GEOJSON,
             "title": "Features"},
            # not rel "item": GDAL's OGC API driver follows that and stalls on a template
            {"rel": "tiles", "href": f"{base}/tiles/{{z}}/{{x}}/{{y}}.mvt", "type": MVT,
             "title": "Vector tiles (XYZ template)", "templated": True},
        ],
    }
    if col.bbox:
        out["extent"] = {"spatial": {"bbox": [list(col.bbox)], "crs": CRS84}}
    return out


def router() -> APIRouter:
    """The OGC API – Features endpoints."""
    api = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

    def context(request: Request):  # type: ignore[no-untyped-def]
        cat: Catalog = request.app.state.catalog
        return cat, twin_store(cat)

    @api.get("", name="ogc_landing", summary="Landing page")
    async def landing(request: Request) -> dict[str, Any]:
        return {
            "title": "vntwin — OGC API Features",
            "description": "Các lớp dữ liệu không gian và lưới H3 của bản sao số.",
            "links": [
                {"rel": "self", "href": str(request.url_for("ogc_landing")),
                 "type": "application/json"},
                {"rel": "service-desc", "href": str(request.url_for("openapi")),
                 "type": "application/vnd.oai.openapi+json;version=3.0"},
                {"rel": "conformance", "href": str(request.url_for("ogc_conformance")),
                 "type": "application/json"},
                {"rel": "data", "href": str(request.url_for("ogc_collections")),
                 "type": "application/json"},
            ],
        }

    @api.get("/conformance", name="ogc_conformance", summary="Conformance classes")
    async def conformance() -> dict[str, Any]:
        return {"conformsTo": CONFORMANCE}

    @api.get("/collections", name="ogc_collections", summary="Collections")
    async def collections(request: Request) -> Any:
        cat, store = context(request)
        try:
            cols = await run_in_threadpool(features.collections, cat, store)
        except VntwinError as exc:
            return problem(exc)
        return {"links": [{"rel": "self", "href": str(request.url_for("ogc_collections")),
                           "type": "application/json"}],
                "collections": [_collection_json(request, c) for c in cols]}

    @api.get("/collections/{collection_id}", name="ogc_collection", summary="A collection")
    async def collection(request: Request, collection_id: str) -> Any:
        cat, store = context(request)
        try:
            col = await run_in_threadpool(features.find, cat, store, collection_id)
        except VntwinError as exc:
            return problem(exc)
        return _collection_json(request, col)

    @api.get("/collections/{collection_id}/items", name="ogc_items", summary="Features")
    async def items(request: Request, collection_id: str,
                    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy")] = None,
                    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
                    offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> Any:
        cat, store = context(request)
        try:
            # ``datetime`` is accepted and has no effect: raw layers carry no time, and
            # grid items hold each cell's latest value (as of times: /twin/...?as_of=)
            _check_parameters(request)
            box = _parse_bbox(bbox)
            col = await run_in_threadpool(features.find, cat, store, collection_id)
            if col.kind == "grid":
                feats, matched = await run_in_threadpool(features.grid_items, store, col, box,
                                                         limit, offset)
            else:
                feats, matched = await run_in_threadpool(features.layer_items, cat, col, box,
                                                         limit, offset)
        except VntwinError as exc:
            return problem(exc)
        base = str(request.url_for("ogc_items", collection_id=collection_id))
        query = f"&bbox={bbox}" if bbox else ""
        links = [{"rel": "self", "type": GEOJSON,
                  "href": f"{base}?limit={limit}&offset={offset}{query}"}]
        if offset + len(feats) < matched:
            links.append({"rel": "next", "type": GEOJSON,
                          "href": f"{base}?limit={limit}&offset={offset + limit}{query}"})
        if offset > 0:
            links.append({"rel": "prev", "type": GEOJSON,
                          "href": f"{base}?limit={limit}&offset={max(0, offset - limit)}{query}"})
        return _geojson({"type": "FeatureCollection", "features": feats,
                         "numberMatched": matched, "numberReturned": len(feats),
                         "timeStamp": datetime.now(UTC).isoformat(), "links": links})

    @api.get("/collections/{collection_id}/items/{feature_id}", name="ogc_item",
             summary="One feature")
    async def item(request: Request, collection_id: str, feature_id: str) -> Any:
        cat, store = context(request)
        try:
            col = await run_in_threadpool(features.find, cat, store, collection_id)
            if col.kind == "grid":
                found, _ = await run_in_threadpool(features.grid_items, store, col, None, 1,
                                                   0, cell_index(feature_id))
                if not found:
                    raise NotFound(f"feature {feature_id!r} not found")
                feature = found[0]
            else:
                feature = await run_in_threadpool(features.layer_item, cat, col, feature_id)
        except VntwinError as exc:
            return problem(exc)
        href = str(request.url_for("ogc_item", collection_id=collection_id,
                                   feature_id=feature_id))
        return _geojson({**feature, "links": [{"rel": "self", "href": href, "type": GEOJSON}]})

    @api.get("/collections/{collection_id}/tiles/{z}/{x}/{y}.mvt", name="ogc_tile",
             summary="A Mapbox Vector Tile of the collection (XYZ, Web Mercator)",
             response_class=Response,
             responses={200: {"content": {MVT: {}}}, 204: {"description": "Empty tile"}})
    async def tile(request: Request, collection_id: str, z: int, x: int, y: int) -> Response:
        cat, store = context(request)
        try:
            col = await run_in_threadpool(features.find, cat, store, collection_id)
            if col.kind == "grid":
                data = await run_in_threadpool(tiles.grid_tile, store, col, z, x, y)
            else:
                data = await run_in_threadpool(tiles.layer_tile, cat, col, z, x, y)
        except VntwinError as exc:
            return problem(exc)
        if not data:
            return Response(status_code=204)
        return Response(data, media_type=MVT, headers={"Cache-Control": "public, max-age=60"})

    return api
