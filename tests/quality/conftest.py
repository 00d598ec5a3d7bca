"""Fixtures of the quality tests (helpers in ``quality_samples``)."""

from __future__ import annotations

from typing import Any

import pytest
from quality_samples import Datasets


@pytest.fixture
def datasets(api: Any, editor_token: str, org: dict[str, Any], cat: Any) -> Datasets:
    cat.settings = cat.settings.model_copy(update={"site_url": "http://testserver"})
    return Datasets(api, editor_token, org["name"])


