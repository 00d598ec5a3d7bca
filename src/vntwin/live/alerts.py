"""Alert rules on live values, and the alerts they raise.

Kinds: ``threshold`` (the newest value ``operator`` ``limit``), ``rate`` (change per hour
between the two newest values ``operator`` ``limit``), ``no_data`` (no observation for
``minutes``). A rule names an observed property (every datastream of it) or one
datastream, and an area: everywhere, a province (``{"province": "01"}``), a commune
(``{"commune": "00004"}``) or a bounding box (``{"bbox": [w, s, e, n]}``).

An alert is raised when the condition becomes true, stays open (or acknowledged) while it
holds, and is resolved when it no longer does: one unresolved alert per rule and
datastream, as operations consoles do. Threshold and rate rules are evaluated with each
stored batch, in its transaction; ``no_data`` rules by ``check_no_data`` every few
seconds. Every change is an event for open dashboards (``vntwin.live.events``).
"""

from __future__ import annotations

import operator as op
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vntwin.catalog.models import utcnow
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.live.events import emit
from vntwin.live.models import (
    Alert,
    AlertRule,
    LiveLatest,
    StaDatastream,
    StaObservedProperty,
)
from vntwin.live.sta_model import iso
from vntwin.live.validate import StreamInfo

KINDS = ("threshold", "rate", "no_data")
OPERATORS = {">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le}
SEVERITIES = ("info", "warning", "critical")
STATES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class Update:
    """A datastream's newest value after a batch, and the one before."""

    stream: StreamInfo
    time: datetime
    value: float | None
    previous_time: datetime | None
    previous_value: float | None


# -- rules -------------------------------------------------------------------------------
def _area(value: Any) -> dict[str, Any]:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationError({"area": ['one of {"province": "01"}, {"commune": "00004"}, '
                                        '{"bbox": [west, south, east, north]} or {}']})
    (key, val), = value.items()
    if key == "province" and isinstance(val, str) and val.isdigit() and len(val) == 2:
        return value
    if key == "commune" and isinstance(val, str) and val.isdigit() and len(val) == 5:
        return value
    if key == "bbox" and isinstance(val, list) and len(val) == 4 \
            and all(isinstance(v, int | float) for v in val) and val[0] < val[2] \
            and val[1] < val[3]:
        return value
    raise ValidationError({"area": [f"cannot use {value!r}: a province has a 2-digit code, "
                                    "a commune a 5-digit one, a bbox is [w, s, e, n]"]})


def create_rule(cat: Catalog, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and store a rule; returns it as JSON."""
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in KINDS:
        errors["kind"] = [f"one of {', '.join(KINDS)}"]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["is required"]
    prop, stream = data.get("observed_property_id"), data.get("datastream_id")
    if (prop is None) == (stream is None):
        errors["observed_property_id"] = ["give observed_property_id or datastream_id "
                                          "(exactly one)"]
    operator = data.get("operator", ">")
    if kind in ("threshold", "rate") and operator not in OPERATORS:
        errors["operator"] = [f"one of {', '.join(OPERATORS)}"]
    limit, minutes = data.get("limit"), data.get("minutes")
    if kind in ("threshold", "rate") and (isinstance(limit, bool)
                                          or not isinstance(limit, int | float)):
        errors["limit"] = ["a number is required"]
    if kind == "no_data" and (isinstance(minutes, bool) or not isinstance(minutes, int | float)
                              or minutes <= 0):
        errors["minutes"] = ["a positive number of minutes is required"]
    severity = data.get("severity", "warning")
    if severity not in SEVERITIES:
        errors["severity"] = [f"one of {', '.join(SEVERITIES)}"]
    try:
        area = _area(data.get("area"))
    except ValidationError as exc:
        errors.update(exc.errors)
        area = {}
    if errors:
        raise ValidationError(errors)
    with cat.sessions() as session, session.begin():
        if prop is not None and session.get(StaObservedProperty, prop) is None:
            raise ValidationError({"observed_property_id": [f"ObservedProperties({prop}) "
                                                            "does not exist"]})
        if stream is not None and session.get(StaDatastream, stream) is None:
            raise ValidationError({"datastream_id": [f"Datastreams({stream}) does not exist"]})
        rule = AlertRule(name=name.strip(), kind=kind, observed_property_id=prop,  # type: ignore[union-attr]
                         datastream_id=stream, operator=operator,
                         limit=float(limit) if limit is not None else None,
                         minutes=float(minutes) if minutes is not None else None,
                         area=area, severity=severity, enabled=bool(data.get("enabled", True)))
        session.add(rule)
        session.flush()
        return rule_dict(rule)


def rule_dict(rule: AlertRule) -> dict[str, Any]:
    """A rule as JSON."""
    return {"id": rule.id, "name": rule.name, "kind": rule.kind,
            "observed_property_id": rule.observed_property_id,
            "datastream_id": rule.datastream_id, "operator": rule.operator,
            "limit": rule.limit, "minutes": rule.minutes, "area": rule.area,
            "severity": rule.severity, "enabled": rule.enabled, "created": iso(rule.created)}


def list_rules(cat: Catalog) -> list[dict[str, Any]]:
    """Every rule."""
    with cat.read() as session:
        return [rule_dict(r) for r in session.scalars(select(AlertRule).order_by(AlertRule.id))]


def delete_rule(cat: Catalog, rule_id: int) -> None:
    """Remove a rule and its alerts."""
    with cat.sessions() as session, session.begin():
        rule = session.get(AlertRule, rule_id)
        if rule is None:
            raise NotFound(f"no alert rule {rule_id}")
        session.delete(rule)


# -- matching and evaluation --------------------------------------------------------------
def in_area(area: dict[str, Any], stream: StreamInfo) -> bool:
    """Whether a datastream's place is in a rule's area."""
    if not area:
        return True
    if "province" in area:
        return stream.province_code == area["province"]
    if "commune" in area:
        return stream.commune_code == area["commune"]
    west, south, east, north = area["bbox"]
    return stream.lat is not None and stream.lon is not None \
        and west <= stream.lon <= east and south <= stream.lat <= north


def applies(rule: AlertRule, stream: StreamInfo) -> bool:
    """Whether a rule watches a datastream."""
    if rule.datastream_id is not None and rule.datastream_id != stream.id:
        return False
    if rule.observed_property_id is not None \
            and rule.observed_property_id != stream.observed_property_id:
        return False
    return in_area(rule.area or {}, stream)


def _condition(rule: AlertRule, item: Update) -> tuple[bool, float | None]:
    """(holds, the value it was judged on)."""
    if rule.kind == "threshold":
        if item.value is None or rule.limit is None:
            return False, None
        return OPERATORS[rule.operator](item.value, rule.limit), item.value
    if rule.kind == "rate":
        if None in (item.value, item.previous_value, item.previous_time) or rule.limit is None:
            return False, None
        hours = (item.time - item.previous_time).total_seconds() / 3600  # type: ignore[operator]
        if hours <= 0:
            return False, None
        rate = (item.value - item.previous_value) / hours  # type: ignore[operator]
        return OPERATORS[rule.operator](rate, rule.limit), rate
    return False, None  # no_data: fresh data never raises it


def _message(rule: AlertRule, stream: StreamInfo, value: float | None,
             observed_at: datetime | None = None) -> str:
    unit = stream.unit_symbol
    if rule.kind == "threshold":
        return f"{rule.name}: {stream.name} = {value:g} {unit} ({rule.operator} {rule.limit:g})"
    if rule.kind == "rate":
        return (f"{rule.name}: {stream.name} changes {value:+.3g} {unit}/h "
                f"({rule.operator} {rule.limit:g})")
    if observed_at is None:
        return f"{rule.name}: {stream.name} has sent nothing yet ({rule.minutes:g} min)"
    return f"{rule.name}: {stream.name} sent nothing for {rule.minutes:g} min"


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as JSON (times UTC)."""
    return {"id": alert.id, "rule_id": alert.rule_id, "datastream_id": alert.datastream_id,
            "state": alert.state, "severity": alert.severity, "message": alert.message,
            "value": alert.value, "observed_at": iso(alert.observed_at),
            "raised_at": iso(alert.raised_at), "acknowledged_at": iso(alert.acknowledged_at),
            "acknowledged_by": alert.acknowledged_by or None,
            "resolved_at": iso(alert.resolved_at), "province_code": alert.province_code,
            "commune_code": alert.commune_code}


def _raise(session: Session, rule: AlertRule, stream: StreamInfo, value: float | None,
           observed_at: datetime | None, open_now: dict[tuple[int, int], Alert]) -> None:
    key = (rule.id, stream.id)
    if key in open_now:
        return
    alert = Alert(rule_id=rule.id, datastream_id=stream.id, open_key=f"{rule.id}:{stream.id}",
                  state="open", severity=rule.severity,
                  message=_message(rule, stream, value, observed_at),
                  value=value, observed_at=observed_at, raised_at=utcnow(),
                  province_code=stream.province_code, commune_code=stream.commune_code)
    nested = session.begin_nested()  # another process may have raised it a moment ago
    try:
        session.add(alert)
        session.flush()
        nested.commit()
    except Exception:  # the unique open_key: already open elsewhere
        nested.rollback()
        return
    open_now[key] = alert
    emit(session, "alert", alert_dict(alert))


def _resolve(session: Session, alert: Alert) -> None:
    alert.state, alert.open_key, alert.resolved_at = "resolved", None, utcnow()
    session.flush()
    emit(session, "alert", alert_dict(alert))


def _open_alerts(session: Session, rule_ids: Iterable[int],
                 stream_ids: Iterable[int]) -> dict[tuple[int, int], Alert]:
    rows = session.scalars(select(Alert).where(
        Alert.open_key.is_not(None), Alert.rule_id.in_(list(rule_ids)),
        Alert.datastream_id.in_(list(stream_ids))))
    return {(a.rule_id, a.datastream_id): a for a in rows}


def evaluate(session: Session, updates: list[Update]) -> None:
    """Raise or resolve alerts for datastreams that just got new values."""
    if not updates:
        return
    rules = list(session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True))))
    if not rules:
        return
    pairs = [(rule, item) for item in updates for rule in rules if applies(rule, item.stream)]
    if not pairs:
        return
    open_now = _open_alerts(session, {r.id for r, _ in pairs}, {i.stream.id for _, i in pairs})
    for rule, item in pairs:
        holds, value = _condition(rule, item)
        if holds:
            _raise(session, rule, item.stream, value, item.time, open_now)
        elif (rule.id, item.stream.id) in open_now and (rule.kind != "threshold"
                                                        or item.value is not None):
            _resolve(session, open_now.pop((rule.id, item.stream.id)))


