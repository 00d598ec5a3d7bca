"""The live subsystem of one process: its ingestor, its SSE event hub and the periodic
work (``no_data`` rules, pruning). The web app holds one (``attach``); ``vntwin live run``
holds one beside its MQTT subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time

from vntwin.catalog.service import Catalog
from vntwin.live import alerts, events
from vntwin.live.ingest import Ingestor, prune_raw
from vntwin.live.layers import attach_layers

NO_DATA_EVERY_S = 10.0
PRUNE_EVERY_S = 600.0
log = logging.getLogger(__name__)


class LiveService:
    """Ingest, events and housekeeping of the live subsystem for one catalogue."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.ingestor = Ingestor(cat)
        self.hub = events.EventHub(cat)
        self._last_prune = 0.0
        attach_layers(cat)

    def housekeeping(self) -> None:
        """One round of periodic work: ``no_data`` alerts; pruning every ten minutes."""
        alerts.check_no_data(self.cat, self.ingestor.streams.all())
        if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
            self._last_prune = time.monotonic()
            prune_raw(self.cat, self.cat.settings.live_raw_days)
            with self.cat.sessions() as session, session.begin():
                events.prune(session)

    async def run_async(self) -> None:
        """Housekeeping forever, in the web server's event loop (work in a thread)."""
        from starlette.concurrency import run_in_threadpool

        while True:
            try:
                await run_in_threadpool(self.housekeeping)
            except Exception:
                log.exception("live housekeeping failed")
            await asyncio.sleep(NO_DATA_EVERY_S)

    def run_thread(self, stop: threading.Event) -> threading.Thread:
        """Housekeeping in a thread until ``stop`` is set (for ``vntwin live run``)."""
        def loop() -> None:
            while not stop.wait(NO_DATA_EVERY_S):
                try:
                    self.housekeeping()
                except Exception:
                    log.exception("live housekeeping failed")

        thread = threading.Thread(target=loop, name="vntwin-live-housekeeping", daemon=True)
        thread.start()
        return thread


@contextlib.asynccontextmanager
async def running(service: LiveService):  # type: ignore[no-untyped-def]
    """Run the service's housekeeping while the web app runs."""
    task = asyncio.create_task(service.run_async())
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.hub.stop()
