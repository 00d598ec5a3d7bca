"""The life cycle of a data request through the CKAN-style API, with permissions."""

from __future__ import annotations

from typing import Any

import pytest

from vntwin.catalog.models import AuditLog


def _dataset(api: Any, token: str, org: dict[str, Any], name: str = "giao-thong") -> dict:
    return api.ok("package_create", token, name=name, title="Lưu lượng giao thông",
                  owner_org=org["name"], license_id="cc-by-4.0")


def test_life_cycle(api, cat, org, editor_token, citizen, neighbour, admin_token):
    req = api.ok("datarequest_create", citizen, title="Số liệu  lưu lượng xe theo giờ ",
                 description="Lưu lượng xe ở các nút giao chính, theo giờ",
                 purpose="Ứng dụng chỉ đường", organization_id=org["name"],
                 needed_by="2030-06-30")
    assert req["status"] == "open" and not req["closed"]
    assert req["title"] == "Số liệu  lưu lượng xe theo giờ"  # trimmed, stored NFC
    assert req["organization"]["name"] == "so-khcn" and req["user"]["name"] == "cong-dan"
    assert req["needed_by"] == "2030-06-30" and req["followers"] == 1 and req["following"]
    assert req["response"]["state"] == "pending" and req["response"]["deadline"]
    rid = req["id"]

    # others vote (once each) and comment; none of that is the agency's answer
    assert api.ok("datarequest_vote", neighbour, id=rid)["votes"] == 1
    assert api.ok("datarequest_vote", neighbour, id=rid)["votes"] == 1
    assert api.ok("datarequest_vote", citizen, id=rid)["votes"] == 2
    assert api.ok("datarequest_unvote", citizen, id=rid)["votes"] == 1
    c1 = api.ok("datarequest_comment", neighbour, datarequest_id=rid, comment="Tôi cũng cần")
    assert not c1["from_agency"]
    assert api.ok("datarequest_show", id=rid, method="GET")["response"]["state"] == "pending"

    # the agency's editor accepts it with a planned date: that is the response
    status, body = api.call("datarequest_update", editor_token, id=rid, status="accepted")
    assert status == 409 and "planned_date" in body["error"]
    acc = api.ok("datarequest_update", editor_token, id=rid, status="accepted",
                 planned_date="2030-03-31")
    assert acc["status"] == "accepted" and acc["approx_publishing_date"] == "2030-03-31"
    assert acc["response"]["state"] == "on_time" and acc["response"]["working_days"] == 0
    c2 = api.ok("datarequest_comment", editor_token, datarequest_id=rid,
                comment="Sở đang tổng hợp dữ liệu")
    assert c2["from_agency"]
    comments = api.ok("datarequest_comment_list", id=rid, method="GET")
    assert [c["comment"] for c in comments] == ["Tôi cũng cần", "Sở đang tổng hợp dữ liệu"]
    assert api.ok("datarequest_update", editor_token, id=rid,
                  status="in_progress")["status"] == "in_progress"

    # published, linked to the dataset that answers it
    pkg = _dataset(api, editor_token, org)
    status, body = api.call("datarequest_update", editor_token, id=rid, status="published")
    assert status == 409 and "dataset_id" in body["error"]
    done = api.ok("datarequest_close", editor_token, id=rid, accepted_dataset_id=pkg["name"])
    assert done["status"] == "published" and done["closed"] and done["close_time"]
    assert done["accepted_dataset_id"] == pkg["id"] and done["dataset"]["name"] == "giao-thong"
    # the author can no longer edit it; nobody but staff could triage it
    status, _ = api.call("datarequest_update", citizen, id=rid, title="Khác")
    assert status == 403

    found = api.ok("datarequest_list", method="GET", organization_id="so-khcn")
    assert found["count"] == 1 and found["result"][0]["id"] == rid
    assert found["facets"]["status"] == {"published": 1}
    with cat.read() as session:
        actions = [a.action for a in session.query(AuditLog).filter(
            AuditLog.object_id == rid).order_by(AuditLog.id)]
    assert actions[0] == "datarequest_create" and "datarequest_triage" in actions


