"""Feedback on a dataset from its page: a rating (1–5) and a comment, once per user.

Thin, like the request pages: ``vntwin.demand.feedback.create`` (the ``feedback_create``
action) decides who may rate what; a second rating by the same user replaces the first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.demand import feedback
from vntwin.errors import NotAuthorized, NotFound, ValidationError
from vntwin.web.context import Page, page

PageDep = Annotated[Page, Depends(page)]
MAX_COMMENT = 5_000


def router() -> APIRouter:
    """``POST /dataset/{name}/feedback``; the form and the ratings are on the dataset page."""
    api = APIRouter(include_in_schema=False)

    @api.post("/dataset/{name}/feedback", name="web_dataset_feedback")
    async def rate(p: PageDep, name: str) -> Response:
        form = await p.form()
        target = p.url("web_dataset", name=name)
        if p.actor.anonymous:
            return p.redirect(p.url("web_login", query={"next": target + "#feedback"}))
        rating, comment = form.get("rating"), form.get("comment")
        data = {"package_id": name,
                "rating": rating if isinstance(rating, str) else "",
                "comment": comment.strip()[:MAX_COMMENT] if isinstance(comment, str) else ""}
        try:
            await run_in_threadpool(feedback.create, p.cat, p.actor, data)
        except NotFound:
            return p.not_found()
        except NotAuthorized:
            return p.render("error.html", status=403, status_code=403)
        except ValidationError as exc:
            problems = " ".join(p._(m) for messages in exc.errors.values() for m in messages)
            return p.redirect(target + "#feedback",
                              p._("Your rating was not saved: %(why)s") % {"why": problems})
        return p.redirect(target + "#feedback", p._("Thank you: your rating was saved."))

    return api
