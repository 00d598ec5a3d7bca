"""Forms for agency editors: create and edit a dataset, add a resource (file or link).

Writes go through ``catalog.packages`` and ``catalog.resources`` with the signed-in user's
``Actor``, so the same permission and validation rules as in the API apply. Uploads stream
into the content-addressed store with the API's multipart parser (never whole in memory);
a refused upload is removed again, so a failure leaves nothing stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.api.uploads import parse_multipart
from vntwin.catalog import groups, packages, resources
from vntwin.catalog.licenses import LICENSES
from vntwin.catalog.models import ACCESS_LEVELS
from vntwin.catalog.resources import StoredUpload, discard_unreferenced
from vntwin.catalog.vocabularies import FREQUENCIES, THEMES
from vntwin.errors import (
    BadRequest,
    NotAuthorized,
    NotFound,
    TooLarge,
    ValidationError,
    VntwinError,
)
from vntwin.web import forms
from vntwin.web.context import Page, page, wants_json
from vntwin.web.session import CSRF_FIELD, CSRF_HEADER, CsrfError, check_csrf, check_origin

PageDep = Annotated[Page, Depends(page)]


def editable_orgs(p: Page) -> list[dict[str, Any]]:
    """Organisations the signed-in user may add datasets to (forms offer only these)."""
    orgs = groups.group_list(p.cat, p.actor, organization=True, all_fields=True,
                             sort="title asc")
    return [o for o in orgs if p.actor.can_edit_org_datasets(o["id"])]


def _form_page(p: Page, values: dict[str, Any], errors: dict[str, list[str]],
               pkg: dict[str, Any] | None, status: int = 200) -> Response:
    return p.render("dataset_form.html", status=status, values=values, errors=errors,
                    pkg=pkg, orgs=editable_orgs(p), licenses=LICENSES, themes=THEMES,
                    frequencies=FREQUENCIES, access_levels=ACCESS_LEVELS)


def _messages(p: Page, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Field errors in the page's language where the catalogue's message is a known one."""
    return p.field_errors(forms.field_errors(errors))


