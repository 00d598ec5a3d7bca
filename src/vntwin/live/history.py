"""Downsampled history of a datastream: hourly or daily count, mean, min and max from the
rollups, which outlive the raw observations (``live_raw_days``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.live.models import LiveRollup, StaDatastream
from vntwin.live.sta_model import iso

MAX_BUCKETS = 5000


def history(cat: Catalog, stream_id: int, period: str = "hour",
            start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """Buckets of ``period`` ("hour" or "day", days being Vietnam's local days) between
    ``start`` and ``end`` (default: the last 2 days hourly, or 90 days daily).
    """
    if period not in ("hour", "day"):
        raise ValidationError({"period": ["hour or day"]})
    end = (end or utcnow()).astimezone(UTC) if (end is None or end.tzinfo) else end
    start = start or end - (timedelta(days=2) if period == "hour" else timedelta(days=90))
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError({"start": ["times need a time zone (Z or +07:00)"]})
    if start >= end:
        raise ValidationError({"start": ["must be before end"]})
    with cat.read() as session:
        stream = session.get(StaDatastream, stream_id)
        if stream is None:
            raise NotFound(f"Datastreams({stream_id}) does not exist")
        rows = session.scalars(select(LiveRollup).where(
            LiveRollup.datastream_id == stream_id, LiveRollup.period == period,
            LiveRollup.bucket >= start, LiveRollup.bucket < end)
            .order_by(LiveRollup.bucket).limit(MAX_BUCKETS))
        buckets = [{"start": iso(r.bucket), "count": int(r.n), "mean": r.total / r.n,
                    "min": r.vmin, "max": r.vmax} for r in rows if r.n]
    return {"datastream_id": stream_id, "name": stream.name, "unit": stream.unit_symbol,
            "period": period, "start": iso(start), "end": iso(end), "buckets": buckets}
