"""With a real Mosquitto: publish → stored → in the twin → in the SensorThings API; and
restarts of the subscriber and of the broker mid-stream lose no acknowledged observation.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import h3
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.live.conftest import make_source, make_station
from tests.live.mqtt_helpers import CountingPublisher, Stream, stored_times, wait

from vntwin.api.app import create_app
from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts
from vntwin.live.models import StaLocation, StaObservation
from vntwin.live.mqtt import Subscriber
from vntwin.live.service import LiveService
from vntwin.twin import query
from vntwin.twin.build import twin_store


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
        assert wait(lambda: len(stored_times(cat)) == 3)
        assert wait(lambda: subscriber.stats.acknowledged == 5)
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
    total = 1500
    sending = Stream(publisher, stream, total)
    try:
        assert wait(lambda: len(stored_times(cat)) > 200)
        subscriber.stop()  # vntwin's ingest process goes away mid-stream ...
        time.sleep(0.5)
        subscriber = Subscriber(cat, broker.url, "vntwin-restart-test")  # ... and comes back
        subscriber.start()
        assert wait(lambda: len(stored_times(cat)) > 700)
        broker.restart()  # the broker restarts mid-stream
        assert sending.finished()
        assert wait(lambda: len(publisher.acked) == total, 30), len(publisher.acked)
        ok = wait(lambda: publisher.acked <= stored_times(cat), 30)
        missing = sorted(publisher.acked - stored_times(cat))
        assert ok, (len(missing), missing[:5], ingest_counts(cat), subscriber.stats)
    finally:
        publisher.close()
        subscriber.stop()
    stored = stored_times(cat)
    assert publisher.acked <= stored, f"lost {len(publisher.acked - stored)} acknowledged"
    with cat.read() as session:
        rows = session.scalar(select(func.count()).select_from(StaObservation))
    assert rows == len(stored) == total  # nothing lost, nothing stored twice
