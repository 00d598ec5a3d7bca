"""The operations dashboard page: national digital-transformation indicators, the
open-data programme's progress, live sensor indicators by province, and open alerts.

The figures are ``vntwin.live.dashboard.dashboard`` (the JSON of ``/live/dashboard``,
which holds ``vntwin.demand.progress.programme_progress``'s totals), rendered as of page
load; the page script then follows the ``/live/events`` stream to add new alerts and
refresh the values without a reload (``/dashboard/live`` gives it the live section alone
when a new indicator or province has to be drawn).
Acknowledging an alert is for signed-in users, as in ``POST /live/alerts/{id}/ack``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vntwin.catalog.models import utcnow
from vntwin.errors import NotFound, ValidationError
from vntwin.live import alerts
from vntwin.live.dashboard import dashboard, live_indicators
from vntwin.web.context import Page, page
from vntwin.web.messages import ALERT_SEVERITY_LABELS, ALERT_STATE_LABELS, UNIT_LABELS

PageDep = Annotated[Page, Depends(page)]


def _figures(p: Page) -> dict[str, Any]:
    board = dashboard(p.cat)
    return {"board": board, "programme": board["programme"]}


def router() -> APIRouter:
    """``/dashboard`` and its acknowledge form."""
    api = APIRouter(include_in_schema=False)

    @api.get("/dashboard", name="web_dashboard")
    async def dashboard_page(p: PageDep) -> Response:
        data = await run_in_threadpool(_figures, p)
        return p.render("dashboard.html", unit_labels=UNIT_LABELS,
                        severity_labels=ALERT_SEVERITY_LABELS, state_labels=ALERT_STATE_LABELS,
                        strings={"new_alert": p._("New alert: %(message)s"),
                                 "acknowledged": p._("acknowledged"),
                                 "open": p._("open")},
                        **data)

    @api.get("/dashboard/live", name="web_dashboard_live")
    async def live_fragment(p: PageDep) -> Response:
        """The live indicators alone, as the page renders them: the page script swaps them
        in when a property or a province appears that the page did not load with, so new
        rows get the server's markup and wording rather than a copy kept in JavaScript.
        """
        live = await run_in_threadpool(live_indicators, p.cat, utcnow())
        return p.render("_dashboard_live.html", board={"live": live})

    @api.post("/dashboard/alerts/{alert_id}/ack", name="web_alert_ack")
    async def acknowledge(p: PageDep, alert_id: int) -> Response:
        await p.form()
        target = p.url("web_dashboard") + "#alerts"
        if p.actor.anonymous:
            return p.redirect(p.url("web_login", query={"next": p.url("web_dashboard")}))
        try:
            await run_in_threadpool(alerts.acknowledge, p.cat, alert_id, p.actor.name)
        except NotFound:
            return p.redirect(target, p._("That alert was not found."))
        except ValidationError:
            return p.redirect(target, p._("That alert is resolved already."))
        return p.redirect(target, p._("The alert was acknowledged."))

    return api
