"""The operations dashboard: indicators with targets, trends and per-province breakdowns.

Three families, each computed from stored data only:

- **live**: per observed property, the national mean of the newest values, its hourly
  trend over the last day (from the rollups), the target the ObservedProperty carries
  (``properties.target``, with ``target_source`` and ``target_operator``), and a row per
  province. Simulated streams of a property are an indicator of their own ("PM2.5 (mô
  phỏng / simulated)", ``simulated: true`` on it and on each province row): a real
  sensor's indicator, its provinces and its trend hold measured values only;
- **open data**: public datasets, organisations and resources in the catalogue, with the
  monthly growth of datasets over the last year;
- **digital transformation**: the national figures and targets of the demo dataset
  ``chi-so-chuyen-doi-so-quoc-gia``, read from its datastore table: latest value, next
  target, gap and the series of reported values.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from vntwin.catalog.auth import ANONYMOUS
from vntwin.catalog.models import Group, Package, Resource, utcnow
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, VntwinError
from vntwin.live.alerts import list_alerts
from vntwin.live.layers import (
    is_simulated,
    latest_rows,
    layer_name,
    row_simulated,
    shown_name,
)
from vntwin.live.models import (
    Alert,
    LiveCounter,
    LiveRollup,
    StaDatastream,
    StaObservedProperty,
    StaThing,
)
from vntwin.live.sta_model import iso

INDICATOR_DATASET = "chi-so-chuyen-doi-so-quoc-gia"
TIMEZONE = "Asia/Ho_Chi_Minh"


def dashboard(cat: Catalog, now: datetime | None = None) -> dict[str, Any]:
    """Everything the operations dashboard shows, as JSON."""
    now = now or utcnow()
    return {"generated_at": iso(now), "timezone": TIMEZONE,
            "live": live_indicators(cat, now), "ingest": ingest_counts(cat),
            "open_data": open_data_indicators(cat, now),
            "programme": programme_indicators(cat),
            "digital": digital_indicators(cat), "alerts": alert_summary(cat)}


# -- live -------------------------------------------------------------------------------
def _province_names(cat: Catalog) -> dict[str, str]:
    from vntwin.twin.admin import AdminUnits

    try:
        units = AdminUnits.load(cat.settings.admin_dir)
    except (VntwinError, OSError):
        return {}
    return dict(zip(units.provinces["code"].astype(str), units.provinces["name"].astype(str),
                    strict=True))


def _meets(value: float, target: float, operator: str) -> bool:
    return value <= target if operator in ("<=", "<") else value >= target


def _streams(cat: Catalog, property_id: int, simulated: bool) -> list[int]:
    """The datastreams of a property that are (or are not) simulated, as ``row_simulated``
    decides for the latest values: the trend is over the same streams as the indicator.
    """
    query = (select(StaDatastream.id, StaDatastream.properties, StaThing.properties,
                    StaObservedProperty.properties)
             .join(StaThing, StaThing.id == StaDatastream.thing_id)
             .join(StaObservedProperty,
                   StaObservedProperty.id == StaDatastream.observed_property_id)
             .where(StaDatastream.observed_property_id == property_id))
    with cat.read() as session:
        return [ident for ident, *props in session.execute(query)
                if is_simulated(*props) == simulated]


def _trend(cat: Catalog, property_id: int, simulated: bool,
           now: datetime) -> list[dict[str, Any]]:
    streams = _streams(cat, property_id, simulated)
    if not streams:
        return []
    since = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    query = (select(LiveRollup.bucket, func.sum(LiveRollup.total), func.sum(LiveRollup.n))
             .where(LiveRollup.datastream_id.in_(streams),
                    LiveRollup.period == "hour", LiveRollup.bucket >= since)
             .group_by(LiveRollup.bucket).order_by(LiveRollup.bucket))
    with cat.read() as session:
        return [{"hour": iso(bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)),
                 "mean": float(total) / float(n), "observations": int(n)}
                for bucket, total, n in session.execute(query) if n]


def live_indicators(cat: Catalog, now: datetime) -> list[dict[str, Any]]:
    """One indicator per observed property with fresh values, and one more for its
    simulated streams if it has any: measured and generated values are never averaged
    together (a real 10 µg/m³ and a simulated 500 are two indicators, not one of 255).
    """
    rows = latest_rows(cat, now=now)
    names = _province_names(cat) if rows else {}
    groups: dict[tuple[int, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["property_id"], row_simulated(row))].append(row)
    return [_indicator(cat, property_id, simulated, items, names, now)
            for (property_id, simulated), items in sorted(groups.items())]


def _indicator(cat: Catalog, property_id: int, simulated: bool, items: list[dict[str, Any]],
               names: dict[str, str], now: datetime) -> dict[str, Any]:
    """The indicator of one property's real (or simulated) latest values."""
    props = items[0]["property_properties"] or {}
    target = props.get("target")
    goal = float(target) if isinstance(target, int | float) else None
    operator = props.get("target_operator", "<=")
    values = [float(r["result"]) for r in items]
    mean = sum(values) / len(values)
    return {
        "key": f"{property_id}-simulated" if simulated else str(property_id),
        "observed_property_id": property_id,
        "name": shown_name(items[0]["property"], simulated),
        "layer": layer_name(items[0]["property"], simulated), "unit": items[0]["unit"],
        "value": mean, "min": min(values), "max": max(values), "sensors": len(values),
        "valid_time": iso(max(r["time"] for r in items)),
        "target": target, "target_operator": operator if target is not None else None,
        "target_source": props.get("target_source"),
        "meets_target": _meets(mean, goal, operator) if goal is not None else None,
        "sensors_over_target": sum(not _meets(v, goal, operator) for v in values)
        if goal is not None else None,
        "simulated": simulated, "trend": _trend(cat, property_id, simulated, now),
        "provinces": _provinces(items, names, goal, operator, simulated)}