def check_no_data(cat: Catalog, streams: dict[int, StreamInfo],
                  now: datetime | None = None) -> int:
    """Raise (or resolve) ``no_data`` alerts; returns how many were raised.

    A datastream is silent when its newest observation is older than the rule's
    ``minutes``; one that has never sent anything is silent once ``minutes`` have passed
    since it or the rule was created, whichever is later (a sensor that never came
    online is the first thing an operations centre should hear about).
    """
    now = now or utcnow()
    raised = 0
    with cat.sessions() as session, session.begin():
        rules = list(session.scalars(select(AlertRule).where(
            AlertRule.enabled.is_(True), AlertRule.kind == "no_data")))
        if not rules:
            return 0
        watched = [(r, s) for r in rules for s in streams.values() if applies(r, s)]
        if not watched:
            return 0
        ids = list({s.id for _, s in watched})
        latest = dict(session.execute(select(LiveLatest.datastream_id,
                                             LiveLatest.phenomenon_time)
                                      .where(LiveLatest.datastream_id.in_(ids))).all())
        created = dict(session.execute(select(StaDatastream.id, StaDatastream.created)
                                       .where(StaDatastream.id.in_(ids))).all())
        open_now = _open_alerts(session, {r.id for r, _ in watched}, ids)
        for rule, stream in watched:
            last = latest.get(stream.id)
            since = last if last is not None else _later(rule.created, created.get(stream.id))
            silent = now - since > timedelta(minutes=rule.minutes or 0)
            key = (rule.id, stream.id)
            if silent and key not in open_now:
                _raise(session, rule, stream, None, last, open_now)
                raised += 1
            elif not silent and key in open_now:
                _resolve(session, open_now.pop(key))
    return raised


