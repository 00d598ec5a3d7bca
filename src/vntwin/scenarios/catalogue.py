"""Scenario results as datasets of the catalogue, with their lineage.

Everything is a dataset (DESIGN.md): each result becomes one dataset whose name is
derived from the scenario's name and its *result key* (spec hash, twin version, input
files, engine version), so the same spec on the same twin finds its stored result and
reuses it instead of computing again. Extras record the lineage (``scenario_key``,
``scenario_spec_hash``, ``scenario_twin_version``, ``scenario_engine``); resources
hold the full result (JSON), the per-unit table (CSV, queryable in the datastore), the
spec as written, and the difference layer (GeoParquet, and GeoJSON for the map).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from vntwin.catalog import groups, packages, resources
from vntwin.catalog.auth import Actor
from vntwin.catalog.models import Group, Package
from vntwin.catalog.resources import discard_unreferenced, store_file
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.errors import NotAuthorized, NotFound, ValidationError, VntwinError
from vntwin.scenarios import difference
from vntwin.scenarios.check import Prepared
from vntwin.scenarios.engine import Outcome
from vntwin.scenarios.spec import ENGINE_VERSION

DEFAULT_ORG = "kich-ban-quy-hoach"
DEFAULT_ORG_TITLE = "Kịch bản quy hoạch / Planning scenarios"
RESULT_TAG = "kich-ban"
RESULT_FILE = "result.json"
DIFFERENCE_GEOJSON = "difference.geojson"
UNIT_COLUMNS = ["level", "code", "name", "indicator", "measure", "base", "scenario", "delta"]


MAX_RENAMES = 20


def dataset_name(spec_name: str, key: str, attempt: int = 1) -> str:
    """CKAN-valid dataset name of a result: readable prefix, unique key suffix (and
    ``-rN`` when a deleted dataset still holds the name: deleted datasets keep theirs).
    """
    name = f"kich-ban-{spec_name[:60]}-{key[:12]}".lower()
    return name if attempt == 1 else f"{name}-r{attempt}"


def _names(prepared: Prepared) -> list[str]:
    return [dataset_name(prepared.loaded.spec.name, prepared.key, n)
            for n in range(1, MAX_RENAMES + 1)]


def organisation_for(cat: Catalog, actor: Actor, org: str | None) -> str:
    """The organisation results are stored in: the one asked for (the caller must be an
    editor there), the caller's only organisation, or the scenarios organisation
    (created by the system on first use, for sysadmins and the command line).
    """
    if org:
        with cat.read() as session:
            group = session.scalars(select(Group).where(
                (Group.name == org) | (Group.id == org), Group.is_organization.is_(True),
                Group.state == "active")).first()
            if group is None:
                raise ValidationError({"org": [f"no organisation {org!r}"]})
            if not actor.can_edit_org_datasets(group.id):
                raise NotAuthorized(f"you may not add datasets to {group.name}")
            return str(group.name)
    editable = [oid for oid, role in actor.roles.items() if role in ("admin", "editor")]
    if not actor.sysadmin:
        if len(editable) != 1:
            raise ValidationError({"org": ["give the organisation that receives the results "
                                           "(you must be an editor of it)"]})
        with cat.read() as session:
            group = session.get(Group, editable[0])
            assert group is not None
            return str(group.name)
    try:
        groups.group_show(cat, SYSTEM, DEFAULT_ORG, organization=True)
    except NotFound:
        groups.group_create(cat, SYSTEM, {
            "name": DEFAULT_ORG, "title": DEFAULT_ORG_TITLE,
            "description": "Kết quả các kịch bản quy hoạch chạy trên bản sao số (vntwin). "
                           "Results of planning scenarios run on the twin."},
            organization=True)
    return DEFAULT_ORG


def find_result(cat: Catalog, actor: Actor, prepared: Prepared) -> dict[str, Any] | None:
    """The stored result of the same spec on the same twin and inputs, if any."""
    name = _free_name(cat, prepared)
    try:
        pkg = packages.show(cat, actor, name)
    except (NotFound, NotAuthorized):
        return None
    if pkg.get("state") != "active" or _extra(pkg, "scenario_key") != prepared.key:
        return None
    return load_result(cat, pkg)


def _free_name(cat: Catalog, prepared: Prepared) -> str:
    """The first name of the result not held by a deleted dataset."""
    candidates = _names(prepared)
    with cat.read() as session:
        states = dict(session.execute(select(Package.name, Package.state)
                                      .where(Package.name.in_(candidates))).all())
    for name in candidates:
        if states.get(name) != "deleted":
            return name
    raise ValidationError({"name": [f"{candidates[0]} and its {MAX_RENAMES - 1} alternatives "
                                    "are held by deleted datasets"]})


def _extra(pkg: dict[str, Any], key: str) -> Any:
    for item in pkg.get("extras") or []:
        if item.get("key") == key:
            return item.get("value")
    return None


def load_result(cat: Catalog, pkg: dict[str, Any]) -> dict[str, Any] | None:
    """The result JSON stored in a result dataset."""
    res = next((r for r in pkg["resources"] if r.get("name") == RESULT_FILE and r.get("hash")),
               None)
    if res is None:
        return None
    path = cat.uploads.path_for(res["hash"].removeprefix("sha256:"))
    result = json.loads(path.read_text(encoding="utf-8"))
    result["dataset"] = pkg["name"]
    result["resources"] = {r["name"]: {"id": r["id"], "url": r.get("url"),
                                       "format": r.get("format")} for r in pkg["resources"]}
    return result


def unit_table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The result as one flat table: level, code, name, indicator, measure, base,
    scenario, delta (national rows have level ``national``).
    """
    rows: list[dict[str, Any]] = []
    for ind in result["indicators"]:
        for measure, v in ind["national"].items():
            rows.append({"level": "national", "code": "VN", "name": "Việt Nam",
                         "indicator": ind["id"], "measure": measure, **v})
        for level, key in (("province", "provinces"), ("commune", "communes")):
            for unit in ind[key]:
                for measure, v in unit["values"].items():
                    rows.append({"level": level, "code": unit["code"], "name": unit["name"],
                                 "indicator": ind["id"], "measure": measure, **v})
    return rows


