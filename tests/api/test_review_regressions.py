"""Regressions for defects a review found: each of these failed before its fix."""

from __future__ import annotations

import pytest

from vntwin.catalog.users import user_create


def test_group_membership_grants_no_data_access(api, cat, admin_token, org, editor_token):
    api.ok("package_create", editor_token, name="lien-nganh", owner_org=org["name"],
           access_level="agencies")
    outsider = user_create(cat, "nguoi-ngoai")[1]
    api.ok("group_create", outsider, name="nhom-cua-toi")
    status, _ = api.call("package_show", outsider, method="GET", id="lien-nganh")
    assert status == 404
    found = api.ok("package_search", outsider, method="GET", include_private="true")
    assert found["count"] == 0
    status, _ = api.call("organization_member_create", outsider, id="nhom-cua-toi",
                         username="nguoi-ngoai", role="admin")
    assert status == 404  # groups are not organisations: no roles to hand out


def test_group_package_count_uses_the_owning_org(api, cat, admin_token, org, editor_token):
    api.ok("group_create", admin_token, name="nhom")
    api.ok("package_create", editor_token, name="mat", owner_org=org["name"],
           access_level="restricted", groups=[{"name": "nhom"}])
    counts = {g["name"]: g["package_count"]
              for g in api.ok("group_list", editor_token, method="GET", all_fields="true")}
    assert counts["nhom"] == 1
    counts = {g["name"]: g["package_count"]
              for g in api.ok("group_list", None, method="GET", all_fields="true")}
    assert counts["nhom"] == 0


@pytest.mark.parametrize("body", [
    b'{"name": "ds1", "extras": [{"key": "k", "value": NaN}]}',
    b'{"name": "ds1", "rows": Infinity}',
])
def test_nan_and_infinity_are_not_json(client, admin_token, body):
    r = client.post("/api/3/action/package_create", content=body,
                    headers={"Authorization": admin_token})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]


def test_inline_resource_with_extra_keys(api, admin_token, org):
    pkg = api.ok("package_create", admin_token, name="ds1", owner_org=org["name"],
                 resources=[{"url": "https://example.org/a.csv", "language": "vi"}])
    assert pkg["resources"][0]["language"] == "vi"


def test_failed_resource_patch_keeps_the_old_table(client, api, cat, editor_token, org):
    api.ok("package_create", editor_token, name="ds1", owner_org=org["name"])
    res = client.post("/api/action/resource_create", data={"package_id": "ds1"},
                      files={"upload": ("a.csv", b"x,y\n1,old\n")},
                      headers={"Authorization": editor_token}).json()["result"]
    r = client.post("/api/action/resource_patch", data={"id": res["id"], "mimetype": "m" * 150},
                    files={"upload": ("b.csv", b"x,y\n2,new\n")},
                    headers={"Authorization": editor_token})
    assert r.status_code == 409
    rows = api.ok("datastore_search", editor_token, method="GET", resource_id=res["id"])
    assert [row["y"] for row in rows["records"]] == ["old"]
    staged = [p for p in cat.settings.datastore_dir.iterdir() if p.name.startswith("staging")]
    assert staged == []


def test_duplicate_resource_id_does_not_drop_its_table(client, api, admin_token, org):
    api.ok("package_create", admin_token, name="ds1", owner_org=org["name"])
    res = client.post("/api/action/resource_create", data={"package_id": "ds1"},
                      files={"upload": ("a.csv", b"x\n1\n")},
                      headers={"Authorization": admin_token}).json()["result"]
    r = client.post("/api/action/resource_create", data={"package_id": "ds1", "id": res["id"]},
                    files={"upload": ("b.csv", b"x\n2\n")},
                    headers={"Authorization": admin_token})
    assert r.status_code == 409
    assert api.ok("datastore_search", admin_token, method="GET",
                  resource_id=res["id"])["total"] == 1


def test_refused_later_multipart_part_leaves_no_file(client, cat, editor_token, org, api):
    api.ok("package_create", editor_token, name="ds1", owner_org=org["name"])
    body_fields = [("upload", ("a.bin", b"unique bytes 123", "application/octet-stream")),
                   ("package_id", (None, "d" * (1024 * 1024 + 10)))]
    r = client.post("/api/action/resource_create", files=body_fields,
                    headers={"Authorization": editor_token})
    assert r.status_code == 400
    root = cat.settings.uploads_dir
    assert [p for p in root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("token", ["vnt_-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_x",
                                   "vnt_" + "G" * 32 + "_x"])
def test_malformed_tokens_are_403_not_500(client, token):
    r = client.get("/api/3/action/status_show", headers={"Authorization": token})
    assert r.status_code == 403
    assert client.get("/catalog.ttl", headers={"Authorization": token}).status_code == 403


@pytest.mark.parametrize(("action", "data"), [
    ("package_list", {"offset": str(10**30)}),
    ("user_list", {"q": ["a"]}),
])
def test_out_of_range_parameters_are_validation_errors(client, action, data):
    r = client.post(f"/api/3/action/{action}", json=data)
    assert r.status_code == 409


def test_unbounded_resource_values_are_refused(api, admin_token, org):
    for resource in ({"url": "https://e.org/a", "size": 10**30},
                     {"url": "https://e.org/a", "format": "F" * 41},
                     {"url": "https://e.org/a", "mimetype": "m" * 101}):
        status, body = api.call("package_create", admin_token, name="ds1",
                                owner_org=org["name"], resources=[resource])
        assert status == 409, body
    status, _ = api.call("package_create", admin_token, name="ds1", owner_org=org["name"],
                         temporal_start="2020-01-01" + "x" * 50, type="t" * 50)
    assert status == 409
    status, _ = api.call("organization_create", admin_token, name="org-x", id=org["id"])
    assert status == 409


def test_organisation_rename_reaches_search(api, admin_token, org, editor_token):
    api.ok("package_create", editor_token, name="ds1", owner_org=org["name"])
    assert api.ok("package_search", method="GET", fq=f"organization:{org['name']}")["count"] == 1
    api.ok("organization_patch", admin_token, id=org["id"], name="ten-moi")
    assert api.ok("package_search", method="GET", fq="organization:ten-moi")["count"] == 1
    assert api.ok("package_search", method="GET", fq=f"organization:{org['name']}")["count"] == 0


def test_unknown_query_words_do_not_grow_the_cache(api, cat, admin_token, org):
    api.ok("package_create", admin_token, name="ds1", owner_org=org["name"], title="Dân số")
    api.ok("package_search", method="GET", q="dan")
    before = len(cat.index._arrays)
    api.ok("package_search", method="GET", q=" ".join(f"w{i}" for i in range(300)))
    assert len(cat.index._arrays) == before


def test_package_patch_with_resources_replaces_them(api, admin_token, org):
    pkg = api.ok("package_create", admin_token, name="ds1", owner_org=org["name"],
                 resources=[{"url": "https://e.org/a.csv"}, {"url": "https://e.org/b.csv"}])
    keep = pkg["resources"][0]
    patched = api.ok("package_patch", admin_token, id="ds1", resources=[keep])
    assert [r["id"] for r in patched["resources"]] == [keep["id"]]


def test_search_rechecks_access_on_the_rows_it_returns(api, cat, admin_token, org):
    """The index may be a moment older than an access change: results are re-checked."""
    from vntwin.catalog import packages
    from vntwin.catalog.auth import ANONYMOUS

    pkg = api.ok("package_create", admin_token, name="ds1", owner_org=org["name"])
    api.ok("package_patch", admin_token, id="ds1", access_level="restricted")
    assert packages.show_many(cat, ANONYMOUS, [pkg["id"]]) == []
