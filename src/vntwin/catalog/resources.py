"""Resources: files (uploaded, content-addressed) and links, and their datastore tables."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select

from vntwin.catalog.auth import Actor
from vntwin.catalog.dictize import resource_dict
from vntwin.catalog.formats import DATASTORE_FORMATS, format_for_name
from vntwin.catalog.lookup import get_package, get_resource
from vntwin.catalog.models import Resource, new_id, utcnow
from vntwin.catalog.packages import record_version
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import clean_resource
from vntwin.errors import NotAuthorized, ValidationError, VntwinError

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class StoredUpload:
    """A file already streamed into the upload store."""

    sha256: str
    size: int
    path: Path
    filename: str
    # the columns the server read in the file (a twin layer: ``[{"name", "type"}]``),
    # shown as the resource's ``schema`` when no datastore load gives one
    schema: list[dict[str, Any]] | None = None


def store_file(cat: Catalog, path: Path, filename: str) -> StoredUpload:
    """Stream a local file into the content-addressed upload store (for the CLI, the demo
    and ingest: uploads over HTTP are streamed by the API's multipart parser).
    """
    with cat.uploads.writer() as writer, path.open("rb") as f:
        while chunk := f.read(1 << 20):
            writer.write(chunk)
        sha, size, stored = writer.commit()
    return StoredUpload(sha, size, stored, safe_filename(filename))


def safe_filename(raw: str | None) -> str:
    """The last path component of a client's file name, with nothing path-like left.

    File names are only ever shown and used in download URLs; storage is by digest.
    """
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"|?*\x00').strip(". ")
    return name[:200] or "upload"


@dataclass(frozen=True)
class DatastoreOutcome:
    """The result of loading an upload into the datastore, applied to the resource row.

    ``staging_id`` names the loaded table until ``_promote`` moves it under the resource's
    id, after the catalogue transaction committed.
    """

    schema: list[dict[str, Any]] | None = None
    error: str | None = None
    staging_id: str | None = None


def _resolve_format(fields: dict[str, Any], upload: StoredUpload, current: str = "") -> str:
    return (fields.get("format") or current
            or format_for_name(upload.filename))


def _datastore_load(cat: Catalog, resource_id: str, fmt: str,
                    upload: StoredUpload) -> DatastoreOutcome:
    """Load a tabular upload into the datastore *before* the catalogue transaction, so a
    long load never holds the database's write lock. A failed load is recorded on the
    resource; it does not refuse the file (the bytes are still a valid download).
    """
    from vntwin.datastore.load import load_resource

    if fmt.upper() not in DATASTORE_FORMATS:
        return DatastoreOutcome()
    staging_id = f"staging-{new_id()}"
    try:
        schema = load_resource(cat.settings.datastore_dir, staging_id, upload.path, fmt)
    except VntwinError as exc:
        return DatastoreOutcome(error=exc.message)
    return DatastoreOutcome(schema=schema, staging_id=staging_id)


def _settle_datastore(cat: Catalog, resource_id: str, outcome: DatastoreOutcome | None,
                      committed: bool) -> None:
    """After the transaction: a committed new file replaces the resource's table (or
    removes it, when the new file is not a table); a failed one leaves it untouched.
    """
    from vntwin.datastore.load import delete_resource, promote_resource

    if outcome is None:
        return
    if not committed:
        if outcome.staging_id:
            delete_resource(cat.settings.datastore_dir, outcome.staging_id)
        return
    if outcome.staging_id:
        promote_resource(cat.settings.datastore_dir, outcome.staging_id, resource_id)
    else:
        delete_resource(cat.settings.datastore_dir, resource_id)


def _apply(res: Resource, fields: dict[str, Any], upload: StoredUpload | None,
           outcome: DatastoreOutcome | None) -> None:
    extras = fields.pop("extras", {})
    for key, value in fields.items():
        setattr(res, key, value)
    if extras:
        res.extras = {**res.extras, **extras}
    if upload is not None:
        res.url_type = "upload"
        res.hash = upload.sha256
        res.size = upload.size
        res.filename = upload.filename
        res.url = ""
        res.format = _resolve_format(fields, upload, res.format)
        if not fields.get("mimetype"):
            res.mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        if not res.name:
            res.name = upload.filename
        res.last_modified = utcnow()
        outcome = outcome or DatastoreOutcome()
        res.schema = outcome.schema if outcome.schema is not None else upload.schema
        res.datastore_active = outcome.schema is not None
        res.extras = {k: v for k, v in res.extras.items() if k != "datastore_error"}
        if outcome.error:
            res.extras = {**res.extras, "datastore_error": outcome.error}
    elif fields.get("url"):
        res.url_type = None
        res.hash = ""
        res.filename = ""
    if not res.name:
        res.name = res.url.rsplit("/", 1)[-1] if res.url else "resource"


def create(cat: Catalog, actor: Actor, data: dict[str, Any],
           upload: StoredUpload | None = None) -> dict[str, Any]:
    """resource_create: a link (``url``) or an uploaded file (``upload``)."""
    fields = clean_resource(data)
    if upload is None and not fields.get("url"):
        raise ValidationError({"url": ["Missing value: give a url or an upload"]})
    package_ref = str(data.get("package_id") or "")
    with cat.read() as session:
        pkg = get_package(session, actor, package_ref)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"not authorized to add resources to {pkg.name}")
    resource_id = new_id()
    if isinstance(data.get("id"), str) and data["id"] and actor.sysadmin:
        resource_id = data["id"]
        if len(resource_id) > 36:
            raise ValidationError({"id": ["Must be at most 36 characters"]})
        with cat.read() as session:
            if session.get(Resource, resource_id) is not None:
                raise ValidationError({"id": ["Resource id already exists"]})
    outcome = (_datastore_load(cat, resource_id, _resolve_format(fields, upload), upload)
               if upload else None)
    return _then_settle(cat, resource_id, outcome, lambda: _create_row(
        cat, actor, package_ref, resource_id, fields, upload, outcome))


def _then_settle(cat: Catalog, resource_id: str, outcome: DatastoreOutcome | None,
                 write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run the catalogue write, then promote or discard the staged datastore table."""
    committed = False
    try:
        result = write()
        committed = True
    finally:
        _settle_datastore(cat, resource_id, outcome, committed)
    return result


