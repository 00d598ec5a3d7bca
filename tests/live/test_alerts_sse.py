"""Alerts: raised by rules, stored, listed, acknowledged, resolved, and pushed to open
dashboards over server-sent events within a second.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.live.conftest import make_source, make_station, now_iso

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import user_create
from vntwin.live import alerts
from vntwin.live.ingest import Incoming, Ingestor, load_streams
from vntwin.live.models import AlertRule, StaDatastream
from vntwin.testing import live_server


def _events(url: str, found: list[tuple[float, str, dict[str, Any]]],
            ready: threading.Event, stop: threading.Event) -> None:
    with httpx.Client(timeout=30) as client, client.stream("GET", f"{url}/live/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in r.iter_lines():
            if line.startswith(":"):
                ready.set()
            elif line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                found.append((time.monotonic(), kind, json.loads(line.split(":", 1)[1])))
            if stop.is_set():
                return


def test_alert_pushed_over_sse_within_a_second(cat: Catalog) -> None:
    admin = user_create(cat, "truc-ban", sysadmin=True)[1]
    source, token = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    with live_server(cat) as url:
        r = httpx.post(f"{url}/live/alert-rules", headers={"Authorization": admin}, json={
            "name": "PM2.5 vượt QCVN", "kind": "threshold", "observed_property_id": 1,
            "operator": ">", "limit": 50, "area": {"province": "01"}, "severity": "critical"})
        assert r.status_code == 201, r.text
        found: list[tuple[float, str, dict[str, Any]]] = []
        ready, stop = threading.Event(), threading.Event()
        listener = threading.Thread(target=_events, args=(url, found, ready, stop), daemon=True)
        listener.start()
        assert ready.wait(10)
        sent = time.monotonic()
        r = httpx.post(f"{url}/live/observations", headers={"Authorization": token},
                       json={"datastream": stream, "phenomenonTime": now_iso(-5), "result": 87})
        assert r.json()["accepted"] == 1
        deadline = time.monotonic() + 5
        while not any(k == "alert" for _, k, _ in found) and time.monotonic() < deadline:
            time.sleep(0.02)
        pushed = [(t, body) for t, k, body in found if k == "alert"]
        assert pushed, found
        assert pushed[0][0] - sent < 1.0, f"alert pushed after {pushed[0][0] - sent:.2f} s"
        alert = pushed[0][1]
        assert alert["state"] == "open" and alert["severity"] == "critical"
        assert alert["province_code"] == "01" and "87" in alert["message"]

        listed = httpx.get(f"{url}/live/alerts").json()["alerts"]
        assert [a["id"] for a in listed] == [alert["id"]]
        # a second high value does not raise a second alert
        httpx.post(f"{url}/live/observations", headers={"Authorization": token},
                   json={"datastream": stream, "phenomenonTime": now_iso(-4), "result": 95})
        assert len(httpx.get(f"{url}/live/alerts").json()["alerts"]) == 1
        assert httpx.post(f"{url}/live/alerts/{alert['id']}/ack").status_code == 403
        r = httpx.post(f"{url}/live/alerts/{alert['id']}/ack", headers={"Authorization": admin})
        assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "truc-ban"
        # the value falls back under the limit: the alert is resolved
        httpx.post(f"{url}/live/observations", headers={"Authorization": token},
                   json={"datastream": stream, "phenomenonTime": now_iso(-3), "result": 20})
        assert httpx.get(f"{url}/live/alerts").json()["alerts"] == []
        resolved = httpx.get(f"{url}/live/alerts", params={"state": "resolved"}).json()
        assert resolved["alerts"][0]["resolved_at"] is not None
        time.sleep(0.6)
        states = [body["state"] for _, k, body in found if k == "alert"]
        assert states == ["open", "acknowledged", "resolved"]
        assert any(k == "observations" for _, k, _ in found)
        stop.set()
        httpx.post(f"{url}/live/observations", headers={"Authorization": token},
                   json={"datastream": stream, "phenomenonTime": now_iso(-2), "result": 21})
        listener.join(5)  # it closes its stream on the next event
        # a reconnecting dashboard replays what it missed
        with httpx.Client(timeout=10) as client, client.stream(
                "GET", f"{url}/live/events", headers={"Last-Event-ID": "0"}) as r:
            kinds = []
            for line in r.iter_lines():
                if line.startswith("event:"):
                    kinds.append(line.split(":", 1)[1].strip())
                if len(kinds) >= 4:
                    break
        assert "alert" in kinds


def test_rate_and_no_data_rules(cat: Catalog) -> None:
    source, _ = make_source(cat, "tram", rate=1000)
    stream = make_station(cat, source)
    alerts.create_rule(cat, {"name": "tăng nhanh", "kind": "rate", "datastream_id": stream,
                             "operator": ">", "limit": 100})
    alerts.create_rule(cat, {"name": "mất tín hiệu", "kind": "no_data",
                             "observed_property_id": 1, "minutes": 30,
                             "area": {"bbox": [105, 20, 107, 22]}})
    ingestor = Ingestor(cat)
    start = datetime.now(UTC) - timedelta(hours=2)
    ingestor.submit([Incoming({"phenomenonTime": start.isoformat(), "result": 10}, stream),
                     Incoming({"phenomenonTime": (start + timedelta(minutes=10)).isoformat(),
                               "result": 40}, stream)])  # +180 per hour
    open_now = alerts.list_alerts(cat)["alerts"]
    assert [a["message"].split(":")[0] for a in open_now] == ["tăng nhanh"]
    assert open_now[0]["value"] == 180
    streams = load_streams(cat)
    assert alerts.check_no_data(cat, streams) == 1  # silent for 110 minutes
    assert alerts.check_no_data(cat, streams) == 0  # still the same alert
    assert len(alerts.list_alerts(cat)["alerts"]) == 2
    ingestor.submit([Incoming({"phenomenonTime": now_iso(-1), "result": 41}, stream)])
    alerts.check_no_data(cat, streams)
    assert alerts.list_alerts(cat)["alerts"] == []  # both conditions ended
    for bad in ({"kind": "threshold", "name": "x"}, {"kind": "sometimes"},
                {"kind": "no_data", "name": "x", "datastream_id": stream},
                {"kind": "threshold", "name": "x", "datastream_id": stream, "limit": 1,
                 "area": {"province": "Hà Nội"}}):
        try:
            alerts.create_rule(cat, bad)
        except alerts.ValidationError as exc:
            assert exc.errors
        else:
            raise AssertionError(f"accepted {bad}")


def test_no_data_for_a_datastream_that_never_sent(cat: Catalog) -> None:
    source, _ = make_source(cat, "im-lang")
    stream = make_station(cat, source)
    rule = alerts.create_rule(cat, {"name": "chưa kết nối", "kind": "no_data",
                                    "datastream_id": stream, "minutes": 30})
    streams = load_streams(cat)
    now = datetime.now(UTC)
    assert alerts.check_no_data(cat, streams, now + timedelta(minutes=20)) == 0
    assert alerts.check_no_data(cat, streams, now + timedelta(minutes=31)) == 1
    raised = alerts.list_alerts(cat)["alerts"]
    assert raised[0]["observed_at"] is None and "has sent nothing yet" in raised[0]["message"]
    Ingestor(cat).submit([Incoming({"phenomenonTime": now_iso(-1), "result": 5}, stream)])
    assert alerts.list_alerts(cat)["alerts"] == []  # its first value resolves it

    # counted from the later of the rule's and the datastream's creation
    quiet = make_station(cat, source, "Ba Đình")
    with cat.sessions() as session, session.begin():
        session.get(StaDatastream, quiet).created = now - timedelta(hours=2)
        session.get(AlertRule, rule["id"]).created = now - timedelta(minutes=10)
        session.get(AlertRule, rule["id"]).datastream_id = quiet
    streams = load_streams(cat)
    assert alerts.check_no_data(cat, streams, now) == 0  # the rule is 10 min old
    assert alerts.check_no_data(cat, streams, now + timedelta(minutes=21)) == 1
    with cat.sessions() as session, session.begin():
        session.get(StaDatastream, quiet).created = now
        session.get(AlertRule, rule["id"]).created = now - timedelta(hours=2)
    assert alerts.check_no_data(cat, streams, now + timedelta(minutes=20)) == 0  # resolved
    assert alerts.list_alerts(cat)["alerts"] == []
