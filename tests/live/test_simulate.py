"""``vntwin live simulate`` against a private Mosquitto: its three kinds of stream are
stored with plausible values, everything it creates says it is simulated, and that
marking reaches the map, the twin's live layers and the dashboard.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from tests.live.conftest import make_source, make_station
from tests.live.mqtt_helpers import wait
from typer.testing import CliRunner

from vntwin.api.app import create_app
from vntwin.catalog.service import Catalog
from vntwin.cli import app
from vntwin.live.broker import Mosquitto
from vntwin.live.dashboard import ingest_counts, live_indicators
from vntwin.live.layers import live_layers, map_entries, sensor_features
from vntwin.live.models import (
    LiveSource,
    StaDatastream,
    StaLocation,
    StaObservation,
    StaObservedProperty,
    StaSensor,
    StaThing,
)
from vntwin.live.mqtt import Subscriber
from vntwin.live.service import LiveService
from vntwin.live.simulate import (
    COUNT,
    RIVER_CITIES,
    SIM,
    SOURCE,
    UNITS,
    Station,
    ensure_network,
    simulate,
)
from vntwin.live.sta_model import MEASUREMENT

LAYERS = {"pm25": "live-pm2-5-simulated", "water": "live-muc-nuoc-water-level-simulated",
          "traffic": "live-luu-luong-xe-traffic-count-simulated"}


def _stored(cat: Catalog) -> int:
    with cat.read() as session:
        return int(session.scalar(select(func.count()).select_from(StaObservation)) or 0)


@pytest.fixture
def subscribed(cat: Catalog, broker: Mosquitto) -> Iterator[Subscriber]:
    """vntwin's MQTT ingest, storing into the test catalogue."""
    service = LiveService(cat)
    subscriber = Subscriber(cat, broker.url, "vntwin-simulate-test", ingestor=service.ingestor)
    subscriber.start()
    assert subscriber.wait_connected()
    yield subscriber
    subscriber.stop()


def _observations(cat: Catalog) -> dict[str, list[tuple[Any, ...]]]:
    """Stored observations by simulator kind: (thing place, unit, result, phenomenonTime)."""
    query = (select(StaThing.properties, StaDatastream.unit_symbol,
                    StaDatastream.observation_type, StaDatastream.properties,
                    StaObservation.result_num, StaObservation.result_json,
                    StaObservation.phenomenon_time)
             .join(StaDatastream, StaDatastream.id == StaObservation.datastream_id)
             .join(StaThing, StaThing.id == StaDatastream.thing_id))
    out: dict[str, list[tuple[Any, ...]]] = {}
    with cat.read() as session:
        for props, unit, obs_type, ds_props, num, raw, when in session.execute(query):
            out.setdefault(props["simulator"], []).append(
                (props["place"], unit, obs_type, ds_props["validRange"], num, raw, when))
    return out


def test_two_rounds_are_stored_with_plausible_values(cat: Catalog, broker: Mosquitto,
                                                     subscribed: Subscriber) -> None:
    """Two live rounds, a second apart or less: every station's two values arrive, of all
    three kinds, in their units and ranges."""
    calls: list[tuple[str, int, int]] = []
    progress = simulate(cat, broker.url, interval_s=0.2, rounds=2,
                        on_progress=lambda *a: calls.append(a))
    stations = ensure_network(cat)  # idempotent: the same network, nothing created twice
    kinds = Counter(s.kind for s in stations)
    assert kinds == {"pm25": 12, "traffic": 6, "water": len(RIVER_CITIES)}
    assert progress.published == progress.acknowledged == 2 * len(stations)
    assert [c[0] for c in calls] == ["live", "live"] and calls[-1][2] == 2 * len(stations)
    assert wait(lambda: _stored(cat) == 2 * len(stations), 30), (ingest_counts(cat),
                                                              subscribed.stats)
    counts = {c["source"]: c for c in ingest_counts(cat)}
    assert counts[SOURCE]["accepted"] == 2 * len(stations)
    assert counts[SOURCE]["rejected"] == {} and counts[SOURCE]["duplicate"] == 0

    stored = _observations(cat)
    assert {k: len(v) for k, v in stored.items()} == {k: 2 * n for k, n in kinds.items()}
    now = datetime.now(UTC)
    for rows in stored.values():  # live rounds are stamped now, not in the past or future
        for *_, when in rows:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            assert now - timedelta(minutes=1) < when <= now + timedelta(seconds=5)
    for _place, unit, obs_type, valid, num, _raw, _when in stored["pm25"]:
        assert unit == "µg/m³" and obs_type == MEASUREMENT and valid == UNITS["pm25"][2]
        assert valid[0] <= num <= valid[1] and 1 <= num <= 150  # a Vietnamese city's PM2.5
    for place, unit, _type, valid, num, _raw, _when in stored["water"]:
        _river, mean, amp = RIVER_CITIES[place] if place in RIVER_CITIES else next(
            v for k, v in RIVER_CITIES.items() if k.casefold() == place.casefold())
        assert unit == "m" and valid[0] <= num <= valid[1]
        assert abs(num - mean) <= 1.4 * amp + 0.5  # tide and drift around the gauge's mean
    for _place, unit, obs_type, valid, num, raw, _when in stored["traffic"]:
        assert unit == "{vehicles}/5min" and obs_type == COUNT
        result = raw if raw is not None else num
        assert float(result).is_integer() and 0 <= result <= valid[1]


