"""Catalogue pages in-process: search, dataset, organisations, languages, access levels."""

from __future__ import annotations

from web_helpers import sign_in

from vntwin.catalog.users import user_create


def test_home_is_vietnamese_by_default_and_finds_without_diacritics(client, census):
    r = client.get("/", params={"q": "dan so"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text
    assert "Dân số các tỉnh năm 2019" in r.text and "Tìm dữ liệu mở" in r.text
    assert "/dataset/dan-so-2019" in r.text
    # facets are links that add a filter
    assert "organization=so-khcn" in r.text and "res_format=CSV" in r.text


def test_facet_filter_and_no_match(client, census):
    r = client.get("/", params={"res_format": "CSV"})
    assert "dan-so-2019" in r.text and 'aria-current="true"' in r.text
    r = client.get("/", params={"res_format": "PDF"})
    assert "dan-so-2019" not in r.text and "Không có bộ dữ liệu nào phù hợp" in r.text


def test_bad_query_is_a_message_not_an_error(client, census):
    r = client.get("/", params={"q": "title:(a OR"})
    assert r.status_code == 200 and 'role="alert"' in r.text


def test_paging(client, api, editor_token, org):
    for i in range(25):
        api.ok("package_create", editor_token, name=f"bo-{i:02d}", owner_org=org["name"],
               title=f"Bộ dữ liệu {i}")
    first = client.get("/").text
    assert 'rel="next"' in first and "/?page=2" in first
    second = client.get("/?page=2").text
    assert 'rel="prev"' in second and second.count('class="dataset-item"') == 5


def test_english_switch_sets_a_cookie(client, census):
    r = client.get("/dataset/dan-so-2019", params={"lang": "en"})
    assert '<html lang="en">' in r.text and "Population of provinces, 2019" in r.text
    assert "About this dataset" in r.text and "vntwin_lang=en" in r.headers["set-cookie"]
    again = client.get("/dataset/dan-so-2019")  # the cookie keeps English
    assert '<html lang="en">' in again.text
    back = client.get("/", params={"lang": "vi"})
    assert '<html lang="vi">' in back.text


def test_dataset_page(client, census):
    r = client.get("/dataset/dan-so-2019")
    text = r.text
    assert r.status_code == 200
    # metadata, access, licence, versions
    assert "Công khai" in text and "Creative Commons Attribution 4.0" in text
    assert "Dân số và xã hội" in text and "Phiên bản 2" in text
    # table preview from the datastore, with the real rows
    assert "<th scope=\"col\">tinh</th>" in text and "Đà Nẵng" in text and "8053663" in text
    # download link and snippets
    res = census["resource"]
    assert f"/resource/{res['id']}/download/dan-so.csv" in text
    assert "package_show?id=dan-so-2019" in text and "ckanapi.RemoteCKAN" in text
    assert f"datastore_search?resource_id={res['id']}" in text
    # times are shown in Vietnam time, not as raw UTC ISO strings
    assert census["metadata_created"] not in text


def test_security_headers_and_escaping(client, api, editor_token, org):
    api.ok("package_create", editor_token, name="xss", owner_org=org["name"],
           title='<script>alert("x")</script>', notes="<img src=x onerror=alert(1)>")
    r = client.get("/dataset/xss")
    assert "<script>alert" not in r.text and "&lt;script&gt;alert(" in r.text
    assert "<img src=x" not in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    search = client.get("/", params={"q": "<script>"})
    assert "<script>alert" not in search.text
    # no inline script anywhere: every <script> has a src
    for page in (r.text, search.text, client.get("/map").text):
        for tag in page.split("<script")[1:]:
            assert tag.lstrip().startswith("src="), tag[:80]


def test_access_levels_apply_on_pages(client, cat, api, editor_token, org, editor):
    api.ok("package_create", editor_token, name="noi-bo", owner_org=org["name"],
           title="Số liệu nội bộ", access_level="restricted")
    api.ok("package_create", editor_token, name="lien-co-quan", owner_org=org["name"],
           title="Số liệu liên cơ quan", access_level="agencies")
    assert client.get("/dataset/noi-bo").status_code == 404
    assert client.get("/dataset/lien-co-quan").status_code == 404
    home = client.get("/", params={"q": "so lieu"}).text
    assert "noi-bo" not in home and "lien-co-quan" not in home
    org_page = client.get(f"/organization/{org['name']}").text
    assert "noi-bo" not in org_page
    # staff of another agency see "agencies", not "restricted"
    api.ok("organization_create", user_create(cat, "admin2", sysadmin=True)[1], name="so-tn",
           title="Sở Tài nguyên")
    user_create(cat, "khac", org="so-tn", role="member", password="mật khẩu dài 2025")
    sign_in(client, "khac")
    assert client.get("/dataset/lien-co-quan").status_code == 200
    assert client.get("/dataset/noi-bo").status_code == 404
    home = client.get("/", params={"q": "so lieu"}).text
    assert "lien-co-quan" in home and "noi-bo" not in home


def test_organisation_pages(client, census, org):
    listing = client.get("/organization").text
    assert "Sở Khoa học và Công nghệ" in listing and f"/organization/{org['name']}" in listing
    page = client.get(f"/organization/{org['name']}").text
    assert "dan-so-2019" in page
    assert client.get("/organization/khong-co").status_code == 404


def test_error_pages_in_both_languages_and_api_errors_stay_json(client):
    r = client.get("/khong-co-trang-nay", headers={"accept": "text/html"})
    assert r.status_code == 404 and "Không tìm thấy trang" in r.text
    r = client.get("/khong-co-trang-nay?lang=en", headers={"accept": "text/html"})
    assert r.status_code == 404 and "Page not found" in r.text
    assert client.get("/dataset/khong-co").status_code == 404
    api = client.get("/ogc/collections/khong-co")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/")
    assert client.get("/api/landing").json()["links"]


def test_server_error_page(cat, monkeypatch):
    from fastapi.testclient import TestClient

    from vntwin.api.app import create_app
    from vntwin.web import routes_catalog

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(routes_catalog, "package_search", broken)
    with TestClient(create_app(cat.settings, cat), raise_server_exceptions=False) as c:
        r = c.get("/?lang=en", headers={"accept": "text/html"})
    assert r.status_code == 500 and "Something went wrong" in r.text and "boom" not in r.text


def test_non_public_file_downloads_for_signed_in_members_only(client, api, cat, census,
                                                              editor, editor_token,
                                                              admin_token):
    from urllib.parse import urlsplit

    from web_helpers import CSV

    res = census["resource"]
    api.ok("package_patch", editor_token, id="dan-so-2019", access_level="restricted")
    page_link = f"/dataset/dan-so-2019/resource/{res['id']}/file"
    sign_in(client, editor)
    text = client.get("/dataset/dan-so-2019").text
    assert f'href="{page_link}" download' in text  # not the token-only API link
    # the API's download link refuses the browser (no token header): why the page has one
    api_link = urlsplit(res["url"]).path
    assert "/download/" in api_link and client.get(api_link).status_code == 404
    r = client.get(page_link)
    assert r.status_code == 200 and r.content == CSV
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/dataset/dan-so-2019/resource/khong-co/file").status_code == 404
    # another agency's user and an anonymous visitor: "not found", like a missing file
    api.ok("organization_create", admin_token, name="so-khac", title="Sở khác")
    user_create(cat, "nguoi-khac", org="so-khac", role="admin", password="mật khẩu dài 2025")
    client.cookies.clear()
    sign_in(client, "nguoi-khac")
    for _visitor in ("another agency", "anonymous"):
        r = client.get(page_link)
        assert r.status_code == 404 and CSV not in r.content
        client.cookies.clear()
    # a public dataset keeps the canonical download link, for anyone
    api.ok("package_patch", editor_token, id="dan-so-2019", access_level="public")
    assert f'href="{page_link}"' not in client.get("/dataset/dan-so-2019").text
    assert client.get(page_link).content == CSV
