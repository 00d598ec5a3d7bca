"""``/sta/v1.1``: the OGC SensorThings API (read, and create with POST).

Things, Locations, Datastreams, ObservedProperties, Sensors and Observations, with
``@iot.id``, ``@iot.selfLink``, navigation links, the resource paths of the standard
(navigation through any number of levels, a property, its ``$value``, ``$ref``;
``vntwin.live.sta_path``) and the query options ``$top``, ``$skip``, ``$count``,
``$orderby``, ``$filter`` (operators, arithmetic, string, date, math and spatial
functions; ``vntwin.live.sta_filter``), ``$select`` and ``$expand``. Creating needs a
source token (or a catalogue sysadmin's), deep insert included; Observations created
here go through the same validation, counters and rate limits as MQTT ones. There is no
FeaturesOfInterest entity set: an observation's feature is its Thing's Location, and a
FeatureOfInterest sent with one is refused. Errors are RFC 9457 problem+json, a bad
``@iot.id`` or a ``$filter`` the database cannot evaluate included (400).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from vntwin.api.live_common import caller, root_url, service
from vntwin.api.problems import problem
from vntwin.catalog.service import Catalog
from vntwin.errors import (
    BadRequest,
    Conflict,
    NotAuthorized,
    RateLimited,
    ValidationError,
    VntwinError,
)
from vntwin.live import sta_path, sta_read
from vntwin.live.ingest import Incoming, Outcome
from vntwin.live.sta_create import Writer, create
from vntwin.live.sta_model import SETS, dictize
from vntwin.live.sta_observe import FEATURE_REFUSED, ObservationRefused, count_refused, store_nested

CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/create-entity",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete/deep-insert",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
]
MAX_BODY = 1024 * 1024
DEEP = {"Things": " (deep insert of Locations, Datastreams and their Observations)",
        "Locations": " (deep insert of Things)",
        "Datastreams": " (deep insert of its Thing, Sensor, ObservedProperty, Observations)"}


async def _json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest(f"the request body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def outcome_error(outcome: Outcome, source: str, retry_after: float = 1.0) -> VntwinError:
    """The HTTP error of a refused observation."""
    if outcome.outcome == "rate_limited":
        return RateLimited(f"source {source!r} is over its rate: {outcome.detail}", retry_after)
    if outcome.outcome == "duplicate":
        return Conflict("an observation of this datastream at this phenomenonTime exists")
    if outcome.outcome == "forbidden":
        return NotAuthorized(outcome.detail)
    return ValidationError({outcome.outcome: [outcome.detail]}, outcome.detail)


def router() -> APIRouter:
    """The SensorThings API routes."""
    api = APIRouter(prefix="/sta/v1.1", tags=["SensorThings API"])

    @api.get("", name="sta_root", summary="SensorThings service root")
    async def root(request: Request) -> dict[str, Any]:
        base = root_url(request)
        return {"value": [{"name": name, "url": f"{base}/{name}"} for name in SETS],
                "serverSettings": {"conformance": CONFORMANCE}}

    def read(fn: Any) -> Any:
        async def handler(request: Request, **kwargs: Any) -> Any:
            cat: Catalog = request.app.state.catalog

            def work() -> Any:
                opts = sta_read.parse_options(_params(request))  # a 400 before any query
                with cat.read() as session:
                    return fn(session, opts, root_url(request), request, **kwargs)

            try:
                return await run_in_threadpool(work)
            except VntwinError as exc:
                return problem(exc)
        return handler

    path_handler = read(_path)
    for set_name in SETS:
        _add_reads(api, set_name, read, path_handler)
        if set_name == "Observations":
            _add_observation_posts(api)
        else:
            _add_create(api, set_name)

    async def get_other(request: Request, rest: str) -> Any:
        return await path_handler(request, rest=rest)

    api.add_api_route("/{rest:path}", get_other, methods=["GET"], include_in_schema=False,
                      operation_id="sta_other")  # a problem+json 404 for any other path
    return api


def _path(session: Any, opts: Any, root: str, request: Request, rest: str) -> Any:
    found = sta_path.get(session, rest, opts, root, _url(request), _params(request))
    if isinstance(found, sta_path.PlainValue):
        if found.text is None:
            return Response(status_code=204)
        return PlainTextResponse(found.text)
    return found


def _add_reads(api: APIRouter, set_name: str, read: Any, path_handler: Any) -> None:
    def listing(session: Any, opts: Any, root: str, request: Request) -> Any:
        return sta_read.collection(session, set_name, opts, root, _url(request),
                                   _params(request))

    list_handler = read(listing)

    async def get_list(request: Request) -> Any:
        return await list_handler(request)

    async def get_refs(request: Request) -> Any:
        return await path_handler(request, rest=f"{set_name}/$ref")

    async def get_one(request: Request, entity_id: str) -> Any:
        return await path_handler(request, rest=f"{set_name}({entity_id})")

    async def get_path(request: Request, entity_id: str, rest: str) -> Any:
        return await path_handler(request, rest=f"{set_name}({entity_id})/{rest}")

    navs = ", ".join(SETS[set_name].navs)
    api.add_api_route(f"/{set_name}", get_list, methods=["GET"],
                      summary=f"{set_name}: a page of the collection",
                      operation_id=f"sta_list_{set_name}")
    api.add_api_route(f"/{set_name}/$ref", get_refs, methods=["GET"],
                      summary=f"{set_name}: the links of a page of the collection",
                      operation_id=f"sta_refs_{set_name}")
    api.add_api_route(f"/{set_name}({{entity_id}})", get_one, methods=["GET"],
                      summary=f"One of the {set_name}", operation_id=f"sta_get_{set_name}")
    api.add_api_route(f"/{set_name}({{entity_id}})/{{rest:path}}", get_path, methods=["GET"],
                      summary=f"Below one of the {set_name}: a navigation property ({navs}), "
                              "followed through any number of levels, a property, its "
                              "$value, or the $ref links",
                      operation_id=f"sta_path_{set_name}")


def _url(request: Request) -> str:
    return str(request.url).split("?")[0]


def _created(request: Request, set_name: str, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201, headers={"Location": body["@iot.selfLink"]})


def _add_create(api: APIRouter, set_name: str) -> None:
    async def post(request: Request) -> Any:
        cat: Catalog = request.app.state.catalog
        try:
            who = await caller(request)
            if not who.may_write_entities:
                raise NotAuthorized("creating SensorThings entities needs a source token "
                                    "(vntwin live source create) or a sysadmin's API token")
            data = await _json(request)
            ingestor = service(request).ingestor

            def work() -> dict[str, Any]:
                def store(session: Any, items: list[Any]) -> None:
                    store_nested(session, ingestor, who.source, items)

                writer = Writer(who.source, cat.settings, store)
                with cat.sessions() as session, session.begin():
                    row = create(session, writer, set_name, data)
                    return dictize(session, set_name, [row], root_url(request))[0]

            try:
                body = await run_in_threadpool(work)
            except ObservationRefused as refused:  # rolled back; counted for its source
                await run_in_threadpool(count_refused, ingestor, refused)
                raise
            ingestor.streams.invalidate()
            return _created(request, set_name, body)
        except VntwinError as exc:
            return problem(exc)

    api.add_api_route(f"/{set_name}", post, methods=["POST"], status_code=201,
                      summary=f"Create one of the {set_name}" + DEEP.get(set_name, ""),
                      operation_id=f"sta_create_{set_name}")


def _add_observation_posts(api: APIRouter) -> None:
    async def store(request: Request, stream_id: int | None) -> Any:
        cat: Catalog = request.app.state.catalog
        try:
            who = await caller(request)
            if who.source is None:
                raise NotAuthorized("sending observations needs the source's token "
                                    "(Authorization: vls_...)")
            data = await _json(request)
            if isinstance(data, dict) and "FeatureOfInterest" in data:
                raise ValidationError({"FeatureOfInterest": [FEATURE_REFUSED]})
            live = service(request)
            outcome = (await run_in_threadpool(live.ingestor.submit,
                                               [Incoming(data, stream_id, who.source)]))[0]
            if outcome.id is None:
                raise outcome_error(outcome, who.source.name, live.ingestor.limiter.retry_after(
                    who.source.name, who.source.rate_per_s))

            def shape() -> dict[str, Any]:
                with cat.read() as session:
                    row = sta_read.get_row(session, "Observations", outcome.id or 0)
                    return dictize(session, "Observations", [row], root_url(request))[0]

            return _created(request, "Observations", await run_in_threadpool(shape))
        except VntwinError as exc:
            return problem(exc)

    async def post_observation(request: Request) -> Any:
        return await store(request, None)

    async def post_stream_observation(request: Request, entity_id: str) -> Any:
        try:
            stream_id = sta_path.parse_id(entity_id)
        except VntwinError as exc:
            return problem(exc)
        return await store(request, stream_id)

    api.add_api_route("/Observations", post_observation, methods=["POST"], status_code=201,
                      summary="Create an Observation (Datastream given in the body)",
                      operation_id="sta_create_Observations")
    api.add_api_route("/Datastreams({entity_id})/Observations", post_stream_observation,
                      methods=["POST"], status_code=201,
                      summary="Create an Observation of a Datastream",
                      operation_id="sta_create_Datastream_Observations")