def test_everything_created_and_shown_is_marked_simulated(cat: Catalog, broker: Mosquitto,
                                                          subscribed: Subscriber) -> None:
    """Things, Locations, Datastreams and Sensors say "simulated" in their names and
    properties, and the map, the twin's live layers and the dashboard say so too."""
    stations = ensure_network(cat)
    simulate(cat, broker.url, rounds=1)
    assert wait(lambda: _stored(cat) == len(stations), 30)
    with cat.read() as session:
        source = session.scalars(select(LiveSource).where(LiveSource.name == SOURCE)).one()
        assert "simulated" in source.title
        things = session.scalars(select(StaThing)).all()
        assert len(things) == len(stations)
        for thing in things:
            assert thing.source_id == source.id
            assert thing.name.endswith(SIM) and "not measured" in thing.description
            assert thing.properties["simulated"] is True
        for entity in (*session.scalars(select(StaDatastream)), *session.scalars(
                select(StaSensor)), *session.scalars(select(StaLocation)),
                       *session.scalars(select(StaObservedProperty))):
            assert entity.name.endswith(SIM), entity.name
            assert entity.properties["simulated"] is True, entity.name
        cells = [int(c) for c in session.scalars(select(StaLocation.h3))]

    entries = {e["layer"]: e for e in map_entries(cat)}
    assert set(entries) == set(LAYERS.values())
    assert all(e["simulated"] is True for e in entries.values())
    for layer in LAYERS.values():
        features = sensor_features(cat, layer)["features"]
        assert features and all(f["properties"]["simulated"] is True for f in features)
        assert all(f["properties"]["thing"].endswith(SIM) for f in features)
    twin = live_layers(cat, {"cells": cells})
    assert set(twin) == set(LAYERS.values())
    assert all(var["simulated"] is True for layer in twin.values() for var in layer.values())
    indicators = live_indicators(cat, datetime.now(UTC))
    assert len(indicators) == 3 and all(i["simulated"] is True for i in indicators)

    with TestClient(create_app(cat.settings, cat)) as client:  # what users are shown
        layers = client.get("/map/layers.json").json()["layers"]
        live = [e for e in layers if e["kind"] == "live"]
        assert len(live) == 3 and all(e["simulated"] is True for e in live)
        geojson = client.get(f"/map/live/{LAYERS['water']}.geojson").json()
        assert len(geojson["features"]) == len(RIVER_CITIES)
        assert all(f["properties"]["simulated"] is True for f in geojson["features"])
        page = client.get("/dashboard")
        assert page.status_code == 200
        badges = re.findall(r'<h3 id="live-[^"]+">[^<]*<span class="badge">', page.text)
        assert len(badges) == 3, page.text[:2000]


def test_the_simulator_observes_properties_of_its_own(cat: Catalog) -> None:
    """The simulator's PM2.5 is not the real sensors' PM2.5: rules, indicators and layers
    of the real one never see a generated value. Streams of older runs, made when it
    shared the real property, are moved to its own.
    """
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    real = make_station(cat, source)  # creates the real "PM2.5"
    pm25 = next(s.datastream_id for s in ensure_network(cat, traffic=0) if s.kind == "pm25")

    def property_of(stream: int) -> tuple[int, str, dict[str, Any]]:
        with cat.read() as session:
            prop = session.scalars(select(StaObservedProperty).join(
                StaDatastream, StaDatastream.observed_property_id == StaObservedProperty.id)
                .where(StaDatastream.id == stream)).one()
            return prop.id, prop.name, prop.properties

    real_id, name, _ = property_of(real)
    sim_id, sim_name, props = property_of(pm25)
    assert name == "PM2.5" and sim_name == "PM2.5" + SIM and sim_id != real_id
    assert props["simulated"] is True and props["target"] == 50  # QCVN 05:2023 too
    with cat.sessions() as session, session.begin():  # as an older run left it
        session.execute(update(StaDatastream).where(StaDatastream.id == pm25)
                        .values(observed_property_id=real_id))
    ensure_network(cat, traffic=0)
    assert property_of(pm25)[0] == sim_id and property_of(real)[0] == real_id


