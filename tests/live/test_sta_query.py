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
