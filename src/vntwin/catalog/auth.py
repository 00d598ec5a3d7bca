"""Who is calling and what they may do: API tokens, passwords, roles, rate limits.

Tokens are ``vnt_<token id>_<secret>``; the database keeps the id, a random salt and
HMAC-SHA256(salt, secret). Secrets carry 256 random bits, so a fast salted hash is enough
(slow KDFs protect low-entropy passwords, which use scrypt below).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.catalog.models import ApiToken, Group, Member, User, utcnow
from vntwin.errors import NotAuthorized, RateLimited

_HEX32 = re.compile(r"[0-9a-f]{32}")
TOKEN_PREFIX = "vnt_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class Actor:
    """The caller of an action: anonymous, a user, or a sysadmin, with org roles."""

    user_id: str | None = None
    name: str = ""
    sysadmin: bool = False
    roles: dict[str, str] = field(default_factory=dict)  # org id -> admin|editor|member
    client: str = ""

    @property
    def anonymous(self) -> bool:
        """True when no valid token or session came with the request (the CLI's
        system actor is a sysadmin without a user row, not anonymous).
        """
        return self.user_id is None and not self.sysadmin

    def role_in(self, org_id: str | None) -> str | None:
        """The caller's capacity in an organisation, if any."""
        return self.roles.get(org_id) if org_id else None

    def can_edit_org_datasets(self, org_id: str | None) -> bool:
        """Editors and admins of the owning organisation (and sysadmins) may write."""
        return self.sysadmin or self.role_in(org_id) in ("admin", "editor")

    def can_admin_org(self, org_id: str | None) -> bool:
        """Organisation admins manage the organisation itself and its members."""
        return self.sysadmin or self.role_in(org_id) == "admin"

    def can_read(self, access_level: str, owner_org: str | None) -> bool:
        """Access levels: ``public`` to all, ``agencies`` to staff of any agency,
        ``restricted`` only to the owning organisation's members.
        """
        if access_level == "public" or self.sysadmin:
            return True
        if access_level == "agencies":
            return bool(self.roles)
        return self.role_in(owner_org) is not None


ANONYMOUS = Actor()


def _hash_secret(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def create_token(session: Session, user: User, name: str = "", days: int | None = 365) -> str:
    """Create a token for ``user`` and return it; this is the only time it is visible."""
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    token = ApiToken(
        user_id=user.id,
        name=name,
        salt=salt,
        secret_hash=_hash_secret(salt, secret),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return f"{TOKEN_PREFIX}{token.id.replace('-', '')}_{secret}"


def revoke_token(session: Session, token_id: str) -> None:
    """Revoke a token by id; revoked tokens fail like wrong ones."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def _parse_token(raw: str) -> tuple[str, str] | None:
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw.startswith(TOKEN_PREFIX):
        return None
    body = raw[len(TOKEN_PREFIX) :]
    token_hex, sep, secret = body.partition("_")
    if not sep or len(token_hex) != 32 or not secret:
        return None
    if not _HEX32.fullmatch(token_hex):
        return None
    tid = str(uuid.UUID(hex=token_hex))
    return tid, secret


def user_for_token(session: Session, raw: str, now: datetime | None = None) -> User:
    """The active user owning a valid, unexpired, unrevoked token; else NotAuthorized."""
    parsed = _parse_token(raw)
    if parsed is None:
        raise NotAuthorized("malformed API token")
    token = session.get(ApiToken, parsed[0])
    now = now or utcnow()
    if token is None or not hmac.compare_digest(
        token.secret_hash, _hash_secret(token.salt, parsed[1])
    ):
        raise NotAuthorized("invalid API token")
    if token.revoked_at is not None:
        raise NotAuthorized("API token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthorized("API token expired")
    user = session.get(User, token.user_id)
    if user is None or user.state != "active":
        raise NotAuthorized("API token's user is not active")
    # Recording every access would turn each read into a write; once a minute is plenty.
    if token.last_access is None or now - token.last_access > timedelta(minutes=1):
        token.last_access = now
    return user


def hash_password(password: str) -> str:
    """Scrypt with a random salt, stored as ``scrypt$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    """Constant-time check of a password against ``hash_password`` output."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


def actor_for_user(session: Session, user: User, client: str = "") -> Actor:
    """Load the user's organisation roles into an Actor."""
    # Only organisations grant access to data; a thematic group's members get nothing.
    roles = {
        m.group_id: m.capacity
        for m in session.scalars(
            select(Member).join(Group, Group.id == Member.group_id)
            .where(Member.user_id == user.id, Group.is_organization.is_(True),
                   Group.state == "active"))
    }
    return Actor(user.id, user.name, user.sysadmin, roles, client)


class FailureLimiter:
    """Counts failed authentications per client in a sliding window, to slow guessing.

    In memory, per process: enough to stop a single client hammering one server; a
    deployment with many workers should also limit at its reverse proxy.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        window = self._failures[client]
        while window and now - window[0] > 60:
            window.popleft()
        return window

    def check(self, client: str) -> None:
        """Raise RateLimited when the client has used up its failures for the minute."""
        with self._lock:
            if len(self._recent(client, time.monotonic())) >= self.per_minute:
                raise RateLimited(
                    "too many failed authentication attempts; wait a minute and try again"
                )

    def fail(self, client: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
