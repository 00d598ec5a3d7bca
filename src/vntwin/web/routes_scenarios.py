"""The planning-scenarios page: stored results, check or run a spec, compare results.

Thin, like the other pages: specs are loaded and checked by ``vntwin.scenarios`` with the
signed-in user's ``Actor``, so the API's access rules apply (results the visitor may not
read are neither listed nor compared). Runs store datasets, so only signed-in users run.

Why the page has its own two JSON endpoints: the ``/scenarios`` JSON API authenticates by
``Authorization`` header, and page scripts never hold the token (the session cookie is
HttpOnly by design). The page script therefore starts a background run through
``POST /scenarios`` (CSRF header, session actor) and polls ``/scenarios/progress/{id}``;
both use the API's own :class:`vntwin.scenarios.jobs.Jobs`. Without scripts the same form
runs the batch in the request and shows the results when it is done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from vntwin.errors import NotAuthorized, NotFound, VntwinError
from vntwin.scenarios import service
from vntwin.scenarios.compare import comparison
from vntwin.scenarios.jobs import Jobs
from vntwin.scenarios.loader import MAX_SPEC_BYTES, SpecError
from vntwin.scenarios.runner import check_batch, run_batch
from vntwin.web.context import Page, page, wants_json
from vntwin.web.routes_edit import editable_orgs

PageDep = Annotated[Page, Depends(page)]
MAX_COMPARE = 8
MAX_LISTED = 200


class SpecInputError(Exception):
    """The form's spec could not be read (empty, too large, not UTF-8)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def chosen_datasets(p: Page) -> list[str]:
    """Result datasets picked for comparison (repeated or comma-separated ``datasets``)."""
    names: list[str] = []
    for raw in p.request.query_params.getlist("datasets"):
        names += [n.strip() for n in raw.split(",") if n.strip()]
    return list(dict.fromkeys(names))[:MAX_COMPARE]


