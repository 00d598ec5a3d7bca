"""Agencies' yearly publication targets, set by a sysadmin: datasets to publish, requests
to answer and the mean quality score to reach. Progress against them is in
:mod:`vntwin.demand.progress`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from vntwin.catalog.auth import Actor
from vntwin.catalog.dictize import iso
from vntwin.catalog.lookup import get_group
from vntwin.catalog.models import Group, utcnow
from vntwin.catalog.service import Catalog
from vntwin.catalog.validation import Errors
from vntwin.demand.models import AgencyTarget
from vntwin.demand.validation import number, text
from vntwin.errors import NotAuthorized, NotFound, ValidationError

TARGET_FIELDS = ("datasets_to_publish", "requests_to_answer", "quality_to_reach")
YEARS = (2000, 2100)


def target_dict(row: AgencyTarget, org: Group | None) -> dict[str, Any]:
    """A target in the API's shape."""
    return {"id": row.id, "organization_id": row.organization_id,
            "organization": {"id": org.id, "name": org.name, "title": org.title or org.name}
            if org else None,
            "year": row.year, "datasets_to_publish": row.datasets_to_publish,
            "requests_to_answer": row.requests_to_answer,
            "quality_to_reach": row.quality_to_reach, "note": row.note,
            "modified": iso(row.modified)}


def _year(data: dict[str, Any], errors: Errors) -> int:
    value = number(data, "year", errors, minimum=YEARS[0], maximum=YEARS[1])
    if value is None and "year" not in errors.errors:
        errors.add("year", "Missing value")
    return int(value or 0)


def set_target(cat: Catalog, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """agency_target_set: create or replace an agency's targets for a year (sysadmins).

    Fields left out (or null) mean no target of that kind.
    """
    if not actor.sysadmin:
        raise NotAuthorized("only sysadmins set agencies' targets")
    errors = Errors()
    year = _year(data, errors)
    values = {
        "datasets_to_publish": number(data, "datasets_to_publish", errors, minimum=0,
                                      maximum=100_000),
        "requests_to_answer": number(data, "requests_to_answer", errors, minimum=0,
                                     maximum=100_000),
        "quality_to_reach": number(data, "quality_to_reach", errors, minimum=0, maximum=100,
                                   integer=False),
    }
    note = text(data, "note", errors, maximum=2_000) or ""
    if all(v is None for v in values.values()) and not errors.errors:
        errors.add("datasets_to_publish", "Give at least one target: datasets_to_publish, "
                   "requests_to_answer or quality_to_reach")
    with cat.write(actor) as ctx:
        try:
            org = get_group(ctx.session, str(data.get("organization_id")
                                             or data.get("organization") or ""),
                            organization=True)
        except NotFound as exc:
            errors.add("organization_id", exc.message)
            org = None
        errors.raise_if_any()
        assert org is not None
        row = ctx.session.scalars(select(AgencyTarget).where(
            AgencyTarget.organization_id == org.id, AgencyTarget.year == year)).first()
        if row is None:
            row = AgencyTarget(organization_id=org.id, year=year)
            ctx.session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.note = note
        row.set_by = actor.user_id
        row.modified = utcnow()
        ctx.session.flush()
        ctx.log("agency_target_set", "group", org.id, year=year,
                **{k: v for k, v in values.items() if v is not None})
        return target_dict(row, org)


def list_targets(cat: Catalog, *, organization: str | None = None,
                 year: int | None = None) -> list[dict[str, Any]]:
    """agency_target_list: targets, by agency name then year (public, like the programme)."""
    with cat.read() as session:
        stmt = select(AgencyTarget, Group).join(Group, Group.id == AgencyTarget.organization_id)
        if organization:
            try:
                stmt = stmt.where(AgencyTarget.organization_id == get_group(
                    session, organization, organization=True).id)
            except NotFound as exc:
                raise ValidationError({"organization": [exc.message]}) from None
        if year is not None:
            stmt = stmt.where(AgencyTarget.year == year)
        return [target_dict(t, g) for t, g in session.execute(
            stmt.order_by(Group.name, AgencyTarget.year))]


def delete_target(cat: Catalog, actor: Actor, organization: str, year: int) -> None:
    """agency_target_delete: remove an agency's targets for a year (sysadmins)."""
    if not actor.sysadmin:
        raise NotAuthorized("only sysadmins remove agencies' targets")
    with cat.write(actor) as ctx:
        org = get_group(ctx.session, organization, organization=True)
        row = ctx.session.scalars(select(AgencyTarget).where(
            AgencyTarget.organization_id == org.id, AgencyTarget.year == year)).first()
        if row is None:
            raise NotFound(f"No targets for {org.name} in {year}")
        ctx.log("agency_target_delete", "group", org.id, year=year)
        ctx.session.delete(row)
