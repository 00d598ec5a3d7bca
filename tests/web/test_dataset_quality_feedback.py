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
