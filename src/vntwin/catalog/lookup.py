"""Finding objects by id or name, with the access rules applied."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.models import Group, Package, Resource, User
from vntwin.errors import NotFound


def get_group(session: Session, id_or_name: str, *, organization: bool | None = None) -> Group:
    """An active organisation or group by id or name."""
    stmt = select(Group).where(or_(Group.id == id_or_name, Group.name == id_or_name))
    group = session.scalars(stmt).first()
    kind = "Organization" if organization else "Group"
    if group is None or group.state != "active" or (
        organization is not None and group.is_organization != organization
    ):
        raise NotFound(f"{kind} {id_or_name!r} was not found")
    return group


def get_user(session: Session, id_or_name: str) -> User:
    """An active user by id or name."""
    user = session.scalars(
        select(User).where(or_(User.id == id_or_name, User.name == id_or_name))
    ).first()
    if user is None or user.state != "active":
        raise NotFound(f"User {id_or_name!r} was not found")
    return user


def get_package(
    session: Session, actor: Actor, id_or_name: str, *, include_deleted: bool = False
) -> Package:
    """A dataset the actor may see. Datasets hidden by their access level are reported
    as not found, so their existence does not leak.
    """
    if not isinstance(id_or_name, str) or not id_or_name:
        raise NotFound("Dataset id or name missing")
    pkg = session.scalars(
        select(Package).where(or_(Package.id == id_or_name, Package.name == id_or_name))
    ).first()
    if pkg is None or (pkg.state == "deleted" and not include_deleted):
        raise NotFound(f"Dataset {id_or_name!r} was not found")
    if not actor.can_read(pkg.access_level, pkg.owner_org):
        raise NotFound(f"Dataset {id_or_name!r} was not found")
    if pkg.state == "draft" and not actor.can_edit_org_datasets(pkg.owner_org):
        raise NotFound(f"Dataset {id_or_name!r} was not found")
    return pkg


def get_resource(session: Session, actor: Actor, resource_id: str) -> tuple[Resource, Package]:
    """An active resource of a dataset the actor may see."""
    res = session.get(Resource, resource_id) if isinstance(resource_id, str) else None
    if res is None or res.state != "active":
        raise NotFound(f"Resource {resource_id!r} was not found")
    try:
        pkg = get_package(session, actor, res.package_id)
    except NotFound:
        raise NotFound(f"Resource {resource_id!r} was not found") from None
    return res, pkg
