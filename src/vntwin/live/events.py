"""Events for open dashboards: written to ``live_event`` in the transaction that caused
them, streamed to SSE subscribers by one poller per server process.

Alerts may be raised in another process (``vntwin live run``), so the database is the
channel: one poller reads new rows every ``POLL_S`` seconds (well inside the one-second
promise) and fans them out to every subscriber's queue. A reconnecting browser sends
``Last-Event-ID`` and gets what it missed, as long as it is still in the table
(``prune`` keeps a day).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog
from vntwin.live.models import LiveEvent

POLL_S = 0.2
QUEUE_SIZE = 1000
KEEP = timedelta(days=1)
log = logging.getLogger(__name__)


def emit(session: Session, kind: str, payload: dict[str, Any]) -> None:
    """Record an event with the current transaction."""
    session.execute(insert(LiveEvent).values(at=utcnow(), kind=kind, payload=payload))


def since(cat: Catalog, after: int, limit: int = 500) -> list[LiveEvent]:
    """Events with an id above ``after``, oldest first."""
    with cat.read() as session:
        return list(session.scalars(select(LiveEvent).where(LiveEvent.id > after)
                                    .order_by(LiveEvent.id).limit(limit)))


def last_id(cat: Catalog) -> int:
    """The newest event's id (0 when there is none)."""
    with cat.read() as session:
        return int(session.scalar(select(func.max(LiveEvent.id))) or 0)


def prune(session: Session) -> int:
    """Drop events older than a day; returns how many."""
    result = session.execute(delete(LiveEvent).where(LiveEvent.at < utcnow() - KEEP))
    return int(getattr(result, "rowcount", 0) or 0)


class EventHub:
    """Fans database events out to the SSE connections of this process."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self._queues: set[asyncio.Queue[LiveEvent | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last = 0

    async def start(self) -> None:
        """Start polling (idempotent); called on the first subscription."""
        if self._task is None or self._task.done():
            self._last = await run_in_threadpool(last_id, self.cat)
            self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop polling and end every stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    async def subscribe(self) -> asyncio.Queue[LiveEvent | None]:
        """A queue receiving every new event (None: the server is stopping)."""
        await self.start()
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[LiveEvent | None]) -> None:
        """Forget a closed connection's queue."""
        self._queues.discard(queue)

    @property
    def position(self) -> int:
        """Id of the last event handed out."""
        return self._last

    async def _poll(self) -> None:
        while True:
            try:
                if self._queues:
                    events = await run_in_threadpool(since, self.cat, self._last)
                    for event in events:
                        self._last = event.id
                        for queue in list(self._queues):
                            try:
                                queue.put_nowait(event)
                            except asyncio.QueueFull:  # a stalled client: drop it
                                self._queues.discard(queue)
                                with contextlib.suppress(asyncio.QueueFull):
                                    queue.get_nowait()
                                    queue.put_nowait(None)
                    if len(events) == 500:
                        continue
            except Exception:  # keep serving: a database hiccup must not end the streams
                log.exception("reading live events failed")
            await asyncio.sleep(POLL_S)
