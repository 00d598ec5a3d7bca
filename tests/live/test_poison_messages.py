"""Messages that once stalled ingest or were lost: payloads that broke the checks, a
message the database refuses, and readings sent without a time.

One such message used to fail its whole batch; the MQTT subscriber retried that batch
forever, so no source's observations were stored after it, and a restart met it again.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, OperationalError
from tests.live.conftest import make_source, make_station, now_iso
from tests.live.mqtt_helpers import wait

from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts
from vntwin.live.ingest import Incoming, Ingestor
from vntwin.live.models import StaObservation
from vntwin.live.mqtt import Subscriber, make_client, parse_url
from vntwin.live.service import LiveService


def _stored(cat: Catalog) -> list[float]:
    with cat.read() as session:
        return sorted(float(v) for v in session.scalars(select(StaObservation.result_num)))


POISON = [
    ('{"result": 1' + "0" * 400 + "}", "wrong_type"),  # a number no float holds
    ('{"phenomenonTime": "0001-01-01T00:00:00+01:00", "result": 1}', "malformed"),
    ('{"phenomenonTime": "1850-01-01T00:00:00Z", "result": 1}', "malformed"),
    ('{"result": 1, "parameters": {"x": NaN}}', "malformed"),  # not JSON for a database
    ('{"result": 1, "parameters": ' + "[" * 100_000 + "]" * 100_000 + "}", "malformed"),
]


def test_payloads_that_broke_the_checks_are_rejected_alone(cat: Catalog) -> None:
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    good = json.dumps({"phenomenonTime": now_iso(-60), "result": 7}).encode()
    outcomes = Ingestor(cat).submit([Incoming(p.encode(), stream) for p, _ in POISON]
                                    + [Incoming(good, stream)])
    assert [o.outcome for o in outcomes] == [r for _, r in POISON] + ["accepted"]
    assert _stored(cat) == [7.0]


def test_a_message_the_database_refuses_is_rejected_alone(cat: Catalog, monkeypatch) -> None:
    """The rest of its batch is stored, it is counted as malformed; a database that is down
    still fails the batch, for the caller to retry."""
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    ingestor = Ingestor(cat)
    real_store = Ingestor._store

    def refusing_store(self, session, rows, now):  # as a database refuses a value
        if any(r.result_num == 666 for r in rows):
            raise DataError("INSERT ...", {}, Exception("value out of range for the column"))
        return real_store(self, session, rows, now)

    monkeypatch.setattr(Ingestor, "_store", refusing_store)
    batch = [Incoming(json.dumps({"phenomenonTime": now_iso(-60 + i), "result": v}).encode(),
                      stream) for i, v in enumerate((1, 666, 3))]
    assert [o.outcome for o in ingestor.submit(batch)] == ["accepted", "malformed", "accepted"]
    assert _stored(cat) == [1.0, 3.0]
    counts = {c["source"]: c for c in ingest_counts(cat)}["so-tnmt-ha-noi"]
    assert counts["accepted"] == 2 and counts["rejected"] == {"malformed": 1}

    def down(self, session, rows, now):
        raise OperationalError("INSERT ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Ingestor, "_store", down)
    with pytest.raises(OperationalError):
        ingestor.submit(batch[:1])


def test_readings_without_a_time_are_each_stored(cat: Catalog) -> None:
    """SensorThings: the service gives an observation without phenomenonTime the time it
    was received; five of them are five observations, not one and four duplicates."""
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    ingestor = Ingestor(cat)
    first = ingestor.submit([Incoming(b'{"result": %d}' % v, stream) for v in (1, 2, 3)])
    again = ingestor.submit([Incoming(b'{"result": %d}' % v, stream) for v in (4, 5)])
    assert [o.outcome for o in first + again] == ["accepted"] * 5
    assert _stored(cat) == [1.0, 2.0, 3.0, 4.0, 5.0]
    with cat.read() as session:
        times = session.scalars(select(StaObservation.phenomenon_time)
                                .order_by(StaObservation.id)).all()
    assert len(set(times)) == 5 and times == sorted(times)  # in the order received


def test_poison_over_mqtt_stalls_no_source(cat: Catalog, broker: Mosquitto) -> None:
    """Over a real broker: poison and time-less messages from one source, then good
    ones from another; all are acknowledged and every good one is stored."""
    hanoi, _ = make_source(cat, "so-tnmt-ha-noi")
    cantho, _ = make_source(cat, "so-tnmt-can-tho")
    poisoned, clean = make_station(cat, hanoi), make_station(cat, cantho, name="Ninh Kiều")
    service = LiveService(cat)
    subscriber = Subscriber(cat, broker.url, "vntwin-test", ingestor=service.ingestor)
    subscriber.start()
    assert subscriber.wait_connected()
    url = parse_url(broker.url)
    publisher = make_client(url, "poison-test", persistent=False)
    publisher.connect(url.host, url.port)
    publisher.loop_start()
    try:
        for payload, _ in POISON:
            publisher.publish(f"v1.1/Datastreams({poisoned})/Observations", payload, qos=1)
        for value in (11, 12):  # no phenomenonTime: the time they arrive
            publisher.publish(f"v1.1/Datastreams({poisoned})/Observations",
                              json.dumps({"result": value}), qos=1)
        for i, value in enumerate((21, 22, 23)):
            publisher.publish(f"v1.1/Datastreams({clean})/Observations",
                              json.dumps({"phenomenonTime": now_iso(-30 + i),
                                          "result": value}), qos=1).wait_for_publish(10)
        total = len(POISON) + 5
        assert wait(lambda: subscriber.stats.acknowledged == total), subscriber.stats
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        subscriber.stop()
    assert _stored(cat) == [11.0, 12.0, 21.0, 22.0, 23.0]
    counts = {c["source"]: c for c in ingest_counts(cat)}
    assert counts["so-tnmt-ha-noi"]["rejected"] == {"malformed": 4, "wrong_type": 1}
    with cat.read() as session:
        assert session.scalar(select(func.count()).select_from(StaObservation)) == 5


def test_a_moved_sensors_new_readings_are_placed_where_it_is(cat: Catalog) -> None:
    """SensorThings: a Thing's Location is its newest one; the ingest path (latest values
    per area, alert areas) must use it, as the live layers do."""
    from tests.live.conftest import CANTHO

    from vntwin.live.ingest import load_streams
    from vntwin.live.models import StaThing
    from vntwin.live.sta_create import Writer, create

    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    assert load_streams(cat, [stream])[stream].province_code == "01"
    with cat.sessions() as session, session.begin():
        thing = session.scalars(select(StaThing)).one()
        create(session, Writer(source, cat.settings), "Locations", {
            "name": "Ninh Kiều", "description": "moved", "encodingType":
            "application/geo+json", "location": {"type": "Point", "coordinates": CANTHO},
            "Things": [{"@iot.id": thing.id}]})
    assert load_streams(cat, [stream])[stream].province_code == "92"