def _create_row(cat: Catalog, actor: Actor, package_ref: str, resource_id: str,
                fields: dict[str, Any], upload: StoredUpload | None,
                outcome: DatastoreOutcome | None) -> dict[str, Any]:
    with cat.write(actor) as ctx:
        pkg = get_package(ctx.session, actor, package_ref)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"not authorized to add resources to {pkg.name}")
        position = ctx.session.scalar(
            select(func.count()).select_from(Resource)
            .where(Resource.package_id == pkg.id, Resource.state == "active")) or 0
        res = Resource(id=resource_id, package_id=pkg.id, position=position, extras={})
        _apply(res, fields, upload, outcome)
        ctx.session.add(res)
        ctx.session.flush()
        record_version(ctx, pkg, "changed package", cat)
        ctx.log("resource_create", "resource", res.id, package=pkg.name,
                sha256=res.hash, size=res.size)
        return resource_dict(res, cat.site_url)


def update(cat: Catalog, actor: Actor, data: dict[str, Any],
           upload: StoredUpload | None = None, *, patch: bool = False) -> dict[str, Any]:
    """resource_update (unset fields reset) or resource_patch, optionally with a new file."""
    fields = clean_resource(data)
    resource_id = str(data.get("id") or "")
    with cat.read() as session:
        res, pkg = get_resource(session, actor, resource_id)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"not authorized to edit resources of {pkg.name}")
        current_format = res.format
    outcome = (_datastore_load(cat, resource_id, _resolve_format(fields, upload, current_format),
                               upload) if upload else None)
    return _then_settle(cat, resource_id, outcome, lambda: _update_row(
        cat, actor, resource_id, fields, upload, outcome, patch))


