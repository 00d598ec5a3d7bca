"""Datasets: create, read, update, patch, delete, list, and their version history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vntwin.catalog.auth import Actor
from vntwin.catalog.dictize import iso, package_dict
from vntwin.catalog.lookup import get_group, get_package
from vntwin.catalog.models import Group, Package, PackageGroup, PackageVersion, Resource, utcnow
from vntwin.catalog.service import Catalog, WriteContext
from vntwin.catalog.validation import clean_package, clean_resource
from vntwin.errors import Message, NotAuthorized, NotFound, ValidationError
from vntwin.quality.refresh import on_dataset_write


def _groups_of(session: Session, package_id: str) -> list[Group]:
    return list(session.scalars(
        select(Group).join(PackageGroup, PackageGroup.group_id == Group.id)
        .where(PackageGroup.package_id == package_id).order_by(Group.name)
    ))


def show(cat: Catalog, actor: Actor, id_or_name: str) -> dict[str, Any]:
    """package_show: a dataset the actor may see."""
    with cat.read() as session:
        pkg = get_package(session, actor, id_or_name)
        return package_dict(pkg, cat.site_url, _groups_of(session, pkg.id))


def show_many(cat: Catalog, actor: Actor, ids: list[str]) -> list[dict[str, Any]]:
    """Several datasets by id, in the given order (search results).

    Access is checked again on the rows as they are now: the index's snapshot may be a
    moment older than a change of access level.
    """
    if not ids:
        return []
    with cat.read() as session:
        pkgs = {p.id: p for p in session.scalars(select(Package).where(Package.id.in_(ids)))}
        groups: dict[str, list[Group]] = {}
        for pid, group in session.execute(
            select(PackageGroup.package_id, Group)
            .join(Group, Group.id == PackageGroup.group_id)
            .where(PackageGroup.package_id.in_(ids)).order_by(Group.name)
        ):
            groups.setdefault(pid, []).append(group)
        return [package_dict(pkgs[i], cat.site_url, groups.get(i, [])) for i in ids
                if i in pkgs and _listable(actor, pkgs[i])]


def _listable(actor: Actor, pkg: Package) -> bool:
    if pkg.state == "deleted" or not actor.can_read(pkg.access_level, pkg.owner_org):
        return False
    return pkg.state != "draft" or actor.can_edit_org_datasets(pkg.owner_org)


def _owner_org(ctx: WriteContext, value: Any) -> str:
    if not value or not isinstance(value, str):
        raise ValidationError({"owner_org": ["An organization must be provided"]})
    try:
        org = get_group(ctx.session, value, organization=True)
    except NotFound:
        raise ValidationError({"owner_org": [Message("Organization %(value)r does not exist",
                                                      value=value)]}) from None
    if not ctx.actor.can_edit_org_datasets(org.id):
        raise NotAuthorized(f"User {ctx.actor.name or '(anonymous)'} not authorized to add "
                            f"datasets to organization {org.name}")
    return org.id


def _set_groups(ctx: WriteContext, pkg: Package, groups: Any) -> None:
    if not isinstance(groups, list):
        raise ValidationError({"groups": ["Must be a list of groups"]})
    ids = []
    for item in groups:
        ref = item.get("id") or item.get("name") if isinstance(item, dict) else item
        try:
            ids.append(get_group(ctx.session, str(ref), organization=False).id)
        except NotFound:
            raise ValidationError({"groups": [Message("Group %(value)r does not exist",
                                                       value=ref)]}) from None
    for link in ctx.session.scalars(select(PackageGroup).where(PackageGroup.package_id == pkg.id)):
        ctx.session.delete(link)
    ctx.session.flush()
    for gid in dict.fromkeys(ids):
        ctx.session.add(PackageGroup(package_id=pkg.id, group_id=gid))


def _check_unique_name(ctx: WriteContext, name: str, own_id: str | None) -> None:
    stmt = select(Package.id).where(Package.name == name)
    if own_id:
        stmt = stmt.where(Package.id != own_id)
    if ctx.session.scalars(stmt).first():
        raise ValidationError({"name": ["That URL is already in use."]})


def _apply_resources(ctx: WriteContext, pkg: Package, resources: Any, *, replace: bool) -> None:
    """Resources given inline (URL resources; uploads go through resource_create).

    With ``replace``, existing resources missing from the list are deleted, as CKAN's
    package_update does when a ``resources`` list is sent.
    """
    if not isinstance(resources, list):
        raise ValidationError({"resources": ["Must be a list"]})
    existing = {r.id: r for r in ctx.session.scalars(
        select(Resource).where(Resource.package_id == pkg.id, Resource.state == "active"))}
    kept: set[str] = set()
    for position, item in enumerate(resources):
        if not isinstance(item, dict):
            raise ValidationError({"resources": [f"Resource {position} must be an object"]})
        try:
            fields = clean_resource(item)
        except ValidationError as exc:
            raise ValidationError({f"resources__{position}__{k}": v
                                   for k, v in exc.errors.items()}) from None
        extras = fields.pop("extras", {})
        res = existing.get(str(item.get("id", "")))
        if res is None:
            res = Resource(package_id=pkg.id, extras={})
            if isinstance(item.get("id"), str) and ctx.actor.sysadmin:
                if len(item["id"]) > 36 or ctx.session.get(Resource, item["id"]) is not None:
                    raise ValidationError(
                        {"resources": [f"Resource id {item['id'][:40]} exists or is too long"]})
                res.id = item["id"]
            # a dumped uploaded resource arrives as its download URL: keep it as a link
            res.url_type = None
            ctx.session.add(res)
        else:
            res.last_modified = utcnow()
            kept.add(res.id)
        for key, value in fields.items():
            setattr(res, key, value)
        if extras:
            res.extras = {**res.extras, **extras}
        res.position = position
        if not res.name:
            res.name = res.url.rsplit("/", 1)[-1] if res.url else f"resource-{position}"
    if replace:
        for rid, res in existing.items():
            if rid not in kept:
                res.state = "deleted"


def record_version(ctx: WriteContext, pkg: Package, activity: str, cat: Catalog) -> dict:
    """Bump the dataset's revision and append its full dict to the version history."""
    ctx.session.flush()
    ctx.session.expire(pkg, ["resources"])
    pkg.revision = ctx.next_revision()
    pkg.modified = utcnow()
    on_dataset_write(cat, ctx.session, pkg.id)  # quality is measured again after commit
    ctx.session.flush()
    data = package_dict(pkg, cat.site_url, _groups_of(ctx.session, pkg.id))
    last = ctx.session.scalar(
        select(func.max(PackageVersion.version)).where(PackageVersion.package_id == pkg.id))
    ctx.session.add(PackageVersion(package_id=pkg.id, version=(last or 0) + 1,
                                   user_id=ctx.actor.user_id, activity_type=activity, data=data))
    return data


