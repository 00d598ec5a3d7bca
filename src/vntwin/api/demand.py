"""CKAN-style actions for data requests (ckanext-datarequests' names), feedback on
datasets, agencies' targets and the programme's progress. Adapters only: the rules live
in :mod:`vntwin.demand`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from vntwin.api.actions import Call, action
from vntwin.api.params import as_bool, as_int, as_list, required
from vntwin.catalog.validation import Errors
from vntwin.demand import feedback, listing, progress, requests, social, targets
from vntwin.demand.validation import iso_date


@action("datarequest_create")
def _datarequest_create(c: Call) -> dict[str, Any]:
    """Ask for a dataset: ``title``, ``description``, optional ``purpose``,
    ``organization_id`` (the agency you think holds it) and ``needed_by`` (a date).
    """
    return requests.create(c.cat, c.actor, c.data)


@action("datarequest_show", side_effect_free=True)
def _datarequest_show(c: Call) -> dict[str, Any]:
    """One data request by ``id``, with its votes, response deadline and state."""
    return requests.show(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_list", side_effect_free=True)
def _datarequest_list(c: Call) -> dict[str, Any]:
    """Data requests: filters ``organization_id``, ``user_id``, ``status`` (list),
    ``closed``, ``response`` (list), ``q``; ``sort`` (newest, oldest, votes, deadline,
    updated); ``limit``, ``offset``. Returns ``{count, result, facets}``.
    """
    d = c.data
    closed = as_bool(d, "closed") if d.get("closed") not in (None, "") else None
    return listing.list_requests(
        c.cat, c.actor, organization=str(d.get("organization_id") or d.get("organization")
                                         or "") or None,
        user=str(d.get("user_id") or d.get("user") or "") or None,
        status=[str(s) for s in as_list(d, "status")], closed=closed, q=str(d.get("q") or ""),
        response=[str(s) for s in as_list(d, "response")],
        sort=str(d.get("sort") or "newest"), limit=as_int(d, "limit", 20, maximum=1000) or 0,
        offset=as_int(d, "offset", 0) or 0)


@action("datarequest_update")
def _datarequest_update(c: Call) -> dict[str, Any]:
    """Change the given fields: the author edits ``title``, ``description``, ``purpose``,
    ``needed_by``; the agency triages with ``status`` (accepted + ``planned_date``,
    in_progress, published + ``dataset_id``, declined + ``close_reason``).
    """
    required(c.data, "id")
    return requests.update(c.cat, c.actor, c.data)


@action("datarequest_close")
def _datarequest_close(c: Call) -> dict[str, Any]:
    """Close a request: the agency with ``accepted_dataset_id`` (published) or a
    ``close_reason`` (declined); the author withdraws it.
    """
    required(c.data, "id")
    return requests.close(c.cat, c.actor, c.data)


@action("datarequest_delete")
def _datarequest_delete(c: Call) -> None:
    """Delete a request (sysadmins, or its author before any answer)."""
    requests.delete(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_comment")
def _datarequest_comment(c: Call) -> dict[str, Any]:
    """Comment on request ``datarequest_id`` (``comment``); the agency's staff answer so."""
    ref = str(c.data.get("datarequest_id") or required(c.data, "id"))
    return social.comment(c.cat, c.actor, ref, c.data)


@action("datarequest_comment_list", side_effect_free=True)
def _datarequest_comment_list(c: Call) -> list[dict[str, Any]]:
    """Comments of request ``datarequest_id``, oldest first (``sort=desc`` for newest)."""
    ref = str(c.data.get("datarequest_id") or required(c.data, "id"))
    return social.comment_list(c.cat, c.actor, ref,
                               limit=as_int(c.data, "limit", 100, maximum=1000) or 0,
                               offset=as_int(c.data, "offset", 0) or 0,
                               newest_first=str(c.data.get("sort") or "") == "desc")


