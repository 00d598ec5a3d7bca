"""Measuring a dataset again after it changes, off the request that changed it.

:func:`on_dataset_write` is called (one line in ``catalog/packages.record_version``)
inside the write's transaction. It only asks the session to queue the dataset once the
transaction *commits*; a single background thread then measures queued datasets after
a short pause (so the datastore table a resource write promotes after its commit is in
place, and a burst of writes is measured once). Nothing here can fail the write: every
error is logged and dropped, and a score that was never refreshed is simply measured on
its next read (:func:`vntwin.quality.service.quality_for`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from vntwin.catalog.service import Catalog

log = logging.getLogger(__name__)
DELAY_S = 1.0
_PENDING: dict[tuple[int, str], tuple[Catalog, float]] = {}
_LOCK = threading.Condition()
_WORKER: threading.Thread | None = None
_BUSY = 0
_STOPPING = False
_MEASURING: list[Catalog] = []  # the catalogue being measured now, if any


def stopping() -> bool:
    """True once the interpreter is shutting down: a measurement then failing is expected."""
    return _STOPPING


def _mark_stopping() -> None:
    global _STOPPING
    _STOPPING = True


# Runs when the interpreter starts to shut down, before the library thread pools (pyarrow's)
# refuse work and before atexit handlers: no new measurement starts after this.
threading._register_atexit(_mark_stopping)  # type: ignore[attr-defined]


def on_dataset_write(cat: Catalog, session: Session, package_id: str) -> None:
    """Queue ``package_id`` for measuring when ``session``'s transaction commits."""
    try:
        def committed(_session: Session) -> None:
            schedule(cat, package_id)

        event.listen(session, "after_commit", committed, once=True)
    except Exception:  # the write must go on whatever happens here
        log.exception("could not queue the quality refresh of %s", package_id)


def schedule(cat: Catalog, package_id: str, delay_s: float = DELAY_S) -> None:
    """Measure the dataset in the background in about ``delay_s`` seconds."""
    global _WORKER
    try:
        with _LOCK:
            if _STOPPING:
                return
            _PENDING[(id(cat), package_id)] = (cat, time.monotonic() + delay_s)
            if _WORKER is None or not _WORKER.is_alive():
                _WORKER = threading.Thread(target=_work, name="vntwin-quality", daemon=True)
                _WORKER.start()
            _LOCK.notify_all()
    except Exception:
        log.exception("could not schedule the quality refresh of %s", package_id)


def _next() -> tuple[Catalog, str] | None:
    """The next due dataset, waiting for it; None after a minute with nothing to do."""
    global _BUSY
    with _LOCK:
        idle_until = time.monotonic() + 60
        while True:
            now = time.monotonic()
            due = [(at, key) for key, (_, at) in _PENDING.items() if at <= now]
            if due:
                _, key = min(due)
                cat, _ = _PENDING.pop(key)
                _BUSY += 1
                _MEASURING.append(cat)
                return cat, key[1]
            if _STOPPING or (not _PENDING and now >= idle_until):
                return None
            wake = min((at for _, at in _PENDING.values()), default=idle_until)
            _LOCK.wait(max(0.01, wake - now))


def _work() -> None:
    global _BUSY, _WORKER
    from vntwin.quality import service

    while True:
        item = _next()
        if item is None:
            with _LOCK:
                if _STOPPING or not _PENDING:
                    _WORKER = None
                    return
            continue
        cat, package_id = item
        try:
            service.refresh(cat, package_id)
        except Exception:  # a closed catalogue, a dropped database: log and go on
            if stopping():
                continue
            log.warning("background quality refresh of %s failed", package_id, exc_info=True)
        finally:
            with _LOCK:
                _BUSY -= 1
                _MEASURING.remove(cat)
                _LOCK.notify_all()


def forget(cat: Catalog, timeout_s: float = 30.0) -> bool:
    """Drop ``cat``'s queued measurements and wait for one in progress to end.

    Called when a catalogue closes: a measurement running after the close would open new
    connections to a database its owner is about to drop or migrate (a PostgreSQL
    ``DROP SCHEMA`` then deadlocks with it). False if the running one outlasted the wait.
    """
    deadline = time.monotonic() + timeout_s
    with _LOCK:
        for key in [k for k, (queued, _) in _PENDING.items() if queued is cat]:
            del _PENDING[key]
        while any(m is cat for m in _MEASURING):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _LOCK.wait(min(left, 0.1))
        _LOCK.notify_all()
    return True


def wait_idle(timeout_s: float = 60.0) -> bool:
    """Wait until nothing is queued or running (for tests and the CLI); False on timeout."""
    deadline = time.monotonic() + timeout_s
    with _LOCK:
        while _PENDING or _BUSY:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _LOCK.wait(min(left, 0.1))
    return True


@atexit.register
def _stop_at_exit(timeout_s: float = 30.0) -> None:
    """Let a measurement in progress finish, drop the queue, and join the worker.

    A daemon thread still inside DuckDB or a database driver when the interpreter tears
    down aborts the process ("terminate called without an active exception"); a dataset
    left unmeasured is measured on its next read instead.
    """
    global _STOPPING
    with _LOCK:
        _STOPPING = True
        _PENDING.clear()
        worker = _WORKER
        _LOCK.notify_all()
    if worker is not None and worker.is_alive() and worker is not threading.current_thread():
        worker.join(timeout_s)
