"""Live layers of the twin: where a sensor is (its newest Location), and which cell of the
twin it falls in whatever the twin's resolution.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.live.conftest import CANTHO, make_source, make_station, now_iso

from vntwin.catalog.service import Catalog
from vntwin.live.ingest import Incoming, Ingestor
from vntwin.live.layers import latest_rows, live_layers, map_entries, sensor_features
from vntwin.live.models import StaDatastream
from vntwin.live.sources import SourceInfo
from vntwin.live.sta_create import Writer, create


def _move(cat: Catalog, source: SourceInfo, stream: int, coords: list[float]) -> int:
    """Post a new Location for the stream's Thing, as a moved sensor does; its id."""
    with cat.sessions() as session, session.begin():
        thing = session.scalar(select(StaDatastream.thing_id)
                               .where(StaDatastream.id == stream))
        body: dict[str, Any] = {
            "name": "moved", "description": "new place", "encodingType":
            "application/geo+json", "location": {"type": "Point", "coordinates": coords},
            "Things": [{"@iot.id": thing}]}
        return int(create(session, Writer(source, cat.settings), "Locations", body).id)


def test_a_moved_sensor_is_where_its_newest_location_is(cat: Catalog) -> None:
    """SensorThings: a Thing's Location is its latest one. A station moved from Hà Nội to
    Cần Thơ shows its values in Cần Thơ, in the province, the cell and on the map.
    """
    source, _ = make_source(cat, "tram-di-dong")
    stream = make_station(cat, source)  # first at Hoàn Kiếm, Hà Nội
    _move(cat, source, stream, CANTHO)
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-30), "result": 12}, stream)])

    (row,) = latest_rows(cat)
    assert row["province_code"] == "92" and row["lat"] == CANTHO[1]  # Cần Thơ
    assert live_layers(cat, {"unit": ("province_code", "01")}) == {}
    assert live_layers(cat, {"unit": ("province_code", "92")})["live-pm2-5"]["mean"][
        "value"] == 12
    assert live_layers(cat, {"cells": [row["h3"]]})["live-pm2-5"]["sensors"]["value"] == 1
    (feature,) = sensor_features(cat, "live-pm2-5")["features"]
    assert feature["geometry"]["coordinates"] == CANTHO
    assert map_entries(cat)[0]["sensors"] == 1
