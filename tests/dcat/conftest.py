"""Shared fixtures for the DCAT tests: a realistic package dict and a trap for network use."""

from __future__ import annotations

import copy
import socket
import urllib.request
from typing import Any

import pytest
from dcat_sample import PACKAGE


@pytest.fixture
def pkg() -> dict[str, Any]:
    """A fresh copy of a package dict as the catalogue's package_show returns it."""
    return copy.deepcopy(PACKAGE)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and block) every attempt to resolve, connect or open a URL."""
    attempts: list[str] = []

    def trap(name: str):
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:] if name == 'connect' else args}")
            raise OSError(f"network use is not allowed in this test: {name}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", trap("connect"))
    monkeypatch.setattr(socket, "create_connection", trap("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", trap("getaddrinfo"))
    monkeypatch.setattr(urllib.request, "urlopen", trap("urlopen"))
    return attempts
