from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import user_create


@pytest.fixture
def citizen(cat: Catalog) -> str:
    return user_create(cat, "cong-dan", fullname="Nguyễn Thị Lan")[1]


@pytest.fixture
def neighbour(cat: Catalog) -> str:
    return user_create(cat, "hang-xom")[1]


@pytest.fixture
def other_editor(cat: Catalog, api: Any, admin_token: str) -> str:
    api.ok("organization_create", admin_token, name="so-gtvt", title="Sở Giao thông vận tải")
    return user_create(cat, "bien-tap-gtvt", org="so-gtvt", role="editor")[1]


class Clock:
    """Pins the time the demand modules see (they read ``utcnow`` at call time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def set(self, iso: str) -> None:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
        for module in ("vntwin.demand.requests", "vntwin.demand.dictize",
                       "vntwin.demand.listing", "vntwin.demand.progress",
                       "vntwin.demand.social"):
            self.monkeypatch.setattr(f"{module}.utcnow", lambda m=moment: m)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)
