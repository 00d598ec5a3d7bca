"""SensorThings ``$filter`` beyond the basics: typed results, navigation paths,
arithmetic, functions; a filter the database cannot run is a 400, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.live.conftest import CANTHO, HANOI, station

CATEGORY = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
TRUTH = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"


def _source(client: TestClient, admin_token: str, name: str = "so-tnmt") -> dict[str, str]:
    r = client.post("/live/sources", json={"name": name}, headers={"Authorization": admin_token})
    assert r.status_code == 201, r.text
    return {"Authorization": str(r.json()["token"])}


def _stream(name: str, obs_type: str) -> dict[str, Any]:
    body = station(name, HANOI)["Datastreams"][0]
    body.update(name=name, observationType=obs_type, properties={})
    body["unitOfMeasurement"] = {"name": "category", "symbol": "", "definition": ""}
    return body


@pytest.fixture
def stations(client: TestClient, admin_token: str) -> dict[str, str]:
    """Two stations: Hoàn Kiếm (PM2.5 1, a category stream 2, a truth stream 3) and Ninh
    Kiều (PM2.5 4), with observations at 2024-05-01T0h:..Z.
    """
    auth = _source(client, admin_token)
    hanoi = station("Hoàn Kiếm", HANOI)
    hanoi["Datastreams"] += [_stream("AQI category", CATEGORY), _stream("rain", TRUTH)]
    for body in (hanoi, station("Ninh Kiều", CANTHO)):
        r = client.post("/sta/v1.1/Things", json=body, headers=auth)
        assert r.status_code == 201, r.text
    sent = [(1, "2024-05-01T01:15:30Z", 12.5), (1, "2024-05-01T02:30:00Z", 55),
            (1, "2024-05-02T03:45:10Z", 80.25), (2, "2024-05-01T01:00:00Z", "good"),
            (2, "2024-05-01T02:00:00Z", "unhealthy"), (3, "2024-05-01T01:00:00Z", True),
            (3, "2024-05-01T02:00:00Z", False), (4, "2024-05-01T01:00:00Z", 7)]
    for stream, when, value in sent:
        r = client.post(f"/sta/v1.1/Datastreams({stream})/Observations", headers=auth,
                        json={"phenomenonTime": when, "result": value})
        assert r.status_code == 201, r.text
    return auth


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
    assert _results(client, "result eq true") == [True]
    assert _results(client, "false eq result") == [False]
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