def _update_row(cat: Catalog, actor: Actor, resource_id: str, fields: dict[str, Any],
                upload: StoredUpload | None, outcome: DatastoreOutcome | None,
                patch: bool) -> dict[str, Any]:
    with cat.write(actor) as ctx:
        res, pkg = get_resource(ctx.session, actor, resource_id)
        if not patch:
            for key in ("name", "description", "format"):
                fields.setdefault(key, "")
            if upload is None and res.url_type != "upload" and not fields.get("url"):
                raise ValidationError({"url": ["Missing value: give a url or an upload"]})
        _apply(res, fields, upload, outcome)
        res.last_modified = utcnow()
        record_version(ctx, pkg, "changed package", cat)
        ctx.log("resource_patch" if patch else "resource_update", "resource", res.id,
                fields=sorted(fields), new_file=upload is not None)
        return resource_dict(res, cat.site_url)


def delete(cat: Catalog, actor: Actor, resource_id: str) -> None:
    """resource_delete: the resource and its datastore table go; the file stays in the
    content-addressed store while any version may refer to it.
    """
    with cat.write(actor) as ctx:
        res, pkg = get_resource(ctx.session, actor, resource_id)
        if not actor.can_edit_org_datasets(pkg.owner_org):
            raise NotAuthorized(f"not authorized to delete resources of {pkg.name}")
        res.state = "deleted"
        res.datastore_active = False
        record_version(ctx, pkg, "changed package", cat)
        ctx.log("resource_delete", "resource", res.id, package=pkg.name)
    _forget_datastore(cat, resource_id)


def _forget_datastore(cat: Catalog, resource_id: str) -> None:
    from vntwin.datastore.load import delete_resource

    delete_resource(cat.settings.datastore_dir, resource_id)


def show(cat: Catalog, actor: Actor, resource_id: str) -> dict[str, Any]:
    """resource_show."""
    with cat.read() as session:
        res, _ = get_resource(session, actor, resource_id)
        return resource_dict(res, cat.site_url)


def file_for_download(cat: Catalog, actor: Actor, resource_id: str) -> tuple[Path, str, str]:
    """(path, filename, mimetype) of an uploaded file the actor may read."""
    with cat.read() as session:
        res, _ = get_resource(session, actor, resource_id)
        if res.url_type != "upload" or not res.hash:
            raise ValidationError({"url_type": ["This resource is a link, not an upload"]})
        mimetype = res.mimetype or "application/octet-stream"
        return cat.uploads.path_for(res.hash), res.filename, mimetype


def view_list(cat: Catalog, actor: Actor, resource_id: str) -> list[dict[str, Any]]:
    """resource_view_list: a table view for datastore resources, a map for GeoJSON."""
    with cat.read() as session:
        res, pkg = get_resource(session, actor, resource_id)
        views = []
        if res.datastore_active:
            views.append({"id": f"{res.id}-table", "resource_id": res.id, "package_id": pkg.id,
                          "view_type": "datatables_view", "title": "Bảng / Table",
                          "description": "", "filterable": True})
        if res.format.upper() in ("GEOJSON", "GPKG", "SHP", "ZIP"):
            views.append({"id": f"{res.id}-map", "resource_id": res.id, "package_id": pkg.id,
                          "view_type": "geo_view", "title": "Bản đồ / Map", "description": ""})
        return views


def discard_unreferenced(cat: Catalog, upload: StoredUpload) -> None:
    """Remove a stored upload that no resource refers to (its request failed), so a
    refused upload leaves nothing behind.
    """
    with cat.read() as session:
        used = session.scalars(select(Resource.id).where(Resource.hash == upload.sha256)).first()
    if used is None:
        upload.path.unlink(missing_ok=True)
