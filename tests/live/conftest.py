from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.live.mqtt_helpers import private_broker

from vntwin.catalog.service import Catalog
from vntwin.live.broker import Mosquitto
from vntwin.live.sources import SourceInfo, create_source
from vntwin.live.sta_create import Writer, create
from vntwin.live.sta_model import MEASUREMENT

HANOI = [105.85119, 21.02876]  # Hoàn Kiếm Lake (lon, lat)
CANTHO = [105.78825, 10.03711]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto on a free port (installed by scripts/ensure-mosquitto.sh)."""
    server = private_broker(tmp_path / "broker")
    server.start()
    yield server
    server.stop()


def now_iso(offset_s: float = 0) -> str:
    when = datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset_s, UTC)
    return when.isoformat().replace("+00:00", "Z")


def station(name: str, coords: list[float], *, prop: Any = None, unit: str = "µg/m³",
            valid: list[float] | None = None) -> dict[str, Any]:
    """A Thing with one Location and one PM2.5 Datastream, for deep insert."""
    return {
        "name": name, "description": f"test station {name}",
        "Locations": [{"name": name, "description": "point", "encodingType":
                       "application/geo+json",
                       "location": {"type": "Point", "coordinates": coords}}],
        "Datastreams": [{
            "name": f"PM2.5 {name}", "description": "PM2.5",
            "observationType": MEASUREMENT,
            "unitOfMeasurement": {"name": "microgram per cubic metre", "symbol": unit,
                                  "definition": "http://qudt.org/vocab/unit/MicroGM-PER-M3"},
            "properties": {"validRange": valid or [0, 1000]},
            "Sensor": {"name": "SDS011", "description": "laser dust sensor",
                       "encodingType": "text/plain", "metadata": "Nova Fitness SDS011"},
            "ObservedProperty": prop or {"name": "PM2.5", "definition":
                                         "http://vocab.nerc.ac.uk/collection/P01/current/"
                                         "PM2P5XXX/", "description": "fine particles",
                                         "properties": {"target": 50}}}]}


def make_source(cat: Catalog, name: str, rate: float | None = None) -> tuple[SourceInfo, str]:
    with cat.sessions() as session, session.begin():
        row, token = create_source(session, name, rate_per_s=rate)
        return SourceInfo(row.id, row.name, row.rate_per_s), token


def make_station(cat: Catalog, source: SourceInfo, name: str = "Hoàn Kiếm",
                 coords: list[float] | None = None, **kw: Any) -> int:
    """Create a station; returns its datastream id."""
    with cat.sessions() as session, session.begin():
        thing = create(session, Writer(source, cat.settings), "Things",
                       station(name, coords or HANOI, **kw))
        session.flush()
        from sqlalchemy import select

        from vntwin.live.models import StaDatastream

        return int(session.scalar(select(StaDatastream.id)
                                  .where(StaDatastream.thing_id == thing.id)))
