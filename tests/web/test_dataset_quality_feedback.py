"""The dataset page shows the measured quality score and takes ratings from signed-in users."""

from __future__ import annotations

from web_helpers import PASSWORD, csrf_of, sign_in

from vntwin.catalog.users import user_create
from vntwin.demand.progress import period_for
from vntwin.quality import refresh


def test_quality_scores_on_the_dataset_page(client, census):
    assert refresh.wait_idle(120)  # the write hook measures the new dataset in the background
    html = client.get("/dataset/dan-so-2019").text
    assert "Chất lượng dữ liệu" in html and "Điểm chung:" in html
    for label in ("đúng", "đủ", "sạch", "sống", "thống nhất", "dùng chung"):
        assert f">{label}</th>" in html
    assert "/quality/dan-so-2019/report.csv" in html
    score = client.get("/quality/dan-so-2019").json()["overall"]
    english = client.get("/dataset/dan-so-2019?lang=en").text
    assert f"Overall score: {round(score, 1):g} / 100" in english.replace(",", "")


def test_rating_a_dataset(client, cat, census):
    page = client.get("/dataset/dan-so-2019").text
    assert "Chưa có đánh giá nào." in page and "Đăng nhập để đánh giá" in page
    token = csrf_of(client.get("/user/login").text)  # an anonymous session's token
    r = client.post("/dataset/dan-so-2019/feedback", data={"csrf_token": token, "rating": "4"},
                    follow_redirects=False)
    assert r.status_code == 303 and "/user/login" in r.headers["location"]  # sign in first

    user_create(cat, "nguoi-dan", password=PASSWORD)
    sign_in(client, "nguoi-dan")
    token = csrf_of(client.get("/dataset/dan-so-2019").text)
    r = client.post("/dataset/dan-so-2019/feedback", data={"rating": "4", "comment": "Hữu ích"})
    assert r.status_code == 403  # no CSRF token: refused, nothing stored
    assert client.get("/api/3/action/feedback_list?id=dan-so-2019").json()["result"]["count"] == 0

    r = client.post("/dataset/dan-so-2019/feedback",
                    data={"csrf_token": token, "rating": "9", "comment": "x"})
    assert "Chưa lưu được đánh giá của bạn" in r.text
    r = client.post("/dataset/dan-so-2019/feedback",
                    data={"csrf_token": token, "rating": "4", "comment": "Hữu ích <b>lắm</b>"})
    assert r.status_code == 200 and "Cảm ơn bạn" in r.text
    assert "Được 1 người đánh giá, trung bình 4 trên 5." in r.text
    assert "Hữu ích &lt;b&gt;lắm&lt;/b&gt;" in r.text  # escaped, never markup
    # a second rating by the same person replaces the first
    client.post("/dataset/dan-so-2019/feedback", data={"csrf_token": token, "rating": "2"})
    listed = client.get("/api/3/action/feedback_list?id=dan-so-2019").json()["result"]
    assert listed["count"] == 1 and listed["rating_mean"] == 2


def test_agency_programme_on_the_organisation_page(client, api, admin_token, census):
    html = client.get("/organization/so-khcn").text
    assert "Kế hoạch công bố dữ liệu" in html and "Chưa đặt chỉ tiêu cho năm nay." in html
    year = period_for().start.year  # this year in Vietnam
    api.ok("agency_target_set", admin_token, organization_id="so-khcn", year=year,
           datasets_to_publish=4, requests_to_answer=2)
    html = client.get("/organization/so-khcn?lang=en").text
    assert "Targets for the year" in html
    # the census dataset is this year's one publication: 1 of the 4 to publish
    assert ("<th scope=\"row\">datasets to publish</th><td>4</td><td>1</td><td>not yet</td>"
            in html), html[html.find("Targets for the year"):][:1200]
    assert "data requests to answer" in html and "mean quality score to reach" not in html


def test_quality_report_of_a_non_public_dataset_opens_for_its_readers_only(
        client, api, cat, census, editor, editor_token, admin_token):
    assert refresh.wait_idle(120)
    api.ok("package_patch", editor_token, id="dan-so-2019", access_level="restricted")
    own = {"html": "/dataset/dan-so-2019/quality/report.html",
           "csv": "/dataset/dan-so-2019/quality/report.csv",
           "json": "/dataset/dan-so-2019/quality.json"}
    sign_in(client, editor)
    page = client.get("/dataset/dan-so-2019").text
    assert all(f'href="{link}"' in page for link in own.values())
    assert 'href="/quality/dan-so-2019' not in page  # not the token-only API
    # the API refuses the same browser (no token header): why the page has its own routes
    assert client.get("/quality/dan-so-2019/report.html").status_code in (403, 404)
    expected = client.get("/quality/dan-so-2019", headers={"Authorization": editor_token})
    r = client.get(own["html"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "dan-so-2019" in r.text and "<script" not in r.text
    assert "script-src" not in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    r = client.get(own["csv"])
    assert r.status_code == 200 and r.text.startswith("\ufeffdimension,check,")
    assert r.headers["content-disposition"] == 'attachment; filename="dan-so-2019-quality.csv"'
    assert r.content == client.get("/quality/dan-so-2019/report.csv",
                                   headers={"Authorization": editor_token}).content
    r = client.get(own["json"])
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json()["overall"] == expected.json()["overall"] is not None
    assert r.json()["dataset"]["name"] == "dan-so-2019"
    assert client.get("/dataset/khong-co/quality/report.html").status_code == 404
    # another agency's user and an anonymous visitor: "not found", like a missing dataset
    api.ok("organization_create", admin_token, name="so-khac", title="Sở khác")
    user_create(cat, "nguoi-khac", org="so-khac", role="admin", password=PASSWORD)
    client.cookies.clear()
    sign_in(client, "nguoi-khac")
    for visitor in ("another agency", "anonymous"):
        for link in own.values():
            r = client.get(link)
            assert r.status_code == 404, (visitor, link)
            assert "<h1>Không tìm thấy trang</h1>" in r.text and "dimension" not in r.text
            assert r.headers["content-type"].startswith("text/html")
        client.cookies.clear()
    # a public dataset links the API's report, which works for anyone
    api.ok("package_patch", editor_token, id="dan-so-2019", access_level="public")
    page = client.get("/dataset/dan-so-2019").text
    for link in ("/quality/dan-so-2019/report.html", "/quality/dan-so-2019/report.csv",
                 "/quality/dan-so-2019"):
        assert f'href="{link}"' in page and client.get(link).status_code == 200
    assert own["html"] not in page
