"""SensorThings ``$filter`` beyond the basics: typed results, navigation paths,
arithmetic, functions; a filter the database cannot run is a 400, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.live.sta_data import load_stations


@pytest.fixture
def stations(client: TestClient, admin_token: str) -> dict[str, str]:
    """The stations of ``sta_data.load_stations``; the source's auth header."""
    return load_stations(client, admin_token)


def _ids(client: TestClient, path: str, flt: str, **params: str) -> list[Any]:
    r = client.get(f"/sta/v1.1/{path}", params={"$filter": flt, **params})
    assert r.status_code == 200, (flt, r.text)
    return [e["@iot.id"] for e in r.json()["value"]]


def _results(client: TestClient, flt: str) -> list[Any]:
    r = client.get("/sta/v1.1/Observations", params={"$filter": flt, "$orderby": "id"})
    assert r.status_code == 200, (flt, r.text)
    return [o["result"] for o in r.json()["value"]]


def test_result_filters_by_the_type_of_the_literal(client: TestClient,
                                                   stations: dict[str, str]) -> None:
    assert _results(client, "result eq 'unhealthy'") == ["unhealthy"]
    assert _results(client, "result ne 'good' and Datastream/@iot.id eq 2") == ["unhealthy"]
    assert _results(client, "startswith(result, 'go')") == ["good"]
    assert _results(client, "result gt 50") == [55, 80.25]
    truth = _results(client, "result eq true") + _results(client, "false eq result")
    assert truth == [True, False] and all(isinstance(v, bool) for v in truth)
    assert _results(client, "result eq null") == []
    ordered = client.get("/sta/v1.1/Datastreams(2)/Observations",
                         params={"$orderby": "result desc"}).json()["value"]
    assert [o["result"] for o in ordered] == ["unhealthy", "good"]


def test_a_filter_the_database_refuses_is_a_400(client: TestClient,
                                                stations: dict[str, str]) -> None:
    for flt in ("name eq 1", "name gt 2024-01-01T00:00:00Z", "phenomenonTime eq 'soon'"):
        path = "Observations" if flt.startswith("phenomenon") else "Things"
        r = client.get(f"/sta/v1.1/{path}", params={"$filter": flt})
        assert r.status_code in (200, 400), (flt, r.text)  # SQLite compares anything
        if r.status_code == 400:
            assert r.headers["content-type"] == "application/problem+json"
            assert "$filter" in r.json()["errors"], r.text


def test_navigation_paths_of_any_depth(client: TestClient, stations: dict[str, str]) -> None:
    assert _results(client, "Datastream/Thing/name eq 'Ninh Kiều'") == [7]
    assert _results(client, "Datastream/Thing/Locations/name eq 'Ninh Kiều'") == [7]
    assert _results(client, "Datastream/ObservedProperty/name eq 'PM2.5' and result lt 20"
                    ) == [12.5, 7]
    assert _ids(client, "Things", "Datastreams/name eq 'rain'") == [1]
    assert _ids(client, "Things", "Datastreams/Observations/result gt 70") == [1]
    assert _ids(client, "Locations", "Things/Datastreams/Observations/result eq 'good'") == [1]
    assert _ids(client, "Things", "startswith(Datastreams/name, 'PM2.5 N')") == [2]
    assert _ids(client, "Datastreams", "tolower(Thing/name) eq 'ninh kiều'") == [4]
    assert _ids(client, "Datastreams", "length(Thing/name) add 1 eq length(name)") == []
    assert _ids(client, "Datastreams", "Thing/@iot.id eq 2 or Sensor/id eq 99") == [4]
    for flt, word in (("Datastream/Thing eq 1", "not a value"),
                      ("Datastream/Thing/Datastreams/name eq 'x'", "comes back"),
                      ("Datastream/Thing/nosuch eq 1", "no property"),
                      ("concat(Datastreams/name, name) eq 'x'", "many")):
        path = "Observations" if "Datastream/" in flt else "Things"
        r = client.get(f"/sta/v1.1/{path}", params={"$filter": flt})
        assert r.status_code == 400 and word in r.text, (flt, r.text)
    # compared, a to-many path matches when any of its entities does
    assert _ids(client, "Things", "Datastreams/name eq concat('PM2.5 ', name)") == [1, 2]


def test_arithmetic(client: TestClient, stations: dict[str, str]) -> None:
    assert _results(client, "result add 5 gt 60") == [80.25]
    assert _results(client, "result sub 2 mul 3 eq 6.5") == [12.5]  # mul binds first
    assert _results(client, "(result sub 2) mul 3 eq 159") == [55]
    assert _results(client, "result div 2 eq 27.5") == [55]
    assert _results(client, "result mod 2 eq 1 and Datastream/@iot.id ne 3") == [55, 7]
    assert _results(client, "result mod 2 eq 0.5") == [12.5]
    assert _results(client, "2 mul result gt 150 add 10") == [80.25]
    r = client.get("/sta/v1.1/Observations", params={"$filter": "result div (1 sub 1) gt 1"})
    assert r.status_code == 400 and "by zero" in r.text
    r = client.get("/sta/v1.1/Observations", params={"$filter": "result add 'x' gt 1"})
    assert r.status_code == 400 and "numbers" in r.text


