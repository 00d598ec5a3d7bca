"""SQLAlchemy models of live sensor data, after OGC SensorThings API 1.1.

The SensorThings entities (``sta_*`` tables) keep the standard's names and integer
``@iot.id``s, so MQTT topics read ``v1.1/Datastreams(7)/Observations`` as in the standard.
The ``live_*`` tables are vntwin's own: sources (who may write, at what rate), counters
of what each source sent, the latest value and the downsampled history of each
datastream, alert rules and alerts, and the event log that SSE streams replay.

Everything is in the catalogue's SQL database: the twin's DuckDB file is written only by
``vntwin fuse``, so live layer values are read from here (``vntwin.live.layers``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vntwin.catalog.models import Base, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")
"""A 64-bit autoincrement key (SQLite only autoincrements INTEGER PRIMARY KEY)."""


class LiveSource(Base):
    """A sender of observations: one HTTP token, a rate limit, owner of its Things."""

    __tablename__ = "live_source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    rate_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StaThing(Base):
    """SensorThings Thing: the object observed (a monitoring station, a gauge)."""

    __tablename__ = "sta_thing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("live_source.id"), nullable=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class StaLocation(Base):
    """SensorThings Location, with the H3 cell and 2025 units it falls in (computed)."""

    __tablename__ = "sta_location"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    location: Mapped[dict[str, Any]] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    h3: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True, index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("live_source.id"), nullable=True)


class StaThingLocation(Base):
    """Things and their current Locations (many to many, as in the standard)."""

    __tablename__ = "sta_thing_location"
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_thing.id", ondelete="CASCADE"),
                                          primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("sta_location.id", ondelete="CASCADE"),
                                             primary_key=True)


class StaObservedProperty(Base):
    """SensorThings ObservedProperty: what is measured (PM2.5, water level)."""

    __tablename__ = "sta_observed_property"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("live_source.id"), nullable=True)


class StaSensor(Base):
    """SensorThings Sensor: the instrument or procedure."""

    __tablename__ = "sta_sensor"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="")
    sensor_metadata: Mapped[str] = mapped_column("metadata", Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("live_source.id"), nullable=True)


class StaDatastream(Base):
    """SensorThings Datastream: one series of one property by one sensor on one Thing."""

    __tablename__ = "sta_datastream"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(Text)
    unit_name: Mapped[str] = mapped_column(Text, default="")
    unit_symbol: Mapped[str] = mapped_column(Text, default="")
    unit_definition: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_thing.id", ondelete="CASCADE"),
                                          index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensor.id"))
    observed_property_id: Mapped[int] = mapped_column(ForeignKey("sta_observed_property.id"),
                                                      index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("live_source.id"), nullable=True)
    created: Mapped[datetime | None] = mapped_column(default=utcnow, nullable=True)


class StaObservation(Base):
    """SensorThings Observation. One per (datastream, phenomenon time): a sensor measures
    once at a time, so a redelivered MQTT message is recognised and not stored twice.
    """

    __tablename__ = "sta_observation"
    __table_args__ = (UniqueConstraint("datastream_id", "phenomenon_time",
                                       name="uq_sta_observation_time"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"))
    phenomenon_time: Mapped[datetime] = mapped_column()
    phenomenon_end: Mapped[datetime | None] = mapped_column(nullable=True)
    result_time: Mapped[datetime | None] = mapped_column(nullable=True)
    result_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    result_json: Mapped[Any] = mapped_column(JSON, nullable=True)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveLatest(Base):
    """The newest observation of each datastream and the one before it (for rates of
    change), so live layers and alerts never scan the observation table.
    """

    __tablename__ = "live_latest"
    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"), primary_key=True)
    phenomenon_time: Mapped[datetime] = mapped_column()
    result: Mapped[float | None] = mapped_column(Float, nullable=True)
    previous_time: Mapped[datetime | None] = mapped_column(nullable=True)
    previous_result: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_time: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveRollup(Base):
    """Downsampled history: count, sum, min and max per datastream per hour and per day.
    Raw observations older than ``live_raw_days`` are pruned; rollups are kept.
    """

    __tablename__ = "live_rollup"
    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # "hour" | "day"
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)


class LiveCounter(Base):
    """What each source sent, by outcome (accepted, duplicate, or a rejection reason)."""

    __tablename__ = "live_counter"
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_detail: Mapped[str] = mapped_column(Text, default="")


class AlertRule(Base):
    """A rule on live values: ``threshold`` (value op limit), ``rate`` (change per hour op
    limit) or ``no_data`` (nothing for ``minutes``), for one observed property or one
    datastream, in an area (everywhere, a province, a commune or a bbox).
    """

    __tablename__ = "live_alert_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    observed_property_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_observed_property.id", ondelete="CASCADE"), nullable=True)
    datastream_id: Mapped[int | None] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=True)
    operator: Mapped[str] = mapped_column(String(2), default=">")
    limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    area: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """An alert raised by a rule for a datastream. ``open_key`` is set while the alert is
    open or acknowledged, so the database itself keeps one unresolved alert per rule and
    datastream even when several processes evaluate rules.
    """

    __tablename__ = "live_alert"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("live_alert_rule.id", ondelete="CASCADE"),
                                         index=True)
    datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_datastream.id", ondelete="CASCADE"))
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    message: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    observed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True)


class LiveEvent(Base):
    """Append-only log of what SSE subscribers are told (alerts, new values); ids are the
    SSE event ids, so a reconnecting browser resumes with ``Last-Event-ID``.
    """

    __tablename__ = "live_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

