"""GIS identify: each vector layer's features at a place, as QGIS's Identify tool shows them."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from vntwin.catalog.users import SYSTEM
from vntwin.cli import app
from vntwin.errors import ValidationError
from vntwin.twin.build import fuse_catalog
from vntwin.twin.identify import identify
from vntwin.twin.ingest_catalog import ingest_file

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
GPKG = FIXTURES / "hanoi_communes.gpkg"
SEGMENTS = FIXTURES / "segments_hanoi_to_provinces.geojson"
BA_DINH = (21.0386, 105.838)  # centre of Phường Ba Đình's disc and its centroid point


@pytest.fixture
def layers(cat, org):
    ingest_file(cat, SYSTEM, GPKG, dataset="xa-ha-noi", org=org["name"])
    ingest_file(cat, SYSTEM, SEGMENTS, dataset="doan-thang", org=org["name"])
    fuse_catalog(cat, res=7)
    return cat


def test_polygons_containing_the_point_and_points_nearby(layers):
    found = identify(layers, *BA_DINH)["layers"]
    discs = found["xa-ha-noi--commune_discs"]
    assert discs["kind"] == "polygon"
    codes = [f["attributes"]["ma_xa"] for f in discs["features"]]
    truth = gpd.read_file(GPKG, layer="commune_discs")
    inside = truth[truth.covers(shapely.Point(BA_DINH[1], BA_DINH[0]))]["ma_xa"].tolist()
    assert sorted(codes) == sorted(inside) and "00004" in codes
    points = found["xa-ha-noi--communes"]["features"]
    assert points[0]["attributes"]["ten_xa"] == "Phường Ba Đình"
    assert points[0]["distance_m"] < 5
    assert all(f["distance_m"] <= 100 for f in points)
    assert "geometry" not in points[0]["attributes"]


def test_radius_and_layer_choice(layers):
    far = identify(layers, 21.2, 106.3, radius_m=0)["layers"]
    assert "xa-ha-noi--communes" not in far
    segments = gpd.read_file(SEGMENTS)
    on_line = segments.geometry.iloc[0].interpolate(0.5, normalized=True)
    found = identify(layers, on_line.y, on_line.x, radius_m=50,
                     layers=["doan-thang--segments_hanoi_to_provinces"])["layers"]
    assert list(found) == ["doan-thang--segments_hanoi_to_provinces"]
    first = found["doan-thang--segments_hanoi_to_provinces"]["features"][0]
    assert first["attributes"]["den"] == segments.iloc[0]["den"] and first["distance_m"] < 1


def test_bad_requests(layers):
    with pytest.raises(ValidationError, match="no vector layer"):
        identify(layers, *BA_DINH, layers=["khong-co"])
    with pytest.raises(ValidationError, match="search radius"):
        identify(layers, *BA_DINH, radius_m=10_000_000)
    with pytest.raises(ValidationError, match="latitude"):
        identify(layers, 91, 0)


def test_api_and_cli(layers, client):
    body = client.get("/twin/identify", params={"lat": BA_DINH[0], "lon": BA_DINH[1],
                                                "radius_m": 30}).json()
    assert body["layers"]["xa-ha-noi--communes"]["features"][0]["attributes"]["ma_xa"] == "00004"
    point = client.get("/twin/point", params={"lat": BA_DINH[0], "lon": BA_DINH[1],
                                              "identify": "true"}).json()
    assert "xa-ha-noi--commune_discs" in point["features"] and point["layers"]
    assert "features" not in client.get("/twin/point", params={
        "lat": BA_DINH[0], "lon": BA_DINH[1]}).json()
    bad = client.get("/twin/identify", params={"lat": 21, "lon": 105, "layers": "x"})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    env = {"VNTWIN_DATA_DIR": str(layers.settings.data_dir)}
    if layers.settings.database_url:
        env["VNTWIN_DATABASE_URL"] = layers.settings.database_url
    r = CliRunner().invoke(app, ["twin", "query", "--lat", str(BA_DINH[0]), "--lon",
                                 str(BA_DINH[1]), "--identify"], env=env)
    assert r.exit_code == 0, r.output
    assert "xa-ha-noi--communes" in json.loads(r.stdout)["features"]