def _provinces(items: list[dict[str, Any]], names: dict[str, str], goal: float | None,
               operator: str, simulated: bool) -> list[dict[str, Any]]:
    """An indicator's rows by province, each saying whether its values are simulated."""
    by_province: dict[str | None, list[float]] = defaultdict(list)
    for r in items:
        by_province[r["province_code"]].append(float(r["result"]))
    return [{"province_code": code, "province_name": names.get(code or "", code),
             "mean": sum(v) / len(v), "max": max(v), "sensors": len(v),
             "meets_target": _meets(sum(v) / len(v), goal, operator)
             if goal is not None else None, "simulated": simulated}
            for code, v in sorted(by_province.items(), key=lambda kv: kv[0] or "")]


def ingest_counts(cat: Catalog) -> list[dict[str, Any]]:
    """Per source: accepted, duplicates and rejections by reason."""
    sources: dict[str, dict[str, Any]] = {}
    with cat.read() as session:
        for row in session.scalars(select(LiveCounter).order_by(LiveCounter.source)):
            entry = sources.setdefault(row.source, {"source": row.source, "accepted": 0,
                                                    "duplicate": 0, "rejected": {},
                                                    "last_at": None})
            if row.outcome in ("accepted", "duplicate"):
                entry[row.outcome] = int(row.count)
            else:
                entry["rejected"][row.outcome] = int(row.count)
            last = iso(row.last_at)
            entry["last_at"] = max(filter(None, (entry["last_at"], last)))
    return list(sources.values())


# -- open data --------------------------------------------------------------------------
def _month_starts(now: datetime, months: int) -> list[datetime]:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    out = [first]
    for _ in range(months - 1):
        prev = out[-1] - timedelta(days=1)
        out.append(prev.replace(day=1))
    return list(reversed(out))


def open_data_indicators(cat: Catalog, now: datetime) -> list[dict[str, Any]]:
    """Counts of the open-data programme, with a year of monthly dataset growth."""
    public = (Package.state == "active", Package.access_level == "public",
              Package.type == "dataset")
    with cat.read() as session:
        datasets = session.scalar(select(func.count()).select_from(Package).where(*public))
        orgs = session.scalar(select(func.count()).select_from(Group).where(
            Group.is_organization.is_(True), Group.state == "active"))
        resources = session.scalar(select(func.count()).select_from(Resource)
                                   .join(Package, Package.id == Resource.package_id)
                                   .where(Resource.state == "active", *public))
        datastore = session.scalar(select(func.count()).select_from(Resource)
                                   .join(Package, Package.id == Resource.package_id)
                                   .where(Resource.state == "active",
                                          Resource.datastore_active.is_(True), *public))
        trend = []
        for start in [*_month_starts(now, 12)[1:], None]:
            query = select(func.count()).select_from(Package).where(*public)
            if start is not None:
                query = query.where(Package.created < start)
            trend.append({"until": iso(start) if start else iso(now),
                          "datasets": int(session.scalar(query) or 0)})
    return [
        {"code": "public_datasets", "name": "Bộ dữ liệu mở / public datasets",
         "value": int(datasets or 0), "trend": trend},
        {"code": "organisations", "name": "Tổ chức / organisations", "value": int(orgs or 0)},
        {"code": "public_resources", "name": "Tài nguyên / resources",
         "value": int(resources or 0)},
        {"code": "queryable_resources", "name": "Tài nguyên truy vấn được / queryable "
         "resources (datastore)", "value": int(datastore or 0)},
    ]


