"""The map explorer's page and its JSON and tile endpoints, over a real (small) twin."""

from __future__ import annotations

from pathlib import Path

import pytest

from vntwin.catalog.users import SYSTEM
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.ingest_catalog import ingest_file
from vntwin.twin.store import append_values

PLACES = Path(__file__).parents[1] / "ingest" / "fixtures" / "places_vn.geojson"
REFORM = "2025-07-01T00:00:00+07:00"  # the 2025 communes took effect at this time


@pytest.fixture
def twin(cat, org):
    ingest_file(cat, SYSTEM, PLACES, dataset="dia-danh", org=org["name"], title="Địa danh")
    report = fuse_catalog(cat, res=6)
    assert report.failed == {}, report
    return cat


def test_map_page(client):
    r = client.get("/map")
    assert r.status_code == 200 and "maplibre-gl-csp.js" in r.text
    assert 'id="layer-search"' in r.text and 'for="layer-search"' in r.text
    assert client.get("/static/maplibre-gl/maplibre-gl-csp-worker.js").status_code == 200
    assert client.get("/static/web/js/map.js").status_code == 200


def test_layer_list_with_legend_classes(client, twin):
    layers = client.get("/map/layers.json").json()["layers"]
    vector = [entry for entry in layers if entry["kind"] == "point"]
    grid = [entry for entry in layers if entry["kind"] == "grid"]
    assert [v["collection"] for v in vector] == ["dia-danh--places_vn"]
    count = next(g for g in grid if g["variable"] == "count")
    assert count["collection"] == "grid-dia-danh--places_vn" and count["min"] >= 1
    assert len(count["breaks"]) == 4 and count["max"] >= count["breaks"][-1]
    assert count["times"] == []


def test_no_twin_yet_gives_an_empty_list(client):
    assert client.get("/map/layers.json").json() == {"layers": []}


def test_boundaries(client, cat):
    provinces = client.get("/map/units/provinces.json").json()
    assert len(provinces) == 34
    hanoi = next(p for p in provinces if p["code"] == "01")
    west, south, east, north = hanoi["bbox"]
    assert west < 105.85 < east and south < 21.03 < north
    communes = client.get("/map/units/01/communes.json").json()
    assert len(communes) == 126 and all(c["code"].isdigit() for c in communes)
    assert client.get("/map/units/99/communes.json").status_code == 404
    # z5 tile holding Hà Nội: boundaries of provinces and of communes
    for level in ("province", "commune"):
        tile = client.get(f"/map/units/{level}/tiles/5/25/13.mvt")
        assert tile.status_code == 200 and len(tile.content) > 1000
        assert tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert client.get("/map/units/province/tiles/5/0/0.mvt").status_code == 204  # ocean
    assert client.get("/map/units/province/tiles/3/99/0.mvt").status_code == 400
    assert client.get("/map/units/district/tiles/5/25/13.mvt").status_code == 404


def test_time_slider_tiles(client, twin):
    store = twin_store(twin)
    # the count of places stamped with the date the 2025 units took effect, as a
    # time-stamped variable of the same layer
    with store.write() as con:
        append_values(con, "SELECT h3, layer, 'count_2025' AS variable, value, "
                      "?::TIMESTAMPTZ AS valid_time FROM cell_values WHERE variable = 'count'",
                      [REFORM])
        con.execute("INSERT INTO variables SELECT layer, 'count_2025', kind, unit, canonical, "
                    "weight FROM variables WHERE variable = 'count'")
    layers = client.get("/map/layers.json").json()["layers"]
    stamped = next(g for g in layers if g.get("variable") == "count_2025")
    assert len(stamped["times"]) == 1
    url = "/map/grid/dia-danh--places_vn/count_2025/tiles/5/25/13.mvt"
    after = client.get(url, params={"as_of": "2025-08-01T00:00:00Z"})
    assert after.status_code == 200 and len(after.content) > 100
    before = client.get(url, params={"as_of": "2025-01-01T00:00:00Z"})
    assert before.status_code == 204
    assert client.get(url, params={"as_of": "hôm qua"}).status_code == 400


def test_dataset_page_shows_the_map_preview(client, twin):
    page = client.get("/dataset/dia-danh").text
    assert 'id="preview-map"' in page and 'data-layer="dia-danh--places_vn"' in page
    assert "/ogc/collections/dia-danh--places_vn/items?limit=10" in page  # OGC snippet
    assert "/map?layer=dia-danh--places_vn" in page


def test_live_sensors_are_a_map_layer(client, cat):
    from tests.live.conftest import make_source, make_station, now_iso

    from vntwin.live.ingest import Incoming, Ingestor

    assert not [e for e in client.get("/map/layers.json").json()["layers"]
                if e["kind"] == "live"]
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    streams = [make_station(cat, source, name=f"Trạm {i}", coords=[105.80 + i / 100, 21.02])
               for i in range(3)]
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-60), "result": value}, stream)
                          for stream, value in zip(streams, (12.5, 48.0, 87.0), strict=True)])
    (live,) = [e for e in client.get("/map/layers.json").json()["layers"]
               if e["kind"] == "live"]
    assert live["id"] == "live-pm2-5" and live["sensors"] == 3
    assert (live["min"], live["max"]) == (12.5, 87.0) and len(live["breaks"]) == 4
    r = client.get("/map/live/live-pm2-5.geojson")
    assert r.headers["content-type"].startswith("application/geo+json")
    features = r.json()["features"]
    assert sorted(f["properties"]["value"] for f in features) == [12.5, 48.0, 87.0]
    first = next(f for f in features if f["properties"]["value"] == 12.5)
    assert first["geometry"]["coordinates"] == [105.80, 21.02]
    assert first["properties"]["province_code"] == "01" and first["properties"]["h3"]
    assert client.get("/map/live/live-nothing.geojson").json()["features"] == []
