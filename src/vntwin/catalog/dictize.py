"""Model objects -> the dicts of CKAN's Action API (the contract clients depend on)."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import Any
from urllib.parse import quote

from vntwin.catalog.licenses import BY_ID
from vntwin.catalog.models import Group, Package, Resource
from vntwin.quality.extras import with_quality


def iso(value: datetime | None) -> str | None:
    """Timezone-aware UTC ISO 8601, or None."""
    return value.isoformat() if value else None


def group_dict(group: Group, package_count: int | None = None) -> dict[str, Any]:
    """An organisation or group in CKAN's shape."""
    out: dict[str, Any] = {
        "id": group.id,
        "name": group.name,
        "title": group.title or group.name,
        "display_name": group.title or group.name,
        "title_translated": {"vi": group.title, "en": group.title_en},
        "description": group.description,
        "image_url": group.image_url,
        "created": iso(group.created),
        "is_organization": group.is_organization,
        "type": "organization" if group.is_organization else "group",
        "state": group.state,
        "approval_status": "approved",
        "extras": [{"key": k, "value": v} for k, v in sorted(group.extras.items())],
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def download_url(site_url: str, resource: Resource) -> str:
    """CKAN's download URL of an uploaded file, so clients fetch it like from CKAN."""
    filename = quote(resource.filename or "file", safe="")
    return f"{site_url}/dataset/{resource.package_id}/resource/{resource.id}/download/{filename}"


def resource_dict(resource: Resource, site_url: str) -> dict[str, Any]:
    """A resource in CKAN's shape, with vntwin's column schema."""
    url = download_url(site_url, resource) if resource.url_type == "upload" else resource.url
    mimetype = resource.mimetype or (mimetypes.guess_type(url)[0] if url else None) or None
    out: dict[str, Any] = {
        "id": resource.id,
        "package_id": resource.package_id,
        "position": resource.position,
        "name": resource.name,
        "description": resource.description,
        "format": resource.format,
        "mimetype": mimetype,
        "size": resource.size,
        "hash": f"sha256:{resource.hash}" if resource.hash else "",
        "url": url,
        "url_type": resource.url_type,
        "created": iso(resource.created),
        "last_modified": iso(resource.last_modified),
        "metadata_modified": iso(resource.last_modified or resource.created),
        "datastore_active": resource.datastore_active,
        "schema": {"fields": resource.schema} if resource.schema else None,
        "state": resource.state,
    }
    for key, value in resource.extras.items():
        out.setdefault(key, value)
    return out


def package_dict(
    pkg: Package, site_url: str, groups: list[Group] | None = None
) -> dict[str, Any]:
    """A dataset in CKAN's shape, plus vntwin's fields (access level, theme, coverage)."""
    lic = BY_ID.get(pkg.license_id, {})
    resources = [resource_dict(r, site_url) for r in pkg.resources]
    org = group_dict(pkg.organization) if pkg.organization else None
    return {
        "id": pkg.id,
        "name": pkg.name,
        "title": pkg.title or pkg.name,
        "title_translated": {"vi": pkg.title, "en": pkg.title_en},
        "notes": pkg.notes,
        "notes_translated": {"vi": pkg.notes, "en": pkg.notes_en},
        "license_id": pkg.license_id,
        "license_title": lic.get("title", pkg.license_id),
        "license_url": lic.get("url", ""),
        "isopen": lic.get("od_conformance") == "approved",
        "metadata_created": iso(pkg.created),
        "metadata_modified": iso(pkg.modified),
        "private": pkg.access_level != "public",
        "access_level": pkg.access_level,
        "type": pkg.type,
        "state": pkg.state,
        "author": pkg.author,
        "author_email": pkg.author_email,
        "maintainer": pkg.maintainer,
        "maintainer_email": pkg.maintainer_email,
        "version": pkg.version,
        "url": pkg.url,
        "theme": list(pkg.theme),
        "update_frequency": pkg.update_frequency,
        "spatial": pkg.spatial,
        "spatial_label": pkg.spatial_label,
        "temporal_start": pkg.temporal_start,
        "temporal_end": pkg.temporal_end,
        "creator_user_id": pkg.creator_user_id,
        "owner_org": pkg.owner_org,
        "organization": org,
        "groups": [group_dict(g) for g in groups or []],
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in pkg.tags],
        "num_tags": len(pkg.tags),
        "extras": with_quality([{"key": k, "value": v} for k, v in sorted(pkg.extras.items())],
                               pkg),
        "resources": resources,
        "num_resources": len(resources),
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }
