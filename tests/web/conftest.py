from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_helpers import CSV, PASSWORD

from vntwin.catalog.users import user_create


@pytest.fixture
def census(api: Any, editor_token: str, org: dict[str, Any], client: TestClient) -> dict:
    """A public dataset with a CSV table in the datastore."""
    pkg = api.ok("package_create", editor_token, name="dan-so-2019", owner_org=org["name"],
                 title="Dân số các tỉnh năm 2019", notes="Tổng điều tra dân số 2019.",
                 title_translated={"vi": "Dân số các tỉnh năm 2019",
                                   "en": "Population of provinces, 2019"},
                 tags=[{"name": "dân số"}], license_id="cc-by-4.0", theme=["SOCI"])
    r = client.post("/api/action/resource_create", data={"package_id": pkg["id"],
                                                          "name": "Bảng dân số"},
                    files={"upload": ("dan-so.csv", CSV, "text/csv")},
                    headers={"Authorization": editor_token})
    assert r.status_code == 200, r.text
    return {**pkg, "resource": r.json()["result"]}


@pytest.fixture
def editor(cat: Any, org: dict[str, Any]) -> str:
    """An editor of the organisation who signs in with a password."""
    user_create(cat, "can-bo", org=org["name"], role="editor", password=PASSWORD)
    return "can-bo"
