"""Fetch a remote DCAT document without letting the URL reach anything it should not.

The harvester takes URLs from users and from other catalogues (Hydra next-page links),
so it is a classic SSRF vector. Each request, and each redirect hop, must pass:

1. scheme http or https;
2. host on ``settings.harvest_allow_hosts`` (checked before any DNS lookup);
3. every address the host resolves to is public, unless ``harvest_allow_private``;
4. the connection goes to the address that was checked (the URL is pinned to the IP,
   with the original ``Host`` header and TLS SNI), so DNS rebinding cannot swap it;
5. the body, after any decompression, stays under ``settings.harvest_max_bytes``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx

from vntwin.errors import NotAuthorized, TooLarge, ValidationError

if TYPE_CHECKING:
    from vntwin.settings import Settings

ACCEPT = (
    "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.9, "
    "application/json;q=0.5, */*;q=0.1"
)
_REDIRECTS = {301, 302, 303, 307, 308}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def fetch(
    url: str,
    settings: Settings,
    *,
    timeout: float = 30.0,
    max_redirects: int = 5,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """Download a DCAT document from an allowed host and return its bytes.

    Redirects are followed by hand, re-checking every hop. ``timeout`` bounds the
    whole download, not just each read. ``transport`` is for tests.

    Raises NotAuthorized (scheme, host or address not allowed), TooLarge (over
    ``settings.harvest_max_bytes``) or ValidationError (bad URL, HTTP error status,
    network failure, too many redirects).
    """
    deadline = time.monotonic() + timeout
    current = url
    with httpx.Client(
        transport=transport, follow_redirects=False, trust_env=False, timeout=timeout
    ) as client:
        for _ in range(max_redirects + 1):
            request = _pinned_request(client, current, settings)
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise _fetch_error(current, f"request failed: {exc}") from exc
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise _fetch_error(current, f"HTTP status {response.status_code}")
                return _read_limited(response, settings.harvest_max_bytes, deadline, current)
            finally:
                response.close()
    raise _fetch_error(url, f"more than {max_redirects} redirects")


def check_url(url: str, settings: Settings) -> tuple[httpx.URL, IPAddress]:
    """Check a URL against the harvest policy and return it with the address to use.

    This is steps 1–3 of the module docstring; it resolves the host only when the
    host is on the allow-list.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValidationError({"url": [f"Invalid URL {url!r}: {exc}"]}) from exc
    if parsed.scheme not in ("http", "https"):
        raise NotAuthorized(f"Only http and https URLs can be harvested, not {parsed.scheme!r}.")
    host = _norm_host(parsed.host)
    if not host:
        raise ValidationError({"url": [f"The URL {url!r} has no host."]})
    allowed = {_norm_host(h) for h in settings.harvest_allow_hosts}
    if host not in allowed and _norm_host(parsed.raw_host.decode("ascii")) not in allowed:
        raise NotAuthorized(f"The host {host!r} is not in harvest_allow_hosts.")
    addresses = _resolve(parsed)
    if not settings.harvest_allow_private:
        for address in addresses:
            if not is_public(address):
                raise NotAuthorized(
                    f"The host {host!r} resolves to {address}, a non-public address."
                )
    return parsed, addresses[0]


def is_public(address: IPAddress) -> bool:
    """Tell whether an address is global unicast, also inside IPv4-mapped/6to4/Teredo."""
    embedded: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour:
            embedded.append(address.sixtofour)
        if address.teredo:
            embedded.extend(address.teredo)
    return all(
        a.is_global
        and not (a.is_multicast or a.is_private or a.is_loopback or a.is_link_local)
        and not (a.is_reserved or a.is_unspecified)
        for a in embedded
    )


def _pinned_request(client: httpx.Client, url: str, settings: Settings) -> httpx.Request:
    parsed, address = check_url(url, settings)
    raw_host = parsed.raw_host.decode("ascii")
    host_header = raw_host if parsed.port is None else f"{raw_host}:{parsed.port}"
    if ":" in raw_host and not raw_host.startswith("["):  # IPv6 literal
        host_header = f"[{raw_host}]" if parsed.port is None else f"[{raw_host}]:{parsed.port}"
    extensions = {"sni_hostname": raw_host} if parsed.scheme == "https" else {}
    return client.build_request(
        "GET",
        parsed.copy_with(host=str(address)),
        headers={
            "Host": host_header,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate, identity",
            "User-Agent": "vntwin-harvester",
        },
        extensions=extensions,
    )


def _resolve(url: httpx.URL) -> list[IPAddress]:
    host = url.host
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError({"url": [f"Cannot resolve {host!r}: {exc}"]}) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ValidationError({"url": [f"Cannot resolve {host!r}."]})
    return addresses


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"{url} is {length} bytes; the limit is {max_bytes} bytes.")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    # A response built in memory (tests' MockTransport) is already read and decoded.
    in_memory = response.is_stream_consumed
    if in_memory or encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    else:
        raise _fetch_error(url, f"unsupported Content-Encoding {encoding!r}")
    parts: list[bytes] = []
    total = 0
    chunks = [response.content] if in_memory else response.iter_raw()
    try:
        for chunk in chunks:
            if time.monotonic() > deadline:
                raise _fetch_error(url, "the download took too long")
            data = chunk
            if decoder is not None:
                # Never inflate more than one byte past the limit, whatever the ratio.
                data = decoder.decompress(chunk, max_bytes + 1 - total)
            total += len(data)
            if total > max_bytes:
                raise TooLarge(f"{url} is over the limit of {max_bytes} bytes.")
            parts.append(data)
    except httpx.HTTPError as exc:
        raise _fetch_error(url, f"download failed: {exc}") from exc
    except zlib.error as exc:
        raise _fetch_error(url, f"cannot decompress: {exc}") from exc
    return b"".join(parts)


def _norm_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def _fetch_error(url: str, message: str) -> ValidationError:
    return ValidationError({"url": [f"Cannot fetch {url}: {message}"]})


__all__ = ["check_url", "fetch", "is_public"]
