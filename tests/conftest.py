from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from vntwin.api.app import create_app
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import user_create
from vntwin.testing import backends, database_url, make_settings


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def admin_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the administrative units for the whole session (about 5 s)."""
    return tmp_path_factory.mktemp("admin-cache")


@pytest.fixture
def cat(backend: str, tmp_path: Path, admin_cache: Path) -> Iterator[Catalog]:
    with database_url(backend, tmp_path) as url:
        catalog = Catalog(make_settings(tmp_path / "data", url, admin_cache_dir=admin_cache))
        yield catalog
        catalog.close()


@pytest.fixture
def client(cat: Catalog) -> Iterator[TestClient]:
    with TestClient(create_app(cat.settings, cat)) as c:
        yield c


class Api:
    """Calls actions through the in-process client, returning the parsed envelope."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def call(self, action: str, token: str | None = None, method: str = "POST",
             **data: Any) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": token} if token else {}
        if method == "GET":
            r = self.client.get(f"/api/3/action/{action}", params=data, headers=headers)
        else:
            r = self.client.post(f"/api/3/action/{action}", json=data, headers=headers)
        return r.status_code, r.json()

    def ok(self, action: str, token: str | None = None, method: str = "POST",
           **data: Any) -> Any:
        status, body = self.call(action, token, method, **data)
        assert status == 200 and body["success"], body
        return body["result"]


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def admin_token(cat: Catalog) -> str:
    return user_create(cat, "sysadmin", sysadmin=True)[1]


@pytest.fixture
def org(api: Api, admin_token: str) -> dict[str, Any]:
    return api.ok("organization_create", admin_token, name="so-khcn",
                  title="Sở Khoa học và Công nghệ")


@pytest.fixture
def editor_token(cat: Catalog, org: dict[str, Any]) -> str:
    return user_create(cat, "bien-tap", org=org["name"], role="editor")[1]