@dataclass
class ResultFiles:
    """A result written to files (in the process that computed it), ready to register."""

    folder: Path
    result: dict[str, Any]
    files: list[tuple[Path, str, dict[str, Any]]] = field(default_factory=list)


def write_files(prepared: Prepared, outcome: Outcome, folder: Path) -> ResultFiles:
    """The result's files: the difference layer (GeoParquet), the per-unit table (CSV),
    the spec as written, and the full result (JSON, last: only a complete dataset is
    reused). Pure file work, so it runs in the worker that computed the scenario.
    """
    result = dict(outcome.result)
    diff = difference.write(outcome.cells, folder)
    result["difference"] = {"cells": diff["cells"]}
    files = [(diff["parquet"], "difference.parquet",
              {"format": "GeoParquet", "mimetype": "application/vnd.apache.parquet",
               "scenario_layer": "difference"})]
    path = folder / "units.csv"
    pd.DataFrame(unit_table(result), columns=UNIT_COLUMNS).to_csv(path, index=False)
    files.append((path, "units.csv", {"format": "CSV", "mimetype": "text/csv"}))
    json_spec = prepared.loaded.text.lstrip().startswith("{")
    path = folder / ("spec.json" if json_spec else "spec.yaml")
    path.write_text(prepared.loaded.text, encoding="utf-8")
    files.append((path, path.name, {"format": "JSON" if json_spec else "YAML",
                                    "mimetype": "application/json" if json_spec
                                    else "application/yaml"}))
    path = folder / RESULT_FILE
    path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    files.append((path, RESULT_FILE, {"format": "JSON", "mimetype": "application/json"}))
    return ResultFiles(folder, result, files)


