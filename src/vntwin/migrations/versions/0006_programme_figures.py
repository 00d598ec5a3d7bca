"""agencies' programme figures: quality revision counter and two covering indexes

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """What an agency's figures (``vntwin.demand.figures``) need to be cheap and fresh.

    - ``quality_state(id, revision)`` with its single row: bumped by every score write,
      the change marker of the cached figures derived from scores;
    - ``package(owner_org, state, created, access_level, id)``: counts an agency's
      datasets published in a period, and finds its datasets' ids for the mean score,
      from the index alone (no table rows);
    - ``quality_score(package_id, overall)``: the mean score from the index alone.
    """
    op.create_table(
        "quality_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO quality_state (id, revision) VALUES (1, 0)")
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.create_index("ix_package_org_state_created",
                              ["owner_org", "state", "created", "access_level", "id"],
                              unique=False)
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.create_index("ix_quality_score_overall", ["package_id", "overall"],
                              unique=False)


def downgrade() -> None:
    """Drop the indexes and the table."""
    with op.batch_alter_table("quality_score", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_score_overall")
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.drop_index("ix_package_org_state_created")
    op.drop_table("quality_state")
