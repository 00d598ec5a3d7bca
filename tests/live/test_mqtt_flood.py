"""A flood from one source over MQTT is rate-limited without stalling the others.

`vntwin live run` runs in its own process; a flooding source publishes 60,000 messages
with the C client (``mosquitto_pub -l``, some 15,000-20,000 a second, its rate is 50)
while a calm source publishes four observations a second. The flood's excess is
rejected as ``rate_limited``, counted, and acknowledged like any handled message, so the
broker does not redeliver it (as HTTP answers 429 and forgets it; a sensor that wants
it stored must send it again, within its rate).

What a flood costs the others: every message passes through the broker's one queue for
the ingest client, in order, so the calm source's observations wait behind the flood's
backlog and are stored as soon as it is drained, never later. Rejecting is cheap in the
writer (6-9 µs a message, in-process), but receiving costs paho some 30 µs more: the
ingest process handles 13,000-16,000 messages a second here (40 µs of CPU each; 9,900 on
PostgreSQL), and the calm source's observations waited up to 2.3-3.9 s during this 3-4 s
flood (5.2 s on PostgreSQL). A flood sustained above that rate would delay the other
sources more the longer it lasts; the remedy is outside the writer (a broker with
per-client rate limits, or ingest connections per group of sources).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.live.conftest import make_source, make_station
from tests.live.mqtt_helpers import (
    CountingPublisher,
    ingest_env,
    make_session,
    start_ingest,
    stored_times,
    wait,
)

from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts

FLOOD_RATE = 50.0  # the flooding source's allowed observations a second
CALM = 12
FLOOD = 60_000
MAX_LATENCY_S = 10.0  # a stall, not the backlog of this flood


def test_a_flood_is_rate_limited_and_does_not_stall_a_calm_source(
        cat: Catalog, broker: Mosquitto, tmp_path: Path) -> None:
    if shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto_pub is not installed")
    flood_src, _ = make_source(cat, "lu-lut", rate=FLOOD_RATE)
    calm_src, _ = make_source(cat, "binh-thuong")
    flood_stream = make_station(cat, flood_src, "Lũ lụt")
    calm_stream = make_station(cat, calm_src, "Bình thường", coords=[105.79, 10.04])
    make_session(broker.url)
    log = tmp_path / "ingest.log"
    ingest = start_ingest(ingest_env(cat, broker.url), tmp_path, log)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    lines = tmp_path / "flood.jsonl"
    with lines.open("w", encoding="utf-8") as out:
        for i in range(FLOOD):
            when = (base + timedelta(milliseconds=i)).isoformat().replace("+00:00", "Z")
            out.write(json.dumps({"phenomenonTime": when, "result": i % 100}) + "\n")
    calm = CountingPublisher(broker.url, "gw-calm")
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    flood = None
    try:
        # the ingest process is up once a first calm observation is stored
        first = (base - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
        calm.publish(calm_stream, base - timedelta(minutes=1), 1.0)
        assert wait(lambda: first in stored_times(cat), 30), log.read_text()
        with lines.open("rb") as stdin:
            flood = subprocess.Popen(
                ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                 "-i", "gw-flood", "-t", f"v1.1/Datastreams({flood_stream})/Observations",
                 "-l"], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        flood_start = time.monotonic()
        cpu0 = _cpu_s(ingest.pid)
        time.sleep(0.5)  # the flood is under way
        for i in range(CALM):
            when = base + timedelta(minutes=i)
            sent[when.isoformat().replace("+00:00", "Z")] = time.monotonic()
            calm.publish(calm_stream, when, float(i))
            deadline = time.monotonic() + 0.25
            while time.monotonic() < deadline:
                now_stored = stored_times(cat)
                for stamp in sent:
                    if stamp in now_stored and stamp not in seen:
                        seen[stamp] = time.monotonic()
                time.sleep(0.02)
        flood_running = flood.poll() is None
        assert wait(lambda: set(sent) <= stored_times(cat), 30), log.read_text()[-2000:]
        for stamp in sent:
            seen.setdefault(stamp, time.monotonic())
        assert flood.wait(60) == 0, flood.stderr.read() if flood.stderr else ""
        published_s = time.monotonic() - flood_start
        assert wait(lambda: _flood_handled(cat) == FLOOD, 60), ingest_counts(cat)
        drained_s = time.monotonic() - flood_start
        cpu_us = (_cpu_s(ingest.pid) - cpu0) / FLOOD * 1e6
    finally:
        calm.close()
        if flood is not None and flood.poll() is None:
            flood.kill()
        if ingest.poll() is None:
            ingest.terminate()
            ingest.wait(15)
    latency = sorted(seen[s] - sent[s] for s in sent)
    counts = {c["source"]: c for c in ingest_counts(cat)}
    print(f"flood of {FLOOD:,} published in {published_s:.1f} s, handled in {drained_s:.1f} s "
          f"({FLOOD / drained_s:,.0f}/s, ingest CPU {cpu_us:.0f} µs per message; still "
          f"publishing after the calm stream: {flood_running}); calm latency max "
          f"{latency[-1]:.2f} s, median {latency[len(latency) // 2]:.2f} s; "
          f"flood {counts['lu-lut']}")
    assert counts["binh-thuong"]["accepted"] == CALM + 1
    flooded = counts["lu-lut"]
    # each flood message handled once: acknowledged, not redelivered
    assert flooded["duplicate"] == 0
    assert flooded["accepted"] <= 2 * FLOOD_RATE + FLOOD_RATE * (drained_s + 1)
    # the calm source waits at most for the flood's backlog, never beyond it
    assert latency[-1] < min(drained_s + 0.5, MAX_LATENCY_S), latency


def _flood_handled(cat: Catalog) -> int:
    counts = {c["source"]: c for c in ingest_counts(cat)}.get("lu-lut")
    return 0 if counts is None else counts["accepted"] + counts["rejected"].get(
        "rate_limited", 0)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