@action("datarequest_comment_delete")
def _datarequest_comment_delete(c: Call) -> None:
    """Delete comment ``id`` (its author or a sysadmin)."""
    social.comment_delete(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_vote")
def _datarequest_vote(c: Call) -> dict[str, Any]:
    """Vote for request ``id`` (once per user)."""
    return social.vote(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_unvote")
def _datarequest_unvote(c: Call) -> dict[str, Any]:
    """Withdraw your vote for request ``id``."""
    return social.unvote(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_follow")
def _datarequest_follow(c: Call) -> dict[str, Any]:
    """Follow request ``id``."""
    return social.follow(c.cat, c.actor, required(c.data, "id"))


@action("datarequest_unfollow")
def _datarequest_unfollow(c: Call) -> dict[str, Any]:
    """Stop following request ``id``."""
    return social.unfollow(c.cat, c.actor, required(c.data, "id"))


@action("feedback_create")
def _feedback_create(c: Call) -> dict[str, Any]:
    """Rate dataset ``package_id`` (``rating`` 1-5, optional ``comment``); again replaces."""
    required(c.data, "package_id")
    return feedback.create(c.cat, c.actor, c.data)


@action("feedback_list", side_effect_free=True)
def _feedback_list(c: Call) -> dict[str, Any]:
    """Feedback on dataset ``package_id``: mean rating, counts per rating, newest first."""
    return feedback.list_feedback(
        c.cat, c.actor, str(c.data.get("package_id") or required(c.data, "id")),
        limit=as_int(c.data, "limit", 50, maximum=1000) or 0,
        offset=as_int(c.data, "offset", 0) or 0)


@action("feedback_delete")
def _feedback_delete(c: Call) -> None:
    """Delete feedback ``id`` (its author, the agency's admin or a sysadmin)."""
    feedback.delete(c.cat, c.actor, required(c.data, "id"))


@action("agency_target_set")
def _agency_target_set(c: Call) -> dict[str, Any]:
    """Set agency ``organization_id``'s targets for ``year`` (sysadmins):
    ``datasets_to_publish``, ``requests_to_answer``, ``quality_to_reach`` (0-100).
    """
    return targets.set_target(c.cat, c.actor, c.data)


@action("agency_target_list", side_effect_free=True)
def _agency_target_list(c: Call) -> list[dict[str, Any]]:
    """Targets, optionally of one ``organization_id`` and one ``year``."""
    return targets.list_targets(c.cat, organization=str(c.data.get("organization_id") or
                                                        c.data.get("organization") or "")
                                or None, year=as_int(c.data, "year", None, maximum=2100))


@action("agency_target_delete")
def _agency_target_delete(c: Call) -> None:
    """Remove agency ``organization_id``'s targets for ``year`` (sysadmins)."""
    targets.delete_target(c.cat, c.actor, required(c.data, "organization_id"),
                          as_int(c.data, "year", None, minimum=2000, maximum=2100) or 0)


def _period(c: Call) -> dict[str, Any]:
    errors = Errors()
    start: date | None = iso_date(c.data, "start", errors)
    end: date | None = iso_date(c.data, "end", errors)
    errors.raise_if_any()
    return {"year": as_int(c.data, "year", None, minimum=2000, maximum=2100),
            "start": start, "end": end}


@action("agency_progress_show", side_effect_free=True)
def _agency_progress_show(c: Call) -> dict[str, Any]:
    """One agency's (``id``) datasets published, requests answered on time, quality and
    targets for ``year`` (or ``start``..``end``).
    """
    ref = str(c.data.get("organization_id") or required(c.data, "id"))
    return progress.agency_progress(c.cat, ref, **_period(c))


@action("programme_progress_show", side_effect_free=True)
def _programme_progress_show(c: Call) -> dict[str, Any]:
    """The whole programme for ``year`` (or ``start``..``end``): share of agencies that
    published, requests answered on time, targets met, and every agency's figures.
    """
    return progress.programme_progress(c.cat, **_period(c))


@action("quality_show", side_effect_free=True)
def _quality_show(c: Call) -> dict[str, Any]:
    """Dataset ``id``'s quality: the six dimensions, the overall score and the findings
    (the same JSON as ``GET /quality/{dataset}``), measured again first if stale.
    """
    from vntwin.quality.service import quality_for

    return quality_for(c.cat, c.actor, required(c.data, "id"))
