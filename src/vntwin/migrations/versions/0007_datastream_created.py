"""when each SensorThings Datastream was created

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vntwin.catalog.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``sta_datastream.created``: a ``no_data`` alert rule watches a Datastream that has
    never sent anything from then (or from the rule's creation, if later). Datastreams
    created before this migration take their Thing's creation time.
    """
    with op.batch_alter_table("sta_datastream", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE sta_datastream SET created = (SELECT sta_thing.created FROM sta_thing "
               "WHERE sta_thing.id = sta_datastream.thing_id)")


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("sta_datastream", schema=None) as batch_op:
        batch_op.drop_column("created")
