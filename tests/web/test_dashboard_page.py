"""The dashboard page: the national digital indicators from the demo dataset, the
programme's progress, live sensors by province, and an alert acknowledged by its form.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.live.conftest import make_source, make_station, now_iso
from web_helpers import csrf_of, sign_in

from vntwin.demo.datasets import DATASETS, ORGANIZATIONS
from vntwin.demo.load import Tally, _ensure_org, _load_dataset
from vntwin.demo.sources import Sources
from vntwin.live import alerts
from vntwin.live.ingest import Incoming, Ingestor


def _load_indicators(cat, tmp: Path) -> None:
    spec = next(d for d in DATASETS if d.kind == "indicators")
    _ensure_org(cat, next(o for o in ORGANIZATIONS if o["name"] == spec.org))
    _load_dataset(cat, Sources(), spec, tmp, Tally(), lambda n: None)


def _alert(cat) -> dict:
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    alerts.create_rule(cat, {"name": "PM2.5 vượt QCVN", "kind": "threshold",
                             "observed_property_id": 1, "operator": ">", "limit": 50,
                             "severity": "critical"})
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-30), "result": 87}, stream)])
    (alert,) = alerts.list_alerts(cat, "open")["alerts"]
    return alert


def test_dashboard_shows_indicators_and_alerts(client, cat, tmp_path):
    empty = client.get("/dashboard").text
    assert "Chưa nạp các chỉ số quốc gia" in empty and "Không có cảnh báo đang mở." in empty
    _load_indicators(cat, tmp_path)
    alert = _alert(cat)
    page = client.get("/dashboard").text
    assert "Chuyển đổi số quốc gia" in page
    assert "Digital economy share of GDP" in page and "56/TB-VPCP" in page
    assert "Chỉ tiêu 2025: 20" in page and "<progress" in page
    assert "Yêu cầu được trả lời đúng hạn" in page
    assert html.escape(alert["message"], quote=False) in page
    assert f'data-alert-id="{alert["id"]}"' in page
    assert "Hà Nội" in page and "PM2.5 theo tỉnh, thành phố" in page  # sensors by province
    assert "Xác nhận đã biết" not in page  # anonymous visitors see no acknowledge button
    en = client.get("/dashboard?lang=en").text
    assert "National digital transformation" in en and "Open alerts" in en


def test_acknowledge_an_alert(client, cat, editor):
    alert = _alert(cat)
    token = csrf_of(client.get("/user/login").text)
    r = client.post(f"/dashboard/alerts/{alert['id']}/ack", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")
    assert alerts.list_alerts(cat, "open")["alerts"]  # still open
    sign_in(client, editor)
    page = client.get("/dashboard").text
    assert "Xác nhận đã biết" in page
    assert client.post(f"/dashboard/alerts/{alert['id']}/ack").status_code == 403  # no CSRF
    r = client.post(f"/dashboard/alerts/{alert['id']}/ack", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303
    (acked,) = alerts.list_alerts(cat, "acknowledged")["alerts"]
    assert acked["acknowledged_by"] == editor
    page = client.get("/dashboard").text
    assert "Đã xác nhận cảnh báo." in page and "đã xác nhận" in page


def test_live_section_alone_is_the_pages_own(client, cat):
    """``/dashboard/live``, which the page script swaps in when a property or a province
    appears after loading, is the page's live section: same rows, same wording, no layout.
    """
    nothing = client.get("/dashboard/live")
    assert nothing.status_code == 200 and "<html" not in nothing.text
    assert "Gần đây không có cảm biến nào gửi giá trị." in nothing.text
    _alert(cat)
    fragment = client.get("/dashboard/live").text
    row = 'data-live-row="1:01"'
    assert row in fragment and "PM2.5 theo tỉnh, thành phố" in fragment
    page = client.get("/dashboard").text
    start = page.index('<div id="live-body"')
    assert row in page[start:]
    assert 'data-html="/dashboard/live"' in page[start:]
    assert "PM2.5 by province" in client.get("/dashboard/live?lang=en").text


def _block(page: str, start: str, end: str) -> str:
    """The markup from ``start`` to the next ``end`` after it."""
    at = page.index(start)
    return page[at:page.index(end, at)]


def test_indicators_show_trends_and_targets_without_figures(client, cat, tmp_path):
    """Every indicator with a series has its trend drawn on the page, without script: an
    inline SVG named by its values, and the values in a table. The national indicators
    that have only a target so far are listed with it, its source and no figure; the
    live section served alone (which the page script swaps in) keeps the trends.
    """
    _load_indicators(cat, tmp_path)
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-3 * 3600), "result": 30},
                                   stream),
                          Incoming({"phenomenonTime": now_iso(-60), "result": 60}, stream)])
    page = client.get("/dashboard?lang=en").text

    share = _block(page, 'data-indicator="de_gdp_share"', "</li>")
    assert '<svg class="sparkline"' in share and 'role="img"' in share
    assert ("Trend of Digital economy share of GDP: 2021: 11.9; 2022: 14.3; "
            "2023 (estimate): 16.5; 2024: 18</title>") in share
    assert '<line class="target"' in share  # the 2025 target of 20 %
    assert "<details>" in share and "<th scope=\"row\">2022</th><td>14.3</td>" in share
    assert "sparkline" not in _block(page, 'data-indicator="egov_rank"', "</li>")  # 1 figure

    for code, target in [("online_procedures_share", 100), ("online_dossiers_share", 80),
                         ("adults_using_online_services", 40), ("gdp_growth", 8)]:
        card = _block(page, f'data-indicator="{code}"', "</li>")
        assert "No reported figure yet" in card, code
        assert f"Target 2025: {target}" in card and "56/TB-VPCP" in card, code
    vi = client.get("/dashboard?lang=vi").text
    assert "Chưa có số liệu được công bố" in _block(vi, 'data-indicator="gdp_growth"', "</li>")

    datasets = _block(page, 'id="open-data-trend-public_datasets"', "</svg>")
    assert "Trend of Public datasets:" in datasets  # 12 months of growth

    live = _block(page, 'data-live-trend="1"', "</article>")
    assert 'id="live-1-trend"' in live and "Trend of PM2.5: " in live
    assert live.count('<th scope="row">') == 2 + 1  # two hours, one province
    assert len(_block(live, 'data-trend="', '">').split()) == 2
    fragment = client.get("/dashboard/live?lang=en").text
    assert _block(fragment, 'data-live-trend="1"', "</article>") == live
    ids = re.findall(r'\sid="([^"]+)"', page)  # each picture's title is its own
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