def test_date_math_and_string_functions(client: TestClient, stations: dict[str, str]) -> None:
    at = "Datastream/@iot.id eq 1 and "
    assert _results(client, at + "day(phenomenonTime) eq 2") == [80.25]
    assert _results(client, at + "year(phenomenonTime) eq 2024 and month(phenomenonTime) eq 5"
                    " and hour(phenomenonTime) eq 1") == [12.5]
    assert _results(client, at + "minute(phenomenonTime) eq 45 and second(phenomenonTime) eq 10"
                    ) == [80.25]
    assert _results(client, at + "fractionalseconds(phenomenonTime) eq 0") == [12.5, 55, 80.25]
    assert _results(client, at + "date(phenomenonTime) eq 2024-05-01") == [12.5, 55]
    assert _results(client, at + "time(phenomenonTime) lt 02:00:00") == [12.5]
    assert _results(client, at + "phenomenonTime ge 2024-05-02") == [80.25]
    assert _results(client, at + "phenomenonTime lt now() and phenomenonTime gt mindatetime()"
                    " and totaloffsetminutes(phenomenonTime) eq 0") == [12.5, 55, 80.25]
    assert _results(client, at + "round(result) eq 13") == [12.5]  # half away from zero
    assert _results(client, at + "floor(result) eq 80 and ceiling(result) eq 81") == [80.25]
    assert _ids(client, "Things", "length(name) eq 9 and indexof(name, 'Kiều') eq 5") == [2]
    assert _ids(client, "Things", "substring(name, 5) eq 'Kiều' and "
                "substring(name, 0, 4) eq 'Ninh'") == [2]
    assert _ids(client, "Things", "concat(concat(name, ' - '), description) eq "
                "'Hoàn Kiếm - test station Hoàn Kiếm'") == [1]
    assert _ids(client, "Things", "trim(concat(' ', name)) eq name and "
                "startswith(toupper(name), 'HO')") == [1]  # SQLite folds ASCII only
    for flt, word in (("nosuch(name) eq 1", "unsupported function"),
                      ("year(phenomenonTime, 1) eq 1", "takes 1"),
                      ("phenomenonTime gt 2024-13-01", "not a valid")):
        r = client.get("/sta/v1.1/Observations", params={"$filter": flt})
        assert r.status_code == 400 and word in r.text, (flt, r.text)


HANOI_BOX = "geography'POLYGON((105.8 21.0, 105.9 21.0, 105.9 21.1, 105.8 21.1, 105.8 21.0))'"


def test_spatial_functions(client: TestClient, stations: dict[str, str]) -> None:
    assert _ids(client, "Locations", f"st_within(location, {HANOI_BOX})") == [1]
    assert _ids(client, "Locations", f"geo.intersects(location, {HANOI_BOX})") == [1]
    assert _ids(client, "Locations", f"st_contains({HANOI_BOX}, location)") == [1]
    assert _ids(client, "Locations", f"st_disjoint(location, {HANOI_BOX})") == [2]
    assert _ids(client, "Locations", f"not st_intersects(location, {HANOI_BOX})") == [2]
    assert _ids(client, "Locations", f"st_relate(location, {HANOI_BOX}, 'T*F**F***')") == [1]
    # Hoàn Kiếm Lake to the Opera House: about 800 m; Hà Nội to Cần Thơ: about 1,260 km
    opera = "geography'SRID=4326;POINT(105.8577 21.0243)'"
    assert _ids(client, "Locations", f"geo.distance(location, {opera}) lt 1000") == [1]
    assert _ids(client, "Locations", f"geo.distance(location, {opera}) gt 1000") == [2]
    assert _ids(client, "Locations", f"geo.distance(location, {opera}) gt 1200000 and "
                f"geo.distance(location, {opera}) lt 1300000") == [2]
    assert _ids(client, "Locations", "geo.length(location) eq 0") == [1, 2]  # points
    # through navigation paths, with the other options
    assert _ids(client, "Things", f"st_within(Locations/location, {HANOI_BOX})") == [1]
    assert _results(client, f"geo.distance(Datastream/Thing/Locations/location, {opera}) lt "
                    "1000 and result gt 50") == [55, 80.25]
    counted = client.get("/sta/v1.1/Datastreams", params={
        "$filter": f"st_within(Thing/Locations/location, {HANOI_BOX})", "$count": "true",
        "$top": "2"}).json()
    assert counted["@iot.count"] == 3 and len(counted["value"]) == 2
    for flt, word in (("st_within(location, geography'POINT(1)')", "not valid WKT"),
                      ("st_within(location, geography'SRID=3405;POINT(1 2)')", "SRID"),
                      ("st_within(name, name)", "not two properties"),
                      ("location eq 1", "spatial functions"),
                      (f"geo.distance(location, {opera}) lt 'far'", "number"),
                      (f"st_relate(location, {HANOI_BOX}, 'x')", "DE-9IM")):
        r = client.get("/sta/v1.1/Locations", params={"$filter": flt})
        assert r.status_code == 400 and word in r.text, (flt, r.text)
