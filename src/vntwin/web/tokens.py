"""The signed-in user's API tokens, for the token page.

Read-only listing of one's own tokens (CKAN's ``api_token_list``); creating and revoking go
through ``catalog.users.token_create`` / ``token_revoke``. Kept here until the catalogue
grows an ``api_token_list`` action, which it could then serve too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from vntwin.catalog.auth import Actor, _parse_token
from vntwin.catalog.dictize import iso
from vntwin.catalog.models import ApiToken, utcnow
from vntwin.catalog.service import Catalog


def token_id(raw: str | None) -> str | None:
    """The id part of a full token, or None."""
    parsed = _parse_token(raw) if raw else None
    return parsed[0] if parsed else None


def list_tokens(cat: Catalog, actor: Actor) -> list[dict[str, Any]]:
    """The actor's tokens that still work, newest first (never their secrets)."""
    if actor.user_id is None:
        return []
    now = utcnow()
    with cat.read() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == actor.user_id,
                                   ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created.desc()).limit(200))
        return [{"id": t.id, "name": t.name, "created": iso(t.created),
                 "expires_at": iso(t.expires_at), "last_access": iso(t.last_access)}
                for t in rows if t.expires_at is None or t.expires_at > now]

