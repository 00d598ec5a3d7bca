"""Observations sent inside a deep insert (a Datastream's ``Observations``), stored in the
transaction that creates the Datastream (STA 1.1 section 10.2.1.2: all or nothing).

They take the same checks as every other observation (``validate.check``: type, unit,
valid range, time), the source's rate limit, and everything the ingest path does after
storing (latest value, rollups, alerts, dashboard event, counters), by the
:class:`~vntwin.live.ingest.Ingestor`'s own steps run in this transaction: its
``submit`` opens a transaction of its own and reads Datastreams committed before, and
these are not committed yet. One refused observation refuses the whole request; it is
counted for its source afterwards, outside the transaction that was rolled back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.catalog.models import utcnow
from vntwin.errors import NotAuthorized, RateLimited, ValidationError
from vntwin.live import alerts
from vntwin.live.ingest import Ingestor
from vntwin.live.layers import current_locations
from vntwin.live.models import StaDatastream, StaLocation, StaThing
from vntwin.live.sources import SourceInfo
from vntwin.live.sta_create import Pending
from vntwin.live.sta_model import OBSERVATION_TYPES
from vntwin.live.validate import Checked, Rejected, StreamInfo, check

FEATURE_REFUSED = (
    "FeaturesOfInterest are not kept by this service: an observation's feature of "
    "interest is its Thing's Location (Datastreams(n)/Thing/Locations); send the "
    "observation without FeatureOfInterest")


class ObservationRefused(ValidationError):
    """A nested observation failed its checks: the request is refused; ``reason`` is
    counted for ``source`` once the transaction has been rolled back.
    """

    def __init__(self, source: str, reason: str, path: str, detail: str) -> None:
        super().__init__({path: [detail]}, f"{path}: {detail}")
        self.source, self.reason, self.detail = source, reason, detail


def _stream_info(session: Session, stream: StaDatastream, source: SourceInfo) -> StreamInfo:
    """What checking and placing an observation needs, read in this transaction (the
    Datastream, its Thing and current Location may be minutes old or being created now).
    The current Location is the newest linked, as ``ingest.load_streams`` places it.
    """
    here = current_locations()
    thing_name = session.scalar(select(StaThing.name).where(StaThing.id == stream.thing_id))
    place = session.scalars(select(StaLocation).join(here, here.c.location_id == StaLocation.id)
                            .where(here.c.thing_id == stream.thing_id)).first()
    valid = (stream.properties or {}).get("validRange")
    return StreamInfo(
        id=stream.id, name=stream.name,
        value_type=OBSERVATION_TYPES.get(stream.observation_type, "any"),
        unit_symbol=stream.unit_symbol,
        valid_range=(float(valid[0]), float(valid[1])) if valid else None,
        source_id=source.id, source_name=source.name, rate_per_s=source.rate_per_s,
        observed_property_id=stream.observed_property_id, thing_name=thing_name or "",
        lat=place.lat if place else None, lon=place.lon if place else None,
        h3=place.h3 if place else None,
        province_code=place.province_code if place else None,
        commune_code=place.commune_code if place else None)


def _checked(ingestor: Ingestor, item: Pending, stream: StreamInfo, now: datetime,
             max_future: timedelta) -> Checked:
    if not isinstance(item.body, dict):
        raise ObservationRefused(stream.source_name, "malformed", item.path,
                                 "must be a JSON object with 'result'")
    if "FeatureOfInterest" in item.body:
        raise ObservationRefused(stream.source_name, "malformed",
                                 f"{item.path}/FeatureOfInterest", FEATURE_REFUSED)
    try:
        checked = check(stream, item.body, now, max_future)
    except Rejected as exc:
        raise ObservationRefused(stream.source_name, exc.reason, item.path,
                                 exc.detail) from None
    if not checked.time_given:
        checked = ingestor._assign_time(checked, now)
    return checked


def store_nested(session: Session, ingestor: Ingestor, source: SourceInfo | None,
                 items: list[Pending]) -> int:
    """Check and store nested observations in ``session``'s transaction; how many.

    NotAuthorized without a source (observations are sent with the source's token, as
    over HTTP and MQTT), RateLimited over the source's rate, ObservationRefused (a 400)
    for the first observation that fails its checks.
    """
    if not items:
        return 0
    if source is None:
        raise NotAuthorized("Observations are sent with the source's token "
                            "(Authorization: vls_...), also inside a deep insert")
    if ingestor.limiter.take(source.name, source.rate_per_s, len(items)) < len(items):
        raise RateLimited(f"source {source.name!r} is over its rate: {len(items)} "
                          "observations at once", ingestor.limiter.retry_after(
                              source.name, source.rate_per_s))
    now = utcnow()
    max_future = timedelta(seconds=ingestor.settings.live_max_future_s)
    infos: dict[int, StreamInfo] = {}
    pairs: list[tuple[Checked, StreamInfo]] = []
    seen: set[tuple[int, datetime]] = set()
    for item in items:
        stream = infos.get(item.stream.id) or _stream_info(session, item.stream, source)
        infos[item.stream.id] = stream
        checked = _checked(ingestor, item, stream, now, max_future)
        key = (checked.datastream_id, checked.phenomenon_time)
        if key in seen:
            raise ObservationRefused(source.name, "duplicate", item.path,
                                     "two observations at the same phenomenonTime")
        seen.add(key)
        pairs.append((checked, stream))
    _store(session, ingestor, pairs, source.name, now)
    return len(pairs)


def _store(session: Session, ingestor: Ingestor, pairs: list[tuple[Checked, StreamInfo]],
           source: str, now: datetime) -> None:
    """What ``Ingestor.submit`` does after its checks, in this transaction."""
    ingestor._store(session, [c for c, _ in pairs], now)
    updates = ingestor._latest(session, pairs, now)
    ingestor._rollups(session, [c for c, _ in pairs])
    alerts.evaluate(session, updates)
    ingestor._event(session, updates, len(pairs))
    ingestor._count(session, {(source, "accepted"): [len(pairs), ""]}, now)


def count_refused(ingestor: Ingestor, refused: ObservationRefused) -> None:
    """Count a refused nested observation for its source (after the rollback)."""
    counts: dict[tuple[str, str], list[Any]] = {(refused.source, refused.reason):
                                                [1, refused.detail]}
    with ingestor.cat.sessions() as session, session.begin():
        ingestor._count(session, counts, utcnow())


__all__ = ["FEATURE_REFUSED", "ObservationRefused", "count_refused", "store_nested"]
