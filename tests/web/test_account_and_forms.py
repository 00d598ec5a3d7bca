"""Signing in, tokens, CSRF, and the editors' forms (field errors, uploads)."""

from __future__ import annotations

import hashlib

from web_helpers import CSV, csrf_of, sign_in


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_revokes(client, cat, editor):
    r = client.post("/user/login", data={"username": editor, "password": "sai mật khẩu",
                                         "csrf_token": csrf_of(client.get("/user/login").text)})
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    token = csrf_of(client.get("/user/login").text)
    r = client.post("/user/login", data={"username": editor, "password": "mật khẩu dài 2025",
                                         "csrf_token": token, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = client.get("/").text
    assert "Đăng xuất (can-bo)" in home and csrf_of(home) != token  # rotated on sign-in
    tokens = client.get("/user/api-tokens").text
    assert "trình duyệt này" in tokens
    r = client.post("/user/logout", data={"csrf_token": csrf_of(home)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Đăng nhập" in client.get("/").text
    from vntwin.catalog.models import ApiToken
    with cat.read() as session:
        rows = session.query(ApiToken).filter(ApiToken.name == "sign-in").all()
        assert rows and all(t.revoked_at is not None for t in rows)


def test_forged_posts_are_refused(client, editor, org):
    sign_in(client, editor)
    form = {"name": "gia-mao", "title": "Giả mạo", "owner_org": org["id"],
            "access_level": "public"}
    assert client.post("/dataset/new", data=form).status_code == 403
    assert client.post("/dataset/new", data={**form, "csrf_token": "sai"}).status_code == 403
    token = csrf_of(client.get("/dataset/new").text)
    r = client.post("/dataset/new", data={**form, "csrf_token": token},
                    headers={"origin": "https://evil.example"})
    assert r.status_code == 403 and "bị từ chối" in r.text
    assert client.get("/dataset/gia-mao").status_code == 404
    # the same form with the session's token goes through
    r = client.post("/dataset/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_api_token_page(client, api, editor):
    assert client.get("/user/api-tokens", follow_redirects=False).status_code == 303
    sign_in(client, editor)
    page = client.get("/user/api-tokens").text
    r = client.post("/user/api-tokens", data={"csrf_token": csrf_of(page), "name": "",
                                              "days": "0"})
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    assert "Nhập số ngày từ 1 đến 3650" in r.text
    r = client.post("/user/api-tokens", data={"csrf_token": csrf_of(page), "name": "máy chủ",
                                              "days": "30"})
    assert r.status_code == 200
    new = r.text.split('<code id="new-token">')[1].split("<")[0]
    assert api.ok("status_show", new)  # the token works on the API
    user = api.ok("user_show", new, method="GET", id=editor)
    assert user["name"] == editor
    ids = [part.split('"')[0] for part in r.text.split('name="token_id" value="')[1:]]
    from vntwin.web.tokens import token_id
    tid = token_id(new)
    assert tid in ids
    r = client.post("/user/api-tokens/revoke", data={"csrf_token": csrf_of(page),
                                                     "token_id": tid}, follow_redirects=False)
    assert r.status_code == 303
    status, _ = api.call("package_create", new, name="x", owner_org="so-khcn")
    assert status == 403  # revoked


def test_dataset_form_field_errors_then_create_and_edit(client, editor, org):
    assert client.get("/dataset/new", follow_redirects=False).status_code == 303  # sign in first
    sign_in(client, editor)
    form = client.get("/dataset/new").text
    assert "Sở Khoa học và Công nghệ" in form
    data = {"csrf_token": csrf_of(form), "name": "Tên Sai", "title": "Chất lượng không khí",
            "owner_org": org["id"], "access_level": "public", "author_email": "khong-phai-email",
            "temporal_start": "2025-12-31", "temporal_end": "2025-01-01"}
    r = client.post("/dataset/new", data=data)
    assert r.status_code == 400
    assert 'id="name-error"' in r.text and 'aria-invalid="true"' in r.text
    assert "Chỉ gồm chữ thường không dấu" in r.text  # the catalogue's message, translated
    assert 'id="author_email-error"' in r.text and 'id="temporal_end-error"' in r.text
    assert 'value="Chất lượng không khí"' in r.text  # what was typed is kept
    assert client.get("/dataset/ten-sai").status_code == 404
    data.update(name="khong-khi", author_email="", temporal_start="2025-01-01",
                temporal_end="2025-12-31", tag_string="không khí, môi trường", theme=["ENVI"])
    r = client.post("/dataset/new", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dataset/khong-khi/resource/new"
    page = client.get("/dataset/khong-khi").text
    assert "không khí" in page and "Môi trường" in page and "Sửa bộ dữ liệu" in page
    edit = client.get("/dataset/khong-khi/edit").text
    assert 'value="không khí, môi trường"' in edit
    data.update(csrf_token=csrf_of(edit), title="Chất lượng không khí 2025", title_en="Air")
    r = client.post("/dataset/khong-khi/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    assert "Chất lượng không khí 2025" in client.get("/dataset/khong-khi").text
    assert "Air" in client.get("/dataset/khong-khi?lang=en").text


def test_editors_only(client, census, cat):
    from vntwin.catalog.users import user_create

    user_create(cat, "nguoi-dan", password="mật khẩu dài 2025")
    sign_in(client, "nguoi-dan")
    assert "Sửa bộ dữ liệu" not in client.get("/dataset/dan-so-2019").text
    assert client.get("/dataset/dan-so-2019/edit").status_code == 403
    assert client.get("/dataset/dan-so-2019/resource/new").status_code == 403


def test_upload_with_and_without_script(client, cat, editor, census):
    sign_in(client, editor)
    form = client.get("/dataset/dan-so-2019/resource/new").text
    token = csrf_of(form)
    content = "ma,ten\n01,Hà Nội\n48,Đà Nẵng\n".encode()
    # the script's way: XHR with the token in a header, JSON back
    r = client.post("/dataset/dan-so-2019/resource/new",
                    data={"name": "Mã tỉnh"}, files={"upload": ("ma.csv", content, "text/csv")},
                    headers={"x-csrf-token": token, "accept": "application/json"})
    assert r.status_code == 200 and r.json() == {"redirect": "/dataset/dan-so-2019"}
    page = client.get("/dataset/dan-so-2019").text
    assert "Mã tỉnh" in page and "Đã thêm dữ liệu" in page
    assert cat.uploads.path_for(hashlib.sha256(content).hexdigest()).exists()
    # a plain form post: the token in the form
    r = client.post("/dataset/dan-so-2019/resource/new",
                    data={"csrf_token": token, "url": "https://www.gso.gov.vn/",
                          "name": "Trang Tổng cục Thống kê"}, files={"upload": ("", b"")},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Trang Tổng cục Thống kê" in client.get("/dataset/dan-so-2019").text


def test_failed_upload_leaves_nothing_and_says_why(client, cat, editor, census):
    sign_in(client, editor)
    token = csrf_of(client.get("/dataset/dan-so-2019/resource/new").text)
    before = sorted(p for p in cat.settings.uploads_dir.rglob("*") if p.is_file())
    content = b"tinh,dan_so\nAn Giang,1908352\n"
    # refused by the catalogue's validation (format longer than 40 characters)
    r = client.post("/dataset/dan-so-2019/resource/new",
                    data={"csrf_token": token, "format": "X" * 41},
                    files={"upload": ("an-giang.csv", content, "text/csv")})
    assert r.status_code == 400 and "Tối đa 40 ký tự" in r.text
    # too large
    cat.uploads.max_bytes = 10
    r = client.post("/dataset/dan-so-2019/resource/new",
                    files={"upload": ("an-giang.csv", content, "text/csv")},
                    headers={"x-csrf-token": token, "accept": "application/json"})
    assert r.status_code == 413 and "upload" in r.json()["errors"]
    # a forged upload (wrong token in the form) is refused and removed too
    cat.uploads.max_bytes = 10_000
    r = client.post("/dataset/dan-so-2019/resource/new", data={"csrf_token": "sai"},
                    files={"upload": ("an-giang.csv", content, "text/csv")})
    assert r.status_code == 403
    after = sorted(p for p in cat.settings.uploads_dir.rglob("*") if p.is_file())
    assert after == before
    assert "an-giang.csv" not in client.get("/dataset/dan-so-2019").text
    assert CSV  # the census file itself is still there
