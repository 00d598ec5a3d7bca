"""The dataset page shows the measured quality score and takes ratings from signed-in users."""

from __future__ import annotations

from web_helpers import PASSWORD, csrf_of, sign_in

from vntwin.catalog.users import user_create
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
