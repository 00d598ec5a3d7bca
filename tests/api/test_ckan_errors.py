"""The Action API's envelope and error shapes, pinned: clients depend on them."""

from __future__ import annotations

import pytest


def test_envelope_and_both_prefixes(client):
    for path in ("/api/3/action/status_show", "/api/action/status_show"):
        body = client.get(path).json()
        assert set(body) == {"help", "success", "result"}
        assert body["success"] is True
        assert body["help"].endswith("/api/3/action/help_show?name=status_show")


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "etype"), [
    ("get", "/api/3/action/no_such_action", {}, 400, "Bad Request"),
    ("post", "/api/3/action/package_create", {"content": b"{not json"}, 400, "Bad Request"),
    ("post", "/api/3/action/package_create", {"content": b"[1, 2]"}, 400, "Bad Request"),
    ("get", "/api/3/action/package_create", {}, 400, "Bad Request"),
    ("get", "/api/3/action/package_show?id=missing", {}, 404, "Not Found Error"),
    ("post", "/api/3/action/package_create", {"json": {"name": "x1"}}, 403,
     "Authorization Error"),
    ("get", "/api/3/action/package_search?fq=(", {}, 400, "Search Query Error"),
    ("get", "/api/3/action/package_list?limit=abc", {}, 409, "Validation Error"),
])
def test_error_shapes(client, method, path, kwargs, status, etype):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status
    body = r.json()
    assert body["success"] is False and "result" not in body
    assert body["error"]["__type"] == etype
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_posts_are_never_redirected(client):
    r = client.post("/api/action/status_show", json={}, follow_redirects=False)
    assert r.status_code == 200


@pytest.mark.parametrize("header", ["Authorization", "X-CKAN-API-Key"])
def test_token_headers(client, api, admin_token, header):
    r = client.post("/api/3/action/organization_create", json={"name": "org-a"},
                    headers={header: admin_token})
    assert r.status_code == 200, r.json()
    r = client.post("/api/3/action/organization_create", json={"name": "org-b"},
                    headers={header: admin_token[:-3] + "xyz"})
    assert r.status_code == 403
    assert r.json()["error"]["__type"] == "Authorization Error"


def test_openapi_and_offline_docs(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/3/action/{name}", "/api/action/{name}", "/catalog.{ext}",
                 "/dataset/{name}.{ext}",
                 "/dataset/{package_id}/resource/{resource_id}/download/{filename}"):
        assert path in spec["paths"], path
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/static/swagger-ui/swagger-ui-bundle.js" in page
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