def store_result(cat: Catalog, actor: Actor, org: str, prepared: Prepared,
                 written: ResultFiles) -> dict[str, Any]:
    """Register written result files as a dataset (new, or a new version of the same
    one when computed again); a failure leaves no active half-written dataset.
    """
    spec = prepared.loaded.spec
    result = written.result
    name = _free_name(cat, prepared)
    files = written.files
    stored = [store_file(cat, path, label) for path, label, _ in files]
    meta = {"title": f"Kịch bản: {spec.title}"[:200], "notes": _notes(result, prepared),
            "state": "active", "tags": [{"name": RESULT_TAG}, {"name": "scenario"}],
            "extras": [{"key": "scenario_key", "value": prepared.key},
                       {"key": "scenario_name", "value": spec.name},
                       {"key": "scenario_spec_hash", "value": result["spec_hash"]},
                       {"key": "scenario_twin_version", "value": prepared.twin_version},
                       {"key": "scenario_engine", "value": ENGINE_VERSION},
                       {"key": "scenario_inputs", "value": json.dumps(prepared.inputs)}]}
    existing = _existing(cat, actor, name)
    links: dict[str, Any] = {}
    try:
        if existing is None:
            pkg = packages.create(cat, actor, {"name": name, "owner_org": org, **meta})
            current: dict[str, str] = {}
        else:  # computed again (no reuse): a new version of the same dataset
            pkg = packages.update(cat, actor, {"id": existing["id"], **meta}, patch=True)
            current = {r["name"]: r["id"] for r in existing["resources"]}
        geojson = {"name": DIFFERENCE_GEOJSON, "format": "GeoJSON",
                   "url": f"{cat.site_url}/scenarios/results/{name}/difference.geojson",
                   "mimetype": "application/geo+json", "scenario_layer": "difference",
                   "description": "Lớp chênh lệch (kịch bản − gốc) theo ô, cho bản đồ. "
                                  "Per-cell differences, for the map."}
        if DIFFERENCE_GEOJSON not in current:
            links[DIFFERENCE_GEOJSON] = resources.create(cat, actor, {
                "package_id": pkg["id"], **geojson})
        for upload, (_, label, file_meta) in zip(stored, files, strict=True):
            if label in current:
                links[label] = resources.update(cat, actor, {"id": current[label],
                                                             **file_meta}, upload, patch=True)
            else:
                links[label] = resources.create(cat, actor, {"package_id": pkg["id"],
                                                             "name": label, **file_meta},
                                                upload)
    except BaseException:
        _undo(cat, name)
        for upload in stored:
            discard_unreferenced(cat, upload)
        raise
    out = dict(result)
    out["dataset"] = name
    out["resources"] = {label: {"id": r["id"], "url": r.get("url"), "format": r.get("format")}
                        for label, r in links.items()}
    return out


def _existing(cat: Catalog, actor: Actor, name: str) -> dict[str, Any] | None:
    try:
        pkg = packages.show(cat, actor, name)
    except NotFound:
        return None
    return pkg if pkg.get("state") in ("active", "draft") else None


def _notes(result: dict[str, Any], prepared: Prepared) -> str:
    spec = prepared.loaded.spec
    lines = [spec.description or spec.title, "",
             f"Kết quả kịch bản `{spec.name}` trên bản sao số phiên bản "
             f"`{prepared.twin_version}` (spec sha256 `{result['spec_hash'][:16]}`). "
             f"Scenario result on twin version `{prepared.twin_version}`; the same spec on "
             "the same twin reuses this dataset."]
    for ind in result["indicators"]:
        first = next(iter(ind["national"].items()), None)
        if first:
            measure, v = first
            lines.append(f"- {ind['label']} ({measure}): {_num(v['base'])} → "
                         f"{_num(v['scenario'])}")
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _undo(cat: Catalog, name: str) -> None:
    """Hide a half-written result (state ``draft``): it is never reused, and the next run
    of the same spec completes it (a deleted dataset would keep its name forever).
    """
    with cat.read() as session:
        exists = session.scalars(select(Package.id).where(Package.name == name)).first()
    if exists:
        with contextlib.suppress(VntwinError):
            packages.update(cat, SYSTEM, {"id": name, "state": "draft"}, patch=True)


def list_results(cat: Catalog, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """Stored scenario results the actor may see, newest first (summaries)."""
    from vntwin.catalog.find import package_search
    from vntwin.catalog.search import SearchParams

    found = package_search(cat, actor, SearchParams(
        fq=[f"tags:{RESULT_TAG}"], rows=limit, sort="metadata_modified desc",
        include_private=True))
    return [_summary(p) for p in found["results"]]


def _summary(pkg: dict[str, Any]) -> dict[str, Any]:
    return {"dataset": pkg["name"], "title": pkg["title"],
            "scenario": _extra(pkg, "scenario_name"),
            "twin_version": _extra(pkg, "scenario_twin_version"),
            "spec_hash": _extra(pkg, "scenario_spec_hash"),
            "metadata_modified": pkg.get("metadata_modified")}