def programme_indicators(cat: Catalog) -> dict[str, Any]:
    """The open-data programme's totals for this year (requests answered on time, agencies
    meeting their targets, mean quality), as the page shows them.

    ``programme_progress`` itself, so the JSON and the page cannot disagree; without its
    per-agency rows, which ``programme_progress_show`` serves and which would make every
    refresh of this document grow with the number of agencies.
    """
    from vntwin.demand.progress import programme_progress

    return {k: v for k, v in programme_progress(cat).items() if k != "by_agency"}


# -- digital transformation -------------------------------------------------------------
def _indicator_rows(cat: Catalog) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from vntwin.catalog import packages
    from vntwin.datastore.search import datastore_search

    pkg = packages.show(cat, ANONYMOUS, INDICATOR_DATASET)
    resource = next((r for r in pkg["resources"] if r.get("datastore_active")), None)
    if resource is None:
        raise NotFound(f"the dataset {INDICATOR_DATASET} has no resource in the datastore")
    result = datastore_search(cat.settings.datastore_dir, resource["id"], limit=32000)
    return {"dataset": pkg["name"], "title": pkg.get("title"),
            "resource_id": resource["id"]}, result["records"]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def digital_indicators(cat: Catalog) -> dict[str, Any]:
    """National digital-transformation figures with targets, from the demo dataset."""
    try:
        meta, records = _indicator_rows(cat)
    except VntwinError as exc:
        return {"available": False, "reason": exc.message, "indicators": []}
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_code[str(rec["indicator_code"])].append(rec)
    indicators = []
    for code, rows in by_code.items():
        rows.sort(key=lambda r: str(r["period"]))
        reported = [r for r in rows if r["kind"] in ("actual", "estimate")
                    and _number(r["value"]) is not None]
        targets = [r for r in rows if r["kind"] == "target" and _number(r["value"]) is not None]
        unit = str(rows[0]["unit"])
        lower_better = unit == "rank"
        latest = reported[-1] if reported else None
        upcoming = [t for t in targets if latest is None
                    or str(t["period"]) >= str(latest["period"])[:4]]
        target = upcoming[0] if upcoming else (targets[-1] if targets else None)
        entry: dict[str, Any] = {
            "code": code, "name": rows[0]["indicator"], "unit": unit,
            "direction": "lower_is_better" if lower_better else "higher_is_better",
            "latest": {"period": str(latest["period"]), "value": _number(latest["value"]),
                       "kind": latest["kind"], "source": latest["source"]} if latest else None,
            "target": {"period": str(target["period"]), "value": _number(target["value"]),
                       "source": target["source"], "note": target.get("note")}
            if target else None,
            "targets": [{"period": str(t["period"]), "value": _number(t["value"])}
                        for t in targets],
            "trend": [{"period": str(r["period"]), "value": _number(r["value"]),
                       "kind": r["kind"]} for r in reported],
            # without a reported figure (only a target so far) there is nothing to compare
            "gap": None, "meets_target": None, "progress_pct": None,
        }
        if latest and target:
            value, goal = _number(latest["value"]), _number(target["value"])
            assert value is not None and goal is not None
            entry["gap"] = goal - value
            entry["meets_target"] = value <= goal if lower_better else value >= goal
            entry["progress_pct"] = round(100 * (goal / value if lower_better else value / goal),
                                          1) if value and goal else None
        indicators.append(entry)
    return {"available": True, **meta, "indicators": indicators}


# -- alerts -----------------------------------------------------------------------------
def alert_summary(cat: Catalog) -> dict[str, Any]:
    """Unresolved alerts by state and province, and the newest of them."""
    with cat.read() as session:
        states = dict(session.execute(select(Alert.state, func.count()).where(
            Alert.state != "resolved").group_by(Alert.state)).all())
        provinces = dict(session.execute(select(Alert.province_code, func.count()).where(
            Alert.state != "resolved").group_by(Alert.province_code)).all())
    return {"open": int(states.get("open", 0)),
            "acknowledged": int(states.get("acknowledged", 0)),
            "by_province": [{"province_code": code, "unresolved": int(n)}
                            for code, n in sorted(provinces.items(), key=lambda kv: kv[0] or "")],
            "latest": list_alerts(cat, "unresolved", limit=20)["alerts"]}