def test_decline_needs_a_reason_and_only_the_agency_triages(
        api, org, editor_token, other_editor, citizen, neighbour):
    rid = api.ok("datarequest_create", citizen, title="Dữ liệu đất đai",
                 description="Bản đồ giá đất", organization_id=org["id"])["id"]
    for token in (citizen, neighbour, other_editor):
        status, body = api.call("datarequest_update", token, id=rid, status="in_progress")
        assert status == 403, body
    status, body = api.call("datarequest_close", other_editor, id=rid, close_reason="x")
    assert status == 403
    status, body = api.call("datarequest_close", editor_token, id=rid)
    assert status == 409 and "close_reason" in body["error"]
    declined = api.ok("datarequest_close", editor_token, id=rid,
                      close_reason="Dữ liệu thuộc Sở Tài nguyên và Môi trường")
    assert declined["status"] == "declined" and declined["close_circumstance"].startswith("Dữ")
    assert declined["response"]["state"] == "on_time"
    # a comment after closing is fine; the status stays
    api.ok("datarequest_comment", citizen, datarequest_id=rid, comment="Cảm ơn")
    assert api.ok("datarequest_show", id=rid)["status"] == "declined"


def test_author_edits_and_withdraws(api, org, editor_token, citizen, neighbour):
    rid = api.ok("datarequest_create", citizen, title="Trường học",
                 description="Danh sách trường")["id"]
    assert api.ok("datarequest_show", id=rid)["organization"] is None
    status, _ = api.call("datarequest_update", neighbour, id=rid, title="Của tôi")
    assert status == 403
    edited = api.ok("datarequest_update", citizen, id=rid, title="Trường học các cấp",
                    organization_id=org["name"])
    assert edited["title"] == "Trường học các cấp" and edited["organization_id"] == org["id"]
    status, _ = api.call("datarequest_close", neighbour, id=rid)
    assert status == 403
    gone = api.ok("datarequest_close", citizen, id=rid, close_reason="Đã tìm thấy")
    assert gone["status"] == "withdrawn" and gone["response"]["state"] == "none"
    status, body = api.call("datarequest_update", editor_token, id=rid, status="accepted",
                            planned_date="2030-01-01")
    assert status == 409 and "status" in body["error"]


def test_bad_input_is_refused_and_changes_nothing(api, org, citizen):
    status, body = api.call("datarequest_create", None, title="x", description="y")
    assert status == 403
    status, body = api.call("datarequest_create", citizen, title="", description="",
                            needed_by="30/06/2030", organization_id="khong-co")
    assert status == 409
    err = body["error"]
    assert {"title", "description", "needed_by", "organization_id"} <= set(err)
    assert api.ok("datarequest_list")["count"] == 0
    status, body = api.call("datarequest_show", id="khong-co")
    assert status == 404
    status, body = api.call("datarequest_list", status="dang-xu-ly")
    assert status == 409 and "status" in body["error"]


def test_list_filters_search_and_paging(api, org, citizen, neighbour, editor_token):
    ids = []
    for i, title in enumerate(("Dữ liệu dân số", "Chất lượng không khí", "Dân cư đô thị")):
        ids.append(api.ok("datarequest_create", citizen if i % 2 == 0 else neighbour,
                          title=title, description="Cần gấp",
                          organization_id=org["name"] if i < 2 else None)["id"])
    api.ok("datarequest_vote", neighbour, id=ids[1])
    assert [r["id"] for r in api.ok("datarequest_list", q="dan so")["result"]] == [ids[0]]
    assert api.ok("datarequest_list", sort="votes")["result"][0]["id"] == ids[1]
    page = api.ok("datarequest_list", limit=2, offset=2, sort="oldest")
    assert page["count"] == 3 and [r["id"] for r in page["result"]] == [ids[2]]
    assert api.ok("datarequest_list", user_id="hang-xom")["count"] == 1
    assert api.ok("datarequest_list", method="GET", closed="false")["count"] == 3
    assert api.ok("datarequest_list", response=["pending"])["count"] == 3
    api.ok("datarequest_update", editor_token, id=ids[0], status="in_progress")
    assert api.ok("datarequest_list", status=["in_progress"])["count"] == 1
    mine = api.ok("datarequest_list", neighbour)["result"]
    assert [r["voted"] for r in mine] == [False, True, False]


def test_delete_rules(api, org, citizen, neighbour, editor_token, admin_token):
    rid = api.ok("datarequest_create", citizen, title="A", description="B",
                 organization_id=org["name"])["id"]
    status, _ = api.call("datarequest_delete", neighbour, id=rid)
    assert status == 403
    api.ok("datarequest_comment", editor_token, datarequest_id=rid, comment="Đã nhận")
    status, _ = api.call("datarequest_delete", citizen, id=rid)
    assert status == 403  # answered: the record stays for the agency's statistics
    api.ok("datarequest_delete", admin_token, id=rid)
    assert api.call("datarequest_show", id=rid)[0] == 404


def test_withdraw_comment_delete_and_edit_rules(api, cat, org, editor_token, citizen,
                                                neighbour):
    from vntwin.catalog.users import authenticate
    from vntwin.demand import requests, social
    from vntwin.errors import NotAuthorized, NotFound, ValidationError

    rid = api.ok("datarequest_create", editor_token, title="Bến xe", description="Vị trí",
                 organization_id=org["name"])["id"]
    # the description may be changed, not emptied; a refused edit changes nothing
    status, body = api.call("datarequest_update", editor_token, id=rid, description=" ")
    assert status == 409 and "description" in body["error"]
    assert api.ok("datarequest_show", id=rid)["description"] == "Vị trí"
    # the author is the agency's editor too: withdraw() withdraws (close() would decline)
    editor = authenticate(cat, editor_token, "")
    with pytest.raises(NotAuthorized):
        requests.withdraw(cat, authenticate(cat, neighbour, ""), {"id": rid})
    assert requests.withdraw(cat, editor, {"id": rid, "close_reason": "Nhầm"})["status"] \
        == "withdrawn"
    with pytest.raises(ValidationError):
        requests.withdraw(cat, editor, {"id": rid})
    # a comment is deleted only under its own request's address
    other = api.ok("datarequest_create", citizen, title="Khác", description="x")["id"]
    cid = api.ok("datarequest_comment", neighbour, datarequest_id=rid, comment="Tôi")["id"]
    with pytest.raises(NotFound):
        social.comment_delete(cat, authenticate(cat, neighbour, ""), cid, other)
    social.comment_delete(cat, authenticate(cat, neighbour, ""), cid, rid)
    assert api.ok("datarequest_comment_list", id=rid) == []
    # "can delete" says what datarequest_delete allows: not once the agency answered
    assert api.ok("datarequest_show", citizen, id=other)["can"]["delete"] is True
    api.ok("datarequest_update", citizen, id=other, organization_id=org["name"])
    api.ok("datarequest_comment", editor_token, datarequest_id=other, comment="Đã nhận")
    assert api.ok("datarequest_show", citizen, id=other)["can"]["delete"] is False
    assert api.call("datarequest_delete", citizen, id=other)[0] == 403


def test_closed_requests_take_no_votes(api, org, editor_token, citizen, neighbour):
    withdrawn = api.ok("datarequest_create", citizen, title="Trạm quan trắc",
                       description="Vị trí", organization_id=org["name"])["id"]
    assert api.ok("datarequest_vote", neighbour, id=withdrawn)["votes"] == 1
    api.ok("datarequest_close", citizen, id=withdrawn, close_reason="Đã tìm thấy")
    status, body = api.call("datarequest_vote", citizen, id=withdrawn)
    assert status == 409
    assert body["error"]["status"] == ["The request is withdrawn: it takes no more votes"]
    shown = api.ok("datarequest_show", id=withdrawn)
    assert shown["votes"] == 1 and not shown["can"]["vote"]  # nothing changed
    # a vote already given may still be taken back
    assert api.ok("datarequest_show", neighbour, id=withdrawn)["can"]["vote"]
    assert api.ok("datarequest_unvote", neighbour, id=withdrawn)["votes"] == 0
    declined = api.ok("datarequest_create", citizen, title="Bến xe", description="x",
                      organization_id=org["name"])["id"]
    api.ok("datarequest_update", editor_token, id=declined, status="declined",
           close_reason="Không thuộc thẩm quyền")
    status, body = api.call("datarequest_vote", neighbour, id=declined)
    assert status == 409 and "declined" in body["error"]["status"][0]
    assert api.ok("datarequest_show", id=declined)["votes"] == 0
    # reopened, it takes votes again
    api.ok("datarequest_update", editor_token, id=declined, status="open")
    assert api.ok("datarequest_vote", neighbour, id=declined)["votes"] == 1