def create(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """package_create: validate everything first, then write dataset, resources, version
    and audit record in one transaction.
    """
    if actor.anonymous:
        raise NotAuthorized("Action package_create requires an authenticated user")
    fields = clean_package(data)
    with cat.write(actor) as ctx:
        org_ref = data.get("owner_org")
        if not org_ref and isinstance(data.get("organization"), dict):
            org_ref = data["organization"].get("name")
        owner = _owner_org(ctx, org_ref)
        _check_unique_name(ctx, fields["name"], None)
        fields.setdefault("title", fields["name"])
        fields.setdefault("access_level", "public")
        pkg = Package(owner_org=owner, creator_user_id=actor.user_id, **fields)
        # As in CKAN, only sysadmins may choose the id (ckanapi load keeps ids across sites).
        if isinstance(data.get("id"), str) and data["id"] and actor.sysadmin:
            if len(data["id"]) > 36 or ctx.session.get(Package, data["id"]) is not None:
                raise ValidationError({"id": ["Dataset id exists or is over 36 characters"]})
            pkg.id = data["id"]
        ctx.session.add(pkg)
        ctx.session.flush()
        if "resources" in data:
            _apply_resources(ctx, pkg, data["resources"], replace=False)
        if "groups" in data:
            _set_groups(ctx, pkg, data["groups"])
        result = record_version(ctx, pkg, "new package", cat)
        ctx.log("package_create", "package", pkg.id, name=pkg.name)
        return result


def update(cat: Catalog, actor: Actor, data: dict[str, Any], *, patch: bool = False) -> dict:
    """package_update (fields left out are reset, resources left out are kept) or
    package_patch (only the given fields change).
    """
    ref = data.get("id") or data.get("name")
    if not isinstance(ref, str) or not ref:
        raise ValidationError({"id": ["Missing value"]})
    with cat.write(actor) as ctx:
        pkg = get_package(ctx.session, actor, ref)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"User {actor.name or '(anonymous)'} not authorized to edit "
                                f"package {pkg.name}")
        current = {"access_level": pkg.access_level, "temporal_start": pkg.temporal_start,
                   "temporal_end": pkg.temporal_end}
        incoming = dict(data)
        if not patch:
            # CKAN's update replaces the dataset: unset fields return to their defaults.
            for key in ("title", "notes", "author", "author_email", "maintainer",
                        "maintainer_email", "version", "url", "license_id", "spatial",
                        "spatial_label", "temporal_start", "temporal_end", "theme",
                        "update_frequency"):
                incoming.setdefault(key, "")
            incoming.setdefault("tags", [])
            incoming.setdefault("extras", [])
            if "access_level" not in incoming and "private" not in incoming:
                incoming["access_level"] = pkg.access_level
            incoming.setdefault("name", pkg.name)
        fields = clean_package(incoming, current)
        if "name" in fields:
            _check_unique_name(ctx, fields["name"], pkg.id)
        if not fields.get("title", pkg.title):
            fields["title"] = fields.get("name", pkg.name)
        if "owner_org" in data and data["owner_org"] not in (pkg.owner_org, None, ""):
            pkg.owner_org = _owner_org(ctx, data["owner_org"])
        for key, value in fields.items():
            setattr(pkg, key, value)
        if "resources" in data:
            # as in CKAN (patch = show + update), a given list replaces the resources
            _apply_resources(ctx, pkg, data["resources"], replace=True)
        if "groups" in data:
            _set_groups(ctx, pkg, data["groups"])
        result = record_version(ctx, pkg, "changed package", cat)
        ctx.log("package_patch" if patch else "package_update", "package", pkg.id,
                fields=sorted(fields))
        return result


