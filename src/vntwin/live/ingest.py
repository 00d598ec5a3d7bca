"""The one path every observation takes, from MQTT or HTTP, into the database.

``Ingestor.submit(batch)`` rate-limits each source, validates each payload against its
datastream, and stores the valid ones in one transaction together with everything that
follows from them: the latest value per datastream, the hourly and daily rollups, the
per-source counters, the alerts their values raise and the events open dashboards are
sent. Only after that transaction commits does the caller acknowledge the messages
(MQTT PUBACK, HTTP 200), so what was acknowledged is durable. Observations are unique
per (datastream, phenomenon time): a redelivered message is counted as ``duplicate``
and not stored twice. An observation without a phenomenon time gets the time it was
received, made unique per datastream (a microsecond later than the last one assigned), so
that two such readings are two observations, not one and a duplicate.

A message that passes the checks but that the database refuses (a value no column type
holds) fails its batch; the batch is then stored item by item, and that one message alone
is rejected as ``malformed`` and acknowledged: retrying it would stall every source.
Only database failures (connection lost, database locked) raise, for the caller to retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog
from vntwin.live import alerts
from vntwin.live.events import emit
from vntwin.live.layers import current_locations
from vntwin.live.models import (
    LiveCounter,
    LiveLatest,
    LiveRollup,
    LiveSource,
    StaDatastream,
    StaLocation,
    StaObservation,
    StaThing,
)
from vntwin.live.sources import UNASSIGNED, UNKNOWN, RateLimiter, SourceInfo
from vntwin.live.sta_model import OBSERVATION_TYPES, iso
from vntwin.live.validate import Checked, Rejected, StreamInfo, check, parse_payload

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
OPTIONAL_COLUMNS = ("phenomenon_end", "result_time", "result_json", "parameters")
EVENT_STREAMS = 500


@dataclass
class Incoming:
    """One observation as received: its payload, the datastream named by the topic or
    URL (None: read ``Datastream/@iot.id`` from the payload) and the authenticated source
    (HTTP) if any.
    """

    payload: bytes | str | dict[str, Any]
    datastream_id: int | None = None
    source: SourceInfo | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one observation: ``accepted``, ``duplicate`` or a rejection."""

    outcome: str
    detail: str = ""
    id: int | None = None

    @property
    def stored(self) -> bool:
        """True when the observation is in the database (now or from before)."""
        return self.outcome in ("accepted", "duplicate")


class StreamCache:
    """Datastreams as the ingest path needs them. An id not in the cache is looked up on
    its own (a datastream created a moment ago by another process) and, if it does not
    exist, remembered as missing for a second, so a flood of unknown ids costs little
    database work; everything is reloaded every minute (moved Things, changed ranges).
    """

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self._streams: dict[int, StreamInfo] = {}
        self._missing: dict[int, float] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()

    def get(self, stream_id: int, may_query: Callable[[], bool] = lambda: True
            ) -> StreamInfo | None:
        """The datastream, or None if it does not exist. ``may_query`` is asked before a
        lookup of an unknown id (the caller's rate limit).
        """
        now = time.monotonic()
        with self._lock:
            if now - self._loaded > 60:
                self._streams, self._loaded, self._missing = load_streams(self.cat), now, {}
            found = self._streams.get(stream_id)
            if found is not None or now - self._missing.get(stream_id, -10.0) < 1.0:
                return found
            if len(self._missing) > 10_000:
                self._missing.clear()
        if not may_query():
            return None
        found = load_streams(self.cat, [stream_id]).get(stream_id)
        with self._lock:
            if found is None:
                self._missing[stream_id] = now
            else:
                self._streams[stream_id] = found
        return found

    def all(self) -> dict[int, StreamInfo]:
        """Every datastream (reloaded now)."""
        with self._lock:
            self._streams = load_streams(self.cat)
            self._loaded = time.monotonic()
            self._missing = {}
            return dict(self._streams)

    def invalidate(self) -> None:
        """Forget what is cached (after entities were created or changed)."""
        with self._lock:
            self._loaded = 0.0


def _database_down(exc: Exception) -> bool:
    """True for failures of the database itself (worth retrying the same batch later),
    False for a statement it refused (worth finding the message that caused it).
    """
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError)
                                                 and exc.connection_invalidated)


