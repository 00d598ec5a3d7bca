"""Fetching remote catalogues: only allowed hosts, only public addresses, bounded size."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from vntwin.dcat.fetch import fetch, is_public
from vntwin.errors import NotAuthorized, TooLarge, ValidationError
from vntwin.settings import Settings

TTL = b"<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> .\n"
LIMIT = 1000


def settings(hosts: list[str], *, private: bool = False, limit: int = LIMIT) -> Settings:
    return Settings(
        harvest_allow_hosts=hosts, harvest_allow_private=private, harvest_max_bytes=limit
    )


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://data.example.org/catalog.ttl",
        "gopher://data.example.org/",
        "http://not-listed.example.org/catalog.ttl",
        "http://data.example.org.evil.example/catalog.ttl",
        "http://127.0.0.1/catalog.ttl",
    ],
)
def test_refused_before_any_network_use(url: str, no_network: list[str]) -> None:
    with pytest.raises(NotAuthorized):
        fetch(url, settings(["data.example.org"]))
    assert no_network == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "[::1]",
        "[fe80::1]",
        "[fd00::1]",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::]",
    ],
)
def test_non_public_address_refused_even_if_listed(host: str, no_network: list[str]) -> None:
    with pytest.raises(NotAuthorized, match="non-public address"):
        fetch(f"http://{host}/catalog.ttl", settings([host]))
    assert no_network == []


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> list[str]:
    """Resolve names from ``table`` and refuse every real connection."""
    connects: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(f"unknown host {host}")
        out = []
        for address in table[host]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            out.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
        return out

    def connect(*args: Any) -> None:
        connects.append(repr(args[1:]))
        raise OSError("no real connections in this test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return connects


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.1"], ["169.254.169.254"], ["93.184.216.34", "127.0.0.1"], ["::1"]],
)
def test_hostname_resolving_to_private_address(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> None:
    connects = fake_dns(monkeypatch, {"data.example.org": addresses})
    with pytest.raises(NotAuthorized, match="non-public address"):
        fetch("https://data.example.org/catalog.ttl", settings(["data.example.org"]))
    assert connects == []


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(ValidationError, match="Cannot resolve"):
        fetch("https://data.example.org/catalog.ttl", settings(["data.example.org"]))


def test_connection_is_pinned_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(
        monkeypatch, {"Data.Example.org": ["93.184.216.34"], "data.example.org": ["93.184.216.34"]}
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=TTL)

    body = fetch(
        "https://Data.Example.org:8443/catalog.ttl?page=2",
        settings(["data.example.org"]),
        transport=httpx.MockTransport(handler),
    )
    assert body == TTL
    [request] = seen
    assert request.url.host == "93.184.216.34"
    assert request.url.port == 8443 and request.url.path == "/catalog.ttl"
    assert request.url.query == b"page=2"
    assert request.headers["host"] == "data.example.org:8443"
    assert request.extensions["sni_hostname"] == "data.example.org"


def test_redirect_to_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(
        monkeypatch,
        {"data.example.org": ["93.184.216.34"], "internal.example.org": ["10.1.2.3"]},
    )
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"location": "http://internal.example.org/admin"})

    with pytest.raises(NotAuthorized, match="non-public"):
        fetch(
            "http://data.example.org/catalog.ttl",
            settings(["data.example.org", "internal.example.org"]),
            transport=httpx.MockTransport(handler),
        )
    assert len(calls) == 1


def test_redirect_to_metadata_ip_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"data.example.org": ["93.184.216.34"]})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "http://169.254.169.254/latest/"})

    with pytest.raises(NotAuthorized):
        fetch(
            "http://data.example.org/catalog.ttl",
            settings(["data.example.org"]),
            transport=httpx.MockTransport(handler),
        )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("8.8.8.8", True),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("::", False),
        ("::ffff:10.0.0.1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo around 192.0.2.45
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


class _Handler(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []  # noqa: RUF012 - shared by the test server on purpose

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.seen_hosts.append(self.headers.get("Host", ""))
        routes = {
            "/ok.ttl": (200, {}, TTL),
            "/big": (200, {"Content-Length": str(LIMIT + 1)}, b"x" * (LIMIT + 1)),
            "/stream": (200, {}, b"# comment\n" * 200),  # no Content-Length
            "/bomb": (200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 10_000_000)),
            "/small.gz": (200, {"Content-Encoding": "gzip"}, gzip.compress(TTL)),
            "/same": (302, {"Location": "/ok.ttl"}, b""),
            "/other": (302, {"Location": "http://not-allowed.example/x"}, b""),
            "/file": (302, {"Location": "file:///etc/passwd"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
        }
        status, headers, body = routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    _Handler.seen_hosts = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


LOCAL = settings(["127.0.0.1"], private=True)


def test_fetch_from_allowed_private_server(server: str) -> None:
    assert fetch(f"{server}/ok.ttl", LOCAL) == TTL
    assert _Handler.seen_hosts == [server.removeprefix("http://")]


def test_local_server_refused_without_allow_private(server: str) -> None:
    with pytest.raises(NotAuthorized):
        fetch(f"{server}/ok.ttl", settings(["127.0.0.1"]))
    assert _Handler.seen_hosts == []


def test_same_host_redirect_is_followed(server: str) -> None:
    assert fetch(f"{server}/same", LOCAL) == TTL


@pytest.mark.parametrize("path", ["/other", "/file"])
def test_redirect_to_disallowed_place(server: str, path: str) -> None:
    with pytest.raises(NotAuthorized):
        fetch(f"{server}{path}", LOCAL)


def test_redirect_loop(server: str) -> None:
    with pytest.raises(ValidationError, match="redirects"):
        fetch(f"{server}/loop", LOCAL, max_redirects=3)
    assert len(_Handler.seen_hosts) == 4


def test_http_error_status(server: str) -> None:
    with pytest.raises(ValidationError, match="404"):
        fetch(f"{server}/missing", LOCAL)


@pytest.mark.parametrize("path", ["/big", "/stream", "/bomb"])
def test_size_limit(server: str, path: str) -> None:
    with pytest.raises(TooLarge):
        fetch(f"{server}{path}", LOCAL)


def test_gzip_within_limit(server: str) -> None:
    assert fetch(f"{server}/small.gz", LOCAL) == TTL


def test_connection_refused_is_a_validation_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ValidationError, match="request failed"):
        fetch(f"http://127.0.0.1:{port}/x", LOCAL, timeout=5)
