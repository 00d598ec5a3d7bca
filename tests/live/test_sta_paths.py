"""SensorThings resource paths (STA 1.1 section 9.2): properties, ``$value``, ``$ref``,
navigation through several levels, and ids that are not ids."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.live.sta_data import load_stations

STA = "/sta/v1.1"


@pytest.fixture
def stations(client: TestClient, admin_token: str) -> dict[str, str]:
    """The stations of ``sta_data.load_stations``; the source's auth header."""
    return load_stations(client, admin_token)


def test_property_and_value(client: TestClient, stations: dict[str, str]) -> None:
    assert client.get(f"{STA}/Things(1)/name").json() == {"name": "Hoàn Kiếm"}
    r = client.get(f"{STA}/Things(1)/name/$value")
    assert r.status_code == 200 and r.text == "Hoàn Kiếm"
    assert r.headers["content-type"].startswith("text/plain")
    unit = client.get(f"{STA}/Datastreams(1)/unitOfMeasurement").json()
    assert unit["unitOfMeasurement"]["symbol"] == "µg/m³"
    assert client.get(f"{STA}/Observations(2)/result/$value").text == "55"
    assert client.get(f"{STA}/Datastreams(1)/Thing/name/$value").text == "Hoàn Kiếm"
    for bad in ("Things(1)/nosuch", "Things(1)/nosuch/$value", "Things(1)/$value",
                "Things(1)/name/description", "Things(99)/name", "Nope(1)/name"):
        r = client.get(f"{STA}/{bad}")
        assert r.status_code == 404, (bad, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_ref_links(client: TestClient, stations: dict[str, str]) -> None:
    refs = client.get(f"{STA}/Things(1)/Datastreams/$ref", params={"$orderby": "id"}).json()
    assert refs["value"] == [{"@iot.selfLink": f"http://testserver{STA}/Datastreams({i})"}
                             for i in (1, 2, 3)]
    paged = client.get(f"{STA}/Datastreams(1)/Observations/$ref",
                       params={"$top": "2", "$count": "true", "$orderby": "result desc"}).json()
    assert paged["@iot.count"] == 3 and len(paged["value"]) == 2
    assert set(paged["value"][0]) == {"@iot.selfLink"}
    assert "/Datastreams(1)/Observations/$ref?" in paged["@iot.nextLink"]
    rest = client.get(paged["@iot.nextLink"]).json()
    assert rest["value"] == [{"@iot.selfLink": f"http://testserver{STA}/Observations(1)"}]
    one = client.get(f"{STA}/Datastreams(1)/Thing/$ref").json()
    assert one == {"@iot.selfLink": f"http://testserver{STA}/Things(1)"}
    top = client.get(f"{STA}/Things/$ref").json()
    assert [t["@iot.selfLink"].rsplit("/", 1)[1] for t in top["value"]] == ["Things(1)",
                                                                            "Things(2)"]
    assert client.get(f"{STA}/Things(1)/name/$ref").status_code == 404


def test_navigation_through_several_levels(client: TestClient,
                                           stations: dict[str, str]) -> None:
    locations = client.get(f"{STA}/Datastreams(1)/Thing/Locations").json()
    assert [loc["name"] for loc in locations["value"]] == ["Hoàn Kiếm"]
    obs = client.get(f"{STA}/Things(1)/Datastreams(2)/Observations",
                     params={"$orderby": "phenomenonTime"}).json()
    assert [o["result"] for o in obs["value"]] == ["good", "unhealthy"]
    stream = client.get(f"{STA}/Locations(2)/Things(2)/Datastreams(4)").json()
    assert stream["name"] == "PM2.5 Ninh Kiều"
    thing = client.get(f"{STA}/Observations(8)/Datastream/Thing",
                       params={"$select": "name"}).json()
    assert thing == {"name": "Ninh Kiều"}
    assert client.get(f"{STA}/Things(1)/Datastreams(4)").status_code == 404  # not Thing 1's
    assert client.get(f"{STA}/Things(1)/Datastreams/Observations").status_code == 404
    assert client.get(f"{STA}/Datastreams(1)/Thing(1)").status_code == 404


def test_an_id_that_is_not_a_number_is_a_400(client: TestClient,
                                             stations: dict[str, str]) -> None:
    for path in ("Things(abc)", "Things('1')", "Things(1.5)/name", "Datastreams(x)/Thing",
                 "Things(1)/Datastreams(y)"):
        r = client.get(f"{STA}/{path}")
        assert r.status_code == 400, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 400 and "@iot.id" in r.json()["errors"]
    r = client.post(f"{STA}/Datastreams(abc)/Observations", headers=stations,
                    json={"result": 1})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"


def test_next_link_of_an_expanded_collection_keeps_the_query(
        client: TestClient, stations: dict[str, str]) -> None:
    expand = ("Observations($top=1;$orderby=result desc;$filter=result lt 80;$count=true;"
              "$select=result,phenomenonTime;$expand=Datastream($select=name))")
    stream = client.get(f"{STA}/Datastreams(1)", params={"$expand": expand}).json()
    assert [o["result"] for o in stream["Observations"]] == [55]
    assert stream["Observations@iot.count"] == 2
    following = client.get(stream["Observations@iot.nextLink"]).json()
    assert [o["result"] for o in following["value"]] == [12.5]  # the next of the same query
    assert set(following["value"][0]) == {"result", "phenomenonTime", "Datastream"}
    assert following["value"][0]["Datastream"] == {"name": "PM2.5 Hoàn Kiếm"}
    assert following["@iot.count"] == 2
    assert "@iot.nextLink" in following  # a full page: there may be more
    assert client.get(following["@iot.nextLink"]).json()["value"] == []
