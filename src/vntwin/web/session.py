"""Page sessions: a signed cookie holding the user's API token and a CSRF token.

Why no session table: the API token already is a revocable, expiring server-side
credential (its hash is in ``api_token``); signing in with a password issues one
(``catalog.users.sign_in``) and signing out revokes it. The cookie only has to carry it
unforgeably, which ``itsdangerous`` does with an HMAC. The cookie is HttpOnly (page scripts
never see the token), SameSite=Lax, and Secure when the site is served over https.

CSRF: each session carries a random token, put in every form (and sent as the
``X-CSRF-Token`` header by the upload script); every POST must present it. A cross-site
page can neither read it nor set our cookie, so a forged POST fails. Requests whose
``Origin`` names another site are refused before their body is read.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from vntwin.settings import Settings

SESSION_COOKIE = "vntwin_session"
SESSION_MAX_AGE = 14 * 24 * 3600  # a signed-in browser session lasts at most two weeks
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
KEY_FILE = "web-secret.key"


class CsrfError(Exception):
    """A POST without the session's CSRF token, or from another site."""


@dataclass
class Session:
    """What the cookie holds; ``changed`` tells the response to write it back."""

    csrf: str
    token: str | None = None
    user: str | None = None
    flash: list[str] = field(default_factory=list)
    changed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The cookie payload."""
        return {"c": self.csrf, "t": self.token, "u": self.user, "f": self.flash}


def secret_key(settings: Settings) -> str:
    """``VNTWIN_SECRET_KEY``, else a random key kept (mode 0600) in the data dir, created
    once and shared by every process serving that data dir.
    """
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class SessionCodec:
    """Reads and writes the session cookie for one app."""

    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key(settings), salt="vntwin-session")
        self.secure = settings.site_url.startswith("https://")

    def load(self, request: Request) -> Session:
        """The request's session, or a fresh anonymous one (with a new CSRF token)."""
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                data = self._serializer.loads(raw, max_age=SESSION_MAX_AGE)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                raw_flash = data.get("f")
                flash = raw_flash if isinstance(raw_flash, list) else []
                return Session(csrf=data["c"], token=data.get("t"), user=data.get("u"),
                               flash=[str(m) for m in flash])
        return Session(csrf=secrets.token_urlsafe(32), changed=True)

    def save(self, response: Response, session: Session) -> None:
        """Write the cookie back when the session changed."""
        if not session.changed:
            return
        response.set_cookie(SESSION_COOKIE, self._serializer.dumps(session.as_dict()),
                            max_age=SESSION_MAX_AGE, httponly=True, samesite="lax",
                            secure=self.secure, path="/")


def check_origin(request: Request, site_url: str) -> None:
    """Refuse a POST that a browser says comes from another site (``Sec-Fetch-Site`` or
    ``Origin``); this site is the address asked for or the configured site URL.
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfError("request from another site")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = {f"{request.url.scheme}://{request.url.netloc}", site_url.rstrip("/")}
        if origin.rstrip("/") not in own:
            raise CsrfError("request from another site")


def check_csrf(session: Session, presented: str | None) -> None:
    """The presented token must be this session's (constant-time comparison)."""
    if not presented or not hmac.compare_digest(presented.encode(), session.csrf.encode()):
        raise CsrfError("missing or wrong CSRF token")
