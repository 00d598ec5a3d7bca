"""Catalogue pages: home and search, a dataset (and its non-public files), organisations.

Thin: each handler calls the catalogue's own functions with the visitor's ``Actor`` (so
the access levels apply exactly as in the API) and renders a template.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import shapely
import shapely.errors
import shapely.geometry
from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.catalog import groups, packages
from vntwin.catalog.find import package_search
from vntwin.catalog.licenses import BY_ID
from vntwin.catalog.resources import file_for_download
from vntwin.catalog.vocabularies import THEMES
from vntwin.datastore.search import datastore_search
from vntwin.demand import feedback, progress
from vntwin.errors import NotFound, SearchQueryError, ValidationError, VntwinError
from vntwin.quality.rules import DIMENSIONS
from vntwin.twin.build import twin_store
from vntwin.web import maplayers
from vntwin.web.assets import maplibre_available
from vntwin.web.context import Page, page
from vntwin.web.links import quality_links, resource_link
from vntwin.web.messages import QUALITY_LABELS, TARGET_LABELS
from vntwin.web.search import SearchForm, pages, quote_value
from vntwin.web.snippets import dataset_snippets

PREVIEW_ROWS = 10
PageDep = Annotated[Page, Depends(page)]


def translated(item: dict[str, Any], field: str, lang: str) -> str:
    """A title or description in the page's language, Vietnamese when there is no other."""
    texts = item.get(f"{field}_translated") or {}
    return str((texts.get(lang) if lang != "vi" else None) or item.get(field) or "")


def spatial_bbox(spatial: str | None) -> str:
    """``west,south,east,north`` of a dataset's GeoJSON coverage, for the map preview."""
    if not spatial:
        return ""
    try:
        bounds = shapely.geometry.shape(json.loads(spatial)).bounds
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
        return ""
    return ",".join(f"{v:.5f}" for v in bounds) if all(map(math.isfinite, bounds)) else ""


