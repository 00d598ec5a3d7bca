"""Domain errors that carry values are shown in the page's language, with their values,
while the APIs keep answering them in English.
"""

from __future__ import annotations

import re

from web_helpers import PASSWORD, csrf_of, sign_in

from vntwin.catalog.users import user_create


def _errors(html: str, field: str) -> str:
    match = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert match, f"no errors for {field}"
    return match.group(1)


def test_request_form_errors_with_values_are_translated(client, cat, org, api):
    user_create(cat, "nguoi-dan", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    form = {"csrf_token": csrf_of(client.get("/requests/new").text), "title": "x" * 201,
            "description": "Cần dữ liệu.", "needed_by": "mai", "organization_id": "khong-co"}
    r = client.post("/requests/new", data=form)
    assert r.status_code == 400
    assert "Tối đa 200 ký tự" in _errors(r.text, "title")
    assert "Không phải ngày theo ISO 8601 (YYYY-MM-DD): &#39;mai&#39;" in \
        _errors(r.text, "needed_by")
    assert "Không có tổ chức &#39;khong-co&#39;" in _errors(r.text, "organization_id")
    r = client.post("/requests/new?lang=en", data=form)
    assert "Must be at most 200 characters" in _errors(r.text, "title")
    # the API: the same refusals, in English, as before
    token = user_create(cat, "nguoi-goi-api")[1]
    status, body = api.call("datarequest_create", token, title="x" * 201, description="y",
                            needed_by="mai", organization_id="khong-co")
    assert status == 409
    assert body["error"]["title"] == ["Must be at most 200 characters"]
    assert body["error"]["needed_by"] == ["Not an ISO 8601 date: 'mai'"]
    assert body["error"]["organization_id"] == ["Organization 'khong-co' does not exist"]


def test_dataset_form_errors_with_values_are_translated(client, editor, org):
    sign_in(client, editor)
    page = client.get("/dataset/new").text
    r = client.post("/dataset/new", data={
        "csrf_token": csrf_of(page), "name": "du-lieu-moi", "title": "Dữ liệu mới",
        "owner_org": org["name"], "license_id": "khong-ro", "author_email": "khong-phai-email",
        "temporal_start": "2025-13-01"})
    assert r.status_code == 400, r.text[:500]
    assert "Không có giấy phép &#39;khong-ro&#39;" in _errors(r.text, "license_id")
    assert "Địa chỉ email không hợp lệ: &#39;khong-phai-email&#39;" in \
        _errors(r.text, "author_email")
    assert "Không phải ngày theo ISO 8601" in _errors(r.text, "temporal_start")
