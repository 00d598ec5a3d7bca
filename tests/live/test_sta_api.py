"""SensorThings API: deep insert, links, query options, navigation, errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tests.live.conftest import CANTHO, HANOI, now_iso, station

from vntwin.catalog.service import Catalog


def _source(client: TestClient, admin_token: str, name: str = "so-tnmt") -> str:
    r = client.post("/live/sources", json={"name": name}, headers={"Authorization": admin_token})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def test_deep_insert_and_read_back(client: TestClient, admin_token: str) -> None:
    token = _source(client, admin_token)
    r = client.post("/sta/v1.1/Things", json=station("Hoàn Kiếm", HANOI),
                    headers={"Authorization": token})
    assert r.status_code == 201, r.text
    thing = r.json()
    assert r.headers["location"] == thing["@iot.selfLink"]
    assert thing["@iot.selfLink"].endswith(f"/sta/v1.1/Things({thing['@iot.id']})")
    assert thing["Datastreams@iot.navigationLink"].endswith("/Datastreams")

    # a second station links the same ObservedProperty by id
    prop = client.get("/sta/v1.1/ObservedProperties").json()["value"][0]
    r = client.post("/sta/v1.1/Things", headers={"Authorization": token},
                    json=station("Ninh Kiều", CANTHO, prop={"@iot.id": prop["@iot.id"]}))
    assert r.status_code == 201, r.text
    assert len(client.get("/sta/v1.1/ObservedProperties").json()["value"]) == 1

    loc = client.get(f"/sta/v1.1/Things({thing['@iot.id']})/Locations").json()["value"][0]
    assert loc["location"]["coordinates"] == HANOI
    assert loc["twin"]["province_code"] == "01"  # Hà Nội
    assert len(loc["twin"]["commune_code"]) == 5
    cantho = client.get("/sta/v1.1/Locations", params={"$filter": "name eq 'Ninh Kiều'"}).json()
    assert cantho["value"][0]["twin"]["province_code"] == "92"  # Cần Thơ

    streams = client.get("/sta/v1.1/Datastreams", params={
        "$expand": "Thing/Locations,ObservedProperty,Sensor", "$orderby": "name desc",
        "$count": "true"}).json()
    assert streams["@iot.count"] == 2
    names = [d["name"] for d in streams["value"]]
    assert names == sorted(names, reverse=True)
    first = streams["value"][0]
    assert first["unitOfMeasurement"]["symbol"] == "µg/m³"
    assert first["ObservedProperty"]["name"] == "PM2.5"
    assert first["Thing"]["Locations"][0]["encodingType"] == "application/geo+json"
    assert first["Sensor"]["metadata"] == "Nova Fitness SDS011"

    paged = client.get("/sta/v1.1/Datastreams", params={"$top": 1}).json()
    assert len(paged["value"]) == 1 and "%24skip=1" in paged["@iot.nextLink"]
    second = client.get(paged["@iot.nextLink"]).json()
    assert second["value"][0]["@iot.id"] != paged["value"][0]["@iot.id"]
    selected = client.get("/sta/v1.1/Things", params={"$select": "id,name"}).json()["value"]
    assert set(selected[0]) == {"@iot.id", "name"}


def test_observations_over_http_and_filters(client: TestClient, admin_token: str) -> None:
    token = _source(client, admin_token)
    client.post("/sta/v1.1/Things", json=station("Hoàn Kiếm", HANOI),
                headers={"Authorization": token})
    auth = {"Authorization": token}
    for i, value in enumerate((12.0, 55.5, 80.25)):
        r = client.post("/sta/v1.1/Datastreams(1)/Observations", headers=auth,
                        json={"phenomenonTime": now_iso(-300 + i), "result": value})
        assert r.status_code == 201, r.text
        assert r.json()["result"] == value
    r = client.post("/sta/v1.1/Observations", headers=auth,
                    json={"Datastream": {"@iot.id": 1}, "result": 20})
    assert r.status_code == 201  # phenomenonTime defaults to now, as the standard says

    found = client.get("/sta/v1.1/Observations", params={
        "$filter": "result gt 50 and Datastream/@iot.id eq 1", "$orderby": "result desc"}).json()
    assert [o["result"] for o in found["value"]] == [80.25, 55.5]
    by_prop = client.get("/sta/v1.1/Datastreams", params={
        "$filter": "ObservedProperty/name eq 'PM2.5' and startswith(name, 'PM2')"}).json()
    assert len(by_prop["value"]) == 1
    latest = client.get("/sta/v1.1/Datastreams(1)", params={
        "$expand": "Observations($top=1;$orderby=phenomenonTime desc)"}).json()
    assert latest["Observations"][0]["result"] == 20
    assert "/" in latest["phenomenonTime"]  # first/last observation
    assert client.get("/sta/v1.1/Observations(1)/Datastream").json()["@iot.id"] == 1


def test_bad_requests_are_clear(client: TestClient, admin_token: str, cat: Catalog) -> None:
    token = _source(client, admin_token)
    other = _source(client, admin_token, "other")
    auth = {"Authorization": token}
    r = client.post("/sta/v1.1/Things", json=station("A", HANOI))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = station("B", HANOI)
    del body["Datastreams"][0]["unitOfMeasurement"]["symbol"]
    r = client.post("/sta/v1.1/Things", json=body, headers=auth)
    assert r.status_code == 400
    assert "Datastreams[0]/unitOfMeasurement/symbol" in r.json()["errors"]
    body = station("C", [500, 21])
    r = client.post("/sta/v1.1/Things", json=body, headers=auth)
    assert r.status_code == 400 and "out of range" in r.json()["detail"]
    assert client.get("/sta/v1.1/Things").json()["value"] == []  # nothing half-created
    r = client.post("/sta/v1.1/Things", content=b"{not json", headers=auth)
    assert r.status_code == 400
    mine = client.post("/sta/v1.1/Things", json=station("D", HANOI), headers=auth).json()
    # another source may not attach a datastream to this source's Thing
    r = client.post("/sta/v1.1/Datastreams", headers={"Authorization": other}, json={
        **station("E", HANOI)["Datastreams"][0], "Thing": {"@iot.id": mine["@iot.id"]}})
    assert r.status_code == 403
    for params, word in (({"$filter": "name eq"}, "ends too early"),
                         ({"$filter": "nosuch eq 1"}, "no property"),
                         ({"$filter": "name eq 'x'; DROP TABLE sta_thing"}, "cannot read"),
                         ({"$orderby": "name sideways"}, "asc|desc"),
                         ({"$top": "-1"}, "between"),
                         ({"$expand": "Nope"}, "navigation"),
                         ({"$format": "xml"}, "unknown query option")):
        r = client.get("/sta/v1.1/Things", params=params)
        assert r.status_code == 400, (params, r.text)
        assert word in r.text, (params, r.text)
    assert client.get("/sta/v1.1/Things(99)").status_code == 404
    assert client.get(f"/sta/v1.1/Things({mine['@iot.id']})/Nope").status_code == 404
    assert len(client.get("/sta/v1.1/Things").json()["value"]) == 1