async def spec_text(p: Page, form: FormData) -> str:
    """The spec of the form: an uploaded file wins over the pasted text."""
    upload = form.get("spec_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_SPEC_BYTES + 1)
        await upload.close()
        if data:
            if len(data) > MAX_SPEC_BYTES:
                raise SpecInputError(p._("The spec file is too large."))
            try:
                return data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise SpecInputError(p._("The spec file is not UTF-8 text.")) from None
    text = form.get("spec")
    if not isinstance(text, str) or not text.strip():
        raise SpecInputError(p._("Paste a spec, upload a spec file or pick an example."))
    return text


def issue_messages(p: Page, exc: SpecError) -> list[str]:
    """Each issue of a refused spec, starting with its line and column."""
    out = []
    for issue in exc.issues:
        where = issue.as_dict()["path"] or p._("(whole spec)")
        if issue.line is None:
            out.append(f"{where}: {issue.message}")
        else:
            out.append(p._("Line %(line)s, column %(column)s: %(path)s: %(message)s") % {
                "line": issue.line, "column": issue.column or 1, "path": where,
                "message": issue.message})
    return out


def _compare(p: Page, names: list[str]) -> dict[str, Any] | None:
    if not names:
        return None
    try:
        table = comparison(service.get_results(p.cat, p.actor, names), "province")
    except (NotFound, NotAuthorized):
        return {"error": p._("One of the chosen results does not exist or is not visible "
                             "to you.")}
    return {**table, "datasets": names}


def _page(p: Page, values: dict[str, Any], errors: dict[str, list[str]],
          checked: dict[str, Any] | None = None, status: int = 200) -> Response:
    """The page, with the form's values, field errors and a check's outcome."""
    def work() -> dict[str, Any]:
        return {"results": service.list_results(p.cat, p.actor, MAX_LISTED),
                "examples": [e for e in service.examples() if "text" in e],
                "orgs": editable_orgs(p) if not p.actor.anonymous else [],
                "compared": _compare(p, chosen_datasets(p))}

    return p.render("scenarios.html", status=status, values=values, errors=errors,
                    checked=checked, **work())


def router(jobs: Jobs) -> APIRouter:
    """``/scenarios`` (page and form), ``/scenarios/progress/{job_id}``."""
    api = APIRouter(include_in_schema=False)

    @api.get("/scenarios", name="web_scenarios")
    async def scenarios(p: PageDep) -> Response:
        values: dict[str, Any] = {"spec": "", "org": ""}
        example = p.request.query_params.get("example", "")
        if example:
            found = next((e for e in service.examples() if e["file"] == example
                          and "text" in e), None)
            values.update(spec=found["text"] if found else "", example=example)
        return await run_in_threadpool(_page, p, values, {})

    @api.post("/scenarios", name="web_scenarios_post")
    async def submit(p: PageDep) -> Response:
        form = await p.form(max_files=1)
        action = str(form.get("action") or "check")
        values = {"spec": str(form.get("spec") or "")[:MAX_SPEC_BYTES],
                  "org": str(form.get("org") or "")[:100]}
        if action == "run" and p.actor.anonymous:
            if wants_json(p.request):
                return p.json({"errors": {"spec": [p._("Sign in to run scenarios.")]}}, 403)
            return p.redirect(p.url("web_login", query={"next": p.url("web_scenarios")}))
        try:
            text = await spec_text(p, form)
        except SpecInputError as exc:
            return await _refused(p, values, {"spec": [exc.message]})
        values["spec"] = text
        if action == "run":
            return await _run(p, jobs, text, values)
        try:
            base, prepared = await run_in_threadpool(
                lambda: check_batch(p.cat, p.actor, service.load_items([text], "spec")))
        except SpecError as exc:
            return await _refused(p, values, {"spec": issue_messages(p, exc)})
        except VntwinError as exc:
            return await _refused(p, values, {"spec": [exc.message]})
        checked = {"twin_version": base.version,
                   "scenarios": [{"name": item.loaded.spec.name,
                                  "title": item.loaded.spec.title, "notes": item.notes}
                                 for item in prepared]}
        return await run_in_threadpool(_page, p, values, {}, checked)

    @api.get("/scenarios/progress/{job_id}", name="web_scenario_progress")
    async def progress(p: PageDep, job_id: str) -> Response:
        try:
            job = jobs.get(job_id, p.actor)
        except NotFound:
            return p.json({"error": p._("This run is not known (the server may have "
                                        "restarted).")}, 404)
        view = job.view("national")
        datasets = [r["dataset"] for r in view.get("results", []) if r.get("dataset")]
        if datasets:
            view["page"] = p.url("web_scenarios", query={"datasets": ",".join(datasets)}) \
                + "#comparison"
        return p.json(view)

    return api


async def _refused(p: Page, values: dict[str, Any], errors: dict[str, list[str]]) -> Response:
    if wants_json(p.request):
        return p.json({"errors": errors}, 400)
    return await run_in_threadpool(_page, p, values, errors, None, 400)


async def _run(p: Page, jobs: Jobs, text: str, values: dict[str, Any]) -> Response:
    """Run the spec: in the background for the page script, else in this request."""
    org = values["org"] or None

    def start() -> dict[str, Any]:
        loaded = service.load_items([text], "spec")
        check_batch(p.cat, p.actor, loaded)  # refuse a bad spec now, at its lines
        job = jobs.start(p.cat, p.actor, loaded, org=org)
        return {"job": job.id, "progress": p.url("web_scenario_progress", job_id=job.id),
                "total": job.total}

    def run() -> list[dict[str, Any]]:
        return run_batch(p.cat, p.actor, service.load_items([text], "spec"), org=org).results

    try:
        if wants_json(p.request):
            return p.json(await run_in_threadpool(start), 202)
        results = await run_in_threadpool(run)
    except SpecError as exc:
        return await _refused(p, values, {"spec": issue_messages(p, exc)})
    except NotAuthorized as exc:
        return await _refused(p, values, {"org": [exc.message]})
    except VntwinError as exc:
        field = "org" if "org" in getattr(exc, "errors", {}) else "spec"
        return await _refused(p, values, {field: [exc.message]})
    failed = [f"{r.get('name')}: {r['error']}" for r in results if "error" in r]
    if failed and not any(r.get("dataset") for r in results):
        return await _refused(p, values, {"spec": failed})
    datasets = [r["dataset"] for r in results if r.get("dataset")]
    for message in failed:
        p.session.flash.append(p._("A scenario failed: %(error)s") % {"error": message})
    return p.redirect(p.url("web_scenarios", query={"datasets": ",".join(datasets)})
                      + "#comparison", p._("The scenario ran; its result is stored as a "
                                           "dataset."))
