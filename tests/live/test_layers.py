"""Live layers of the twin: where a sensor is (its newest Location), and which cell of the
twin it falls in whatever the twin's resolution.
"""

from __future__ import annotations

from typing import Any

import h3
import pytest
from sqlalchemy import select
from tests.live.conftest import CANTHO, HANOI, make_source, make_station, now_iso

from vntwin.catalog.service import Catalog
from vntwin.live.ingest import Incoming, Ingestor
from vntwin.live.layers import (
    attach_layers,
    latest_rows,
    live_layers,
    live_values,
    map_entries,
    sensor_features,
)
from vntwin.live.models import StaDatastream
from vntwin.live.sources import SourceInfo
from vntwin.live.sta_create import Writer, create
from vntwin.twin import query
from vntwin.twin.build import twin_store


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


@pytest.mark.parametrize("res", [7, None])  # None: the settings' resolution (8)
def test_live_layers_are_in_the_twins_cells_at_its_resolution(cat: Catalog,
                                                              res: int | None) -> None:
    """A twin fused with ``--res 7`` asks for its own cells: the sensor's value is in the
    cell, at the point and in the province, as with a twin at the settings' resolution.
    """
    res = res or cat.settings.h3_resolution
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-30), "result": 42}, stream)])
    lon, lat = HANOI
    cell = h3.latlng_to_cell(lat, lon, res)
    with twin_store(cat).write() as con:  # a twin of one cell, at ``res``
        con.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?)",
                    [h3.str_to_int(cell), *h3.cell_to_latlng(cell), "01", "00070"])
        con.execute("INSERT INTO meta VALUES ('res', ?)", [str(res)])
    attach_layers(cat)
    store = twin_store(cat)

    at_point = query.at_point(store, lat, lon)
    assert at_point["h3"] == cell and at_point["res"] == res
    assert at_point["layers"]["live-pm2-5"]["mean"]["value"] == 42
    assert query.at_cell(store, cell)["layers"]["live-pm2-5"]["sensors"]["value"] == 1
    assert query.in_unit(store, "01")["layers"]["live-pm2-5"]["max"]["value"] == 42
    neighbour = next(c for c in h3.grid_ring(cell, 1))
    assert "live-pm2-5" not in query.at_cell(store, neighbour)["layers"]
    assert live_values(cat, [h3.str_to_int(cell)]) == {
        h3.str_to_int(cell): live_layers(cat, {"cells": [h3.str_to_int(cell)]})}
    (feature,) = sensor_features(cat, "live-pm2-5")["features"]
    assert feature["properties"]["h3"] == cell  # a click on the sensor asks for this cell
