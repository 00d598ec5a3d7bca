"""The unmodified ``ckanapi`` client from PyPI against a live vntwin server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ckanapi
import pytest

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import user_create
from vntwin.testing import database_url, live_server, make_settings

CSV = "ma_tinh,ten_tinh,dan_so\n01,Thành phố Hà Nội,8587100\n48,Thành phố Đà Nẵng,1269100\n"


@pytest.fixture
def server(cat):
    token = user_create(cat, "quan-tri", sysadmin=True)[1]
    with live_server(cat) as url:
        yield url, token


def test_ckanapi_life_cycle(server, tmp_path):
    url, token = server
    ckan = ckanapi.RemoteCKAN(url, apikey=token)
    org = ckan.action.organization_create(name="so-tttt", title="Sở Thông tin và Truyền thông")
    ckan.action.package_create(name="dan-so-tinh", title="Dân số các tỉnh", owner_org=org["id"],
                               tags=[{"name": "dân số"}], license_id="cc-by-4.0")
    path = tmp_path / "dân số.csv"
    path.write_text(CSV, encoding="utf-8")
    with path.open("rb") as f:
        res = ckan.action.resource_create(package_id="dan-so-tinh", name="Bảng dân số",
                                          upload=f)
    assert res["datastore_active"] is True, res
    found = ckan.action.package_search(q="dan so cac tinh")
    assert found["count"] == 1 and found["results"][0]["name"] == "dan-so-tinh"
    rows = ckan.action.datastore_search(resource_id=res["id"], q="ha noi")
    assert rows["total"] == 1 and rows["records"][0]["ten_tinh"] == "Thành phố Hà Nội"
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_create(name="dan-so-tinh", owner_org=org["id"])
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="khong-co")
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(url).action.package_create(name="x1", owner_org=org["id"])
    ckan.action.package_delete(id="dan-so-tinh")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="dan-so-tinh")


def _ckanapi_cli(*args: str, cwd: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["ckanapi", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in proc.stdout.splitlines():  # load reports failures per line without failing
        if line.startswith("["):
            assert json.loads(line)[2] is None, line


def test_dump_and_load_round_trip(server, backend, tmp_path):
    url, token = server
    ckan = ckanapi.RemoteCKAN(url, apikey=token)
    org = ckan.action.organization_create(name="so-tnmt", title="Sở Tài nguyên và Môi trường")
    for i, title in enumerate(("Đất đai", "Khí hậu", "Nước mặt")):
        pkg = ckan.action.package_create(name=f"tnmt-{i}", title=title, owner_org=org["id"],
                                         notes="Ghi chú", tags=[{"name": "môi trường"}],
                                         theme=["ENVI"], license_id="odc-odbl")
        path = tmp_path / f"f{i}.csv"
        path.write_text(f"a,b\n{i},{title}\n", encoding="utf-8")
        with path.open("rb") as f:
            ckan.action.resource_create(package_id=pkg["id"], upload=f, name=f"Tệp {i}")

    _ckanapi_cli("dump", "organizations", "--all", "-O", "orgs.jsonl", "-r", url, "-a", token,
                 cwd=tmp_path)
    _ckanapi_cli("dump", "datasets", "--all", "-O", "datasets.jsonl", "-r", url, "-a", token,
                 cwd=tmp_path)

    with database_url(backend, tmp_path / "second") as url2_db:
        second = Catalog(make_settings(tmp_path / "second-data", url2_db))
        token2 = user_create(second, "quan-tri-2", sysadmin=True)[1]
        try:
            with live_server(second) as url2:
                for _ in range(2):  # loading twice updates, never duplicates
                    _ckanapi_cli("load", "organizations", "-I", "orgs.jsonl", "-r", url2,
                                 "-a", token2, cwd=tmp_path)
                    _ckanapi_cli("load", "datasets", "-I", "datasets.jsonl", "-r", url2,
                                 "-a", token2, "--upload-resources", cwd=tmp_path)
                target = ckanapi.RemoteCKAN(url2, apikey=token2)
                assert sorted(target.action.package_list()) == ["tnmt-0", "tnmt-1", "tnmt-2"]
                for name in ("tnmt-0", "tnmt-1", "tnmt-2"):
                    a = ckan.action.package_show(id=name)
                    b = target.action.package_show(id=name)
                    for key in ("id", "title", "notes", "license_id", "theme", "owner_org"):
                        assert a[key] == b[key], key
                    assert [t["name"] for t in a["tags"]] == [t["name"] for t in b["tags"]]
                    assert [r["hash"] for r in a["resources"]] == \
                        [r["hash"] for r in b["resources"]]
                    assert b["resources"][0]["url"].startswith(url2)
        finally:
            second.close()
