from __future__ import annotations

from sqlalchemy import select, text

from vntwin.catalog.models import AuditLog, PackageVersion


def test_create_show_update_patch_delete(api, admin_token, org):
    created = api.ok("package_create", admin_token, name="dan-so", owner_org=org["name"],
                     title_translated={"vi": "Dân số theo tỉnh", "en": "Population by province"},
                     notes="Số liệu dân số", tags=[{"name": "dân số"}], license_id="cc-by-4.0",
                     theme=["SOCI"], update_frequency="ANNUAL", temporal_start="2020-01-01",
                     temporal_end="2024-12-31",
                     resources=[{"url": "https://example.org/a.csv", "name": "A"}])
    assert created["title"] == "Dân số theo tỉnh"
    assert created["title_translated"]["en"] == "Population by province"
    assert created["organization"]["name"] == "so-khcn"
    assert created["private"] is False and created["access_level"] == "public"
    assert created["resources"][0]["format"] == "CSV"
    for key in ("id", "name", "title", "notes", "license_id", "license_title", "metadata_created",
                "metadata_modified", "private", "type", "state", "author", "maintainer",
                "author_email", "maintainer_email", "extras", "tags", "organization",
                "resources"):
        assert key in created
    for key in ("id", "position", "name", "description", "format", "mimetype", "size", "hash",
                "created", "last_modified", "url"):
        assert key in created["resources"][0]

    # update without resources keeps them; unset fields reset
    updated = api.ok("package_update", admin_token, id=created["id"], name="dan-so",
                     title="Dân số", owner_org=org["id"])
    assert updated["title"] == "Dân số" and updated["notes"] == ""
    assert len(updated["resources"]) == 1

    patched = api.ok("package_patch", admin_token, id="dan-so", notes="Mới")
    assert patched["title"] == "Dân số" and patched["notes"] == "Mới"

    api.ok("package_delete", admin_token, id="dan-so")
    status, body = api.call("package_show", id="dan-so", method="GET")
    assert status == 404 and body["error"]["__type"] == "Not Found Error"


def test_versions_and_audit_log(api, admin_token, org, cat):
    api.ok("package_create", admin_token, name="ds-1", owner_org=org["name"])
    api.ok("package_patch", admin_token, id="ds-1", title="Hai")
    history = api.ok("package_activity_list", admin_token, method="GET", id="ds-1")
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["data"]["package"]["title"] == "Hai"
    assert history[1]["activity_type"] == "new package"
    with cat.read() as s:
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions[-2:] == ["package_create", "package_patch"]
        assert "organization_create" in actions
        assert s.scalar(select(PackageVersion.version).where(PackageVersion.version == 2)) == 2


def test_audit_log_is_append_only(api, admin_token, org, cat):
    api.ok("package_create", admin_token, name="ds-1", owner_org=org["name"])
    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with cat.engine.connect() as conn:
            try:
                conn.execute(text(stmt))
                conn.commit()
            except Exception as exc:  # the database itself refuses
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{stmt} was allowed")


def test_validation_errors_write_nothing(api, admin_token, org, cat):
    status, body = api.call("package_create", admin_token, name="Bad Name!", owner_org=org["name"],
                            license_id="nope", author_email="not-an-email", theme=["XXX"],
                            temporal_start="2024-01-01", temporal_end="2020-01-01",
                            spatial="{not json")
    assert status == 409
    err = body["error"]
    assert err["__type"] == "Validation Error"
    for field in ("name", "license_id", "author_email", "theme", "temporal_end", "spatial"):
        assert field in err, field
    status, body = api.call("package_create", admin_token, name="no-org")
    assert status == 409 and "owner_org" in body["error"]
    status, body = api.call("package_create", admin_token, owner_org=org["name"])
    assert status == 409 and body["error"]["name"] == ["Missing value"]
    api.ok("package_create", admin_token, name="once", owner_org=org["name"])
    revision = cat.revision()
    status, body = api.call("package_create", admin_token, name="once", owner_org=org["name"])
    assert status == 409 and body["error"]["name"] == ["That URL is already in use."]
    assert cat.revision() == revision
    assert api.ok("package_list", method="GET") == ["once"]


def test_roles(api, admin_token, org, editor_token, cat):
    from vntwin.catalog.users import user_create

    member_token = user_create(cat, "thanh-vien", org=org["name"], role="member")[1]
    outsider_token = user_create(cat, "nguoi-ngoai")[1]
    status, body = api.call("package_create", member_token, name="x1", owner_org=org["name"])
    assert status == 403 and body["error"]["__type"] == "Authorization Error"
    status, _ = api.call("package_create", outsider_token, name="x1", owner_org=org["name"])
    assert status == 403
    status, _ = api.call("package_create", None, name="x1", owner_org=org["name"])
    assert status == 403
    api.ok("package_create", editor_token, name="x1", owner_org=org["name"])
    status, _ = api.call("organization_create", editor_token, name="khac")
    assert status == 403
    status, _ = api.call("organization_update", editor_token, id=org["name"], title="x")
    assert status == 403


def test_access_levels_hide_everywhere(api, admin_token, org, editor_token, cat, client):
    from vntwin.catalog.users import user_create

    other = api.ok("organization_create", admin_token, name="so-yte", title="Sở Y tế")
    staff_other = user_create(cat, "nhan-vien", org=other["name"], role="member")[1]
    member = user_create(cat, "thanh-vien", org=org["name"], role="member")[1]
    for name, level in (("cong-khai", "public"), ("lien-nganh", "agencies"),
                        ("han-che", "restricted")):
        api.ok("package_create", editor_token, name=name, owner_org=org["name"],
               access_level=level, title=f"Dân số {name}", tags=[{"name": level}])
    # CKAN's private flag maps to restricted
    ckan_private = api.ok("package_create", editor_token, name="rieng", owner_org=org["name"],
                          private=True)
    assert ckan_private["access_level"] == "restricted" and ckan_private["private"] is True

    def visible(token):
        res = api.ok("package_search", token, method="GET", q="dan so", include_private="true",
                     **{"facet.field": '["tags","access_level"]'})
        names = sorted(p["name"] for p in res["results"])
        assert res["count"] == len(names)
        assert sum(res["facets"]["access_level"].values()) == len(names)
        return names

    assert visible(None) == ["cong-khai"]
    assert visible(staff_other) == ["cong-khai", "lien-nganh"]
    assert visible(member) == ["cong-khai", "han-che", "lien-nganh"]
    assert visible(admin_token) == ["cong-khai", "han-che", "lien-nganh"]
    assert api.ok("package_list", method="GET") == ["cong-khai"]
    for name in ("lien-nganh", "han-che"):
        status, _ = api.call("package_show", None, method="GET", id=name)
        assert status == 404
    status, _ = api.call("package_show", staff_other, method="GET", id="han-che")
    assert status == 404
    orgs = api.ok("organization_list", method="GET", all_fields="true")
    assert {o["name"]: o["package_count"] for o in orgs}["so-khcn"] == 1
    assert "lien-nganh" not in client.get("/catalog.ttl").text
    assert client.get("/dataset/han-che.ttl").status_code == 404