def load_streams(cat: Catalog, ids: list[int] | None = None) -> dict[int, StreamInfo]:
    """Datastreams (all, or those of ``ids``) with their source, Thing and its current
    Location (the newest: a moved sensor's values belong where it is now).
    """
    here = current_locations()
    query = (select(StaDatastream, StaThing.name, LiveSource.name, LiveSource.rate_per_s,
                    StaLocation.lat, StaLocation.lon, StaLocation.h3,
                    StaLocation.province_code, StaLocation.commune_code)
             .join(StaThing, StaThing.id == StaDatastream.thing_id)
             .outerjoin(LiveSource, LiveSource.id == StaDatastream.source_id)
             .outerjoin(here, here.c.thing_id == StaThing.id)
             .outerjoin(StaLocation, StaLocation.id == here.c.location_id))
    if ids is not None:
        query = query.where(StaDatastream.id.in_(ids))
    out: dict[int, StreamInfo] = {}
    with cat.read() as session:
        for ds, thing, source, rate, lat, lon, cell, province, commune in session.execute(query):
            valid = (ds.properties or {}).get("validRange")
            out[ds.id] = StreamInfo(
                id=ds.id, name=ds.name, value_type=OBSERVATION_TYPES.get(ds.observation_type,
                                                                         "any"),
                unit_symbol=ds.unit_symbol,
                valid_range=(float(valid[0]), float(valid[1])) if valid else None,
                source_id=ds.source_id, source_name=source or UNASSIGNED, rate_per_s=rate,
                observed_property_id=ds.observed_property_id, thing_name=thing, lat=lat,
                lon=lon, h3=cell, province_code=province, commune_code=commune)
    return out


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _least_greatest(session: Session) -> tuple[Any, Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.least, func.greatest
    return func.min, func.max  # SQLite's min()/max() with two arguments are scalar


def day_bucket(when: datetime) -> datetime:
    """The UTC instant at which ``when``'s day starts in Vietnam (days are local days)."""
    local = when.astimezone(LOCAL)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hour_bucket(when: datetime) -> datetime:
    """The start of ``when``'s hour, UTC."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class Ingestor:
    """Validates and stores observations; one per process, thread-safe."""

    def __init__(self, cat: Catalog) -> None:
        self.cat = cat
        self.settings = cat.settings
        self.streams = StreamCache(cat)
        self.limiter = RateLimiter(cat.settings.live_source_rate)
        self._assigned: dict[int, datetime] = {}  # the last time assigned per datastream
        self._assigning = threading.Lock()

    # -- the batch ------------------------------------------------------------------------
    def submit(self, batch: list[Incoming]) -> list[Outcome]:
        """Store a batch; one outcome per item, in order. Raises only when the database
        fails (then nothing of the batch is stored, and nothing should be acknowledged).
        """
        try:
            return self._submit(batch, limit=True)
        except Exception as exc:
            if _database_down(exc) or not batch:
                raise
        # one item the database refused: store the rest, and reject that one alone
        outcomes = []
        for item in batch:
            try:
                outcomes.append(self._submit([item], limit=False)[0])
            except Exception as exc:
                if _database_down(exc):
                    raise
                outcomes.append(self._refused(item, exc))
        return outcomes

    def _refused(self, item: Incoming, exc: Exception) -> Outcome:
        """Counts one message the database refused as ``malformed``."""
        detail = f"the database refused it ({type(exc).__name__})"
        log.warning("observation refused by the database: %s", exc)
        source = item.source.name if item.source else UNKNOWN
        if item.source is None and item.datastream_id is not None:
            stream = self.streams.get(item.datastream_id)
            source = stream.source_name if stream is not None else source
        with self.cat.sessions() as session, session.begin():
            self._count(session, {(source, "malformed"): [1, detail]}, utcnow())
        return Outcome("malformed", detail)

    def _assign_time(self, checked: Checked, now: datetime) -> Checked:
        """The receipt time for an observation sent without one, unique per datastream."""
        with self._assigning:
            last = self._assigned.get(checked.datastream_id)
            when = max(now, last + timedelta(microseconds=1)) if last else now
            self._assigned[checked.datastream_id] = when
        return replace(checked, phenomenon_time=when)

    def _submit(self, batch: list[Incoming], limit: bool) -> list[Outcome]:
        now = utcnow()
        max_future = timedelta(seconds=self.settings.live_max_future_s)
        outcomes: list[Outcome | None] = [None] * len(batch)
        counts: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, ""])
        valid: list[tuple[int, Checked, StreamInfo, str]] = []
        seen: dict[tuple[int, datetime], int] = {}
        for index, item in enumerate(batch):
            source, result = self._one(item, now, max_future, limit)
            if isinstance(result, Rejected):
                outcomes[index] = Outcome(result.reason, result.detail)
                entry = counts[(source, result.reason)]
                entry[0] += 1
                entry[1] = result.detail
                continue
            checked, stream = result
            if not checked.time_given:
                checked = self._assign_time(checked, now)
            key = (checked.datastream_id, checked.phenomenon_time)
            if key in seen:  # the same observation twice in one batch
                outcomes[index] = Outcome("duplicate", "repeated in the same batch")
                counts[(source, "duplicate")][0] += 1
                continue
            seen[key] = index
            valid.append((index, checked, stream, source))
        with self.cat.sessions() as session, session.begin():
            stored = self._store(session, [v[1] for v in valid], now)
            for index, checked, _stream, source in valid:
                obs_id = stored.get((checked.datastream_id, checked.phenomenon_time))
                outcome = "accepted" if obs_id is not None else "duplicate"
                outcomes[index] = Outcome(outcome, "" if obs_id else "stored before", obs_id)
                counts[(source, outcome)][0] += 1
            accepted = [(c, s) for _, c, s, _ in valid
                        if (c.datastream_id, c.phenomenon_time) in stored]
            if accepted:
                updates = self._latest(session, accepted, now)
                self._rollups(session, [c for c, _ in accepted])
                alerts.evaluate(session, updates)
                self._event(session, updates, len(accepted))
            self._count(session, counts, now)
        return [o or Outcome("malformed", "not processed") for o in outcomes]

    def _one(self, item: Incoming, now: datetime, max_future: timedelta, limit: bool = True
             ) -> tuple[str, Rejected | tuple[Checked, StreamInfo]]:
        body: dict[str, Any] | None = None
        stream_id = item.datastream_id
        source = item.source.name if item.source else UNKNOWN
        try:
            if stream_id is None:
                body = parse_payload(item.payload)
                link = body.get("Datastream")
                ident = link.get("@iot.id") if isinstance(link, dict) else None
                if isinstance(ident, bool) or not isinstance(ident, int):
                    raise Rejected("malformed", "no Datastream {\"@iot.id\": n} in the payload")
                stream_id = ident
            stream = self.streams.get(stream_id, lambda: self.limiter.take(UNKNOWN) > 0)
            if item.source is None and stream is not None:
                source = stream.source_name
            rate = item.source.rate_per_s if item.source else (
                stream.rate_per_s if stream else None)
            if limit and not self.limiter.take(source, rate):
                raise Rejected("rate_limited", f"source {source!r} is over its rate")
            if stream is None:
                raise Rejected("unknown_datastream", f"Datastreams({stream_id}) does not exist")
            if item.source is not None and item.source.id != stream.source_id:
                raise Rejected("forbidden", f"Datastreams({stream_id}) belongs to another "
                                            "source")
            try:
                if body is None:
                    body = parse_payload(item.payload)
                return source, (check(stream, body, now, max_future), stream)
            except Rejected:
                raise
            except Exception as exc:  # a check that broke on a payload is the payload's fault
                raise Rejected("malformed", f"unreadable payload ({type(exc).__name__}: "
                                            f"{exc})"[:300]) from None
        except Rejected as exc:
            return source, exc

    # -- what follows from accepted observations ------------------------------------------
    def _store(self, session: Session, rows: list[Checked],
               now: datetime) -> dict[tuple[int, datetime], int]:
        if not rows:
            return {}
        table = StaObservation.__table__
        # Columns that are empty in every row of the batch (usually all but time and
        # result) are left to their NULL default, and the receipt time is one constant of
        # the statement: SQLAlchemy's per-row parameter processing was the largest cost
        # of the MQTT path (py-spy), and this halves the values it processes.
        optional = [name for name in OPTIONAL_COLUMNS
                    if any(getattr(r, name) is not None for r in rows)]
        stmt = (_insert(session, table).values(received_at=now)
                .on_conflict_do_nothing(index_elements=["datastream_id", "phenomenon_time"])
                .returning(table.c.id, table.c.datastream_id, table.c.phenomenon_time))
        values = [{"datastream_id": r.datastream_id, "phenomenon_time": r.phenomenon_time,
                   "result_num": r.result_num, **{name: getattr(r, name) for name in optional}}
                  for r in rows]
        return {(ds, when): ident for ident, ds, when in session.execute(stmt, values)}

    def _latest(self, session: Session, accepted: list[tuple[Checked, StreamInfo]],
                now: datetime) -> list[alerts.Update]:
        by_stream: dict[int, list[Checked]] = defaultdict(list)
        infos: dict[int, StreamInfo] = {}
        for checked, stream in accepted:
            by_stream[checked.datastream_id].append(checked)
            infos[checked.datastream_id] = stream
        existing = {r.datastream_id: r for r in session.execute(
            select(LiveLatest.datastream_id, LiveLatest.phenomenon_time, LiveLatest.result,
                   LiveLatest.first_time)
            .where(LiveLatest.datastream_id.in_(list(by_stream))))}
        rows, updates = [], []
        for stream_id, items in by_stream.items():
            items.sort(key=lambda c: c.phenomenon_time)
            newest = items[-1]
            old = existing.get(stream_id)
            if old is not None and old.phenomenon_time >= newest.phenomenon_time:
                continue  # late data: history, not the current value
            before = items[-2] if len(items) > 1 else None
            if old is not None and (before is None
                                    or old.phenomenon_time > before.phenomenon_time):
                prev_time, prev_value = old.phenomenon_time, old.result
            elif before is not None:
                prev_time, prev_value = before.phenomenon_time, before.result_num
            else:
                prev_time, prev_value = None, None
            first = min(items[0].phenomenon_time, old.first_time) if old else \
                items[0].phenomenon_time
            rows.append({"datastream_id": stream_id, "phenomenon_time": newest.phenomenon_time,
                         "result": newest.result_num, "previous_time": prev_time,
                         "previous_result": prev_value, "first_time": first,
                         "received_at": now})
            updates.append(alerts.Update(infos[stream_id], newest.phenomenon_time,
                                         newest.result_num, prev_time, prev_value))
        if rows:
            table: Table = LiveLatest.__table__  # type: ignore[assignment]
            stmt = _insert(session, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["datastream_id"],
                set_={c: stmt.excluded[c] for c in ("phenomenon_time", "result",
                                                    "previous_time", "previous_result",
                                                    "first_time", "received_at")},
                where=table.c.phenomenon_time < stmt.excluded.phenomenon_time)
            session.execute(stmt, rows)
        return updates

    def _rollups(self, session: Session, rows: Iterable[Checked]) -> None:
        agg: dict[tuple[int, str, datetime], list[float]] = {}
        # A batch spans a few hours at most: each distinct hour's buckets are computed
        # once (zone conversions were most of the cost of this loop). Vietnam's day starts
        # on a whole UTC hour (its offsets have been whole hours since 1911), so the day
        # of an hour's start is the day of every instant in that hour.
        buckets: dict[float, tuple[tuple[str, datetime], tuple[str, datetime]]] = {}
        for r in rows:
            if r.result_num is None:
                continue
            stamp = r.phenomenon_time.timestamp()
            hour_start = stamp - stamp % 3600
            pair = buckets.get(hour_start)
            if pair is None:
                hour = hour_bucket(r.phenomenon_time)
                pair = buckets[hour_start] = (("hour", hour), ("day", day_bucket(hour)))
            for period, bucket in pair:
                acc = agg.get((r.datastream_id, period, bucket))
                if acc is None:
                    agg[(r.datastream_id, period, bucket)] = [1, r.result_num, r.result_num,
                                                              r.result_num]
                else:
                    acc[0] += 1
                    acc[1] += r.result_num
                    acc[2] = min(acc[2], r.result_num)
                    acc[3] = max(acc[3], r.result_num)
        if not agg:
            return
        table: Table = LiveRollup.__table__  # type: ignore[assignment]
        least, greatest = _least_greatest(session)
        stmt = _insert(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["datastream_id", "period", "bucket"],
            set_={"n": table.c.n + stmt.excluded.n, "total": table.c.total + stmt.excluded.total,
                  "vmin": least(table.c.vmin, stmt.excluded.vmin),
                  "vmax": greatest(table.c.vmax, stmt.excluded.vmax)})
        session.execute(stmt, [{"datastream_id": k[0], "period": k[1], "bucket": k[2],
                                "n": v[0], "total": v[1], "vmin": v[2], "vmax": v[3]}
                               for k, v in sorted(agg.items())])

    def _count(self, session: Session, counts: dict[tuple[str, str], list[Any]],
               now: datetime) -> None:
        if not counts:
            return
        table: Table = LiveCounter.__table__  # type: ignore[assignment]
        stmt = _insert(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "outcome"],
            set_={"count": table.c.count + stmt.excluded["count"], "last_at": now,
                  "last_detail": stmt.excluded.last_detail})
        session.execute(stmt, [{"source": s, "outcome": o, "count": n, "last_at": now,
                                "last_detail": detail[:500]}
                               for (s, o), (n, detail) in sorted(counts.items())])

    def _event(self, session: Session, updates: list[alerts.Update], accepted: int) -> None:
        emit(session, "observations", {
            "accepted": accepted,
            "latest": [{"datastream_id": u.stream.id, "phenomenonTime": iso(u.time),
                        "result": u.value, "province_code": u.stream.province_code,
                        "h3": format(u.stream.h3, "x") if u.stream.h3 else None}
                       for u in updates[:EVENT_STREAMS]]})


def prune_raw(cat: Catalog, days: float) -> int:
    """Delete raw observations older than ``days`` (their rollups stay); returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    with cat.sessions() as session, session.begin():
        result = session.execute(delete(StaObservation)
                                 .where(StaObservation.phenomenon_time < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
