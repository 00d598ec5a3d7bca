"""``/live/...``: the operations dashboard's JSON, alerts, the SSE event stream, HTTP
ingest of observations with per-source tokens, sources and history. Errors are RFC 9457
problem+json.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from vntwin.api.live_common import caller, service
from vntwin.api.problems import answer as _answer
from vntwin.api.problems import problem
from vntwin.api.sta import MAX_BODY
from vntwin.catalog.service import Catalog
from vntwin.errors import (
    BadRequest,
    NotAuthorized,
    RateLimited,
    ValidationError,
    VntwinError,
)
from vntwin.live import alerts, events, history
from vntwin.live.dashboard import dashboard
from vntwin.live.ingest import Incoming
from vntwin.live.layers import live_values
from vntwin.live.models import LiveEvent
from vntwin.live.sources import create_source, list_sources
from vntwin.twin.query import cell_index

MAX_BATCH = 5000


async def _json(request: Request) -> Any:
    import json

    body = await request.body()
    if len(body) > MAX_BODY * 8:
        raise BadRequest(f"the request body is larger than {MAX_BODY * 8} bytes")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None


def _sse(event: LiveEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.payload, event=event.kind, id=str(event.id))


def router() -> APIRouter:
    """The live data routes."""
    api = APIRouter(prefix="/live", tags=["Live data and operations"])

    @api.get("/dashboard", summary="Indicators with targets, trends, provinces; open alerts")
    async def get_dashboard(request: Request) -> Any:
        return await _answer(dashboard, request.app.state.catalog)

    @api.get("/alerts", summary="Alerts, newest first")
    async def get_alerts(request: Request,
                         state: Annotated[str, Query(description="open, acknowledged, resolved, "
                                                     "unresolved or all")] = "unresolved",
                         province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         offset: Annotated[int, Query(ge=0)] = 0) -> Any:
        return await _answer(alerts.list_alerts, request.app.state.catalog, state, province,
                             limit, offset)

    @api.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert (signed-in users)")
    async def ack(request: Request, alert_id: int) -> Any:
        try:
            who = await caller(request)
            if who.actor.anonymous:
                raise NotAuthorized("acknowledging an alert needs a user's API token")
        except VntwinError as exc:
            return problem(exc)
        return await _answer(alerts.acknowledge, request.app.state.catalog, alert_id,
                             who.actor.name)

    @api.get("/alert-rules", summary="Alert rules")
    async def rules(request: Request) -> Any:
        return await _answer(alerts.list_rules, request.app.state.catalog)

    async def _sysadmin(request: Request) -> None:
        who = await caller(request)
        if not who.actor.sysadmin:
            raise NotAuthorized("only a sysadmin may do this")

    @api.post("/alert-rules", status_code=201, summary="Create an alert rule (sysadmin)")
    async def create_rule(request: Request) -> Any:
        try:
            await _sysadmin(request)
            data = await _json(request)
            if not isinstance(data, dict):
                raise ValidationError({"rule": ["must be a JSON object"]})
        except VntwinError as exc:
            return problem(exc)
        result = await _answer(alerts.create_rule, request.app.state.catalog, data)
        return result if isinstance(result, JSONResponse) else JSONResponse(result, 201)

    @api.delete("/alert-rules/{rule_id}", status_code=204, response_class=Response,
                summary="Delete an alert rule and its alerts (sysadmin)")
    async def delete_rule(request: Request, rule_id: int) -> Response:
        try:
            await _sysadmin(request)
        except VntwinError as exc:
            return problem(exc)
        result = await _answer(alerts.delete_rule, request.app.state.catalog, rule_id)
        return result if isinstance(result, JSONResponse) else Response(status_code=204)

    @api.get("/events", response_class=EventSourceResponse,
             summary="Server-sent events: alert and observations, resumable by Last-Event-ID")
    async def stream(request: Request,
                     after: Annotated[int | None, Query(ge=0, description="Replay events "
                                                        "after this id")] = None,
                     last_event_id: Annotated[str | None, Header()] = None
                     ) -> AsyncIterable[ServerSentEvent]:
        cat: Catalog = request.app.state.catalog
        hub = service(request).hub
        queue = await hub.subscribe()
        try:
            resume = after
            if last_event_id and last_event_id.isdigit():
                resume = int(last_event_id)
            sent = hub.position if resume is None else resume
            yield ServerSentEvent(comment="vntwin live events", retry=2000)
            if resume is not None:
                for event in await run_in_threadpool(events.since, cat, resume):
                    yield _sse(event)
                    sent = event.id
            while True:
                try:  # wake up every second to notice a client that went away
                    new = await asyncio.wait_for(queue.get(), timeout=1.0)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if new is None:
                    return
                if new.id <= sent:
                    continue
                sent = new.id
                yield _sse(new)
        finally:
            hub.unsubscribe(queue)

    @api.post("/observations", summary="Send observations (source token); one or a list")
    async def ingest(request: Request) -> Any:
        try:
            who = await caller(request)
            if who.source is None:
                raise NotAuthorized("sending observations needs the source's token "
                                    "(Authorization: vls_...)")
            data = await _json(request)
            items = data if isinstance(data, list) else [data]
            if not items or len(items) > MAX_BATCH:
                raise ValidationError({"observations": [f"send 1 to {MAX_BATCH} observations"]})
            batch = []
            for item in items:
                stream = item.get("datastream") if isinstance(item, dict) else None
                if isinstance(stream, bool) or (stream is not None
                                                and not isinstance(stream, int)):
                    stream = -1  # counted and refused as an unknown datastream
                batch.append(Incoming(item if isinstance(item, dict) else b"[]", stream,
                                      who.source))
            live = service(request)
            outcomes = await run_in_threadpool(live.ingestor.submit, batch)
        except VntwinError as exc:
            return problem(exc)
        body = {"accepted": sum(o.outcome == "accepted" for o in outcomes),
                "duplicates": sum(o.outcome == "duplicate" for o in outcomes),
                "rejected": sum(not o.stored for o in outcomes),
                "results": [{"index": i, "outcome": o.outcome, "detail": o.detail or None,
                             "@iot.id": o.id} for i, o in enumerate(outcomes)]}
        if all(o.outcome == "rate_limited" for o in outcomes):
            wait = live.ingestor.limiter.retry_after(who.source.name, who.source.rate_per_s)
            return problem(RateLimited(f"source {who.source.name!r} is over its rate", wait))
        status = 200 if any(o.stored for o in outcomes) else 400
        return JSONResponse(body, status_code=status)

    @api.get("/sources", summary="Sources and what each sent (sysadmin)")
    async def sources(request: Request) -> Any:
        try:
            await _sysadmin(request)
        except VntwinError as exc:
            return problem(exc)
        return await _answer(list_sources, request.app.state.catalog)

    @api.post("/sources", status_code=201, summary="Create a source; returns its token once")
    async def new_source(request: Request) -> Any:
        try:
            await _sysadmin(request)
            data = await _json(request)
            if not isinstance(data, dict):
                raise ValidationError({"source": ["must be a JSON object"]})
        except VntwinError as exc:
            return problem(exc)
        cat: Catalog = request.app.state.catalog

        def work() -> dict[str, Any]:
            with cat.sessions() as session, session.begin():
                source, token = create_source(session, str(data.get("name", "")),
                                              str(data.get("title", "")),
                                              data.get("rate_per_s"))
                return {"id": source.id, "name": source.name, "token": token}

        result = await _answer(work)
        return result if isinstance(result, JSONResponse) else JSONResponse(result, 201)

    @api.get("/datastreams/{stream_id}/history",
             summary="Downsampled history of a datastream (hourly or daily)")
    async def get_history(request: Request, stream_id: int,
                          period: Annotated[str, Query(pattern="^(hour|day)$")] = "hour",
                          start: datetime | None = None, end: datetime | None = None) -> Any:
        return await _answer(history.history, request.app.state.catalog, stream_id, period,
                             start, end)

    @api.get("/values", summary="Live layers per H3 cell (comma-separated cells)")
    async def values(request: Request, cells: Annotated[str, Query(max_length=20000)]) -> Any:
        try:
            indexes = [cell_index(c.strip()) for c in cells.split(",") if c.strip()]
        except VntwinError as exc:
            return problem(exc)
        result = await _answer(live_values, request.app.state.catalog, indexes)
        if isinstance(result, JSONResponse):
            return result
        return {format(cell, "x"): layers for cell, layers in result.items()}

    return api
