"""index for counting an organisation's visible datasets

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """(owner_org, state, access_level): the organisation list counts from the index alone."""
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.create_index("ix_package_org_state_access",
                              ["owner_org", "state", "access_level"], unique=False)


def downgrade() -> None:
    """Drop the index."""
    with op.batch_alter_table("package", schema=None) as batch_op:
        batch_op.drop_index("ix_package_org_state_access")
