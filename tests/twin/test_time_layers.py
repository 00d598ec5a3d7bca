"""Time-stamped layers end to end: a declared time column (or one time for the layer) is
fused into ``valid_time``, and "as of" queries see the latest value at that time."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from vntwin.catalog import packages, resources
from vntwin.catalog.users import SYSTEM
from vntwin.errors import ValidationError
from vntwin.twin import build, query
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.fuse import FusionError
from vntwin.twin.ingest_catalog import ingest_file
from vntwin.twin.layer import Layer
from vntwin.twin.times import MAX_TIMES, TimeValueError, fuse_by_time, layer_times, parse_time

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
RES = 7
LAYER = "quan-trac--tram"
HANOI = (21.0285, 105.8542)  # lat, lon
SAIGON = (10.7769, 106.7009)


@pytest.mark.parametrize(("value", "utc"), [
    (2023, "2022-12-31T17:00:00+00:00"),  # a year: 1 January, 00:00 in Vietnam
    ("2024", "2023-12-31T17:00:00+00:00"),
    ("2024-03", "2024-02-29T17:00:00+00:00"),
    ("2024-06-30", "2024-06-29T17:00:00+00:00"),
    ("2024-06-30T12:00:00", "2024-06-30T05:00:00+00:00"),  # no zone: Vietnam's
    ("2024-06-30T12:00:00Z", "2024-06-30T12:00:00+00:00"),
    (pd.Timestamp("2024-06-30T12:00:00+02:00"), "2024-06-30T10:00:00+00:00"),
])
def test_parse_time_is_utc_and_vietnam_by_default(value, utc):
    assert parse_time(value).isoformat() == utc


@pytest.mark.parametrize("value", ["abc", "", 2023.5, 12, None, float("nan"), True])
def test_parse_time_refuses(value):
    with pytest.raises(TimeValueError):
        parse_time(value)


def _stations(path: Path, years: list[object]) -> Path:
    """Two stations in Hanoi (one only from 2024) and one in Saigon, one row a year."""
    rows = [(HANOI, 2023, 30.0), (HANOI, 2024, 20.0), (HANOI, 2024, 24.0),
            (SAIGON, 2023, 50.0), (SAIGON, 2024, 40.0)]
    years = years or [year for _, year, _ in rows]
    frame = gpd.GeoDataFrame(
        {"nam": years, "pm25": [v for *_, v in rows]},
        geometry=[shapely.Point(lon, lat) for (lat, lon), *_ in rows], crs=4326)
    frame.to_file(path)
    return path


def _declare(cat, **extras: str) -> None:
    packages.update(cat, SYSTEM, {"id": "quan-trac", "extras": [
        {"key": key, "value": value} for key, value in extras.items()]}, patch=True)


@pytest.fixture(params=["one by one", "bulk"])
def twin(request, cat, org, tmp_path, monkeypatch):
    """The stations fused through the catalogue, by ``replace_layer`` or a bulk load."""
    if request.param == "bulk":
        monkeypatch.setattr(build, "BULK_MIN_LAYERS", 1)
    ingest_file(cat, SYSTEM, _stations(tmp_path / "tram.geojson", []), dataset="quan-trac",
                org=org["name"], title="Trạm quan trắc")
    _declare(cat, twin_time="nam")
    report = fuse_catalog(cat, res=RES)
    assert report.failed == {} and report.fused == [LAYER], report
    return cat


def _pm25(answer: dict) -> dict | None:
    layer = answer["layers"].get(LAYER)
    return None if layer is None else {k: layer[k]["value"] for k in ("count", "pm25_mean")}


def test_as_of_before_between_and_after(twin):
    store = twin_store(twin)
    with store.read() as con:
        times = [t.isoformat() for (t,) in con.execute(
            "SELECT DISTINCT valid_time FROM cell_values ORDER BY 1").fetchall()]
        variables = {v for (v,) in con.execute("SELECT DISTINCT variable FROM cell_values")
                     .fetchall()}
    assert times == ["2022-12-31T17:00:00+00:00", "2023-12-31T17:00:00+00:00"]
    assert variables == {"count", "pm25_sum", "pm25_mean"}  # the year is a time, not a quantity
    before, between, after = "2022-06-01", "2023-07-01", "2025-01-01T00:00:00Z"
    assert _pm25(query.at_point(store, *HANOI, as_of=before)) is None
    assert _pm25(query.at_point(store, *HANOI, as_of=between)) == {"count": 1, "pm25_mean": 30}
    assert _pm25(query.at_point(store, *HANOI, as_of=after)) == {"count": 2, "pm25_mean": 22}
    assert _pm25(query.at_point(store, *HANOI)) == {"count": 2, "pm25_mean": 22}  # latest
    here = query.at_point(store, *HANOI, as_of=between)
    assert here["layers"][LAYER]["count"]["valid_time"] == "2022-12-31T17:00:00+00:00"
    # 2024-01-01 is 00:00 in Vietnam: 16:59 UTC the day before is still 2023
    assert _pm25(query.at_point(store, *SAIGON, as_of="2023-12-31T16:59:00Z"))["pm25_mean"] == 50
    assert _pm25(query.at_point(store, *SAIGON, as_of="2024-01-01"))["pm25_mean"] == 40
    cell = here["h3"]
    assert _pm25(query.at_cell(store, cell, as_of=before)) is None
    assert _pm25(query.at_cell(store, cell, as_of=between))["count"] == 1
    assert _pm25(query.at_cell(store, cell, as_of=after))["count"] == 2
    province = here["province_code"]
    assert _pm25(query.in_unit(store, province, as_of=before)) is None
    assert _pm25(query.in_unit(store, province, as_of=between))["count"] == 1
    assert _pm25(query.in_unit(store, province, as_of=after))["count"] == 2
    nation = query.in_bbox(store, 100, 5, 115, 25, as_of=between)["layers"][LAYER]
    assert nation["count"]["value"] == 2  # one station in each city in 2023
    with pytest.raises(ValidationError):
        query.at_point(store, *HANOI, as_of="last year")


def test_api_as_of_and_ogc_grid_show_the_latest(twin, client):
    r = client.get("/twin/point", params={"lat": HANOI[0], "lon": HANOI[1],
                                          "as_of": "2023-07-01"})
    assert r.status_code == 200, r.text
    assert r.json()["layers"][LAYER]["pm25_mean"]["value"] == 30
    assert client.get("/twin/point", params={"lat": HANOI[0], "lon": HANOI[1],
                                             "as_of": "nope"}).status_code in (400, 422)
    items = client.get(f"/ogc/collections/grid-{LAYER}/items", params={"limit": 100})
    assert items.status_code == 200, items.text
    values = sorted((f["properties"]["count"], f["properties"]["pm25_mean"])
                    for f in items.json()["features"])
    assert values == [(1, 40), (2, 22)]  # each cell's latest (2024) values, once
    # the map's time slider offers both years, and shows 2023 as of mid-2023
    entry = next(e for e in client.get("/map/layers.json").json()["layers"]
                 if e.get("layer") == LAYER and e.get("variable") == "count")
    assert entry["times"] == ["2022-12-31T17:00:00+00:00", "2023-12-31T17:00:00+00:00"]
    tile = f"/map/grid/{LAYER}/count/tiles/5/25/14.mvt"  # Hanoi
    assert client.get(tile, params={"as_of": "2023-07-01"}).status_code == 200
    assert client.get(tile, params={"as_of": "2022-07-01"}).status_code == 204


def test_bad_time_names_column_and_row_and_stores_nothing(cat, org, tmp_path):
    path = _stations(tmp_path / "tram.geojson", [2023, 2024, "năm ngoái", 2023, 2024])
    ingest_file(cat, SYSTEM, path, dataset="quan-trac", org=org["name"])
    _declare(cat, twin_time="nam")
    report = fuse_catalog(cat, res=RES)
    assert report.fused == []
    assert "column 'nam', row 3" in report.failed[LAYER], report.failed
    assert "năm ngoái" in report.failed[LAYER]
    assert twin_store(cat).layers() == []
    _declare(cat, twin_time="khong-co")
    assert "does not have" in fuse_catalog(cat, res=RES).failed[LAYER]


def test_one_time_for_a_whole_table_layer(cat, org):
    """A yearly statistics table: ``twin_valid_time`` on its resource."""
    ingest_file(cat, SYSTEM, FIXTURES / "provinces_geonames.csv", dataset="tinh",
                org=org["name"])
    resource = next(r["id"] for r in packages.show(cat, SYSTEM, "tinh")["resources"]
                    if r.get("twin_layer"))
    resources.update(cat, SYSTEM, {"id": resource, "twin_valid_time": "2024"}, None,
                     patch=True)
    report = fuse_catalog(cat, res=5)
    assert report.failed == {}, report.failed
    store = twin_store(cat)
    layer = report.fused[0]
    with store.read() as con:
        times = con.execute("SELECT DISTINCT valid_time FROM cell_values").fetchall()
    assert [t.isoformat() for (t,) in times] == ["2023-12-31T17:00:00+00:00"]
    assert layer not in query.in_unit(store, "01", as_of="2023-06-01")["layers"]
    assert layer in query.in_unit(store, "01", as_of="2024-06-01")["layers"]
    resources.update(cat, SYSTEM, {"id": resource, "twin_valid_time": "sometime"}, None,
                     patch=True)
    assert "twin_valid_time: not a date or time" in fuse_catalog(cat, res=5).failed[layer]


def _points(**columns) -> Layer:
    n = len(next(iter(columns.values())))
    frame = gpd.GeoDataFrame(columns, geometry=[shapely.Point(105.85, 21.03)] * n, crs=4326)
    return Layer(name="tram", kind="point", frame=frame)


def test_layer_times_from_datetime_columns():
    naive = _points(ngay=pd.to_datetime(["2024-06-30", "2024-07-01"]), pm25=[1.0, 2.0])
    layer, times = layer_times(naive, {"twin_time": "ngay"})
    assert list(layer.frame.columns) == ["pm25", "geometry"]
    assert [str(t) for t in times] == ["2024-06-29T17:00:00.000000000",
                                       "2024-06-30T17:00:00.000000000"]
    aware = _points(ngay=pd.to_datetime(["2024-06-30T12:00Z"]), pm25=[1.0])
    assert str(layer_times(aware, {"twin_time": "ngay"})[1][0]).startswith("2024-06-30T12:00")
    missing = _points(ngay=pd.to_datetime(["2024-06-30", None]), pm25=[1.0, 2.0])
    with pytest.raises(FusionError, match="column 'ngay', row 2: no time"):
        layer_times(missing, {"twin_time": "ngay"})
    with pytest.raises(FusionError, match="not both"):
        layer_times(naive, {"twin_time": "ngay", "twin_valid_time": "2024"})


def test_rasters_take_one_time_for_the_layer():
    raster = Layer(name="nhiet-do", kind="raster", raster_path=Path("x.tif"))
    with pytest.raises(FusionError, match="twin_valid_time instead"):
        layer_times(raster, {"twin_time": "nam"})
    same, when = layer_times(raster, {"twin_valid_time": "2024-06-30"})
    assert same is raster and when.isoformat() == "2024-06-29T17:00:00+00:00"
    values = fuse_by_time(raster, when, lambda _, __: pd.DataFrame(
        {"h3": [1, 2], "variable": ["band1_mean"] * 2, "value": [1.0, 2.0]}))
    assert (values["valid_time"] == when).all()


def test_one_fusion_per_time_and_a_cap():
    layer, times = layer_times(_points(nam=[2024, 2023, 2024], v=[1.0, 2.0, 3.0]),
                               {"twin_time": "nam"})
    seen: list[list[float]] = []
    moments: list[pd.Timestamp | None] = []

    def fuse(part: Layer, moment: pd.Timestamp | None) -> pd.DataFrame:
        seen.append(part.frame["v"].tolist())
        moments.append(moment)
        return pd.DataFrame({"h3": [1], "variable": ["v_sum"], "value": [part.frame["v"].sum()]})

    values = fuse_by_time(layer, times, fuse)
    assert seen == [[2.0], [1.0, 3.0]]  # 2023, then 2024
    assert [m.year for m in moments] == [2022, 2023]  # each part is told its time (UTC)
    assert values["value"].tolist() == [2.0, 4.0]
    assert values["valid_time"].dt.year.tolist() == [2022, 2023]  # 00:00 in Vietnam, in UTC
    many = np.arange(MAX_TIMES + 1).astype("datetime64[D]").astype("datetime64[ns]")
    with pytest.raises(FusionError, match="distinct times"):
        fuse_by_time(layer, many, fuse)
