"""Fixtures for the datastore tests: an empty store and a loaded table of provinces."""

from __future__ import annotations

from pathlib import Path

import pytest
from datastore_samples import PROVINCES_CSV

from vntwin.datastore import load_resource


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def provinces(store: Path, tmp_path: Path) -> str:
    """The resource id of a loaded table of six provinces."""
    source = tmp_path / "provinces.csv"
    source.write_text(PROVINCES_CSV, encoding="utf-8")
    resource_id = "11111111-2222-3333-4444-555555555555"
    load_resource(store, resource_id, source, "CSV")
    return resource_id
