"""Bad input is refused and counted per source; floods are limited per source;
history is downsampled and outlives raw observations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.live.conftest import make_source, make_station, now_iso

from vntwin.catalog.service import Catalog
from vntwin.live.dashboard import ingest_counts
from vntwin.live.ingest import Incoming, Ingestor, day_bucket, prune_raw
from vntwin.live.models import LiveRollup, StaObservation


def _stored(cat: Catalog) -> int:
    with cat.read() as session:
        return int(session.scalar(select(func.count()).select_from(StaObservation)) or 0)


def test_rejections_are_counted_and_never_stored(cat: Catalog) -> None:
    source, _ = make_source(cat, "so-tnmt-ha-noi")
    stream = make_station(cat, source)
    ingestor = Ingestor(cat)
    bad = [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"phenomenonTime": "2025-01-01T00:00:00Z"}', "malformed"),
        (b'{"phenomenonTime": "yesterday", "result": 1}', "malformed"),
        (b'{"phenomenonTime": "2025-01-01T07:00:00", "result": 1}', "malformed"),  # no zone
        (b'{"result": "high"}', "wrong_type"),
        (b'{"result": true}', "wrong_type"),
        (json.dumps({"result": 0.035, "parameters": {"unit": "mg/m3"}}).encode(), "wrong_unit"),
        (json.dumps({"result": 35000}).encode(), "out_of_range"),
        (json.dumps({"phenomenonTime": now_iso(3600), "result": 10}).encode(), "future_time"),
    ]
    outcomes = ingestor.submit([Incoming(payload, stream) for payload, _ in bad]
                               + [Incoming(b'{"result": 1}', 9999)])
    assert [o.outcome for o in outcomes] == [reason for _, reason in bad] + ["unknown_datastream"]
    assert all(o.detail for o in outcomes)
    assert _stored(cat) == 0
    counts = {c["source"]: c for c in ingest_counts(cat)}
    assert counts["so-tnmt-ha-noi"]["rejected"] == {"malformed": 5, "wrong_type": 2,
                                                   "wrong_unit": 1, "out_of_range": 1,
                                                   "future_time": 1}
    assert counts["unknown"]["rejected"] == {"unknown_datastream": 1}
    good = ingestor.submit([Incoming(json.dumps({"phenomenonTime": now_iso(-60), "result": 7,
                                                 "parameters": {"unit": "µg/m³"}}).encode(),
                                     stream)])
    assert good[0].outcome == "accepted" and _stored(cat) == 1


def test_a_flooding_source_does_not_stall_another(client: TestClient, cat: Catalog) -> None:
    flood, flood_token = make_source(cat, "flood", rate=0.2)
    calm, calm_token = make_source(cat, "calm", rate=20)
    flood_stream = make_station(cat, flood, "Flood")
    calm_stream = make_station(cat, calm, "Calm", coords=[106.7, 10.78])
    base = datetime.now(UTC) - timedelta(hours=1)

    def batch(stream: int, start: int, n: int) -> list[dict[str, object]]:
        return [{"datastream": stream, "result": 10 + i % 5,
                 "phenomenonTime": (base + timedelta(seconds=start + i)).isoformat()}
                for i in range(n)]

    r = client.post("/live/observations", json=batch(flood_stream, 0, 500),
                    headers={"Authorization": flood_token})
    assert r.status_code == 200, r.text[:500]
    flooded = r.json()
    assert 1 <= flooded["accepted"] <= 2 and flooded["rejected"] >= 498  # a burst of 1
    r = client.post("/live/observations", json=batch(flood_stream, 1000, 100),
                    headers={"Authorization": flood_token})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    r = client.post("/live/observations", json=batch(calm_stream, 0, 30),
                    headers={"Authorization": calm_token})
    assert r.status_code == 200 and r.json()["accepted"] == 30
    counts = {c["source"]: c for c in ingest_counts(cat)}
    assert counts["flood"]["rejected"]["rate_limited"] == 500 - flooded["accepted"] + 100
    assert counts["calm"]["accepted"] == 30
    # a source may write only to its own datastreams; no token, no write
    r = client.post("/live/observations", json=batch(flood_stream, 5000, 1),
                    headers={"Authorization": calm_token})
    assert r.json()["results"][0]["outcome"] == "forbidden"
    assert client.post("/live/observations", json=batch(calm_stream, 9, 1)).status_code == 403
    r = client.post("/live/observations", json=batch(calm_stream, 9, 1),
                    headers={"Authorization": "vls_2_wrong"})
    assert r.status_code == 403


def test_rollups_keep_history_after_raw_pruning(client: TestClient, cat: Catalog) -> None:
    source, _ = make_source(cat, "tram", rate=10_000)
    stream = make_station(cat, source)
    ingestor = Ingestor(cat)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    values = [float(v) for v in range(60)]
    items = [Incoming({"phenomenonTime": (start + timedelta(minutes=5 * i)).isoformat(),
                       "result": v}, stream) for i, v in enumerate(values)]
    # in two batches, the second repeating one observation (a redelivered message)
    ingestor.submit(items[:30])
    second = ingestor.submit(items[29:])
    assert second[0].outcome == "duplicate"
    assert _stored(cat) == 60
    history = client.get(f"/live/datastreams/{stream}/history",
                         params={"start": (start - timedelta(hours=1)).isoformat()}).json()
    hours = history["buckets"]
    assert [b["count"] for b in hours] == [12] * 5
    assert hours[0]["mean"] == sum(values[:12]) / 12 and hours[0]["min"] == 0
    assert hours[-1]["max"] == 59
    with cat.read() as session:
        days = list(session.scalars(select(LiveRollup).where(LiveRollup.period == "day")))
    assert sum(d.n for d in days) == 60 and sum(d.total for d in days) == sum(values)
    assert {d.bucket for d in days} <= {day_bucket(start), day_bucket(start + timedelta(hours=5))}
    # raw observations age out; the rollups stay
    assert prune_raw(cat, 30) == 0
    assert prune_raw(cat, 1 / 86400) == 60 and _stored(cat) == 0  # older than a second
    again = client.get(f"/live/datastreams/{stream}/history",
                       params={"start": (start - timedelta(hours=1)).isoformat()}).json()
    assert again["buckets"] == hours


def test_rollups_follow_vietnams_day_across_midnight(cat: Catalog) -> None:
    """Days are Vietnamese days (UTC+7): an observation at 16:59:59Z is on one day,
    at 17:00:00Z on the next, whatever offset the sensor wrote its time in."""
    source, _ = make_source(cat, "tram-dem", rate=10_000)
    stream = make_station(cat, source)
    midnight = (datetime.now(UTC) - timedelta(days=2)).replace(hour=17, minute=0, second=0,
                                                                microsecond=0)
    times = [midnight - timedelta(seconds=1), midnight, midnight + timedelta(minutes=30),
             midnight - timedelta(minutes=61)]
    texts = [times[0].isoformat(), times[1].astimezone(timezone(timedelta(hours=7)))
             .isoformat(), times[2].isoformat().replace("+00:00", "Z"),
             times[3].astimezone(timezone(timedelta(hours=-5))).isoformat()]
    outcomes = Ingestor(cat).submit([Incoming({"phenomenonTime": t, "result": float(i + 1)},
                                              stream) for i, t in enumerate(texts)])
    assert [o.outcome for o in outcomes] == ["accepted"] * 4
    with cat.read() as session:
        rows = {(r.period, r.bucket): (r.n, r.total) for r in session.scalars(
            select(LiveRollup).where(LiveRollup.datastream_id == stream))}
    day_before, day_after = midnight - timedelta(days=1), midnight
    assert rows[("day", day_before)] == (2, 1.0 + 4.0)
    assert rows[("day", day_after)] == (2, 2.0 + 3.0)
    assert rows[("hour", midnight - timedelta(hours=1))] == (1, 1.0)
    assert rows[("hour", midnight - timedelta(hours=2))] == (1, 4.0)
    assert rows[("hour", midnight)] == (2, 5.0)
    assert len(rows) == 5
