"""The portal in a real headless Chromium: find, preview and download data, explore the
map, switch language, sign in and upload, and the XSS / CSRF / accessibility checks.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from conftest import CENSUS, PASSWORD, XSS_TITLE, axe_check, screenshot


def _ok(page, name: str) -> None:
    """Every page: no serious accessibility problem, no CSP or script error, screenshots."""
    problems = axe_check(page)
    assert problems == [], problems
    assert page.problems == [], page.problems
    screenshot(page, name)


def test_search_dataset_preview_download(site, page):
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    _ok(page, "home")
    page.get_by_label("Tìm bộ dữ liệu").fill("dan so")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=dan+so")
    result = page.get_by_role("link", name="Dân số Hà Nội và Đà Nẵng (Tổng điều tra 2019)")
    assert result.is_visible()
    _ok(page, "search")
    result.click()
    page.wait_for_url("**/dataset/dan-so-2019")
    table = page.locator("section.preview table")
    assert table.locator("th").all_inner_texts() == ["_id", "tinh", "ma_tinh", "dan_so_2019"]
    assert "8053663" in table.inner_text() and "Đà Nẵng" in table.inner_text()
    _ok(page, "dataset")
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải về Dân số 2019 (CSV)").click()
    download = info.value
    assert Path(download.path()).read_text(encoding="utf-8") == CENSUS
    # the copy button puts the snippet on the clipboard (a secure context: 127.0.0.1)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("button.copy").first.click()
    assert "package_show?id=dan-so-2019" in page.evaluate("navigator.clipboard.readText()")


def test_language_switch_and_organisations(site, page):
    page.goto(site + "/organization")
    _ok(page, "organizations")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Organisations", level=1).is_visible()
    page.get_by_role("link", name="Reference data (from open-source packages)").click()
    _ok(page, "organization")
    page.goto(site + "/dataset/dan-so-2019")  # the choice is remembered
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Population of Hà Nội and Đà Nẵng (2019 census)"
    page.get_by_role("link", name="Tiếng Việt").click()
    assert page.locator("html").get_attribute("lang") == "vi"
    page.goto(site + "/khong-co-trang-nay")
    assert page.get_by_role("heading", name="Không tìm thấy trang").is_visible()
    _ok(page, "not-found")


def test_xss_title_shows_as_text(site, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site + "/dataset/thu-xss")
    assert page.get_by_role("heading", level=1).inner_text() == XSS_TITLE
    page.goto(site + "/?q=xss")
    assert page.get_by_role("link", name=XSS_TITLE).is_visible()
    assert dialogs == [] and page.locator("img[src=x]").count() == 0


def _sign_in(page, site: str) -> None:
    page.goto(site + "/user/login")
    _ok(page, "sign-in")
    page.get_by_label("Tên đăng nhập").fill("bien-tap-vien")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(site + "/")
    assert page.get_by_role("button", name="Đăng xuất (bien-tap-vien)").is_visible()


def test_editor_creates_dataset_and_uploads_with_progress(site, page, tmp_path):
    _sign_in(page, site)
    page.get_by_role("link", name="Thêm bộ dữ liệu").first.click()
    _ok(page, "dataset-form")
    page.get_by_label("Tiêu đề (tiếng Việt)").fill("Dân số Đà Nẵng 2019")
    page.get_by_label("Tên trong địa chỉ").fill("Sai Tên")
    page.get_by_role("button", name="Tạo bộ dữ liệu").click()
    assert page.locator("#name-error").is_visible()  # field-level error, focusable summary
    assert page.get_by_label("Tên trong địa chỉ").get_attribute("aria-invalid") == "true"
    _ok(page, "dataset-form-errors")
    page.get_by_label("Tên trong địa chỉ").fill("dan-so-da-nang-2019")
    page.get_by_role("button", name="Tạo bộ dữ liệu").click()
    page.wait_for_url("**/dataset/dan-so-da-nang-2019/resource/new")
    _ok(page, "resource-form")
    csv = tmp_path / "da-nang.csv"
    csv.write_text("tinh,dan_so_2019\nĐà Nẵng,1134310\n", encoding="utf-8")
    page.get_by_label("Tệp").set_input_files(str(csv))
    page.get_by_role("button", name="Thêm", exact=True).click()
    page.wait_for_url("**/dataset/dan-so-da-nang-2019")
    assert page.get_by_text("Đã thêm dữ liệu.").is_visible()
    assert "1134310" in page.locator("section.preview table").inner_text()
    page.goto(site + "/user/api-tokens")
    _ok(page, "api-tokens")


def test_forged_cross_site_post_is_refused(site, page):
    _sign_in(page, site)
    attacker = "http://attacker.test/"
    page.route(attacker, lambda route: route.fulfill(content_type="text/html; charset=utf-8", body=(
        f'<form method="post" action="{site}/dataset/new">'
        '<input name="name" value="gia-mao"><input name="title" value="Giả mạo">'
        '<input name="owner_org" value="kiem-thu-trinh-duyet">'
        '<button>Gửi</button></form>')))
    page.goto(attacker)
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Không được phép").is_visible()
    try:
        urllib.request.urlopen(f"{site}/api/3/action/package_show?id=gia-mao")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    else:
        raise AssertionError("the forged dataset was created")


def test_map_layer_click_and_drill_down(site, page):
    page.goto(site + "/map")
    page.wait_for_selector("#map[data-ready]", state="attached", timeout=30_000)
    page.wait_for_selector("#layer-list li")
    _ok(page, "map")
    page.get_by_label("Tìm lớp dữ liệu").fill("xa 2025 count")
    assert page.locator("#layer-list label").all_inner_texts()[0].startswith(
        "don-vi-hanh-chinh-cap-xa-2025--xa-2025 · count")
    page.locator("#layer-list input[type=checkbox]").first.check()
    assert page.locator("#active-list .legend li").count() >= 1
    # drill down by keyboard-usable lists: province, then the commune
    page.get_by_label("Tỉnh, thành phố").select_option("01")
    page.wait_for_selector("#commune-select:not([disabled])")
    page.wait_for_selector("#info table")  # the province's totals
    page.get_by_label("Xã, phường").select_option("00004")  # Phường Ba Đình
    page.wait_for_selector("#info h3:has-text('00004')")
    page.evaluate("new Promise(r => window.vntwinMap.loaded() ? r() : "
                  "window.vntwinMap.once('idle', r))")
    # click the cell holding Ba Đình's official centroid: all its values are shown
    x, y = page.evaluate("(() => { const p = window.vntwinMap.project([105.838, 21.0386]);"
                         " return [p.x, p.y]; })()")
    page.locator("#map canvas").click(position={"x": x, "y": y})
    page.wait_for_selector("#info h3:has-text('H3')")  # the page's CSP forbids eval
    info = page.locator("#info").inner_text()
    assert "don-vi-hanh-chinh-cap-xa-2025--xa-2025" in info and "count" in info
    _ok(page, "map-drilled")


def test_scenario_runs_and_is_compared(site, page):
    _sign_in(page, site)
    page.get_by_role("link", name="Kịch bản", exact=True).click()
    page.get_by_label("Đặc tả mẫu").select_option("dan-so-tang-15.yaml")
    page.get_by_role("button", name="Xem mẫu").click()
    assert "name: dan-so-tang-15" in page.get_by_label("Đặc tả (YAML hoặc JSON)").input_value()
    _ok(page, "scenarios")
    page.get_by_role("button", name="Chạy", exact=True).click()
    # the script runs it in the background and shows progress (the first poll is a second
    # away), then opens the comparison of what it stored
    assert page.locator("form.scenario-form").get_attribute("aria-busy") == "true"
    assert page.locator("#run-status").inner_text() == "Đang chạy kịch bản…"
    page.wait_for_url("**/scenarios?datasets=*", timeout=300_000)
    comparison = page.locator("#comparison")
    assert "dan-so-tang-15" in comparison.inner_text()
    assert comparison.get_by_role("link", name="Báo cáo kèm biểu đồ (HTML)").is_visible()
    _ok(page, "scenarios-compared")
    # the report link opens for the signed-in user (a page route: the browser sends no token)
    with page.expect_navigation() as report:
        comparison.get_by_role("link", name="Báo cáo kèm biểu đồ (HTML)").click()
    assert report.value.status == 200 and "/scenarios/report.html?datasets=" in page.url
    assert "dan-so-tang-15" in page.locator("body").inner_text()
    assert page.problems == [], page.problems  # its own CSP lets its inline styles apply
    page.go_back()
    # and again from the list of stored results, by keyboard
    page.goto(site + "/scenarios")
    assert page.locator("#comparison").count() == 0
    page.get_by_label("So sánh Kịch bản: Dân số Hà Nội").first.check()
    page.get_by_role("button", name="So sánh các kết quả đã chọn").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/scenarios?datasets=*")
    assert "dan-so-tang-15" in page.locator("#comparison").inner_text()


def test_request_author_edits_comments_and_withdraws_by_keyboard(site, page):
    _sign_in(page, site)
    page.goto(site + "/requests/new")
    page.get_by_label("Bạn cần dữ liệu gì?").fill("Trạm quan trắc nước mặt")
    page.locator("#description").fill("Vị trí và chỉ số các trạm, theo tháng.")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url("**/requests/*")
    request_url = page.url
    _ok(page, "request-author")
    # every new form is reached and sent from the keyboard
    page.get_by_role("link", name="Sửa yêu cầu").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/edit")
    _ok(page, "request-edit")
    page.get_by_label("Bạn cần dữ liệu gì?").fill("Trạm quan trắc nước mặt và nước ngầm")
    page.get_by_role("button", name="Lưu thay đổi").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(request_url)
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Trạm quan trắc nước mặt và nước ngầm"
    page.get_by_label("Bình luận của bạn").fill("Cần cả số liệu năm 2024.")
    page.get_by_role("button", name="Gửi bình luận").click()
    page.wait_for_url("**#comments")
    page.get_by_role("button", name="Xóa bình luận này").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Bình luận đã được xóa.")
    assert "Cần cả số liệu năm 2024." not in page.locator("#comments").inner_text()
    page.get_by_label("Lý do (không bắt buộc)").fill("Đã có trên cổng dữ liệu của tỉnh.")
    page.get_by_role("button", name="Rút yêu cầu").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Bạn đã rút yêu cầu.")
    assert page.locator(".badge.status-withdrawn").inner_text() == "đã rút"
    assert page.get_by_role("link", name="Sửa yêu cầu").count() == 0
    _ok(page, "request-withdrawn")


def _publish(broker_url: str, datastream: int, result: float, offset_s: int = 0) -> None:
    """One observation over MQTT, QoS 1, as a sensor gateway sends it; returns once the
    broker has acknowledged it.
    """
    import json
    import time

    from vntwin.live.mqtt import make_client, parse_url

    client = make_client(parse_url(broker_url), "kiem-thu-trinh-duyet-cam-bien",
                         persistent=False)
    client.connect("127.0.0.1", parse_url(broker_url).port)
    client.loop_start()
    try:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))
        info = client.publish(f"v1.1/Datastreams({datastream})/Observations",
                              json.dumps({"phenomenonTime": when, "result": result}), qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def test_dashboard_shows_what_arrives_over_mqtt(site, page, live_station, mqtt_broker):
    """Publish over MQTT → stored by ``vntwin live run`` → pushed to the open page: the
    alert, and the PM2.5 indicator, which the page did not have when it loaded.
    """
    page.goto(site + "/dashboard")
    page.wait_for_selector("#dashboard[data-live-ready]", state="attached")
    assert page.get_by_role("heading", name="Chuyển đổi số quốc gia").is_visible()
    trend = page.get_by_role("img", name="Xu hướng của Digital economy share of GDP: 2021: "
                                         "11,9; 2022: 14,3; 2023 (ước tính): 16,5; 2024: 18")
    assert trend.is_visible()  # drawn by the server, named by its values
    card = page.locator("li[data-indicator='de_gdp_share']")
    card.get_by_text("Số liệu xu hướng").click()  # and the values in a table
    assert card.get_by_role("row", name="2022 14,3").is_visible()
    assert "Chưa có số liệu được công bố" in page.locator(
        "li[data-indicator='online_procedures_share']").inner_text()
    indicator = page.locator("#live-body article", has_text="PM2.5")
    assert indicator.count() == 0  # no PM2.5 value yet: the row must appear without reload
    _ok(page, "dashboard")
    page.wait_for_timeout(500)  # the event stream is open
    _publish(mqtt_broker, live_station["datastream"], 87, offset_s=-5)
    item = page.locator("#alert-list li.new", has_text="PM2.5 vượt ngưỡng")
    item.wait_for(timeout=15_000)  # pushed over server-sent events, no reload
    assert "87" in item.inner_text()
    assert "Cảnh báo mới: PM2.5 vượt ngưỡng" in page.locator("#live-announcer").inner_text()
    row = page.locator("#live-body tr[data-live-row$=':01']")  # Hà Nội
    row.wait_for(timeout=15_000)  # drawn by the server, swapped in by the page script
    assert row.locator("th").inner_text() == "Hà Nội"
    assert row.locator("[data-field=mean]").inner_text() == "87"
    assert indicator.get_by_role("heading", name="PM2.5").is_visible()
    assert indicator.locator("[data-live$=':value']").inner_text() == "87"
    _ok(page, "dashboard-alert")
    # a newer value updates the same row in place
    _publish(mqtt_broker, live_station["datastream"], 95)
    page.wait_for_function("() => document.querySelector(\"#live-body tr[data-live-row$=':01'] "
                           "[data-field=mean]\").textContent === '95'", timeout=15_000)
    assert indicator.locator("[data-live$=':value']").inner_text() == "95"
    assert page.locator("#alert-list li", has_text="PM2.5 vượt ngưỡng").count() == 1
    assert page.problems == [], page.problems
    # the same value is a live layer of the map: switched on, its sensor is drawn
    page.goto(site + "/map")
    page.wait_for_selector("#map[data-ready]", state="attached", timeout=30_000)
    page.get_by_label("Tìm lớp dữ liệu").fill("pm2.5")
    label = page.locator("#layer-list label", has_text="cảm biến trực tuyến")
    label.click()
    assert page.locator("#active-list .legend li").count() >= 1
    page.wait_for_function(
        "() => window.vntwinMap.querySourceFeatures('live:live-pm2-5').length > 0",
        timeout=10_000)
    _ok(page, "map-live")


def test_requests_page(site, page):
    page.goto(site + "/requests")
    assert page.get_by_role("heading", name="Yêu cầu dữ liệu", level=1).is_visible()
    _ok(page, "requests")
    _sign_in(page, site)
    page.goto(site + "/requests/new")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    assert page.locator("#title-error").is_visible()
    _ok(page, "request-form-errors")
    page.get_by_label("Bạn cần dữ liệu gì?").fill("Điểm dừng xe buýt Đà Nẵng")
    page.get_by_label("Mô tả").fill("Vị trí điểm dừng và các tuyến, dạng GeoJSON.")
    page.get_by_label("Cơ quan có thể đang giữ dữ liệu").select_option(
        "kiem-thu-trinh-duyet")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url("**/requests/*")
    assert page.get_by_role("heading", name="Trả lời với tư cách cơ quan").is_visible()
    _ok(page, "request")
