"""Alembic environment: the connection is handed in by ``vntwin.db.upgrade``."""

from __future__ import annotations

from alembic import context

from vntwin.catalog.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # pragma: no cover - only when run by the alembic CLI
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
