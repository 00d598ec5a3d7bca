"""User accounts, API tokens and turning a request's credentials into an Actor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from vntwin.catalog.auth import (
    ANONYMOUS,
    Actor,
    actor_for_user,
    check_password,
    create_token,
    hash_password,
    revoke_token,
    user_for_token,
)
from vntwin.catalog.dictize import iso
from vntwin.catalog.lookup import get_group, get_user
from vntwin.catalog.models import ROLES, ApiToken, Member, User
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import EMAIL_RE, Errors, check_name
from vntwin.errors import NotAuthorized, ValidationError

SYSTEM = Actor(user_id=None, name="system", sysadmin=True)


def user_dict(user: User, *, private: bool = False) -> dict[str, Any]:
    """A user in CKAN's shape; e-mail only to the user themself and sysadmins."""
    out: dict[str, Any] = {
        "id": user.id, "name": user.name, "fullname": user.fullname,
        "display_name": user.fullname or user.name, "created": iso(user.created),
        "sysadmin": user.sysadmin, "state": user.state,
    }
    if private:
        out["email"] = user.email
    return out


def user_create(
    cat: Catalog, name: str, *, sysadmin: bool = False, org: str | None = None,
    role: str | None = None, email: str = "", fullname: str = "", password: str | None = None,
    token_name: str = "cli",  # noqa: S107 - a label
) -> tuple[dict[str, Any], str]:
    """Create a user (an operator's act, from the CLI) and return it with a new token."""
    errors = Errors()
    check_name(name, errors)
    if email and not EMAIL_RE.match(email):
        errors.add("email", "Not a valid email address")
    if role is not None and role not in ROLES:
        errors.add("role", f"Must be one of {', '.join(ROLES)}")
    if (org is None) != (role is None):
        errors.add("org", "--org and --role go together")
    errors.raise_if_any()
    with cat.write(SYSTEM) as ctx:
        if ctx.session.scalars(select(User.id).where(User.name == name)).first():
            raise ValidationError({"name": ["That login name is not available."]})
        user = User(name=name, sysadmin=sysadmin, email=email, fullname=fullname,
                    password_hash=hash_password(password) if password else None)
        ctx.session.add(user)
        ctx.session.flush()
        if org is not None and role is not None:
            group = get_group(ctx.session, org, organization=True)
            ctx.session.add(Member(user_id=user.id, group_id=group.id, capacity=role))
        token = create_token(ctx.session, user, token_name, cat.settings.token_days)
        ctx.log("user_create", "user", user.id, name=name, sysadmin=sysadmin, org=org, role=role)
        return user_dict(user, private=True), token


def token_create(cat: Catalog, actor: Actor, username: str, name: str = "",
                 days: int | None = None) -> str:
    """A new token for ``username``; users make their own, sysadmins anyone's."""
    with cat.write(actor) as ctx:
        user = get_user(ctx.session, username)
        if not (actor.sysadmin or actor.user_id == user.id):
            raise NotAuthorized("may only create tokens for yourself")
        token = create_token(ctx.session, user, name, days or cat.settings.token_days)
        ctx.log("api_token_create", "user", user.id, token_name=name)
        return token


def token_revoke(cat: Catalog, actor: Actor, token: str) -> None:
    """Revoke a token given in full or by its id."""
    from vntwin.catalog.auth import _parse_token

    parsed = _parse_token(token)
    token_id = parsed[0] if parsed else token
    with cat.write(actor) as ctx:
        row = ctx.session.get(ApiToken, token_id)
        if row is None:
            raise ValidationError({"token": ["Unknown token"]})
        if not (actor.sysadmin or actor.user_id == row.user_id):
            raise NotAuthorized("may only revoke your own tokens")
        revoke_token(ctx.session, token_id)
        ctx.log("api_token_revoke", "api_token", token_id)


def sign_in(cat: Catalog, username: str, password: str, client: str) -> str:
    """Exchange a user name and password for a new API token.

    Failures count against the client's rate limit, and a wrong name and a wrong password
    get the same answer, so the endpoint neither helps guessing nor tells who exists.
    """
    cat.failures.check(client)
    with cat.write(Actor(client=client)) as ctx:
        user = ctx.session.scalars(select(User).where(User.name == username)).first()
        if user is None or user.state != "active" or not check_password(user.password_hash,
                                                                         password):
            cat.failures.fail(client)
            raise NotAuthorized("wrong user name or password")
        token = create_token(ctx.session, user, "sign-in", cat.settings.token_days)
        ctx.log("user_sign_in", "user", user.id)
        return token


def authenticate(cat: Catalog, raw_token: str | None, client: str) -> Actor:
    """The Actor for a request's token header; anonymous without one.

    A wrong, expired or revoked token is an error (not a silent downgrade to anonymous),
    and failures count against the client's rate limit.
    """
    if not raw_token:
        return Actor(client=client) if client else ANONYMOUS
    cat.failures.check(client)
    with cat.sessions() as session, session.begin():
        try:
            user = user_for_token(session, raw_token)
        except NotAuthorized:
            cat.failures.fail(client)
            raise
        return actor_for_user(session, user, client)


def user_list(cat: Catalog, actor: Actor, q: object = None, limit: int = 1000,
              offset: int = 0) -> list[dict[str, Any]]:
    """Active users, by name (CKAN's user_list)."""
    with cat.read() as session:
        stmt = select(User).where(User.state == "active").order_by(User.name)
        if q is not None and not isinstance(q, str):
            raise ValidationError({"q": ["Must be a string"]})
        if q:
            stmt = stmt.where(User.name.contains(q, autoescape=True))
        users = session.scalars(stmt.offset(offset).limit(limit))
        return [user_dict(u, private=actor.sysadmin) for u in users]


def user_show(cat: Catalog, actor: Actor, id_or_name: str) -> dict[str, Any]:
    """One user."""
    with cat.read() as session:
        user = get_user(session, id_or_name)
        return user_dict(user, private=actor.sysadmin or actor.user_id == user.id)