def router() -> APIRouter:
    """``/dataset/new``, ``/dataset/{name}/edit``, ``/dataset/{name}/resource/new``."""
    api = APIRouter(include_in_schema=False)

    def login_first(p: Page) -> Response:
        return p.redirect(p.url("web_login", query={"next": p.request.url.path}))

    @api.get("/dataset/new", name="web_dataset_new")
    async def new_form(p: PageDep) -> Response:
        if p.actor.anonymous:
            return login_first(p)
        values = {"access_level": "public", "license_id": "cc-by-4.0", "theme": [],
                  "owner_org": p.request.query_params.get("organization", "")}
        return await run_in_threadpool(_form_page, p, values, {}, None)

    @api.post("/dataset/new", name="web_dataset_create")
    async def create(p: PageDep) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return login_first(p)
        values = forms.values_from_form(form)
        try:
            pkg = await run_in_threadpool(packages.create, p.cat, p.actor,
                                          forms.dataset_dict(values))
        except ValidationError as exc:
            return await run_in_threadpool(_form_page, p, values, _messages(p, exc.errors),
                                           None, 400)
        except NotAuthorized:
            errors = {"owner_org": [p._("You may not add datasets to this organisation.")]}
            return await run_in_threadpool(_form_page, p, values, errors, None, 403)
        return p.redirect(p.url("web_dataset_resource_new", name=pkg["name"]),
                          p._("The dataset was created. Now add its data."))

    async def _editable(p: Page, name: str) -> dict[str, Any]:
        pkg = await run_in_threadpool(packages.show, p.cat, p.actor, name)
        if not p.actor.can_edit_org_datasets(pkg["owner_org"]):
            raise NotAuthorized("not an editor of this dataset's organisation")
        return pkg

    async def _editable_or_error_page(p: Page, name: str) -> dict[str, Any] | Response:
        """The dataset if the signed-in user may edit it, else the 404 or 403 page."""
        try:
            return await _editable(p, name)
        except NotFound:
            return p.not_found()
        except NotAuthorized:
            return p.render("error.html", status=403, status_code=403)

    @api.get("/dataset/{name}/edit", name="web_dataset_edit")
    async def edit_form(p: PageDep, name: str) -> Response:
        if p.actor.anonymous:
            return login_first(p)
        pkg = await _editable_or_error_page(p, name)
        if isinstance(pkg, Response):
            return pkg
        return await run_in_threadpool(_form_page, p, forms.values_from_dataset(pkg), {}, pkg)

    @api.post("/dataset/{name}/edit", name="web_dataset_update")
    async def update(p: PageDep, name: str) -> Response:
        form = await p.form()
        if p.actor.anonymous:
            return login_first(p)
        pkg = await _editable_or_error_page(p, name)
        if isinstance(pkg, Response):
            return pkg
        values = forms.values_from_form(form)
        data = {**forms.dataset_dict(values), "id": pkg["id"]}
        try:
            saved = await run_in_threadpool(packages.update, p.cat, p.actor, data, patch=True)
        except ValidationError as exc:
            return await run_in_threadpool(_form_page, p, values, _messages(p, exc.errors),
                                           pkg, 400)
        except NotAuthorized:
            errors = {"owner_org": [p._("You may not add datasets to this organisation.")]}
            return await run_in_threadpool(_form_page, p, values, errors, pkg, 403)
        return p.redirect(p.url("web_dataset", name=saved["name"]), p._("Changes saved."))

    def resource_page(p: Page, pkg: dict[str, Any], values: dict[str, Any],
                      errors: dict[str, list[str]], status: int = 200) -> Response:
        if wants_json(p.request) and status != 200:
            return p.json({"errors": errors}, status)
        return p.render("resource_form.html", status=status, pkg=pkg, values=values,
                        errors=errors, max_bytes=p.cat.settings.max_upload_bytes)

    @api.get("/dataset/{name}/resource/new", name="web_dataset_resource_new")
    async def resource_form(p: PageDep, name: str) -> Response:
        if p.actor.anonymous:
            return login_first(p)
        pkg = await _editable_or_error_page(p, name)
        if isinstance(pkg, Response):
            return pkg
        return resource_page(p, pkg, {}, {})

    @api.post("/dataset/{name}/resource/new", name="web_dataset_resource_create")
    async def resource_create(p: PageDep, name: str) -> Response:
        check_origin(p.request, p.cat.site_url)
        header = p.request.headers.get(CSRF_HEADER)
        if header is not None:
            check_csrf(p.session, header)  # before reading a possibly large body
        if p.actor.anonymous:
            raise CsrfError("not signed in")  # a session that lost its sign-in: refuse
        pkg = await _editable_or_error_page(p, name)
        if isinstance(pkg, Response):
            return pkg
        content_type = p.request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return resource_page(p, pkg, {}, {"upload": [p._("Send the form as "
                                                               "multipart/form-data.")]}, 400)

        async def discard(upload: StoredUpload) -> None:
            await run_in_threadpool(discard_unreferenced, p.cat, upload)

        try:
            fields, upload = await parse_multipart(
                content_type, p.request.headers.get("content-length"), p.request.stream(),
                p.cat.uploads, discard)
        except (BadRequest, TooLarge) as exc:
            return resource_page(p, pkg, {}, {"upload": [p._(exc.message)]}, 413
                                 if isinstance(exc, TooLarge) else 400)
        values = {k: str(fields.get(k) or "").strip()[:1000]
                  for k in ("name", "description", "format", "url")}
        try:
            if header is None:
                check_csrf(p.session, fields.get(CSRF_FIELD))
            data: dict[str, Any] = {"package_id": pkg["id"], **{k: v for k, v in values.items()
                                                                 if v}}
            if upload is not None and not upload.size:
                await discard(upload)  # an empty file input: the browser sent no file
                upload = None
            if upload is None and not values["url"]:
                return resource_page(p, pkg, values, {"upload": [
                    p._("Choose a file to upload, or give a link.")]}, 400)
            await run_in_threadpool(resources.create, p.cat, p.actor, data, upload)
        except VntwinError as exc:
            if upload is not None:
                await discard(upload)
            errors = exc.errors if isinstance(exc, ValidationError) else {"upload": [
                exc.message]}
            return resource_page(p, pkg, values, _messages(p, errors), 400)
        except BaseException:
            if upload is not None:
                await discard(upload)
            raise
        target = p.url("web_dataset", name=pkg["name"])
        if wants_json(p.request):
            p.session.flash.append(p._("The resource was added."))
            p.session.changed = True
            return p.json({"redirect": target})
        return p.redirect(target, p._("The resource was added."))

    return api
