"""SensorThings deep insert (STA 1.1 section 10.2): Locations with new Things, Datastreams
with their Observations, all in one transaction; a FeatureOfInterest is refused, not
silently dropped."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.live.conftest import CANTHO, HANOI, station
from tests.live.sta_data import _source as _auth

from vntwin.catalog.service import Catalog
from vntwin.live.models import LiveCounter

STA = "/sta/v1.1"


def _counts(cat: Catalog, source: str) -> dict[str, int]:
    with cat.read() as session:
        return {c.outcome: c.count for c in session.scalars(
            select(LiveCounter).where(LiveCounter.source == source))}


def _observations(times_values: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"phenomenonTime": t, "result": v} for t, v in times_values]


def test_a_feature_of_interest_is_refused_not_dropped(client: TestClient,
                                                     admin_token: str) -> None:
    auth = _auth(client, admin_token)
    assert client.post(f"{STA}/Things", json=station("A", HANOI), headers=auth).status_code == 201
    feature = {"name": "lake", "description": "Hoàn Kiếm Lake", "encodingType":
               "application/geo+json", "feature": {"type": "Point", "coordinates": HANOI}}
    for url, body in ((f"{STA}/Datastreams(1)/Observations", {}),
                      (f"{STA}/Observations", {"Datastream": {"@iot.id": 1}})):
        r = client.post(url, headers=auth, json={**body, "result": 5,
                                                 "FeatureOfInterest": feature})
        assert r.status_code == 400, r.text
        assert "FeatureOfInterest" in r.json()["errors"]
    assert client.get(f"{STA}/Observations").json()["value"] == []


def test_location_with_new_things(client: TestClient, admin_token: str) -> None:
    auth = _auth(client, admin_token)
    linked = client.post(f"{STA}/Things", json={"name": "old", "description": "d"},
                         headers=auth).json()
    new = station("Ninh Kiều", CANTHO)
    del new["Locations"]
    r = client.post(f"{STA}/Locations", headers=auth, json={
        **station("Ninh Kiều", CANTHO)["Locations"][0],
        "Things": [new, {"@iot.id": linked["@iot.id"]}]})
    assert r.status_code == 201, r.text
    loc = r.json()
    things = client.get(f"{STA}/Locations({loc['@iot.id']})/Things",
                        params={"$orderby": "id", "$expand": "Datastreams"}).json()["value"]
    assert [t["name"] for t in things] == ["old", "Ninh Kiều"]
    assert things[1]["Datastreams"][0]["name"] == "PM2.5 Ninh Kiều"
    stream = things[1]["Datastreams"][0]["@iot.id"]
    place = client.get(f"{STA}/Datastreams({stream})/Thing/Locations").json()["value"]
    assert [p["twin"]["province_code"] for p in place] == ["92"]  # Cần Thơ


def test_datastream_with_observations(client: TestClient, admin_token: str,
                                      cat: Catalog) -> None:
    auth = _auth(client, admin_token)
    thing = client.post(f"{STA}/Things", json=station("A", HANOI), headers=auth).json()
    body = {**station("B", HANOI)["Datastreams"][0], "name": "PM2.5 B",
            "Thing": {"@iot.id": thing["@iot.id"]},
            "Observations": [*_observations([("2024-05-01T01:00:00Z", 10),
                                             ("2024-05-01T02:00:00Z", 30)]), {"result": 20}]}
    r = client.post(f"{STA}/Datastreams", json=body, headers=auth)
    assert r.status_code == 201, r.text
    stream = r.json()
    assert stream["phenomenonTime"] is not None  # its latest value is known
    obs = client.get(f"{STA}/Datastreams({stream['@iot.id']})/Observations",
                     params={"$orderby": "phenomenonTime"}).json()["value"]
    assert [o["result"] for o in obs] == [10, 30, 20]  # the last one at the time received
    assert _counts(cat, "so-tnmt")["accepted"] == 3
    # a Thing with a Datastream with Observations, in one request
    deep = station("C", CANTHO)
    deep["Datastreams"][0]["Observations"] = _observations([("2024-05-01T01:00:00Z", 1)])
    r = client.post(f"{STA}/Things", json=deep, headers=auth)
    assert r.status_code == 201, r.text
    found = client.get(f"{STA}/Things({r.json()['@iot.id']})/Datastreams",
                       params={"$expand": "Observations"}).json()["value"]
    assert [o["result"] for o in found[0]["Observations"]] == [1]


def test_one_bad_observation_refuses_the_whole_request(client: TestClient, admin_token: str,
                                                       cat: Catalog) -> None:
    auth = _auth(client, admin_token)
    deep = station("A", HANOI, valid=[0, 500])
    deep["Datastreams"][0]["Observations"] = _observations([("2024-05-01T01:00:00Z", 10),
                                                            ("2024-05-01T02:00:00Z", 900)])
    r = client.post(f"{STA}/Things", json=deep, headers=auth)
    assert r.status_code == 400, r.text
    assert "Datastreams[0]/Observations[1]" in r.json()["errors"]
    assert "valid range" in r.json()["detail"]
    for entity_set in ("Things", "Locations", "Datastreams", "Observations"):
        assert client.get(f"{STA}/{entity_set}").json()["value"] == [], entity_set
    assert _counts(cat, "so-tnmt") == {"out_of_range": 1}
    for observations, word in (
            ([{"result": 1, "FeatureOfInterest": {"name": "x"}}], "FeatureOfInterest"),
            (_observations([("2024-05-01T01:00:00Z", 1), ("2024-05-01T01:00:00Z", 2)]),
             "same phenomenonTime"),
            ("many", "must be a list"), ([5], "JSON object")):
        deep["Datastreams"][0]["Observations"] = observations
        r = client.post(f"{STA}/Things", json=deep, headers=auth)
        assert r.status_code == 400 and word in r.text, (observations, r.text)
    # a sysadmin creates entities, but observations come with the source's token
    deep["Datastreams"][0]["Observations"] = [{"result": 1}]
    r = client.post(f"{STA}/Things", json=deep, headers={"Authorization": admin_token})
    assert r.status_code == 403, r.text
    assert client.get(f"{STA}/Things").json()["value"] == []


def test_nested_observations_are_placed_at_the_current_location(
        client: TestClient, admin_token: str, cat: Catalog) -> None:
    from vntwin.live import alerts

    auth = _auth(client, admin_token)
    thing = client.post(f"{STA}/Things", json=station("moved", HANOI), headers=auth).json()
    r = client.post(f"{STA}/Locations", headers=auth, json={  # it moved to Cần Thơ
        **station("moved", CANTHO)["Locations"][0], "Things": [{"@iot.id": thing["@iot.id"]}]})
    assert r.status_code == 201, r.text
    alerts.create_rule(cat, {"name": "cao", "kind": "threshold", "observed_property_id": 1,
                             "operator": ">", "limit": 100, "area": {"province": "92"}})
    body = {**station("x", HANOI)["Datastreams"][0], "name": "PM2.5 moved 2",
            "ObservedProperty": {"@iot.id": 1}, "Thing": {"@iot.id": thing["@iot.id"]},
            "Observations": [{"result": 150}]}
    r = client.post(f"{STA}/Datastreams", json=body, headers=auth)
    assert r.status_code == 201, r.text
    raised = alerts.list_alerts(cat)["alerts"]
    assert [a["province_code"] for a in raised] == ["92"]
