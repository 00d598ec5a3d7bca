"""Browser tests: a real ``vntwin serve`` process over a small real demo catalogue and twin,
driven by Playwright through Debian's Chromium (``scripts/ensure-chromium.sh``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vntwin.catalog import groups, packages, resources
from vntwin.catalog.resources import store_file
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM, user_create
from vntwin.settings import Settings
from vntwin.testing import make_settings, server_process, subscriber_process

ROOT = Path(__file__).parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ORG = "kiem-thu-trinh-duyet"
PASSWORD = "mật khẩu dài 2025"
XSS_TITLE = '<script>alert("xss")</script> Dữ liệu thử'
# Real figures: populations of Hà Nội and Đà Nẵng in the 2019 census (General Statistics
# Office of Vietnam, Kết quả toàn bộ Tổng điều tra dân số và nhà ở năm 2019).
CENSUS = "tinh,ma_tinh,dan_so_2019\nHà Nội,01,8053663\nĐà Nẵng,48,1134310\n"
# what the dashboard test needs to push an alert: a source's token and its datastream
LIVE: dict[str, Any] = {}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """Debian's Chromium, or ``$VNTWIN_CHROMIUM``."""
    for candidate in (os.environ.get("VNTWIN_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _add_fixtures(cat: Catalog, tmp: Path) -> None:
    """What the demo lacks for these tests: a census table, a hostile title, an editor."""
    groups.group_create(cat, SYSTEM, {"name": ORG, "title": "Kiểm thử trình duyệt",
                                      "description": "Bộ dữ liệu dùng cho kiểm thử."},
                        organization=True)
    packages.create(cat, SYSTEM, {
        "name": "dan-so-2019", "owner_org": ORG, "license_id": "cc-by-4.0",
        "title": "Dân số Hà Nội và Đà Nẵng (Tổng điều tra 2019)",
        "title_translated": {"vi": "Dân số Hà Nội và Đà Nẵng (Tổng điều tra 2019)",
                             "en": "Population of Hà Nội and Đà Nẵng (2019 census)"},
        "notes": "Kết quả Tổng điều tra dân số và nhà ở năm 2019, Tổng cục Thống kê.",
        "tags": ["dân số"]})
    path = tmp / "dan-so-2019.csv"
    path.write_text(CENSUS, encoding="utf-8")
    resources.create(cat, SYSTEM, {"package_id": "dan-so-2019", "name": "Dân số 2019 (CSV)"},
                     store_file(cat, path, path.name))
    packages.create(cat, SYSTEM, {"name": "thu-xss", "owner_org": ORG,
                                  "title": XSS_TITLE, "notes": "<img src=x onerror=alert(1)>"})
    user_create(cat, "bien-tap-vien", org=ORG, role="editor",
                password=PASSWORD)
    _add_live_station(cat)


def _add_live_station(cat: Catalog) -> None:
    """A PM2.5 station in Hà Nội and a threshold rule on it (> 50 µg/m³, QCVN 05:2023)."""
    from tests.live.conftest import make_source, make_station

    from vntwin.live import alerts

    source, token = make_source(cat, "kiem-thu-cam-bien")
    stream = make_station(cat, source, "Hoàn Kiếm (kiểm thử)")
    alerts.create_rule(cat, {"name": "PM2.5 vượt ngưỡng", "kind": "threshold",
                             "datastream_id": stream, "operator": ">", "limit": 50,
                             "severity": "critical"})
    LIVE.update(token=token, datastream=stream)


@pytest.fixture(scope="session")
def site_settings(tmp_path_factory: pytest.TempPathFactory, admin_cache: Path) -> Settings:
    """The demo catalogue and twin with this suite's additions, built once."""
    from vntwin.demo.load import load_demo
    from vntwin.demo.twin import build_demo_twin

    tmp = tmp_path_factory.mktemp("e2e")
    # resolution 7 (about 5 km² a cell): the map test clicks one cell; fusion stays quick
    settings = make_settings(tmp / "data", None, admin_cache_dir=admin_cache, h3_resolution=7)
    cat = Catalog(settings)
    try:
        load_demo(cat)
        build_demo_twin(cat)
        _add_fixtures(cat, tmp)
    finally:
        cat.close()
    return settings


@pytest.fixture(scope="session")
def site(site_settings: Settings) -> Iterator[str]:
    """The catalogue served by a real server process; yields its URL."""
    with server_process(site_settings) as url:
        yield url


@pytest.fixture(scope="session")
def mqtt_broker(site_settings: Settings, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """A private Mosquitto and ``vntwin live run`` subscribed to it, storing into the site's
    catalogue as a deployment's subscriber does; yields the broker's URL for publishers.
    """
    from tests.live.mqtt_helpers import private_broker

    tmp = tmp_path_factory.mktemp("mqtt")
    broker = private_broker(tmp / "broker")
    with broker, subscriber_process(site_settings, broker.url, tmp / "live-run.log"):
        yield broker.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") or os.environ.get("VNTWIN_REQUIRE_BROWSER"):
            pytest.fail("no Chromium: run scripts/ensure-chromium.sh")
        pytest.skip("no Chromium installed (scripts/ensure-chromium.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at desktop size. Script errors, CSP violations
    and failed sub-resources (scripts, styles, tiles, JSON) are collected in ``problems``;
    an error status of the page itself (a 404 page) is not one.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    tab = context.new_page()
    problems: list[str] = []
    tab.problems = problems  # type: ignore[attr-defined]
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error"
           and not m.text.startswith("Failed to load resource") else None)
    tab.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    tab.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400
           and r.request.resource_type != "document" else None)
    # MapLibre cancels the tiles it no longer needs while the view moves: not a failure
    tab.on("requestfailed", lambda r: problems.append(f"failed {r.url}: {r.failure}")
           if r.resource_type != "document" and "ERR_ABORTED" not in (r.failure or "")
           else None)
    yield tab
    context.close()


def axe_check(page: Any) -> list[dict[str, Any]]:
    """Serious or critical WCAG 2.x A/AA violations axe-core finds on the page.

    axe is evaluated through the DevTools protocol, not as a page script, so the page's
    Content-Security-Policy stays in force while it runs.
    """
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshot(page: Any, name: str) -> None:
    """The page at desktop (1280 px) and phone (360 px) width, as test artefacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width, label in ((1280, "desktop"), (360, "phone")):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 780})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.fixture
def live_station(site: str) -> dict[str, Any]:
    """The demo station's source token and datastream (set up with the site)."""
    return LIVE
