"""What the ``/live`` and ``/sta`` routers share: who is calling, and problem+json errors."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vntwin.catalog.auth import ANONYMOUS, Actor
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import authenticate
from vntwin.errors import (
    NotAuthorized,
)
from vntwin.live.service import LiveService
from vntwin.live.sources import SourceInfo, is_source_token, source_for_token


@dataclass(frozen=True)
class Caller:
    """A request's credentials: a source token, a catalogue token, or none."""

    actor: Actor = ANONYMOUS
    source: SourceInfo | None = None

    @property
    def may_write_entities(self) -> bool:
        """Sources and catalogue sysadmins create SensorThings entities."""
        return self.source is not None or self.actor.sysadmin


def _caller(cat: Catalog, raw: str | None, client: str) -> Caller:
    if raw and is_source_token(raw):
        cat.failures.check(client)
        with cat.read() as session:
            try:
                return Caller(source=source_for_token(session, raw))
            except NotAuthorized:
                cat.failures.fail(client)
                raise
    return Caller(actor=authenticate(cat, raw, client))


async def caller(request: Request) -> Caller:
    """The caller of a request (``Authorization`` header); NotAuthorized for a bad token."""
    cat: Catalog = request.app.state.catalog
    raw = request.headers.get("authorization") or request.headers.get("x-api-key")
    return await run_in_threadpool(_caller, cat, raw,
                                   request.client.host if request.client else "")


def service(request: Request) -> LiveService:
    """The app's live service."""
    return request.app.state.live  # type: ignore[no-any-return]


def root_url(request: Request) -> str:
    """The SensorThings service root, e.g. ``http://host/sta/v1.1``."""
    return str(request.url_for("sta_root")).rstrip("/")
