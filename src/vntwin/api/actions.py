"""The CKAN actions vntwin serves: name -> adapter from a data dict to a subsystem call.

Each adapter only converts parameters; the rules live in ``vntwin.catalog`` and
``vntwin.datastore``. ``side_effect_free`` actions also answer GET, as in CKAN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vntwin import __version__
from vntwin.api.params import as_bool, as_dict, as_int, as_list, required
from vntwin.catalog import groups, packages, resources, users
from vntwin.catalog.auth import Actor
from vntwin.catalog.find import package_search
from vntwin.catalog.licenses import license_list
from vntwin.catalog.lookup import get_resource
from vntwin.catalog.resources import StoredUpload
from vntwin.catalog.search import MAX_ROWS, SearchParams
from vntwin.catalog.service import Catalog
from vntwin.errors import NotAuthorized, NotFound, ValidationError


@dataclass(frozen=True)
class Call:
    """One action call: the catalogue, who calls, the parameters and an optional file."""

    cat: Catalog
    actor: Actor
    data: dict[str, Any]
    upload: StoredUpload | None = None
    path: str = "/api/3/action"


ActionFn = Callable[[Call], Any]
ACTIONS: dict[str, tuple[ActionFn, bool]] = {}
FILE_ACTIONS: set[str] = set()  # actions that take a multipart ``upload``


def action(name: str, *, side_effect_free: bool = False,
           takes_file: bool = False) -> Callable[[ActionFn], ActionFn]:
    """Register an action under its CKAN name."""
    def register(fn: ActionFn) -> ActionFn:
        ACTIONS[name] = (fn, side_effect_free)
        if takes_file:
            FILE_ACTIONS.add(name)
        return fn
    return register


def _ref(data: dict[str, Any]) -> str:
    return str(data.get("id") or data.get("name") or required(data, "id"))


@action("status_show", side_effect_free=True)
def _status_show(c: Call) -> dict[str, Any]:
    return {"site_title": c.cat.settings.site_title, "site_url": c.cat.site_url,
            "site_description": "vntwin open data catalogue and territorial digital twin",
            "ckan_version": "2.11.0", "vntwin_version": __version__, "locale_default": "vi",
            "extensions": ["datastore", "dcat", "vntwin"],
            "error_emails_to": None}


@action("package_list", side_effect_free=True)
def _package_list(c: Call) -> list[str]:
    return packages.package_list(c.cat, as_int(c.data, "limit", None, maximum=MAX_ROWS),
                                 as_int(c.data, "offset", 0) or 0)


@action("package_search", side_effect_free=True)
def _package_search(c: Call) -> dict[str, Any]:
    d = c.data
    fq_list = [str(f) for f in as_list(d, "fq_list")]
    if d.get("fq"):
        fq_list.insert(0, str(d["fq"]))
    params = SearchParams(
        q=str(d.get("q") or ""), fq=fq_list,
        rows=as_int(d, "rows", 10, maximum=MAX_ROWS) or 0,
        start=as_int(d, "start", 0) or 0,
        sort=str(d.get("sort") or "score desc, metadata_modified desc"),
        facet_fields=[str(f) for f in as_list(d, "facet.field")] if as_bool(d, "facet", True)
        else [],
        facet_limit=as_int(d, "facet.limit", 50, minimum=-1) or 0,
        facet_mincount=as_int(d, "facet.mincount", 1) or 0,
        include_private=as_bool(d, "include_private", False),
        include_drafts=as_bool(d, "include_drafts", False),
    )
    return package_search(c.cat, c.actor, params)


@action("package_show", side_effect_free=True)
def _package_show(c: Call) -> dict[str, Any]:
    return packages.show(c.cat, c.actor, _ref(c.data))


@action("package_create")
def _package_create(c: Call) -> dict[str, Any]:
    return packages.create(c.cat, c.actor, c.data)


@action("package_update")
def _package_update(c: Call) -> dict[str, Any]:
    return packages.update(c.cat, c.actor, c.data)


@action("package_patch")
def _package_patch(c: Call) -> dict[str, Any]:
    return packages.update(c.cat, c.actor, c.data, patch=True)


@action("package_delete")
def _package_delete(c: Call) -> None:
    packages.delete(c.cat, c.actor, _ref(c.data))


@action("package_activity_list", side_effect_free=True)
def _package_activity_list(c: Call) -> list[dict[str, Any]]:
    return packages.activity_list(c.cat, c.actor, _ref(c.data),
                                  as_int(c.data, "limit", 31, maximum=1000) or 31,
                                  as_int(c.data, "offset", 0) or 0)


@action("resource_create", takes_file=True)
def _resource_create(c: Call) -> dict[str, Any]:
    return resources.create(c.cat, c.actor, c.data, c.upload)


@action("resource_update", takes_file=True)
def _resource_update(c: Call) -> dict[str, Any]:
    return resources.update(c.cat, c.actor, c.data, c.upload)


@action("resource_patch", takes_file=True)
def _resource_patch(c: Call) -> dict[str, Any]:
    return resources.update(c.cat, c.actor, c.data, c.upload, patch=True)


@action("resource_delete")
def _resource_delete(c: Call) -> None:
    resources.delete(c.cat, c.actor, required(c.data, "id"))


@action("resource_show", side_effect_free=True)
def _resource_show(c: Call) -> dict[str, Any]:
    return resources.show(c.cat, c.actor, required(c.data, "id"))


@action("resource_view_list", side_effect_free=True)
def _resource_view_list(c: Call) -> list[dict[str, Any]]:
    return resources.view_list(c.cat, c.actor, required(c.data, "id"))


def _group_actions(kind: str, organization: bool) -> None:
    @action(f"{kind}_list", side_effect_free=True)
    def _list(c: Call) -> list[Any]:
        return groups.group_list(
            c.cat, c.actor, organization=organization,
            all_fields=as_bool(c.data, "all_fields", False), sort=str(c.data.get("sort") or
                                                                      "name asc"),
            limit=as_int(c.data, "limit", None, maximum=1000), offset=as_int(c.data, "offset", 0)
            or 0)

    @action(f"{kind}_show", side_effect_free=True)
    def _show(c: Call) -> dict[str, Any]:
        result = groups.group_show(c.cat, c.actor, _ref(c.data), organization=organization,
                                   include_users=as_bool(c.data, "include_users", True))
        if as_bool(c.data, "include_datasets", False):
            field = "owner_org" if organization else "groups"
            value = result["id"] if organization else result["name"]
            found = package_search(c.cat, c.actor, SearchParams(
                fq=[f'{field}:"{value}"'], rows=1000, include_private=True))
            result["packages"] = found["results"]
        return result

    @action(f"{kind}_create")
    def _create(c: Call) -> dict[str, Any]:
        return groups.group_create(c.cat, c.actor, c.data, organization=organization)

    @action(f"{kind}_update")
    def _update(c: Call) -> dict[str, Any]:
        return groups.group_update(c.cat, c.actor, c.data, organization=organization)

    @action(f"{kind}_patch")
    def _patch(c: Call) -> dict[str, Any]:
        return groups.group_update(c.cat, c.actor, c.data, organization=organization, patch=True)


_group_actions("organization", True)
_group_actions("group", False)


@action("organization_member_create")
def _member_create(c: Call) -> dict[str, Any]:
    return groups.member_create(c.cat, c.actor, required(c.data, "id"),
                                required(c.data, "username"), required(c.data, "role"))


@action("tag_list", side_effect_free=True)
def _tag_list(c: Call) -> list[Any]:
    found = package_search(c.cat, c.actor, SearchParams(
        rows=0, facet_fields=["tags"], facet_limit=-1, include_private=True))
    names = sorted(found["facets"]["tags"])
    q = str(c.data.get("query") or c.data.get("q") or "")
    if q:
        from vntwin.text import fold
        names = [n for n in names if fold(q) in fold(n)]
    if as_bool(c.data, "all_fields", False):
        return [{"name": n, "display_name": n, "id": n, "vocabulary_id": None} for n in names]
    return names


@action("license_list", side_effect_free=True)
def _license_list(c: Call) -> list[dict[str, Any]]:
    return license_list()


@action("user_list", side_effect_free=True)
def _user_list(c: Call) -> list[dict[str, Any]]:
    return users.user_list(c.cat, c.actor, c.data.get("q"),
                           as_int(c.data, "limit", 1000, maximum=1000) or 1000,
                           as_int(c.data, "offset", 0) or 0)


@action("user_show", side_effect_free=True)
def _user_show(c: Call) -> dict[str, Any]:
    return users.user_show(c.cat, c.actor, _ref(c.data))


@action("api_token_create")
def _api_token_create(c: Call) -> dict[str, Any]:
    token = users.token_create(c.cat, c.actor, required(c.data, "user"),
                               str(c.data.get("name") or ""),
                               as_int(c.data, "expires_in_days", None, minimum=1))
    return {"token": token}


@action("api_token_revoke")
def _api_token_revoke(c: Call) -> None:
    users.token_revoke(c.cat, c.actor, str(c.data.get("token") or required(c.data, "jti")))


@action("datastore_search", side_effect_free=True)
def _datastore_search(c: Call) -> dict[str, Any]:
    from vntwin.datastore.search import datastore_search

    rid = required(c.data, "resource_id")
    with c.cat.read() as session:
        get_resource(session, c.actor, rid)
    q: Any = c.data.get("q")
    if isinstance(q, str) and q.strip().startswith("{"):
        q = as_dict(c.data, "q")
    fields = c.data.get("fields")
    return datastore_search(
        c.cat.settings.datastore_dir, rid, q=q or None, filters=as_dict(c.data, "filters"),
        fields=fields if isinstance(fields, (list, str)) and fields else None,
        sort=str(c.data["sort"]) if c.data.get("sort") else None,
        limit=as_int(c.data, "limit", 100, maximum=32000) or 0,
        offset=as_int(c.data, "offset", 0) or 0,
        include_total=as_bool(c.data, "include_total", True),
        records_format=str(c.data.get("records_format") or "objects"),
        distinct=as_bool(c.data, "distinct", False),
        base_path=f"{c.path}/datastore_search")


@action("datastore_search_sql", side_effect_free=True)
def _datastore_search_sql(c: Call) -> dict[str, Any]:
    from vntwin.datastore.sql import datastore_search_sql

    def allowed(resource_id: str) -> bool:
        with c.cat.read() as session:
            try:
                get_resource(session, c.actor, resource_id)
            except NotFound:
                return False
            return True

    return datastore_search_sql(c.cat.settings.datastore_dir, required(c.data, "sql"),
                                allowed_resource_ids=allowed,
                                time_limit_s=c.cat.settings.sql_time_limit_s,
                                row_limit=c.cat.settings.sql_row_limit)


@action("help_show", side_effect_free=True)
def _help_show(c: Call) -> str:
    name = required(c.data, "name")
    if name not in ACTIONS:
        raise NotFound(f"Action {name!r} not found")
    return (ACTIONS[name][0].__doc__ or f"{name}: see CKAN's Action API reference").strip()


def run(name: str, call: Call) -> Any:
    """Look up and run an action (the caller has checked that it exists)."""
    fn, _ = ACTIONS[name]
    if call.upload is not None and name not in FILE_ACTIONS:
        raise ValidationError({"upload": [f"{name} does not take a file"]})
    if name.endswith(("_create", "_update", "_patch", "_delete", "_revoke")) and \
            call.actor.anonymous:
        raise NotAuthorized(f"Action {name} requires an authenticated user")
    return fn(call)


# Actions of other subsystems register themselves on import.
import vntwin.api.demand  # noqa: E402
import vntwin.api.twin_actions  # noqa: E402, F401
