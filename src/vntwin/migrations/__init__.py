"""Alembic migrations of the catalogue schema."""
