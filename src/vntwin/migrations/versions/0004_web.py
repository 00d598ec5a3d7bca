"""web portal (sessions and anything the pages need)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to create: page sessions are signed cookies carrying an API token (whose
    hash is already in ``api_token``), see ``vntwin.web.session``.
    """


def downgrade() -> None:
    """Nothing to drop."""
