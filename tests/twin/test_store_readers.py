"""The twin's shared read-only instance: queries share it, writers still get the file.

DuckDB lets one process hold a file read-only *or* another write it, so these tests
check the hand-off: a write in this process, a write from another process while this
one holds the twin open, and the flag that tells readers to let go.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vntwin.twin import readers
from vntwin.twin.store import TwinStore


def _store(tmp_path: Path) -> TwinStore:
    store = TwinStore(tmp_path / "twin.duckdb")
    with store.write() as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('res', '8')")
    readers.release(store.path)
    readers.flag_path(store.path).unlink()  # as if the last write were long ago
    return store


def _res(store: TwinStore) -> str:
    with store.read() as con:
        return con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()[0]


def test_queries_share_one_instance_across_threads(tmp_path):
    store = _store(tmp_path)
    first = readers.acquire(store.path, {})
    second = readers.acquire(store.path, {})
    assert first is not None and first is second
    readers.give_back(first)
    readers.give_back(second)
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(_res(store))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == ["8"] * 8


def test_a_write_in_this_process_after_reads(tmp_path):
    store = _store(tmp_path)
    assert _res(store) == "8"  # the shared instance is open now
    with store.write() as con:
        con.execute("UPDATE meta SET value = '9' WHERE key = 'res'")
    assert readers.writer_active(store.path)  # readers wait a little for the next write
    assert _res(store) == "9"  # read through a connection of its own meanwhile


def test_a_writer_in_another_process_gets_the_file(tmp_path):
    store = _store(tmp_path)
    assert _res(store) == "8"  # this process holds the twin open, read-only
    code = ("import sys; from pathlib import Path; from vntwin.twin.store import TwinStore\n"
            "with TwinStore(Path(sys.argv[1])).write() as con:\n"
            "    con.execute(\"UPDATE meta SET value = '7' WHERE key = 'res'\")\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code, str(store.path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < readers.WRITE_WAIT_S  # it did not time out
    assert _res(store) == "7"  # and this process sees the new twin


def test_flag_marks_a_writer_and_lingers(tmp_path):
    path = tmp_path / "twin.duckdb"
    assert not readers.writer_active(path)
    with readers.announced_write(path):
        assert readers.flag_path(path).read_text() == "inf"
        assert readers.writer_active(path)
    assert readers.writer_active(path)  # for LINGER_S after
    readers.flag_path(path).write_text(repr(time.time() - 1))
    assert not readers.writer_active(path)


def test_idle_instances_close(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "IDLE_S", 0.1)
    store = _store(tmp_path)
    _res(store)
    key = store.path.resolve()
    assert key in readers._SHARED
    deadline = time.monotonic() + 5
    while key in readers._SHARED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key not in readers._SHARED


@pytest.mark.parametrize("n", [3])
def test_merge_replaces_a_twin_this_process_reads(tmp_path, n):
    from vntwin.twin.merge import merge_twins

    stores = []
    for i in range(n):
        (tmp_path / str(i)).mkdir()
        stores.append(_store(tmp_path / str(i)))
        _res(stores[-1])  # held open by this process
    out = stores[0].path
    merge_twins([s.path for s in stores[1:]], out, policy="priority")
    assert _res(stores[0]) == "8"
