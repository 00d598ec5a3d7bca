"""Comparing scenarios: one table of every indicator's national values across results,
and per-unit tables of one measure's change, scenario by scenario.

Results are the dicts the runner returns (or ``catalogue.load_result`` reads back), so
a comparison can mix fresh and stored results.
"""

from __future__ import annotations

from typing import Any, Literal

Level = Literal["province", "commune"]


def national_table(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows (indicator, measure) × one column per scenario with base, scenario, delta."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for result in results:
        for ind in result.get("indicators", []):
            labels = {m["name"]: m for m in ind["measures"]}
            for measure, values in ind["national"].items():
                row = rows.setdefault((ind["id"], measure), {
                    "indicator": ind["id"], "indicator_label": ind["label"],
                    "measure": measure, "label": labels.get(measure, {}).get("label", measure),
                    "unit": labels.get(measure, {}).get("unit", ""), "scenarios": {}})
                row["scenarios"][result["name"]] = values
    return list(rows.values())


def unit_table(results: list[dict[str, Any]], indicator: str, measure: str,
               level: Level = "province") -> list[dict[str, Any]]:
    """Per unit: base and each scenario's value and change of one measure."""
    key = "provinces" if level == "province" else "communes"
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        ind = next((i for i in result.get("indicators", []) if i["id"] == indicator), None)
        if ind is None:
            continue
        for unit in ind[key]:
            values = unit["values"].get(measure)
            if values is None:
                continue
            row = rows.setdefault(unit["code"], {"code": unit["code"], "name": unit["name"],
                                                 "scenarios": {}})
            row["scenarios"][result["name"]] = values
    return sorted(rows.values(), key=lambda r: r["code"])


def comparison(results: list[dict[str, Any]], level: Level = "province") -> dict[str, Any]:
    """Everything a comparison page or report shows: the scenarios, the national table,
    and per indicator the per-unit table of its first measure.
    """
    ok = [r for r in results if "error" not in r]
    units = {}
    for row in national_table(ok):
        if row["indicator"] not in units:
            units[row["indicator"]] = {"measure": row["measure"],
                                       "rows": unit_table(ok, row["indicator"], row["measure"],
                                                          level)}
    return {"scenarios": [{"name": r["name"], "title": r.get("title"),
                           "dataset": r.get("dataset"), "reused": r.get("reused"),
                           "twin_version": r.get("twin_version"), "error": r.get("error")}
                          for r in results],
            "national": national_table(ok), "level": level, "units": units}
