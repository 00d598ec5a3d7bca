"""Sources of observations: who may write, with which token, at what rate.

A source is a sender (a sensor network, an agency's gateway, the simulator). Over HTTP
it authenticates with its own token ``vls_<id>_<secret>``; the database keeps a salted
HMAC-SHA256 of the secret only, as for catalogue tokens (``vntwin.catalog.auth``). Over
MQTT the broker authenticates users (``vntwin.live.broker`` writes its ACLs); there an
observation's source is the source owning its datastream.

A flood from one source must not stall the others: each source has its own token bucket,
and what is over the rate is rejected cheaply (counted as ``rate_limited``) before any
parsing or database work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.errors import NotAuthorized, NotFound, ValidationError
from vntwin.live.models import LiveSource

TOKEN_PREFIX = "vls_"  # noqa: S105 - a public prefix, not a secret
_NAME = re.compile(r"[a-z0-9_-]{2,100}")
UNKNOWN = "unknown"
"""Counter name for what no source can be found for (an MQTT message to no datastream)."""
UNASSIGNED = "unassigned"
"""Counter name for datastreams created without a source (by a catalogue sysadmin)."""


@dataclass(frozen=True)
class SourceInfo:
    """A source as the ingest path needs it."""

    id: int | None
    name: str
    rate_per_s: float | None = None


def _hash(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def create_source(session: Session, name: str, title: str = "",
                  rate_per_s: float | None = None) -> tuple[LiveSource, str]:
    """Create a source and return it with its token (shown only this once)."""
    if not _NAME.fullmatch(name):
        raise ValidationError({"name": ["2-100 characters of a-z, 0-9, - and _"]})
    if rate_per_s is not None and not rate_per_s > 0:
        raise ValidationError({"rate_per_s": ["must be a positive number"]})
    if session.scalar(select(LiveSource.id).where(LiveSource.name == name)) is not None:
        raise ValidationError({"name": [f"a source named {name!r} exists already"]})
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    source = LiveSource(name=name, title=title, salt=salt, secret_hash=_hash(salt, secret),
                        rate_per_s=rate_per_s)
    session.add(source)
    session.flush()
    return source, f"{TOKEN_PREFIX}{source.id}_{secret}"


def rotate_token(session: Session, name: str) -> str:
    """A new token for an existing source; the old one stops working."""
    source = session.scalar(select(LiveSource).where(LiveSource.name == name))
    if source is None:
        raise NotFound(f"no source named {name!r}")
    secret = secrets.token_urlsafe(32)
    source.salt = secrets.token_hex(16)
    source.secret_hash = _hash(source.salt, secret)
    source.revoked_at = None
    return f"{TOKEN_PREFIX}{source.id}_{secret}"


def is_source_token(raw: str) -> bool:
    """True when the text looks like a source token (not a catalogue token)."""
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    return raw.startswith(TOKEN_PREFIX)


def source_for_token(session: Session, raw: str) -> SourceInfo:
    """The source a token belongs to; NotAuthorized if it is wrong or revoked."""
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    body = raw.removeprefix(TOKEN_PREFIX)
    sid, sep, secret = body.partition("_")
    if not raw.startswith(TOKEN_PREFIX) or not sep or not sid.isdigit() or not secret:
        raise NotAuthorized("malformed source token")
    source = session.get(LiveSource, int(sid))
    if source is None or not hmac.compare_digest(source.secret_hash,
                                                 _hash(source.salt, secret)):
        raise NotAuthorized("invalid source token")
    if source.revoked_at is not None:
        raise NotAuthorized("source token revoked")
    return SourceInfo(source.id, source.name, source.rate_per_s)


class RateLimiter:
    """Token buckets per source: ``rate`` observations a second, bursts up to two
    seconds' worth. Thread-safe; ``take`` never blocks.
    """

    def __init__(self, default_rate: float) -> None:
        self.default_rate = default_rate
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, source: str, rate: float | None = None, n: int = 1) -> int:
        """How many of ``n`` observations from ``source`` may pass now."""
        rate = rate or self.default_rate
        burst = max(2 * rate, 1.0)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(source, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            allowed = min(n, int(tokens))
            self._buckets[source] = (tokens - allowed, now)
        return allowed

    def retry_after(self, source: str, rate: float | None = None) -> float:
        """Seconds until one more observation from ``source`` may pass."""
        rate = rate or self.default_rate
        with self._lock:
            tokens, _ = self._buckets.get(source, (1.0, 0.0))
        return max(0.0, (1 - tokens) / rate)


def list_sources(cat: Any) -> list[dict[str, Any]]:
    """Every source with its counters (no secrets)."""
    from vntwin.live.dashboard import ingest_counts
    from vntwin.live.sta_model import iso

    counts = {c["source"]: c for c in ingest_counts(cat)}
    with cat.read() as session:
        return [{"id": s.id, "name": s.name, "title": s.title, "rate_per_s": s.rate_per_s,
                 "created": iso(s.created), "revoked": s.revoked_at is not None,
                 "counts": counts.get(s.name)}
                for s in session.scalars(select(LiveSource).order_by(LiveSource.name))]
