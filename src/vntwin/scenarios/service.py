"""Ready-made calls for the API, the CLI and the portal's pages.

Thin functions over the runner, the catalogue and the report: load specs given as
text or objects, list the example specs, list and read stored results, trim a result to
the level of detail a page needs, compare and report stored results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from vntwin.catalog import packages
from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.scenarios.catalogue import RESULT_TAG, list_results, load_result
from vntwin.scenarios.loader import (
    Issue,
    LoadedSpec,
    SpecError,
    check_batch_names,
    load_path,
    load_text,
    spec_files,
)
from vntwin.scenarios.loader import validate_data as validate_object

Detail = Literal["national", "province", "commune"]
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "scenarios"


def load_items(items: Sequence[str | dict[str, Any]], label: str = "specs") -> list[LoadedSpec]:
    """Specs given as YAML/JSON text or as objects (an API body); all issues at once."""
    loaded: list[LoadedSpec] = []
    issues: list[Issue] = []
    for i, item in enumerate(items):
        source = f"{label}[{i}]"
        try:
            if isinstance(item, str):
                loaded.append(load_text(item, source))
            else:
                spec = validate_object(item, source)
                loaded.append(LoadedSpec(spec, source, json.dumps(item, ensure_ascii=False,
                                                                  indent=1)))
        except SpecError as exc:
            issues.extend(exc.issues)
    return check_batch_names(loaded, issues)


def examples(folder: Path | None = None) -> list[dict[str, Any]]:
    """The example specs shipped in ``examples/scenarios`` (name, title, file, text)."""
    folder = folder or EXAMPLES_DIR
    out = []
    for path in spec_files(folder):
        try:
            loaded = load_path(path)
        except SpecError as exc:
            out.append({"file": path.name, "error": exc.message})
            continue
        out.append({"file": path.name, "name": loaded.spec.name, "title": loaded.spec.title,
                    "description": loaded.spec.description, "text": loaded.text})
    return out


def trim(result: dict[str, Any], detail: Detail) -> dict[str, Any]:
    """A result without the per-commune (or any per-unit) rows, for light answers."""
    if detail == "commune" or "indicators" not in result:
        return result
    out = dict(result)
    out["indicators"] = [{k: v for k, v in ind.items()
                          if k != "communes" and (detail == "province" or k != "provinces")}
                         for ind in result["indicators"]]
    return out


def get_result(cat: Catalog, actor: Actor, dataset: str) -> dict[str, Any]:
    """A stored result by its dataset name or id."""
    pkg = packages.show(cat, actor, dataset)
    if not any(t.get("name") == RESULT_TAG for t in pkg.get("tags", [])):
        raise NotFound(f"dataset {dataset!r} is not a scenario result")
    result = load_result(cat, pkg)
    if result is None:
        raise NotFound(f"dataset {dataset!r} has no result file")
    return result


def get_results(cat: Catalog, actor: Actor, datasets: Sequence[str]) -> list[dict[str, Any]]:
    """Several stored results, in the order given."""
    if not datasets:
        raise ValidationError({"datasets": ["name at least one result dataset"]})
    return [get_result(cat, actor, name) for name in datasets]


def difference_path(cat: Catalog, actor: Actor, dataset: str) -> Path:
    """The GeoParquet file of a result's difference layer."""
    pkg = packages.show(cat, actor, dataset)
    res = next((r for r in pkg["resources"] if r.get("name") == "difference.parquet"), None)
    if res is None or not res.get("hash"):
        raise NotFound(f"dataset {dataset!r} has no difference layer")
    return cat.uploads.path_for(res["hash"].removeprefix("sha256:"))


__all__ = ["difference_path", "examples", "get_result", "get_results", "list_results",
           "load_items", "trim"]
