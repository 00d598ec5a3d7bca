"""`vntwin live run` as deployed, in its own process: killed (SIGKILL) or stopped
(SIGTERM) in the middle of a QoS 1 stream, started again, and the broker restarted too;
every observation the broker acknowledged to the publisher is stored, exactly once.

Why "exactly once" holds although MQTT QoS 1 is at-least-once: the ingest process
acknowledges a message only after the transaction holding it commits, so a SIGKILL
between the commit and the PUBACK makes the broker deliver it again; the database's
unique (datastream, phenomenon time) turns that redelivery into a ``duplicate`` outcome,
not a second row. The test checks both halves: rows == distinct observations == published,
and the per-source ``accepted`` counter (written in the same transaction as the rows)
equals the rows, whatever the number of redeliveries counted as duplicates.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.live.conftest import make_source, make_station
from tests.live.mqtt_helpers import (
    CountingPublisher,
    Stream,
    ingest_env,
    make_session,
    start_ingest,
    stored_times,
    wait,
)

from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts
from vntwin.live.models import StaObservation


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_ingest_process_and_broker_restarts_store_each_acked_once(
        cat: Catalog, broker: Mosquitto, tmp_path: Path, how: signal.Signals) -> None:
    source, _ = make_source(cat, "tram-quan-trac", rate=100_000)
    stream = make_station(cat, source)
    make_session(broker.url)
    env = ingest_env(cat, broker.url)
    log = tmp_path / "ingest.log"
    ingest = start_ingest(env, tmp_path, log)
    publisher = CountingPublisher(broker.url, f"test-gateway-{how.name.lower()}")
    total = 2000
    sending = Stream(publisher, stream, total)
    try:
        assert wait(lambda: len(stored_times(cat)) > 200), log.read_text()
        ingest.send_signal(how)  # the ingest process goes away mid-stream ...
        assert ingest.wait(15) == (-signal.SIGKILL if how == signal.SIGKILL else 0)
        at_stop = len(stored_times(cat))
        ingest = start_ingest(env, tmp_path, log)  # ... and comes back
        assert wait(lambda: len(stored_times(cat)) > at_stop + 200), log.read_text()
        # redeliveries so far come from the ingest restart alone (the broker's comes next)
        redelivered = {c["source"]: c for c in ingest_counts(cat)}["tram-quan-trac"]["duplicate"]
        broker.restart()  # then the broker restarts mid-stream
        assert sending.finished()
        assert wait(lambda: len(publisher.acked) == total, 30), len(publisher.acked)
        ok = wait(lambda: publisher.acked <= stored_times(cat), 30)
        missing = sorted(publisher.acked - stored_times(cat))
        assert ok, (len(missing), missing[:5], ingest_counts(cat), log.read_text()[-2000:])
    finally:
        publisher.close()
        if ingest.poll() is None:
            ingest.terminate()
            ingest.wait(15)
    stored = stored_times(cat)
    with cat.read() as session:
        rows = session.scalar(select(func.count()).select_from(StaObservation))
    assert rows == len(stored) == total  # nothing lost, nothing stored twice
    counts = {c["source"]: c for c in ingest_counts(cat)}["tram-quan-trac"]
    assert counts["accepted"] == total  # each observation counted accepted once
    # what was redelivered (committed, its PUBACK lost to the kill or the broker restart,
    # which resends its in-flight window) was recognised, not stored again
    assert counts["duplicate"] >= redelivered
    if how == signal.SIGTERM:  # a clean stop acknowledges all it committed: no redelivery
        assert redelivered == 0, counts
