"""Closing a catalogue cancels its background measurements.

A measurement running after ``Catalog.close`` opened new connections to a database its
owner was dropping: CI once saw ``DROP SCHEMA ... CASCADE`` deadlock with it.
"""

from __future__ import annotations

import threading
import time

import pytest

from vntwin.quality import refresh, service


class Events(list[tuple[str, str]]):
    started: threading.Event


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> Events:
    """Replaces the measurement by a slow one that records when it starts and ends."""
    events = Events()
    events.started = started = threading.Event()

    def slow_refresh(cat: object, package_id: str) -> None:
        events.append(("start", package_id))
        started.set()
        time.sleep(0.5)
        events.append(("end", package_id))

    monkeypatch.setattr(service, "refresh", slow_refresh)
    return events


def test_close_drops_queued_measurements(cat, measured):
    refresh.schedule(cat, "queued", delay_s=0.3)
    cat.close()
    time.sleep(0.6)
    assert refresh.wait_idle(10)
    assert measured == []


def test_close_waits_for_the_running_measurement(cat, measured):
    refresh.schedule(cat, "running", delay_s=0)
    assert measured.started.wait(10)
    cat.close()
    assert measured == [("start", "running"), ("end", "running")]


def test_other_catalogues_measurements_are_kept(cat, tmp_path, measured):
    from vntwin.catalog.service import Catalog
    from vntwin.testing import make_settings

    other = Catalog(make_settings(tmp_path / "other", None))
    try:
        refresh.schedule(other, "kept", delay_s=0.2)
        refresh.schedule(cat, "dropped", delay_s=0.2)
        cat.close()
        assert refresh.wait_idle(10)
        assert measured == [("start", "kept"), ("end", "kept")]
    finally:
        other.close()
