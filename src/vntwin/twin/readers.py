"""One read-only DuckDB instance per twin file per process, shared through cursors.

Opening a DuckDB file costs 15–30 ms, several times a point query's own work, so a
server keeps the twin open between queries and hands each query a cursor (cursors of
one instance are safe to use from several threads). DuckDB locks a file: while any
process holds it read-only, no process can open it to write, and one process cannot
hold it both ways. Writers therefore announce themselves in a flag file beside the
twin (``twin.duckdb.writer``, holding the time until which a writer is active, or
``inf`` while it writes); readers stop sharing while the flag is live, and a janitor
thread closes shared instances that are idle or asked to go, within about half a
second, so a ``vntwin fuse`` in another process gets its lock. No library does this
hand-off for DuckDB files, hence this module.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

IDLE_S = 2.0  # a shared instance unused this long is closed
JANITOR_TICK_S = 0.25
LINGER_S = 5.0  # after a write, readers wait this long before sharing again (next write)
WRITE_WAIT_S = 60.0  # how long a writer waits for other processes to let go


class _Shared:
    """A cached read-only instance and how many queries use it now."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.users = 0
        self.last_used = time.monotonic()
        self.retired = False


_LOCK = threading.Condition()
_SHARED: dict[Path, _Shared] = {}
_JANITOR: threading.Thread | None = None


def flag_path(path: Path) -> Path:
    """The flag file a writer of ``path`` keeps beside it."""
    return path.with_name(path.name + ".writer")


def writer_active(path: Path) -> bool:
    """True while a writer holds or has just held (``LINGER_S``) the twin at ``path``."""
    try:
        until = float(flag_path(path).read_text().strip() or "inf")
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return until > time.time()


def _close(key: Path, shared: _Shared) -> None:
    """Close once unused; the caller holds ``_LOCK``."""
    shared.retired = True
    if _SHARED.get(key) is shared:
        del _SHARED[key]
    if shared.users == 0:
        shared.con.close()
        _LOCK.notify_all()


def _janitor() -> None:
    global _JANITOR
    while True:
        time.sleep(JANITOR_TICK_S)
        with _LOCK:
            now = time.monotonic()
            for key, shared in list(_SHARED.items()):
                if shared.users == 0 and (now - shared.last_used > IDLE_S
                                          or writer_active(key)):
                    _close(key, shared)
            if not _SHARED:
                _JANITOR = None
                return


def acquire(path: Path, config: dict[str, Any]) -> _Shared | None:
    """The process's shared read-only instance of ``path`` (opened if needed), counted as
    in use until :func:`give_back`; None while a writer is active (the caller then opens
    a connection of its own, which fails clearly if the writer holds the file). Raises
    duckdb.IOException when a writer holds the file without having announced itself.
    """
    global _JANITOR
    key = path.resolve()
    with _LOCK:
        shared = _SHARED.get(key)
        if writer_active(key):
            if shared is not None:
                _close(key, shared)
            return None
        if shared is None:
            shared = _Shared(duckdb.connect(str(key), read_only=True, config=config))
            _SHARED[key] = shared
            if _JANITOR is None:
                _JANITOR = threading.Thread(target=_janitor, name="vntwin-twin-readers",
                                            daemon=True)
                _JANITOR.start()
        shared.users += 1
        return shared


def give_back(shared: _Shared) -> None:
    """One query is done with ``shared``; a retired instance closes with its last query."""
    with _LOCK:
        shared.users -= 1
        shared.last_used = time.monotonic()
        if shared.retired and shared.users == 0:
            shared.con.close()
            _LOCK.notify_all()


def release(path: Path, timeout_s: float = WRITE_WAIT_S) -> None:
    """Close this process's shared instance of ``path`` once its queries finish (before
    this process writes to, attaches or replaces the file).
    """
    key = path.resolve()
    deadline = time.monotonic() + timeout_s
    with _LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            return
        _close(key, shared)
        while shared.users and time.monotonic() < deadline:
            _LOCK.wait(0.05)


@contextmanager
def announced_write(path: Path) -> Iterator[None]:
    """Announce a writer of ``path`` for the duration (and ``LINGER_S`` after), and
    release this process's own shared instance first.
    """
    flag = flag_path(path)
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.write_text("inf")
    try:
        release(path)
        yield
    finally:
        flag.write_text(repr(time.time() + LINGER_S))


def connect_for_write(path: Path, config: dict[str, Any],
                      wait_s: float = WRITE_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Open ``path`` to write, waiting (up to ``wait_s``) for readers of other processes
    to notice the flag and let go; the last IOException if they never do.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), config=config)
        except duckdb.IOException:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@atexit.register
def _close_all() -> None:
    """Close every shared instance before the interpreter tears down DuckDB."""
    with _LOCK:
        for key, shared in list(_SHARED.items()):
            shared.users = 0
            _close(key, shared)


__all__ = ["acquire", "announced_write", "connect_for_write", "flag_path", "give_back",
           "release", "writer_active"]
