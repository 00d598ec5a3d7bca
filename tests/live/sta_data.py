"""Stations and observations several SensorThings API tests read."""

from __future__ import annotations

from typing import Any

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
    body["ObservedProperty"] = {"name": name, "definition": "", "description": name}
    return body


def load_stations(client: TestClient, admin_token: str) -> dict[str, str]:
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
