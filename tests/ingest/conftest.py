from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The layer store directory; reprojected rasters are staged here too."""
    path = tmp_path / "out"
    path.mkdir()
    return path
