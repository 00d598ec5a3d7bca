"""Datasets per organisation and group, cached per catalogue revision: every change that
moves a count shows at once, for every kind of visitor, and an unchanged catalogue is
not counted again.
"""

from __future__ import annotations

import pytest

from vntwin.catalog import counts, groups
from vntwin.catalog.auth import ANONYMOUS
from vntwin.catalog.users import authenticate, user_create


def _listed(cat, actor, organization=True) -> dict[str, int]:
    found = groups.group_list(cat, actor, organization=organization, all_fields=True)
    return {g["name"]: g["package_count"] for g in found}


@pytest.fixture
def calls(monkeypatch):
    """How many times the counting query ran."""
    seen: list[bool] = []
    real = counts.count_rows

    def counting(session, organization, only=None):
        seen.append(organization)
        return real(session, organization, only)

    monkeypatch.setattr(counts, "count_rows", counting)
    return seen


def test_counts_follow_every_change_and_each_visitor(cat, api, admin_token, org,
                                                     editor_token, calls):
    api.ok("organization_create", admin_token, name="so-khac", title="Sở khác")
    other_staff = authenticate(cat, user_create(cat, "can-bo-khac", org="so-khac",
                                                role="editor")[1], "")
    member = authenticate(cat, editor_token, "")
    api.ok("group_create", admin_token, name="moi-truong", title="Môi trường")
    for name, level in (("cong-khai", "public"), ("co-quan", "agencies"),
                        ("noi-bo", "restricted")):
        api.ok("package_create", editor_token, name=name, owner_org=org["name"],
               access_level=level, groups=[{"name": "moi-truong"}])
    org_name = org["name"]

    def seen() -> tuple[int, int, int]:
        return tuple(_listed(cat, a)[org_name] for a in (ANONYMOUS, other_staff, member))

    assert seen() == (1, 2, 3)  # public; + agencies for any agency's staff; + restricted
    assert _listed(cat, ANONYMOUS)["so-khac"] == 0
    assert _listed(cat, member, organization=False) == {"moi-truong": 3}
    assert _listed(cat, ANONYMOUS, organization=False) == {"moi-truong": 1}
    before = len(calls)
    assert seen() == (1, 2, 3) and len(calls) == before  # same revision: no new count
    # each change shows at once: visibility, deletion, owner, groups, creation
    api.ok("package_patch", editor_token, id="noi-bo", access_level="public")
    assert seen() == (2, 3, 3)
    api.ok("package_delete", editor_token, id="cong-khai")
    assert seen() == (1, 2, 2)
    api.ok("package_patch", admin_token, id="co-quan", owner_org="so-khac")
    assert seen() == (1, 1, 1) and _listed(cat, other_staff)["so-khac"] == 1
    api.ok("package_patch", editor_token, id="noi-bo", groups=[])
    assert _listed(cat, member, organization=False) == {"moi-truong": 1}
    api.ok("package_create", editor_token, name="moi", owner_org=org["name"])
    assert seen() == (2, 2, 2)
    # one organisation's page counts it directly, with the same rules
    shown = groups.group_show(cat, ANONYMOUS, org_name, organization=True)
    assert shown["package_count"] == 2
    assert groups.group_show(cat, other_staff, "so-khac", organization=True,
                             include_users=False)["package_count"] == 1
    assert groups.group_show(cat, ANONYMOUS, "so-khac", organization=True,
                             include_users=False)["package_count"] == 0


def test_the_organisation_list_page_shows_fresh_counts(client, api, editor_token, org):
    api.ok("package_create", editor_token, name="mot", owner_org=org["name"])
    assert "1 bộ dữ liệu" in client.get("/organization").text
    api.ok("package_create", editor_token, name="hai", owner_org=org["name"])
    assert "2 bộ dữ liệu" in client.get("/organization").text
    api.ok("package_patch", editor_token, id="hai", access_level="restricted")
    assert "1 bộ dữ liệu" in client.get("/organization").text