def _later(rule_created: datetime, stream_created: datetime | None) -> datetime:
    return rule_created if stream_created is None else max(rule_created, stream_created)


# -- reading and acknowledging ------------------------------------------------------------
def list_alerts(cat: Catalog, state: str = "open", province: str | None = None,
                limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Alerts, newest first; ``state`` open, acknowledged, resolved, unresolved or all."""
    allowed = (*STATES, "unresolved", "all")
    if state not in allowed:
        raise ValidationError({"state": [f"one of {', '.join(allowed)}"]})
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValidationError({"limit": ["limit 1..1000, offset >= 0"]})
    query = select(Alert)
    if state == "unresolved":
        query = query.where(Alert.state != "resolved")
    elif state != "all":
        query = query.where(Alert.state == state)
    if province:
        query = query.where(Alert.province_code == province)
    with cat.read() as session:
        rows = session.scalars(query.order_by(Alert.id.desc()).limit(limit).offset(offset))
        return {"alerts": [alert_dict(a) for a in rows]}


def acknowledge(cat: Catalog, alert_id: int, by: str) -> dict[str, Any]:
    """Mark an open alert as seen by ``by``; it stays unresolved until its condition ends."""
    with cat.sessions() as session, session.begin():
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}")
        if alert.state == "resolved":
            raise ValidationError({"state": ["the alert is resolved already"]})
        if alert.state == "open":
            session.execute(update(Alert).where(Alert.id == alert_id).values(
                state="acknowledged", acknowledged_at=utcnow(), acknowledged_by=by))
            session.refresh(alert)
            emit(session, "alert", alert_dict(alert))
        return alert_dict(alert)
