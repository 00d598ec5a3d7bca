"""Organisations (agencies) and thematic groups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from vntwin.catalog.auth import Actor
from vntwin.catalog.counts import count_rows, visible
from vntwin.catalog.dictize import group_dict
from vntwin.catalog.lookup import get_group
from vntwin.catalog.models import ROLES, Group, Member
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import Errors, check_name
from vntwin.errors import NotAuthorized, ValidationError
from vntwin.text import nfc


def _clean(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors = Errors()
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = check_name(data.get("name"), errors)
    for key in ("title", "description", "image_url"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors.add(key, "Must be a string")
            else:
                out[key] = nfc((value or "").strip())
    tr = data.get("title_translated")
    if isinstance(tr, dict):
        out.setdefault("title", nfc(str(tr.get("vi", ""))))
        out["title_en"] = nfc(str(tr.get("en", "")))
    if "extras" in data and isinstance(data["extras"], list):
        out["extras"] = {e["key"]: e.get("value") for e in data["extras"] if isinstance(e, dict)
                         and isinstance(e.get("key"), str)}
    errors.raise_if_any()
    return out


def group_create(cat: Catalog, actor: Actor, data: dict[str, Any], *, organization: bool) -> dict:
    """Create an organisation (sysadmins only) or a group; the creator becomes its admin."""
    if actor.anonymous or (organization and not actor.sysadmin):
        raise NotAuthorized("only sysadmins may create organizations")
    fields = _clean(data, creating=True)
    with cat.write(actor) as ctx:
        if ctx.session.scalars(select(Group.id).where(Group.name == fields["name"])).first():
            raise ValidationError({"name": ["Group name already exists in database"]})
        group = Group(is_organization=organization, **fields)
        if "id" in data and isinstance(data["id"], str) and data["id"] and actor.sysadmin:
            if len(data["id"]) > 36 or ctx.session.get(Group, data["id"]) is not None:
                raise ValidationError({"id": ["Id is taken or longer than 36 characters"]})
            group.id = data["id"]
        ctx.session.add(group)
        ctx.session.flush()
        if actor.user_id:
            ctx.session.add(Member(user_id=actor.user_id, group_id=group.id, capacity="admin"))
        ctx.next_revision()  # search facets show organisation titles
        ctx.log(f"{'organization' if organization else 'group'}_create", "group", group.id,
                name=group.name)
        return group_dict(group, 0)


def group_update(
    cat: Catalog, actor: Actor, data: dict[str, Any], *, organization: bool, patch: bool = False
) -> dict:
    """Update an organisation or group; its admins and sysadmins may."""
    with cat.write(actor) as ctx:
        group = get_group(ctx.session, str(data.get("id") or data.get("name") or ""),
                          organization=organization)
        if not actor.can_admin_org(group.id):
            raise NotAuthorized(f"not an admin of {group.name}")
        fields = _clean(data, creating=False)
        if not patch:
            for key in ("title", "description", "image_url"):
                fields.setdefault(key, "")
        if "name" in fields and fields["name"] != group.name and ctx.session.scalars(
            select(Group.id).where(Group.name == fields["name"])
        ).first():
            raise ValidationError({"name": ["Group name already exists in database"]})
        for key, value in fields.items():
            setattr(group, key, value)
        ctx.next_revision()  # the search index resolves organisation names at query time
        ctx.log(f"{'organization' if organization else 'group'}_update", "group", group.id,
                fields=sorted(fields))
        return group_dict(group)


def member_create(cat: Catalog, actor: Actor, org: str, username: str, role: str) -> dict:
    """Give a user a role in an organisation (or change it)."""
    from vntwin.catalog.lookup import get_user

    if role not in ROLES:
        raise ValidationError({"role": [f"Must be one of {', '.join(ROLES)}"]})
    with cat.write(actor) as ctx:
        group = get_group(ctx.session, org, organization=True)
        if not actor.can_admin_org(group.id):
            raise NotAuthorized(f"not an admin of {group.name}")
        user = get_user(ctx.session, username)
        member = ctx.session.scalars(
            select(Member).where(Member.user_id == user.id, Member.group_id == group.id)
        ).first()
        if member is None:
            ctx.session.add(Member(user_id=user.id, group_id=group.id, capacity=role))
        else:
            member.capacity = role
        ctx.log("member_create", "group", group.id, user=user.name, role=role)
        return {"group": group.name, "user": user.name, "capacity": role}


def _package_counts(cat: Catalog, actor: Actor, organization: bool,
                    only: str | None = None) -> dict[str, int]:
    """Datasets per organisation/group that the actor can see (``only``: of one group).

    Every group: from the catalogue's per-revision cache (``catalog.counts``). One group:
    counted directly (a small range of the index), so a page of one organisation does
    not pay for counting all of them after each write.
    """
    if only is None:
        return cat.counts.for_actor(cat, actor, organization)
    with cat.read() as session:
        return visible(count_rows(session, organization, only), actor)


def group_list(
    cat: Catalog, actor: Actor, *, organization: bool, all_fields: bool = False,
    sort: str = "name asc", limit: int | None = None, offset: int = 0,
) -> list[Any]:
    """CKAN's organization_list / group_list: names, or dicts with ``all_fields``."""
    key, _, direction = (sort or "name asc").partition(" ")
    order_col = {"name": Group.name, "title": Group.title}.get(key, Group.name)
    order = order_col.desc() if direction.strip().lower() == "desc" else order_col.asc()
    with cat.read() as session:
        stmt = (select(Group).where(Group.is_organization == organization,
                                    Group.state == "active").order_by(order).offset(offset))
        if limit is not None:
            stmt = stmt.limit(limit)
        groups = list(session.scalars(stmt))
    if not all_fields:
        return [g.name for g in groups]
    counts = _package_counts(cat, actor, organization)
    return [group_dict(g, counts.get(g.id, 0)) for g in groups]


def group_show(cat: Catalog, actor: Actor, id_or_name: str, *, organization: bool,
               include_users: bool = True) -> dict:
    """One organisation or group, with its visible dataset count and members."""
    with cat.read() as session:
        group = get_group(session, id_or_name, organization=organization)
        counts = _package_counts(cat, actor, organization, only=group.id)
        out = group_dict(group, counts.get(group.id, 0))
        if include_users and not actor.anonymous:
            from vntwin.catalog.models import User

            rows = session.execute(
                select(User.name, User.id, Member.capacity).join(Member, Member.user_id == User.id)
                .where(Member.group_id == group.id).order_by(User.name)
            )
            out["users"] = [{"name": n, "id": i, "capacity": c} for n, i, c in rows]
        return out