def delete(cat: Catalog, actor: Actor, ref: str) -> None:
    """package_delete: the dataset's state becomes ``deleted`` (kept for history)."""
    with cat.write(actor) as ctx:
        pkg = get_package(ctx.session, actor, ref)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"User {actor.name or '(anonymous)'} not authorized to delete "
                                f"package {pkg.name}")
        pkg.state = "deleted"
        record_version(ctx, pkg, "deleted package", cat)
        ctx.log("package_delete", "package", pkg.id, name=pkg.name)


def package_list(cat: Catalog, limit: int | None, offset: int) -> list[str]:
    """Names of active public datasets, as CKAN's package_list."""
    with cat.read() as session:
        stmt = (select(Package.name).where(Package.state == "active",
                                           Package.access_level == "public")
                .order_by(Package.name).offset(offset))
        if limit is not None:
            stmt = stmt.limit(limit)
        return list(session.scalars(stmt))


def activity_list(cat: Catalog, actor: Actor, ref: str, limit: int = 31,
                  offset: int = 0) -> list[dict[str, Any]]:
    """The dataset's version history, newest first (CKAN's package_activity_list)."""
    with cat.read() as session:
        pkg = get_package(session, actor, ref, include_deleted=True)
        rows = session.scalars(
            select(PackageVersion).where(PackageVersion.package_id == pkg.id)
            .order_by(PackageVersion.version.desc()).offset(offset).limit(limit))
        return [{"id": f"{pkg.id}:{v.version}", "version": v.version,
                 "timestamp": iso(v.created), "user_id": v.user_id, "object_id": pkg.id,
                 "activity_type": v.activity_type, "data": {"package": v.data}} for v in rows]
