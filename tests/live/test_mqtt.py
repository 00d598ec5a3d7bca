"""With a real Mosquitto: publish → stored → in the twin → in the SensorThings API; and
restarts of the subscriber and of the broker mid-stream lose no acknowledged observation.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import h3
import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.live.conftest import make_source, make_station

from vntwin.api.app import create_app
from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts
from vntwin.live.models import StaLocation, StaObservation
from vntwin.live.mqtt import Subscriber, make_client, parse_url
from vntwin.live.service import LiveService
from vntwin.twin import query
from vntwin.twin.build import twin_store


class CountingPublisher:
    """A QoS 1 publisher with a persistent session, remembering what the broker acked."""

    def __init__(self, url: str) -> None:
        self.client = make_client(parse_url(url), "test-sensor-gateway", persistent=True)
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


def _stored_times(cat: Catalog) -> set[str]:
    with cat.read() as session:
        return {t.astimezone(UTC).isoformat().replace("+00:00", "Z")
                for t in session.scalars(select(StaObservation.phenomenon_time))}


def _wait(predicate, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_publish_is_stored_in_the_twin_and_the_api(cat: Catalog, broker: Mosquitto) -> None:
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    with cat.read() as session:
        loc = session.scalars(select(StaLocation)).one()
    with twin_store(cat).write() as con:  # a twin holding the station's cell
        con.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?)",
                    [loc.h3, loc.lat, loc.lon, loc.province_code, loc.commune_code])
        con.execute("INSERT INTO meta VALUES ('res', ?)", [str(cat.settings.h3_resolution)])
    service = LiveService(cat)
    subscriber = Subscriber(cat, broker.url, "vntwin-test", ingestor=service.ingestor)
    subscriber.start()
    assert subscriber.wait_connected()
    publisher = CountingPublisher(broker.url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    try:
        for i, value in enumerate((31.5, 42.0, 57.25)):
            publisher.publish(stream, start + timedelta(minutes=i), value)
        publisher.publish(stream, start, 1.0, topic="v1.1/Datastreams(999)/Observations")
        publisher.client.publish(f"v1.1/Datastreams({stream})/Observations", b"\xff garbage",
                                 qos=1)
        assert _wait(lambda: len(_stored_times(cat)) == 3)
        assert _wait(lambda: subscriber.stats.acknowledged == 5)
    finally:
        publisher.close()
        subscriber.stop()
    counts = {c["source"]: c for c in ingest_counts(cat)}
    assert counts["so-tnmt-ha-noi"]["accepted"] == 3
    assert counts["so-tnmt-ha-noi"]["rejected"] == {"malformed": 1}
    assert counts["unknown"]["rejected"] == {"unknown_datastream": 1}

    answer = query.at_cell(twin_store(cat), loc.h3)
    live = answer["layers"]["live-pm2-5"]
    assert live["mean"]["value"] == 57.25 and live["sensors"]["value"] == 1
    lat, lon = h3.cell_to_latlng(h3.int_to_str(loc.h3))
    assert query.at_point(twin_store(cat), lat, lon)["layers"]["live-pm2-5"]["max"]["value"] \
        == 57.25
    unit = query.in_unit(twin_store(cat), "01")
    assert unit["layers"]["live-pm2-5"]["mean"]["value"] == 57.25
    assert "live-pm2-5" not in query.at_cell(twin_store(cat), loc.h3,
                                             as_of=datetime.now(UTC))["layers"]
    with TestClient(create_app(cat.settings, cat)) as client:
        obs = client.get(f"/sta/v1.1/Datastreams({stream})/Observations",
                         params={"$orderby": "phenomenonTime asc"}).json()["value"]
        assert [o["result"] for o in obs] == [31.5, 42.0, 57.25]
        cell = client.get(f"/twin/cell/{h3.int_to_str(loc.h3)}").json()
        assert cell["layers"]["live-pm2-5"]["mean"]["value"] == 57.25


def test_restarts_lose_no_acknowledged_observation(cat: Catalog, broker: Mosquitto) -> None:
    source, _ = make_source(cat, "tram-do", rate=100_000)
    stream = make_station(cat, source)
    subscriber = Subscriber(cat, broker.url, "vntwin-restart-test")
    subscriber.start()
    assert subscriber.wait_connected()
    publisher = CountingPublisher(broker.url)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    total = 1500
    done = threading.Event()

    def stream_out() -> None:
        for i in range(total):
            publisher.publish(stream, start + timedelta(seconds=i), float(i % 97))
            time.sleep(0.002)
        done.set()

    thread = threading.Thread(target=stream_out)
    thread.start()
    try:
        assert _wait(lambda: len(_stored_times(cat)) > 200)
        subscriber.stop()  # vntwin's ingest process goes away mid-stream ...
        time.sleep(0.5)
        subscriber = Subscriber(cat, broker.url, "vntwin-restart-test")  # ... and comes back
        subscriber.start()
        assert _wait(lambda: len(_stored_times(cat)) > 700)
        broker.restart()  # the broker restarts mid-stream
        thread.join(60)
        assert done.is_set()
        assert _wait(lambda: len(publisher.acked) == total, 30), len(publisher.acked)
        ok = _wait(lambda: publisher.acked <= _stored_times(cat), 30)
        missing = sorted(publisher.acked - _stored_times(cat))
        assert ok, (len(missing), missing[:5], ingest_counts(cat), subscriber.stats)
    finally:
        publisher.close()
        subscriber.stop()
    stored = _stored_times(cat)
    assert publisher.acked <= stored, f"lost {len(publisher.acked - stored)} acknowledged"
    with cat.read() as session:
        rows = session.scalar(select(func.count()).select_from(StaObservation))
    assert rows == len(stored) == total  # nothing lost, nothing stored twice
