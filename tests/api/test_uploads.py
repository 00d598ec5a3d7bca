from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

CSV = "tinh,dan_so\nHà Nội,8500000\nĐà Nẵng,1200000\n".encode()


@pytest.fixture
def dataset(api, editor_token, org):
    return api.ok("package_create", editor_token, name="dan-so", owner_org=org["name"])


def upload(client, token, data, filename="dân số.csv", content=CSV, action="resource_create"):
    return client.post(f"/api/action/{action}", data=data,
                       files={"upload": (filename, content, "text/csv")},
                       headers={"Authorization": token})


def stored_files(cat) -> list[Path]:
    root = cat.settings.uploads_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_multipart_upload_is_content_addressed(client, cat, editor_token, dataset):
    r = upload(client, editor_token, {"package_id": "dan-so", "name": "Bảng"})
    assert r.status_code == 200, r.json()
    res = r.json()["result"]
    sha = hashlib.sha256(CSV).hexdigest()
    assert res["hash"] == f"sha256:{sha}" and res["size"] == len(CSV)
    assert res["url_type"] == "upload" and res["format"] == "CSV"
    assert res["url"].endswith(f"/resource/{res['id']}/download/d%C3%A2n%20s%E1%BB%91.csv")
    assert cat.uploads.path_for(sha).read_bytes() == CSV
    # download through CKAN's URL shape
    path = res["url"].split("testserver", 1)[-1] if "testserver" in res["url"] else None
    dl = client.get(f"/dataset/{res['package_id']}/resource/{res['id']}/download/x.csv")
    assert dl.status_code == 200 and dl.content == CSV
    assert path is None or path.startswith("/dataset/")
    # the same bytes again are stored once
    upload(client, editor_token, {"package_id": "dan-so", "name": "Bản sao"})
    assert len(stored_files(cat)) == 1


def test_hostile_filename_is_never_a_path(client, cat, editor_token, dataset, tmp_path):
    r = upload(client, editor_token, {"package_id": "dan-so"}, filename="../../../etc/passwd")
    assert r.status_code == 200
    res = r.json()["result"]
    assert res["name"] == "passwd" and "/etc/" not in res["url"]
    assert not (cat.settings.data_dir.parent / "etc").exists()
    files = stored_files(cat)
    assert len(files) == 1 and files[0].name == hashlib.sha256(CSV).hexdigest()


def test_oversize_upload_refused_and_nothing_kept(client, cat, editor_token, dataset):
    cat.uploads.max_bytes = 1000
    before = client.get("/api/3/action/package_show?id=dan-so",
                        headers={"Authorization": editor_token}).json()["result"]
    r = upload(client, editor_token, {"package_id": "dan-so"}, content=b"x" * 5000)
    assert r.status_code == 413
    assert r.json()["error"]["__type"] == "Validation Error"
    assert "larger than the limit" in r.json()["error"]["message"]
    assert stored_files(cat) == []
    after = client.get("/api/3/action/package_show?id=dan-so",
                       headers={"Authorization": editor_token}).json()["result"]
    assert after == before


def test_refused_upload_leaves_no_file(client, cat, api, dataset):
    from vntwin.catalog.users import user_create

    outsider = user_create(cat, "nguoi-ngoai")[1]
    r = upload(client, outsider, {"package_id": "dan-so"})
    assert r.status_code == 403
    assert stored_files(cat) == []
    r = upload(client, outsider, {"package_id": "missing"})
    assert r.status_code == 404 and stored_files(cat) == []


def test_upload_replaces_file_with_resource_patch(client, cat, editor_token, dataset):
    res = upload(client, editor_token, {"package_id": "dan-so"}).json()["result"]
    new = b"a,b\n1,2\n"
    r = upload(client, editor_token, {"id": res["id"]}, filename="moi.csv", content=new,
               action="resource_patch")
    assert r.status_code == 200, r.json()
    assert r.json()["result"]["hash"] == f"sha256:{hashlib.sha256(new).hexdigest()}"
    assert r.json()["result"]["id"] == res["id"]


def test_private_download_needs_access(client, api, editor_token, org):
    api.ok("package_create", editor_token, name="mat", owner_org=org["name"],
           access_level="restricted")
    res = upload(client, editor_token, {"package_id": "mat"}).json()["result"]
    url = f"/dataset/{res['package_id']}/resource/{res['id']}/download/f.csv"
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"Authorization": editor_token}).status_code == 200
