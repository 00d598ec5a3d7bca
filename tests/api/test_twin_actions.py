"""Twin actions over the Action API: ingest an upload, see and confirm column mappings."""

from __future__ import annotations

import json
from pathlib import Path

from vntwin.catalog.users import user_create
from vntwin.twin.build import fuse_catalog, twin_store

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"


def _ingest(client, token, filename: str, **data):
    body = (FIXTURES / filename).read_bytes()
    return client.post("/api/3/action/twin_ingest", data=data,
                       files={"upload": (filename, body)},
                       headers={"Authorization": token} if token else {})


def _stored_files(cat) -> list[Path]:
    return [p for p in cat.settings.uploads_dir.rglob("*") if p.is_file()]


def test_ingest_an_upload_then_fuse(client, api, editor_token, org, cat):
    r = _ingest(client, editor_token, "hanoi_communes.gpkg", dataset="xa-ha-noi",
                owner_org=org["name"], title="Xã phường Hà Nội", fuse="true")
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["dataset"] == "xa-ha-noi" and result["layers"]
    assert result["fuse"]["fused"] and not result["fuse"]["failed"]
    pkg = api.ok("package_show", editor_token, id="xa-ha-noi")
    assert pkg["title"] == "Xã phường Hà Nội"
    assert any(res.get("twin_layer") for res in pkg["resources"])
    assert any(res.get("twin_source") for res in pkg["resources"])
    assert twin_store(cat).layers()


def test_ingest_refuses_anonymous_and_bad_files_leaving_nothing(client, api, editor_token,
                                                                org, cat):
    r = _ingest(client, None, "places_vn.geojson", dataset="dia-danh", owner_org=org["name"])
    assert r.status_code == 403
    for bad in ("truncated.zip", "zip_bomb.zip", "evil_path.zip", "empty.geojson"):
        r = _ingest(client, editor_token, bad, dataset="hong", owner_org=org["name"])
        assert r.status_code in (400, 409, 413), (bad, r.text)
        assert r.json()["success"] is False and bad in json.dumps(r.json()["error"]), r.text
    assert api.call("package_show", editor_token, id="hong")[0] == 404
    assert _stored_files(cat) == []
    r = client.post("/api/3/action/twin_ingest", json={"dataset": "x", "owner_org": org["name"]},
                    headers={"Authorization": editor_token})
    assert r.status_code == 409 and "upload" in r.json()["error"]


def test_other_actions_still_refuse_files(client, editor_token):
    r = client.post("/api/3/action/package_create", data={"name": "x"},
                    files={"upload": ("a.csv", b"x\n1\n")},
                    headers={"Authorization": editor_token})
    assert r.status_code == 409 and "does not take a file" in r.text


def test_see_and_confirm_column_mappings(client, api, editor_token, org, cat):
    r = _ingest(client, editor_token, "provinces_geonames.csv", dataset="tinh",
                owner_org=org["name"])
    assert r.status_code == 200, r.text
    seen = api.ok("twin_layer_columns", method="GET", layer="tinh")  # the dataset's one layer
    layer = seen["layer"]
    assert layer == "tinh--provinces_geonames"
    columns = {c["column"]: c for c in seen["columns"]}
    assert "dan_so_geonames" in columns and "so_dia_danh" in columns
    # 'dan_so_geonames' is not recognised with confidence: it waits for a person
    assert columns["dan_so_geonames"]["needs_review"] is True
    assert "ma_tinh" not in columns  # the place column joins the units: not a variable

    # a person maps one and marks the other as no variable; who and when are kept
    confirmed = api.ok("twin_layer_columns_confirm", editor_token, layer=layer,
                       columns={"dan_so_geonames": "population", "so_dia_danh": None})
    after = {c["column"]: c for c in confirmed["columns"]}
    assert after["dan_so_geonames"]["variable_id"] == "population"
    assert after["dan_so_geonames"]["confirmed_by"] == "bien-tap"
    assert after["dan_so_geonames"]["needs_review"] is False
    assert after["so_dia_danh"]["variable_id"] is None
    assert after["so_dia_danh"]["needs_review"] is False
    res = api.ok("resource_show", editor_token, id=seen["resource_id"])
    assert json.loads(res["twin_mapping"])["dan_so_geonames"]["by"] == "bien-tap"

    # the next fusion uses the decisions
    fuse_catalog(cat)
    variables = {v["name"]: v for v in twin_store(cat).layers()[0]["variables"]}
    assert variables["dan_so_geonames"]["canonical"] == "population"
    assert variables["dan_so_geonames"]["kind"] == "extensive"  # the vocabulary's kind
    assert variables["so_dia_danh"]["canonical"] is None


def test_confirm_checks_everything_first(client, api, editor_token, org, cat, admin_token):
    _ingest(client, editor_token, "provinces_geonames.csv", dataset="tinh",
            owner_org=org["name"])
    status, body = api.call("twin_layer_columns_confirm", editor_token, layer="tinh",
                            columns={"so_dia_danh": "no_such_variable", "nope": "population"})
    assert status == 409
    assert "no_such_variable" in str(body["error"]["so_dia_danh"])
    assert "no column" in str(body["error"]["nope"])
    res = api.ok("package_show", editor_token, id="tinh")["resources"]
    assert not any(r.get("twin_mapping") for r in res)
    assert api.call("twin_layer_columns_confirm", None, layer="tinh",
                    columns={"so_dia_danh": None})[0] == 403
    api.ok("organization_create", admin_token, name="khac")
    outsider = user_create(cat, "nguoi-ngoai", org="khac", role="editor")[1]
    assert api.call("twin_layer_columns_confirm", outsider, layer="tinh",
                    columns={"so_dia_danh": None})[0] == 403
    assert api.call("twin_layer_columns", None, "GET", layer="khong-co")[0] == 404