def test_same_seed_same_values(cat: Catalog) -> None:
    """The series are reproducible: station parameters come from the datastream id, the
    noise from the seed, so a seed and the times give the same values."""
    first = ensure_network(cat)
    again = ensure_network(cat)
    assert [(s.datastream_id, s.kind, s.params) for s in first] == \
        [(s.datastream_id, s.kind, s.params) for s in again]
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday, 07:00 in Hà Nội
    times = [start + timedelta(minutes=5 * i) for i in range(12 * 24)]

    def series(stations: list[Station], seed: int) -> list[float | int]:
        rng = random.Random(seed)
        return [s.value(when, rng) for when in times for s in stations]

    one = series(first, 7)
    assert one == series(again, 7)
    assert one != series(ensure_network(cat), 8)
    # and the daily shapes are there: PM2.5 higher in the evening than mid-afternoon,
    # traffic lighter at 02:00 than at the 07:30 rush (local time, UTC+7)
    pm25 = [s for s in ensure_network(cat) if s.kind == "pm25"]
    traffic = [s for s in ensure_network(cat) if s.kind == "traffic"]
    rng = random.Random(1)
    at = datetime(2026, 3, 2, tzinfo=UTC)

    def mean(stations: list[Station], hour_utc: float) -> float:
        when = at + timedelta(hours=hour_utc)
        return sum(float(s.value(when, rng)) for s in stations) / len(stations)

    assert mean(pm25, 14) > mean(pm25, 8)  # 21:00 vs 15:00 local
    assert mean(traffic, 0.5) > 3 * mean(traffic, 19)  # 07:30 vs 02:00 local


def _env(cat: Catalog) -> dict[str, str]:
    env = {"VNTWIN_DATA_DIR": str(cat.settings.data_dir),
           "VNTWIN_ADMIN_CACHE_DIR": str(cat.settings.admin_dir)}  # the session's build
    if cat.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = cat.settings.database_url
    return env


def test_cli_bounded_run_and_errors(cat: Catalog, broker: Mosquitto,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``--rounds`` ends the run by itself, with what was published and acknowledged;
    without a broker URL it says how to give one and exits 1."""
    monkeypatch.delenv("VNTWIN_MQTT_URL", raising=False)
    runner = CliRunner()
    help_text = runner.invoke(app, ["live", "simulate", "--help"]).output
    for option in ("--rounds", "--interval", "--backfill-hours", "--seed", "--url"):
        assert option in help_text
    result = runner.invoke(app, ["live", "simulate", "--url", broker.url, "--rounds", "2",
                                 "--interval", "0.1", "--seed", "3"], env=_env(cat))
    assert result.exit_code == 0, result.output
    n = len(ensure_network(cat))
    assert f"{n} simulated datastreams" in result.output
    assert f"published {2 * n:,} observations, {2 * n:,} acknowledged" in result.output

    missing = runner.invoke(app, ["live", "simulate", "--rounds", "1"], env=_env(cat))
    assert missing.exit_code == 1 and "VNTWIN_MQTT_URL" in missing.output
    bad = runner.invoke(app, ["live", "simulate", "--url", broker.url, "--rounds", "0"],
                        env=_env(cat))
    assert bad.exit_code == 2  # rounds start at 1: 0 would publish nothing


def test_cli_backfill_then_ctrl_c(cat: Catalog, broker: Mosquitto, subscribed: Subscriber,
                                  tmp_path: Path) -> None:
    """Unbounded, as in the demo: an hour of history first, then live rounds until SIGINT,
    which ends it cleanly (exit 0) after the broker acknowledged everything."""
    n = len(ensure_network(cat))
    env = {**os.environ, **_env(cat), "VNTWIN_MQTT_URL": broker.url, "COLUMNS": "200"}
    log = tmp_path / "simulate.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vntwin", "live", "simulate", "--interval", "0.2",
             "--backfill-hours", "1"], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:  # 12 five-minute steps of history, then at least two live rounds
            assert wait(lambda: _stored(cat) >= 14 * n, 60), log.read_text()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    found = re.search(r"published ([\d,]+) observations, ([\d,]+) acknowledged", text)
    assert found, text
    assert found.group(1) == found.group(2)
    published = int(found.group(1).replace(",", ""))
    assert published >= 14 * n and published % n == 0
    assert wait(lambda: _stored(cat) == published, 30), (published, ingest_counts(cat))


def test_rounds_less_than_a_second_apart_get_distinct_times() -> None:
    """Whole seconds normally; milliseconds only when a round would repeat a time."""
    from vntwin.live.simulate import _round_time

    t0 = datetime(2026, 3, 2, 1, 2, 3, 456_789, tzinfo=UTC)
    first = _round_time(t0, t0 - timedelta(seconds=2))
    assert first == t0.replace(microsecond=0)
    second = _round_time(t0 + timedelta(milliseconds=200), first)
    assert second == t0.replace(microsecond=656_000)
    assert _round_time(t0 + timedelta(milliseconds=200), second) == second + timedelta(
        milliseconds=1)
    assert _round_time(t0 + timedelta(seconds=1), second) == first + timedelta(seconds=1)
