"""Harvesting into the catalogue: parsed DCAT-AP datasets are created or updated.

Idempotence comes from the source's identifier, kept in the ``dcat_identifier`` extra:
a second harvest of the same document updates the datasets it made (and keeps their
resources' ids, matched by URL) instead of adding copies.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from vntwin.catalog import packages
from vntwin.catalog.lookup import get_group
from vntwin.catalog.models import Package, Resource
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.dcat.harvest import parse_catalog
from vntwin.errors import VntwinError


def _existing(cat: Catalog, org_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    """dcat_identifier -> (dataset id, {resource url: resource id}) for one organisation."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    with cat.read() as session:
        rows = session.execute(select(Package.id, Package.extras).where(
            Package.owner_org == org_id, Package.state != "deleted"))
        ids = {}
        for pid, extras in rows:
            ident = (extras or {}).get("dcat_identifier")
            if ident:
                ids[pid] = ident
        urls: dict[str, dict[str, str]] = {}
        if ids:
            for pid, rid, url in session.execute(
                select(Resource.package_id, Resource.id, Resource.url)
                .where(Resource.package_id.in_(list(ids)), Resource.state == "active")
            ):
                urls.setdefault(pid, {})[url] = rid
        for pid, ident in ids.items():
            out[ident] = (pid, urls.get(pid, {}))
    return out


def _free_name(cat: Catalog, name: str) -> str:
    with cat.read() as session:
        taken = set(session.scalars(select(Package.name).where(Package.name.like(f"{name}%"))))
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = name[: 100 - len(suffix)] + suffix
        n += 1
    return candidate


def _keep_id(resource: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    """A harvested resource keeps the id of the stored one with the same URL."""
    rid = urls.get(resource.get("url", ""))
    return {**resource, "id": rid} if rid else resource


def harvest_into(cat: Catalog, data: bytes, fmt: str | None, *, org: str,
                 base: str | None = None, console: Console | None = None) -> dict[str, Any]:
    """Parse a DCAT-AP document and create or update its datasets in ``org``."""
    pkgs = parse_catalog(data, fmt, base=base, max_bytes=cat.settings.harvest_max_bytes)
    with cat.read() as session:
        org_id = get_group(session, org, organization=True).id
    existing = _existing(cat, org_id)
    result: dict[str, Any] = {"created": 0, "updated": 0, "failed": 0, "errors": []}
    with Progress(console=console or Console(stderr=True), transient=True,
                  disable=console is None) as progress:
        task = progress.add_task("harvesting", total=len(pkgs))
        for pkg in pkgs:
            ident = next(e["value"] for e in pkg["extras"] if e["key"] == "dcat_identifier")
            pkg = {**pkg, "owner_org": org_id}
            try:
                if ident in existing:
                    pid, urls = existing[ident]
                    pkg["id"] = pid
                    pkg.pop("name", None)
                    pkg["resources"] = [_keep_id(r, urls) for r in pkg.get("resources", [])]
                    packages.update(cat, SYSTEM, pkg)
                    result["updated"] += 1
                else:
                    pkg["name"] = _free_name(cat, pkg["name"])
                    created = packages.create(cat, SYSTEM, pkg)
                    existing[ident] = (created["id"], {})
                    result["created"] += 1
            except Exception as exc:  # one bad dataset must not stop the harvest
                message = exc.message if isinstance(exc, VntwinError) else repr(exc)
                result["failed"] += 1
                result["errors"].append(f"{ident}: {message}")
                if console:
                    console.print(f"[red]failed[/red] {ident}: {message}")
            progress.advance(task)
    return result
