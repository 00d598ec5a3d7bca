"""Data-request pages: list and filters, asking (field errors, CSRF), comments, votes and
the agency's triage through the forms, and who may do what.
"""

from __future__ import annotations

import re

from web_helpers import PASSWORD, csrf_of, sign_in

from vntwin.catalog.users import user_create
from vntwin.demand import requests, social

TITLE = "Điểm dừng xe buýt Đà Nẵng"


def _new_request(client, org) -> str:
    page = client.get("/requests/new")
    assert page.status_code == 200
    r = client.post("/requests/new", data={
        "csrf_token": csrf_of(page.text), "title": TITLE,
        "description": "Vị trí các điểm dừng và tuyến đi qua, dạng GeoJSON.",
        "purpose": "Ứng dụng tra cứu xe buýt", "organization_id": org["name"],
        "needed_by": "2027-06-30"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/requests/([\w-]+)", r.headers["location"])
    assert match, r.headers["location"]
    return match.group(1)


def test_request_life_cycle_through_the_pages(client, cat, org, editor, census):
    user_create(cat, "nguoi-dan", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    rid = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    assert TITLE in page and "Hạn trả lời" in page and "đang chờ trả lời" in page
    # comment and vote
    r = client.post(f"/requests/{rid}/comment", data={"csrf_token": csrf_of(page),
                                                      "comment": "Cần cả giờ chạy."},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/requests/{rid}/vote", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/requests/{rid}").text
    assert "Cần cả giờ chạy." in page and "1 người cần dữ liệu này." in page
    assert "Rút bình chọn của tôi" in page
    # the requester is not the agency: no triage form, and a forged triage is refused
    assert "Trả lời với tư cách cơ quan" not in page
    r = client.post(f"/requests/{rid}/triage", data={"csrf_token": csrf_of(page),
                                                     "status": "declined",
                                                     "close_reason": "không"})
    assert r.status_code == 403
    assert requests.show(cat, _anyone(), rid)["status"] == "open"

    # the agency's editor accepts it (a missing planned date is a field error), then
    # publishes the dataset that answers it
    client.cookies.clear()
    sign_in(client, editor)
    page = client.get(f"/requests/{rid}").text
    assert "Trả lời với tư cách cơ quan" in page
    r = client.post(f"/requests/{rid}/triage", data={"csrf_token": csrf_of(page),
                                                     "status": "accepted"})
    assert r.status_code == 400 and 'id="planned_date-error"' in r.text
    assert "Chấp nhận yêu cầu cần có ngày dự kiến công bố" in r.text
    r = client.post(f"/requests/{rid}/triage", data={
        "csrf_token": csrf_of(page), "status": "accepted", "planned_date": "2027-03-01"},
        follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/requests/{rid}").text
    assert "đã chấp nhận" in page and "2027-03-01" in page
    assert "trả lời đúng hạn" in page  # answered on the day it was asked
    r = client.post(f"/requests/{rid}/triage", data={
        "csrf_token": csrf_of(page), "status": "published", "dataset_id": "dan-so-2019"},
        follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/requests/{rid}?lang=en").text
    assert "published" in page and 'href="/dataset/dan-so-2019"' in page
    assert "answered on time" in page
    listed = client.get("/requests", params={"status": "published", "lang": "vi",
                                             "organization": org["name"]}).text
    assert TITLE in listed and "1 yêu cầu" in listed
    assert TITLE not in client.get("/requests", params={"status": "open"}).text


def _anyone():
    from vntwin.catalog.auth import ANONYMOUS

    return ANONYMOUS


def test_field_errors_and_csrf(client, cat, org):
    user_create(cat, "nguoi-dan", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    page = client.get("/requests/new").text
    r = client.post("/requests/new", data={"csrf_token": csrf_of(page), "title": "",
                                           "description": "", "needed_by": "mai"})
    assert r.status_code == 400
    assert 'id="title-error"' in r.text and 'id="description-error"' in r.text
    assert 'id="needed_by-error"' in r.text and "Chưa nhập" in r.text
    assert 'aria-invalid="true"' in r.text
    form = {"title": TITLE, "description": "Cần dữ liệu."}
    assert client.post("/requests/new", data=form).status_code == 403
    assert client.post("/requests/new", data={**form, "csrf_token": "sai"}).status_code == 403
    assert client.get("/requests").text.count(TITLE) == 0


def test_anonymous_cannot_ask_comment_or_triage(client, cat, org, api):
    r = client.get("/requests/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    token = csrf_of(client.get("/user/login").text)  # the anonymous session's token
    r = client.post("/requests/new", data={"csrf_token": token, "title": TITLE,
                                           "description": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    assert client.get("/requests").text.count(TITLE) == 0
    asker = user_create(cat, "nguoi-hoi")[1]
    rid = api.ok("datarequest_create", asker, title=TITLE, description="x",
                 organization_id=org["name"])["id"]
    page = client.get(f"/requests/{rid}").text
    assert "Đăng nhập để bình chọn hoặc bình luận" in page
    assert "Trả lời với tư cách cơ quan" not in page
    for action, data in (("triage", {"status": "declined", "close_reason": "không"}),
                         ("comment", {"comment": "xin chào"}), ("vote", {})):
        r = client.post(f"/requests/{rid}/{action}", data={"csrf_token": token, **data},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    shown = requests.show(cat, _anyone(), rid)
    assert shown["status"] == "open" and shown["votes"] == 0 and shown["comments_count"] == 0
    assert client.get("/requests/khong-co").status_code == 404


def test_list_renders_in_both_languages(client):
    vi = client.get("/requests").text
    assert '<html lang="vi">' in vi and "Yêu cầu dữ liệu" in vi
    en = client.get("/requests?lang=en").text
    assert '<html lang="en">' in en and "Data requests" in en and "Any status" in en


def _comment_ids(html: str, rid: str) -> list[str]:
    return re.findall(rf'action="/requests/{rid}/comments/([\w-]+)/delete"', html)


def _post(client, url: str, page: str | None, **data):
    if page is not None:
        data["csrf_token"] = csrf_of(page)
    return client.post(url, data=data, follow_redirects=False)


def test_author_edits_and_withdraws_through_the_pages(client, cat, org, editor):
    user_create(cat, "nguoi-dan", password=PASSWORD)
    user_create(cat, "hang-xom", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    rid = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    assert f'href="/requests/{rid}/edit"' in page and "Rút yêu cầu" in page
    form = client.get(f"/requests/{rid}/edit")
    assert form.status_code == 200 and f'value="{TITLE}"' in form.text
    assert 'value="2027-06-30"' in form.text and 'name="organization_id"' not in form.text
    # bad input: field errors, nothing changed
    r = _post(client, f"/requests/{rid}/edit", form.text, title="", description="",
              needed_by="mai")
    assert r.status_code == 400
    for field in ("title", "description", "needed_by"):
        assert f'id="{field}-error"' in r.text
    assert "Chưa nhập" in r.text and 'aria-invalid="true"' in r.text
    assert 'href="#title"' in r.text  # the one error summary links to the fields
    # no CSRF token, or a wrong one: refused, nothing changed
    assert _post(client, f"/requests/{rid}/edit", None, title="Khác",
                 description="x").status_code == 403
    assert client.post(f"/requests/{rid}/edit", data={"csrf_token": "sai", "title": "Khác",
                                                      "description": "x"}).status_code == 403
    assert requests.show(cat, _anyone(), rid)["title"] == TITLE
    r = _post(client, f"/requests/{rid}/edit", form.text, title="Tuyến và điểm dừng xe buýt",
              description="Cả giờ chạy.", purpose="", needed_by="")
    assert r.status_code == 303 and r.headers["location"] == f"/requests/{rid}"
    shown = requests.show(cat, _anyone(), rid)
    assert (shown["title"], shown["description"], shown["purpose"], shown["needed_by"]) == \
        ("Tuyến và điểm dừng xe buýt", "Cả giờ chạy.", "", None)
    assert "Yêu cầu của bạn đã được sửa." in client.get(f"/requests/{rid}").text

    # someone else: no edit link, no withdraw form, and forged posts are refused
    client.cookies.clear()
    sign_in(client, "hang-xom")
    page = client.get(f"/requests/{rid}").text
    assert f"/requests/{rid}/edit" not in page and "withdraw_reason" not in page
    assert client.get(f"/requests/{rid}/edit").status_code == 403
    assert _post(client, f"/requests/{rid}/edit", page, title="Của tôi",
                 description="x").status_code == 403
    assert _post(client, f"/requests/{rid}/withdraw", page).status_code == 403
    # the agency's editor triages but does not edit the author's words
    client.cookies.clear()
    sign_in(client, editor)
    page = client.get(f"/requests/{rid}").text
    assert _post(client, f"/requests/{rid}/edit", page, title="Của cơ quan",
                 description="x").status_code == 403
    assert requests.show(cat, _anyone(), rid)["title"] == "Tuyến và điểm dừng xe buýt"
    assert client.get("/requests/khong-co/edit").status_code == 404

    # the author withdraws it (CSRF checked), with a reason everybody sees
    client.cookies.clear()
    sign_in(client, "nguoi-dan")
    page = client.get(f"/requests/{rid}").text
    assert _post(client, f"/requests/{rid}/withdraw", None).status_code == 403
    r = _post(client, f"/requests/{rid}/withdraw", page, withdraw_reason="x" * 10_001)
    assert r.status_code == 400 and 'id="withdraw_reason-error"' in r.text
    assert requests.show(cat, _anyone(), rid)["status"] == "open"
    r = _post(client, f"/requests/{rid}/withdraw", page,
              withdraw_reason="Đã có trên cổng của thành phố.")
    assert r.status_code == 303
    page = client.get(f"/requests/{rid}").text
    assert "Bạn đã rút yêu cầu." in page and "đã rút" in page
    assert "Người gửi đã rút yêu cầu" in page and "Đã có trên cổng của thành phố." in page
    assert f"/requests/{rid}/edit" not in page and "withdraw_reason" not in page
    assert client.get(f"/requests/{rid}/edit").status_code == 403
    r = _post(client, f"/requests/{rid}/withdraw", page)
    assert r.status_code == 303  # already closed: said on the page, nothing changes
    assert "Yêu cầu này đã được đóng." in client.get(f"/requests/{rid}").text
    closed = requests.show(cat, _anyone(), rid)
    assert closed["status"] == "withdrawn" and closed["response"]["state"] == "none"
    en = client.get(f"/requests/{rid}?lang=en").text
    assert "withdrawn" in en and "Withdrawn by its author" in en


def test_author_who_is_staff_withdraws_not_declines(client, cat, org, editor):
    sign_in(client, editor)
    rid = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    assert "Trả lời với tư cách cơ quan" in page and "Rút yêu cầu" in page
    assert _post(client, f"/requests/{rid}/withdraw", page).status_code == 303
    assert requests.show(cat, _anyone(), rid)["status"] == "withdrawn"


def test_comment_delete_through_the_pages(client, cat, org, editor):
    user_create(cat, "nguoi-dan", password=PASSWORD)
    user_create(cat, "hang-xom", password=PASSWORD)
    user_create(cat, "quan-tri", sysadmin=True, password=PASSWORD)
    sign_in(client, "nguoi-dan")
    rid = _new_request(client, org)
    other = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    assert _post(client, f"/requests/{rid}/comment", page, comment="Của người hỏi").is_redirect
    client.cookies.clear()
    sign_in(client, "hang-xom")
    page = client.get(f"/requests/{rid}").text
    assert _post(client, f"/requests/{rid}/comment", page, comment="Của hàng xóm").is_redirect
    page = client.get(f"/requests/{rid}").text
    mine = _comment_ids(page, rid)
    assert len(mine) == 1  # only their own comment has a delete button
    all_ids = [c["id"] for c in social.comment_list(cat, _anyone(), rid)]
    theirs = next(c for c in all_ids if c not in mine)
    # someone else's comment: refused; a comment under another request's address: 404
    assert _post(client, f"/requests/{rid}/comments/{theirs}/delete", page).status_code == 403
    assert _post(client, f"/requests/{other}/comments/{mine[0]}/delete",
                 page).status_code == 404
    assert _post(client, f"/requests/{rid}/comments/{mine[0]}/delete",
                 None).status_code == 403  # no CSRF token
    assert len(social.comment_list(cat, _anyone(), rid)) == 2
    r = _post(client, f"/requests/{rid}/comments/{mine[0]}/delete", page)
    assert r.status_code == 303 and r.headers["location"] == f"/requests/{rid}#comments"
    page = client.get(f"/requests/{rid}").text
    assert "Bình luận đã được xóa." in page and "Của hàng xóm" not in page
    # the agency's editor may not delete the author's comment; a sysadmin may
    client.cookies.clear()
    sign_in(client, editor)
    page = client.get(f"/requests/{rid}").text
    assert _comment_ids(page, rid) == []
    assert _post(client, f"/requests/{rid}/comments/{theirs}/delete", page).status_code == 403
    client.cookies.clear()
    sign_in(client, "quan-tri")
    page = client.get(f"/requests/{rid}").text
    assert _comment_ids(page, rid) == [theirs]
    assert _post(client, f"/requests/{rid}/comments/{theirs}/delete", page).status_code == 303
    assert social.comment_list(cat, _anyone(), rid) == []
    assert _post(client, f"/requests/{rid}/comments/{theirs}/delete", page).status_code == 404


def test_closed_request_refuses_votes_and_names_its_status_translated(client, cat, org,
                                                                      editor):
    from vntwin.demand.models import REQUEST_STATUSES, status_name
    from vntwin.web.messages import REQUEST_STATUS_LABELS

    # the domain's status words are the catalogue's msgids, so they get translated
    assert {s: str(status_name(s)) for s in REQUEST_STATUSES} == REQUEST_STATUS_LABELS
    user_create(cat, "nguoi-dan", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    rid = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    assert _post(client, f"/requests/{rid}/withdraw", page).status_code == 303
    page = client.get(f"/requests/{rid}").text
    assert "Yêu cầu này đã đóng nên không nhận thêm bình chọn." in page
    assert f'action="/requests/{rid}/vote"' not in page
    r = client.post(f"/requests/{rid}/vote", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 400
    assert ('<p class="error" role="alert" id="vote-error">Yêu cầu ở trạng thái “đã rút” '
            "nên không nhận thêm bình chọn</p>") in r.text
    assert requests.show(cat, _anyone(), rid)["votes"] == 0  # nothing changed

    # the agency declines another one; moving it on without reopening is refused, and
    # the message names the status in the page's language, not its code
    client.cookies.clear()
    sign_in(client, editor)
    rid = _new_request(client, org)
    page = client.get(f"/requests/{rid}").text
    r = client.post(f"/requests/{rid}/triage", data={
        "csrf_token": csrf_of(page), "status": "declined", "close_reason": "Không có"},
        follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/requests/{rid}/triage", data={
        "csrf_token": csrf_of(page), "status": "accepted", "planned_date": "2030-01-01"})
    assert r.status_code == 400
    assert "Yêu cầu đang ở trạng thái “từ chối”; hãy mở lại yêu cầu trước" in r.text
    assert "The request is declined" not in r.text
    assert requests.show(cat, _anyone(), rid)["status"] == "declined"
