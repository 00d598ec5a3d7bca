"""data requests, feedback, agency targets and quality scores

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vntwin.catalog.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = vntwin.catalog.models.UTCDateTime


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "datarequest",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("dataset_id", sa.String(length=36), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=False),
        sa.Column("created", UTC(timezone=True), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        sa.Column("closed_at", UTC(timezone=True), nullable=True),
        sa.Column("response_deadline", sa.Date(), nullable=False),
        sa.Column("first_response_at", UTC(timezone=True), nullable=True),
        sa.Column("first_response_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["group.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_id"], ["package.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("datarequest", schema=None) as batch_op:
        batch_op.create_index("ix_datarequest_organization", ["organization_id"], unique=False)
        batch_op.create_index("ix_datarequest_status", ["status"], unique=False)

    for table in ("datarequest_vote", "datarequest_follower"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("datarequest_id", sa.String(length=36), nullable=False),
            sa.Column("user_id", sa.String(length=36), nullable=False),
            sa.Column("created", UTC(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["datarequest_id"], ["datarequest.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("datarequest_id", "user_id"),
        )

    op.create_table(
        "datarequest_comment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("datarequest_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created", UTC(timezone=True), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["datarequest_id"], ["datarequest.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("datarequest_comment", schema=None) as batch_op:
        batch_op.create_index("ix_datarequest_comment_request", ["datarequest_id"], unique=False)

    op.create_table(
        "dataset_feedback",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created", UTC(timezone=True), nullable=False),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["package.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "user_id"),
    )
    with op.batch_alter_table("dataset_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_feedback_package", ["package_id"], unique=False)

    op.create_table(
        "agency_target",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("datasets_to_publish", sa.Integer(), nullable=True),
        sa.Column("requests_to_answer", sa.Integer(), nullable=True),
        sa.Column("quality_to_reach", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=True),
        sa.Column("modified", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "year"),
    )

    op.create_table(
        "quality_score",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("stamp", sa.String(length=128), nullable=False),
        sa.Column("computed_at", UTC(timezone=True), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=40), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["package.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("package_id"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("quality_score")
    op.drop_table("agency_target")
    with op.batch_alter_table("dataset_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_feedback_package")
    op.drop_table("dataset_feedback")
    with op.batch_alter_table("datarequest_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_datarequest_comment_request")
    op.drop_table("datarequest_comment")
    op.drop_table("datarequest_follower")
    op.drop_table("datarequest_vote")
    with op.batch_alter_table("datarequest", schema=None) as batch_op:
        batch_op.drop_index("ix_datarequest_status")
        batch_op.drop_index("ix_datarequest_organization")
    op.drop_table("datarequest")
