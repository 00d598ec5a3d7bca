"""The scenarios page: examples, checking a spec (errors at their lines), running one
through the plain form (results stored as datasets) and comparing stored results.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_helpers import PASSWORD, csrf_of, sign_in

from vntwin.catalog.users import SYSTEM, user_create
from vntwin.twin.build import fuse_catalog
from vntwin.twin.ingest_catalog import ingest_file

PLACES = Path(__file__).parents[1] / "ingest" / "fixtures" / "places_vn.geojson"
SPEC = """\
name: phong-kham
title: Phòng khám mới ở TP. Hồ Chí Minh
optimise:
  - id: moi
    type: maximal_covering
    facility_type: clinic
    k: 3
    radius_km: 5
    candidates:
      layer: dia-danh--places_vn
      where: {ma_tinh: "79"}
      id_column: geonameid
indicators:
  - {id: a, type: accessibility, facility_type: clinic, distance_km: 5}
"""
NOT_FOUND = "<h1>Không tìm thấy trang</h1>"


@pytest.fixture
def twin(cat, org):
    ingest_file(cat, SYSTEM, PLACES, dataset="dia-danh", org=org["name"], title="Địa danh")
    assert fuse_catalog(cat, res=7).failed == {}
    return cat


def test_page_renders_in_both_languages_with_examples(client):
    vi = client.get("/scenarios").text
    assert '<html lang="vi">' in vi and "Kịch bản quy hoạch" in vi
    assert "tram-y-te-3km.yaml" in vi and "đăng nhập để chạy" in vi
    en = client.get("/scenarios?lang=en&example=dan-so-tang-15.yaml").text
    assert '<html lang="en">' in en and "Planning scenarios" in en
    assert "name: dan-so-tang-15" in en  # the example fills the spec field


def test_spec_error_shows_its_line(client):
    token = csrf_of(client.get("/user/login").text)
    bad = SPEC.replace("k: 3", "k: ba")
    r = client.post("/scenarios", data={"csrf_token": token, "action": "check", "spec": bad})
    assert r.status_code == 400
    assert 'id="spec-error"' in r.text and 'aria-invalid="true"' in r.text
    errors = re.search(r'<ul class="field-errors" id="spec-error">(.*?)</ul>', r.text, re.S)
    assert errors and "Dòng 7, cột 8: optimise[0].k" in errors.group(1)
    # the same spec as an uploaded file
    r = client.post("/scenarios", data={"csrf_token": token, "action": "check", "spec": ""},
                    files={"spec_file": ("bad.yaml", bad.encode(), "application/yaml")})
    assert r.status_code == 400 and "Dòng 7, cột 8" in r.text
    r = client.post("/scenarios", data={"csrf_token": token, "action": "check", "spec": " "})
    assert r.status_code == 400 and "Hãy dán đặc tả" in r.text
    assert client.post("/scenarios", data={"action": "check", "spec": bad}).status_code == 403


def test_run_through_the_page_stores_and_compares(client, twin, editor, api, editor_token):
    token = csrf_of(client.get("/user/login").text)
    r = client.post("/scenarios", data={"csrf_token": token, "action": "run", "spec": SPEC},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    assert "Chưa có kết quả kịch bản nào được lưu." in client.get("/scenarios").text
    sign_in(client, editor)
    token = csrf_of(client.get("/scenarios").text)
    r = client.post("/scenarios", data={"csrf_token": token, "action": "check", "spec": SPEC})
    assert r.status_code == 200 and "Đặc tả hợp lệ" in r.text
    r = client.post("/scenarios", data={"csrf_token": token, "action": "run", "spec": SPEC},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/scenarios?datasets=") and location.endswith("#comparison")
    page = client.get(location).text
    dataset = re.search(r"datasets=([\w-]+)", location).group(1)
    assert "Đã chạy kịch bản" in page
    assert f'href="/dataset/{dataset}"' in page  # listed among the stored results
    comparison = page.split('id="comparison"', 1)[1]
    assert "phong-kham" in comparison and "Toàn quốc" in comparison
    # the links are the page's own (session cookie), not the token-only JSON API
    assert f"/scenarios/report.html?datasets={dataset}" in comparison
    assert f"/scenarios/difference/{dataset}.geojson" in comparison
    assert client.get(f"/scenarios/difference/{dataset}.geojson").status_code == 200
    # the page's script route: start a background run and poll it to the end
    r = client.post("/scenarios", data={"csrf_token": token, "action": "run", "spec": SPEC},
                    headers={"Accept": "application/json"})
    assert r.status_code == 202, r.text
    view = _poll(client, r.json()["progress"])
    assert view["status"] == "done" and view["page"].startswith("/scenarios?datasets=")
    client.cookies.clear()  # another visitor may not follow someone else's run
    assert client.get(r.json()["progress"]).status_code == 404
    # a result restricted to its organisation is neither listed nor compared for others
    api.ok("package_patch", editor_token, id=dataset, access_level="restricted")
    page = client.get(location).text
    assert f'href="/dataset/{dataset}"' not in page
    comparison = page.split('id="comparison"', 1)[1]
    assert "không có quyền xem" in comparison and "phong-kham" not in comparison


def test_private_result_links_work_for_the_owner_only(client, cat, twin, editor, api,
                                                    admin_token, editor_token):
    sign_in(client, editor)
    token = csrf_of(client.get("/scenarios").text)
    r = client.post("/scenarios", data={"csrf_token": token, "action": "run", "spec": SPEC},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    dataset = re.search(r"datasets=([\w-]+)", r.headers["location"]).group(1)
    api.ok("package_patch", editor_token, id=dataset, access_level="restricted")
    report = f"/scenarios/report.html?datasets={dataset}"
    layer = f"/scenarios/difference/{dataset}.geojson"
    comparison = client.get(r.headers["location"]).text.split('id="comparison"', 1)[1]
    assert report in comparison and layer in comparison
    # the JSON API refuses the same browser (no token header): why the page has its own
    assert client.get(f"/scenarios/report?datasets={dataset}").status_code == 404
    # the owner, signed in, gets both
    r = client.get(report)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Báo cáo kịch bản" in r.text and "<script" not in r.text
    assert "script-src" not in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    r = client.get(layer)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] > 0
    # the same answer as the API gives the owner's token
    assert body == client.get(f"/scenarios/results/{dataset}/difference.geojson",
                              headers={"Authorization": editor_token}).json()
    # the dataset page links its difference.geojson resource to the same route, not to
    # the resource's stored URL (the token-only API)
    dataset_page = client.get(f"/dataset/{dataset}").text
    assert f'href="{layer}"' in dataset_page and "/scenarios/results/" not in dataset_page
    missing = client.get("/scenarios/difference/khong-co.geojson")
    assert missing.status_code == 404 and NOT_FOUND in missing.text
    assert client.get("/scenarios/report.html").status_code == 400
    # another organisation's user and an anonymous visitor: "not found", like a missing one
    api.ok("organization_create", admin_token, name="so-khac", title="Sở khác")
    user_create(cat, "nguoi-khac", org="so-khac", role="admin", password=PASSWORD)
    client.cookies.clear()
    sign_in(client, "nguoi-khac")
    for visitor in ("another user", "anonymous"):
        for url in (report, layer):
            r = client.get(url)
            assert r.status_code == 404, (visitor, url)
            assert r.text.count("<h1>") == 1 and NOT_FOUND in r.text
            assert "Báo cáo kịch bản" not in r.text and "FeatureCollection" not in r.text
        client.cookies.clear()
    # made public: the page keeps the resource's API link, which works for anyone
    api.ok("package_patch", editor_token, id=dataset, access_level="public")
    api_layer = f"/scenarios/results/{dataset}/difference.geojson"
    dataset_page = client.get(f"/dataset/{dataset}").text
    assert f'{api_layer}" rel=' in dataset_page and f'href="{layer}"' not in dataset_page
    assert client.get(api_layer).status_code == 200


def _poll(client, url: str) -> dict:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        view = client.get(url).json()
        if view["status"] in ("done", "failed"):
            return view
        time.sleep(0.2)
    raise AssertionError("the run did not finish")
