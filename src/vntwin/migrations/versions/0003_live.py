"""live sensor data (SensorThings model, alerts)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vntwin.catalog.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _t() -> UTCDateTime:
    return UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "live_source",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("rate_per_s", sa.Float(), nullable=True),
        sa.Column("created", _t(), nullable=False),
        sa.Column("revoked_at", _t(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sta_thing",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("live_source.id"), nullable=True),
        sa.Column("created", _t(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sta_location",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(100), nullable=False),
        sa.Column("location", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("h3", sa.BigInteger(), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("commune_code", sa.String(5), nullable=True),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("live_source.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sta_location_h3", "sta_location", ["h3"])
    op.create_index("ix_sta_location_province_code", "sta_location", ["province_code"])
    op.create_index("ix_sta_location_commune_code", "sta_location", ["commune_code"])
    op.create_table(
        "sta_thing_location",
        sa.Column("thing_id", sa.Integer(), sa.ForeignKey("sta_thing.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("location_id", sa.Integer(),
                  sa.ForeignKey("sta_location.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("thing_id", "location_id"),
    )
    for table in ("sta_observed_property", "sta_sensor"):
        extra = ([sa.Column("definition", sa.Text(), nullable=False)]
                 if table == "sta_observed_property" else
                 [sa.Column("encoding_type", sa.String(100), nullable=False),
                  sa.Column("metadata", sa.Text(), nullable=False)])
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            *extra,
            sa.Column("properties", sa.JSON(), nullable=True),
            sa.Column("source_id", sa.Integer(), sa.ForeignKey("live_source.id"),
                      nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
    op.create_table(
        "sta_datastream",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.Text(), nullable=False),
        sa.Column("unit_name", sa.Text(), nullable=False),
        sa.Column("unit_symbol", sa.Text(), nullable=False),
        sa.Column("unit_definition", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", sa.Integer(), sa.ForeignKey("sta_thing.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sensor_id", sa.Integer(), sa.ForeignKey("sta_sensor.id"), nullable=False),
        sa.Column("observed_property_id", sa.Integer(),
                  sa.ForeignKey("sta_observed_property.id"), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("live_source.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sta_datastream_thing_id", "sta_datastream", ["thing_id"])
    op.create_index("ix_sta_datastream_observed_property_id", "sta_datastream",
                    ["observed_property_id"])
    op.create_table(
        "sta_observation",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("datastream_id", sa.Integer(),
                  sa.ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=False),
        sa.Column("phenomenon_time", _t(), nullable=False),
        sa.Column("phenomenon_end", _t(), nullable=True),
        sa.Column("result_time", _t(), nullable=True),
        sa.Column("result_num", sa.Float(), nullable=True),
        sa.Column("result_json", sa.JSON(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("received_at", _t(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("datastream_id", "phenomenon_time", name="uq_sta_observation_time"),
    )
    op.create_table(
        "live_latest",
        sa.Column("datastream_id", sa.Integer(),
                  sa.ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=False),
        sa.Column("phenomenon_time", _t(), nullable=False),
        sa.Column("result", sa.Float(), nullable=True),
        sa.Column("previous_time", _t(), nullable=True),
        sa.Column("previous_result", sa.Float(), nullable=True),
        sa.Column("first_time", _t(), nullable=False),
        sa.Column("received_at", _t(), nullable=False),
        sa.PrimaryKeyConstraint("datastream_id"),
    )
    op.create_table(
        "live_rollup",
        sa.Column("datastream_id", sa.Integer(),
                  sa.ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("bucket", _t(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("datastream_id", "period", "bucket"),
    )
    op.create_table(
        "live_counter",
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_at", _t(), nullable=False),
        sa.Column("last_detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "outcome"),
    )
    op.create_table(
        "live_alert_rule",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("observed_property_id", sa.Integer(),
                  sa.ForeignKey("sta_observed_property.id", ondelete="CASCADE"), nullable=True),
        sa.Column("datastream_id", sa.Integer(),
                  sa.ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=True),
        sa.Column("operator", sa.String(2), nullable=False),
        sa.Column("limit", sa.Float(), nullable=True),
        sa.Column("minutes", sa.Float(), nullable=True),
        sa.Column("area", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created", _t(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "live_alert",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(),
                  sa.ForeignKey("live_alert_rule.id", ondelete="CASCADE"), nullable=False),
        sa.Column("datastream_id", sa.Integer(),
                  sa.ForeignKey("sta_datastream.id", ondelete="CASCADE"), nullable=False),
        sa.Column("open_key", sa.String(40), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("observed_at", _t(), nullable=True),
        sa.Column("raised_at", _t(), nullable=False),
        sa.Column("acknowledged_at", _t(), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=False),
        sa.Column("resolved_at", _t(), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("commune_code", sa.String(5), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    op.create_index("ix_live_alert_rule_id", "live_alert", ["rule_id"])
    op.create_index("ix_live_alert_state", "live_alert", ["state"])
    op.create_table(
        "live_event",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", _t(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_live_event_at", "live_event", ["at"])


def downgrade() -> None:
    """Revert."""
    for table in ("live_event", "live_alert", "live_alert_rule", "live_counter",
                  "live_rollup", "live_latest", "sta_observation", "sta_datastream",
                  "sta_sensor", "sta_observed_property", "sta_thing_location",
                  "sta_location", "sta_thing", "live_source"):
        op.drop_table(table)
