"""Helpers of the MQTT tests: a publisher that remembers what the broker acknowledged,
and the observation times stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import select

from vntwin.catalog.service import Catalog
from vntwin.live.broker import BrokerMissing, Mosquitto
from vntwin.live.models import StaObservation
from vntwin.live.mqtt import TOPICS, make_client, parse_url


class CountingPublisher:
    """A QoS 1 publisher with a persistent session, remembering what the broker acked."""

    def __init__(self, url: str, client_id: str = "test-sensor-gateway") -> None:
        self.client = make_client(parse_url(url), client_id, persistent=True)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 1)
        self.sent: dict[int, str] = {}
        self.acked: set[str] = set()
        self.early: set[int] = set()
        self.lock = threading.Lock()
        self.client.on_publish = self._acked
        self.client.connect(parse_url(url).host, parse_url(url).port)
        self.client.loop_start()

    def _acked(self, client: mqtt.Client, userdata: object, mid: int, *rest: object) -> None:
        # paho calls this holding its own lock: never publish while holding ours
        with self.lock:
            stamp = self.sent.pop(mid, None)
            if stamp is None:
                self.early.add(mid)
            else:
                self.acked.add(stamp)

    def publish(self, stream: int, when: datetime, value: float,
                topic: str | None = None) -> None:
        stamp = when.isoformat().replace("+00:00", "Z")
        info = self.client.publish(topic or f"v1.1/Datastreams({stream})/Observations",
                                   json.dumps({"phenomenonTime": stamp, "result": value}), qos=1)
        with self.lock:
            if info.mid in self.early:
                self.early.discard(info.mid)
                self.acked.add(stamp)
            else:
                self.sent[info.mid] = stamp

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Stream:
    """``total`` observations, one a second of phenomenon time from two hours ago,
    published in a background thread (2 ms apart) while a test restarts things.
    """

    def __init__(self, publisher: CountingPublisher, datastream: int, total: int) -> None:
        self.total = total
        self.done = threading.Event()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

        def publish_all() -> None:
            for i in range(total):
                publisher.publish(datastream, start + timedelta(seconds=i), float(i % 97))
                time.sleep(0.002)
            self.done.set()

        self.thread = threading.Thread(target=publish_all)
        self.thread.start()

    def finished(self, timeout: float = 60) -> bool:
        """True once every observation was handed to the publisher."""
        self.thread.join(timeout)
        return self.done.is_set()


def private_broker(directory: Path) -> Mosquitto:
    """A private Mosquitto (not started); skips the test without one, or fails it under
    ``VNTWIN_REQUIRE_BROKER`` (``make test``: a skip would hide it).
    """
    import pytest

    try:
        return Mosquitto(directory)
    except BrokerMissing as exc:
        if os.environ.get("VNTWIN_REQUIRE_BROKER"):
            pytest.fail(f"VNTWIN_REQUIRE_BROKER is set but no broker runs: {exc}")
        pytest.skip(f"no Mosquitto broker and none could be installed: {exc}")


def stored_times(cat: Catalog) -> set[str]:
    with cat.read() as session:
        return {t.astimezone(UTC).isoformat().replace("+00:00", "Z")
                for t in session.scalars(select(StaObservation.phenomenon_time))}


def wait(predicate, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


INGEST_CLIENT_ID = "vntwin-process-test"


def ingest_env(cat: Catalog, url: str) -> dict[str, str]:
    """The environment of a `vntwin live run` process on ``cat``'s catalogue."""
    env = {**os.environ, "VNTWIN_DATA_DIR": str(cat.settings.data_dir),
           "VNTWIN_MQTT_URL": url, "VNTWIN_MQTT_CLIENT_ID": INGEST_CLIENT_ID,
           "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve()
                                                         .parents[2] / "src"),
                                                     os.environ.get("PYTHONPATH")) if p)}
    if cat.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = cat.settings.database_url
    if cat.settings.admin_cache_dir:
        env["VNTWIN_ADMIN_CACHE_DIR"] = str(cat.settings.admin_cache_dir)
    return env


def start_ingest(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """`vntwin live run` in its own process, as deployed (stderr to ``log``)."""
    # cwd: a folder without a vntwin.toml, so only the environment configures it
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "vntwin", "live", "run"], env=env,
                                cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)


def make_session(url: str) -> None:
    """The ingest client's persistent session, before anything is published (as a
    deployment's first `vntwin live run` would leave it): the broker queues from now on.
    """
    broker = parse_url(url)
    session = make_client(broker, INGEST_CLIENT_ID)
    session.connect(broker.host, broker.port)
    session.subscribe([(topic, 1) for topic in TOPICS])
    session.loop(1)
    session.disconnect()