def quality_summary(pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The measured scores ``package_show`` carries as extras, or None before the first
    measurement (the page never measures: that is the background job's work).
    """
    extras = {e["key"]: e["value"] for e in pkg.get("extras", [])}
    if not extras.get("quality_score"):
        return None
    return {"overall": float(extras["quality_score"]),
            "dimensions": [(d, float(extras[f"quality_{d}"]) if extras.get(f"quality_{d}")
                            else None) for d in DIMENSIONS],
            "measured_at": extras.get("quality_measured_at"),
            "up_to_date": extras.get("quality_up_to_date") == "true"}


def _search(p: Page, form: SearchForm, extra_fq: list[str] | None = None) -> dict[str, Any]:
    """Run a search; a malformed query is shown as a message, not an error page."""
    try:
        found = package_search(p.cat, p.actor, form.params(not p.actor.anonymous, extra_fq))
        return {"found": found, "error": None}
    except (SearchQueryError, ValidationError) as exc:
        return {"found": {"count": 0, "results": [], "search_facets": {}}, "error": exc.message}


def _preview(p: Page, pkg: dict[str, Any], chosen: str | None, offset: int) -> dict | None:
    """A page of the chosen (or first) table resource's rows from the datastore."""
    tables = [r for r in pkg["resources"] if r.get("datastore_active")]
    if not tables:
        return None
    res = next((r for r in tables if r["id"] == chosen), tables[0])
    try:
        rows = datastore_search(p.cat.settings.datastore_dir, res["id"], limit=PREVIEW_ROWS,
                                offset=max(0, offset))
    except VntwinError as exc:
        return {"resource": res, "tables": tables, "error": exc.message}
    return {"resource": res, "tables": tables, "rows": rows, "offset": max(0, offset),
            "size": PREVIEW_ROWS, "error": None}


def router() -> APIRouter:
    """``/``, ``/dataset/{name}``, ``/organization``, ``/organization/{name}``."""
    pages_router = APIRouter(include_in_schema=False)

    @pages_router.get("/", name="web_home")
    async def home(p: PageDep) -> Response:
        form = SearchForm.from_query(p.request.query_params)

        data = await run_in_threadpool(_search, p, form)
        return p.render("home.html", form=form, paging=pages(data["found"]["count"], form.page),
                        themes=THEMES, licenses=BY_ID, translated=translated, **data)

    @pages_router.get("/dataset", name="web_datasets")
    async def datasets(p: PageDep) -> Response:
        query = p.request.url.query
        return p.redirect(p.url("web_home") + (f"?{query}" if query else ""))

    @pages_router.get("/dataset/{name}", name="web_dataset")
    async def dataset(p: PageDep, name: str) -> Response:
        preview_id = p.request.query_params.get("preview")
        try:
            offset = int(p.request.query_params.get("offset", "0"))
        except ValueError:
            offset = 0

        def work() -> dict[str, Any]:
            pkg = packages.show(p.cat, p.actor, name)
            versions = packages.activity_list(p.cat, p.actor, pkg["id"], limit=10)
            store = twin_store(p.cat)
            fused = {layer["layer"] for layer in maplayers.fused_layers(store)}
            collections = maplayers.dataset_collections(pkg, fused)
            return {"pkg": pkg, "versions": versions, "collections": collections,
                    "quality": quality_summary(pkg), "quality_links": quality_links(p, pkg),
                    "links": {r["id"]: resource_link(p, pkg, r) for r in pkg["resources"]},
                    "feedback": feedback.list_feedback(p.cat, p.actor, pkg["id"], limit=5),
                    "preview": _preview(p, pkg, preview_id, offset),
                    "snippets": dataset_snippets(p.cat.site_url, pkg,
                                                 [c["id"] for c in collections])}

        try:
            data = await run_in_threadpool(work)
        except NotFound:
            return p.not_found()
        pkg = data["pkg"]
        return p.render("dataset.html", title=translated(pkg, "title", p.lang),
                        bbox=spatial_bbox(pkg.get("spatial")), maplibre=maplibre_available(),
                        notes=translated(pkg, "notes", p.lang), themes=THEMES,
                        license=BY_ID.get(pkg["license_id"]), translated=translated,
                        can_edit=p.actor.can_edit_org_datasets(pkg["owner_org"]),
                        quality_labels=QUALITY_LABELS, **data)

    @pages_router.get("/dataset/{name}/resource/{resource_id}/file", name="web_resource_file")
    async def resource_file(p: PageDep, name: str, resource_id: str) -> Response:
        """An uploaded file of a non-public dataset, for the signed-in visitor.

        The download API (``/dataset/{id}/resource/{rid}/download/...``) takes the token
        header only, which a link never sends; this read-only GET takes the session cookie
        instead and applies the same rule (``file_for_download`` with the visitor's actor).
        Sent as an attachment, never shown inline in our origin.
        """
        def work() -> tuple[Any, str, str]:
            pkg = packages.show(p.cat, p.actor, name)
            if not any(r["id"] == resource_id for r in pkg["resources"]):
                raise NotFound(f"Resource {resource_id[:60]!r} was not found")
            return file_for_download(p.cat, p.actor, resource_id)

        try:
            path, filename, mimetype = await run_in_threadpool(work)
        except (NotFound, ValidationError):
            return p.not_found()
        return p.finish(FileResponse(path, media_type=mimetype, filename=filename))

    @pages_router.get("/organization", name="web_organizations")
    async def organizations(p: PageDep) -> Response:
        orgs = await run_in_threadpool(
            groups.group_list, p.cat, p.actor, organization=True, all_fields=True,
            sort="title asc")
        return p.render("organizations.html", orgs=orgs, translated=translated)

    @pages_router.get("/organization/{name}", name="web_organization")
    async def organization(p: PageDep, name: str) -> Response:
        form = SearchForm.from_query(p.request.query_params)

        def work() -> dict[str, Any]:
            org = groups.group_show(p.cat, p.actor, name, organization=True,
                                    include_users=False)
            form.chosen.pop("organization", None)
            return {"org": org, "programme": progress.agency_progress(p.cat, org["id"]),
                    **_search(p, form, [f"owner_org:{quote_value(org['id'])}"])}

        try:
            data = await run_in_threadpool(work)
        except NotFound:
            return p.not_found()
        return p.render("organization.html", form=form, translated=translated,
                        target_labels=TARGET_LABELS,
                        paging=pages(data["found"]["count"], form.page), **data)

    return pages_router
