"""Deciding how each column of a layer is fused and how each fused variable aggregates.

The user's declaration wins (dataset extras ``twin_extensive``, ``twin_intensive``,
``twin_categorical``: comma-separated column names; confirmed vocabulary mappings in
``twin_mapping``, see :mod:`vntwin.twin.mappings`); otherwise the canonical vocabulary's
kind for the column's matched variable; otherwise a safe default (numbers are averaged,
short text columns are categories).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from vntwin.text import fold
from vntwin.twin.layer import Layer
from vntwin.twin.store import VariableInfo

MAX_CATEGORIES = 30
COORDINATE_NAMES = {"lat", "latitude", "lon", "lng", "long", "longitude", "x", "y",
                    "vi do", "kinh do"}


def fold_name(name: str) -> str:
    """A column name folded for comparison: "Vĩ độ" -> "vi do"."""
    return " ".join(fold(name).replace("_", " ").split())


@dataclass
class ColumnPlan:
    """Which columns of a layer are extensive, intensive or categorical."""

    extensive: list[str] = field(default_factory=list)
    intensive: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    canonical: dict[str, str] = field(default_factory=dict)  # column -> vocabulary id
    units: dict[str, str] = field(default_factory=dict)


def _declared(extras: dict[str, Any], key: str) -> list[str]:
    raw = extras.get(key) or ""
    return [c.strip() for c in str(raw).split(",") if c.strip()]


def plan_columns(layer: Layer, extras: dict[str, Any]) -> ColumnPlan:
    """The fusion plan for a vector or table layer's attribute columns."""
    frame = layer.frame
    plan = ColumnPlan()
    if frame is None:
        return plan
    skip = {"geometry", layer.place_column}
    columns = [c for c in frame.columns if c not in skip]
    declared = {kind: _declared(extras, f"twin_{kind}")
                for kind in ("extensive", "intensive", "categorical")}
    matched, structural = _match(frame, columns, extras, layer.name)
    for column in columns:
        if column in structural and not any(column in cols for cols in declared.values()):
            continue  # codes, ids, coordinates, dates, notes: not quantities to fuse
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        variable = matched.get(column)
        if variable is not None:
            plan.canonical[column] = variable[0]
            if variable[2]:
                plan.units[column] = variable[2]
        if column in declared["extensive"] and numeric:
            plan.extensive.append(column)
        elif column in declared["intensive"] and numeric:
            plan.intensive.append(column)
        elif column in declared["categorical"]:
            plan.categorical.append(column)
        elif variable is not None and variable[1] == "categorical":
            plan.categorical.append(column)  # land-use or road classes, however many
        elif numeric and variable is not None and variable[1] == "extensive":
            plan.extensive.append(column)
        elif numeric:
            plan.intensive.append(column)
        elif _is_text(series) and 1 < series.nunique(dropna=True) <= MAX_CATEGORIES \
                and len(series) > MAX_CATEGORIES:
            plan.categorical.append(column)
    return plan


OTHER_CATEGORY = "khác"  # "other": the classes past the MAX_CATEGORIES - 1 most common


def keep_top_categories(layer: Layer, plan: ColumnPlan) -> Layer:
    """The layer with each categorical column's rarer classes merged into
    ``OTHER_CATEGORY``, so a column has at most ``MAX_CATEGORIES`` shares.

    A land-use map may use 47 national codes; 47 shares per cell would bury the map's
    legend and multiply the store, while the most common classes carry nearly all the
    area. Classes are ranked by how many features have them (ties by name), and shares
    still add up to one per cell.
    """
    frame = layer.frame
    if frame is None:
        return layer
    changed = {}
    for column in plan.categorical:
        counts = frame[column].value_counts(dropna=True)
        if len(counts) <= MAX_CATEGORIES:
            continue
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        keep = {value for value, _ in ranked[:MAX_CATEGORIES - 1]}
        values = frame[column]
        changed[column] = values.where(values.isna() | values.isin(keep), OTHER_CATEGORY)
    if not changed:
        return layer
    return replace(layer, frame=frame.assign(**changed))


def _is_text(series: pd.Series) -> bool:
    """Text in either representation: pandas 3 reads text columns (GeoJSON, Parquet) as
    its ``str`` dtype, not ``object``; testing ``object`` alone missed every category.
    """
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _match(frame: pd.DataFrame, columns: list[str], extras: dict[str, Any], layer: str
           ) -> tuple[dict[str, tuple[str, str, str | None]], set[str]]:
    """(column -> (vocabulary id, kind, unit) for confident or confirmed matches to the
    vocabulary, structural columns: identifiers, places, coordinates, times, notes).
    """
    from vntwin.twin.mappings import SAMPLE_ROWS, propose
    from vntwin.twin.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()
    samples = {c: frame[c].dropna().head(SAMPLE_ROWS).tolist() for c in columns}
    out: dict[str, tuple[str, str, str | None]] = {}
    structural: set[str] = set()
    for mapping in propose(columns, samples, extras, layer):
        if mapping.role not in ("variable", "unknown"):
            structural.add(mapping.column)
        elif mapping.variable_id and not mapping.needs_review:
            entry = vocabulary.get(mapping.variable_id)
            if entry is not None:
                out[mapping.column] = (entry.id, entry.kind, entry.unit)
    structural |= {c for c in columns if _looks_like_identifier(c)}
    return out, structural


def _looks_like_identifier(column: str) -> bool:
    """Coordinates and ids the vocabulary does not name (``geonameid``, ``osm_id``)."""
    name = fold_name(column)
    return name in COORDINATE_NAMES or name.endswith("id") or name in ("stt", "fid", "objectid")


def variable_kinds(layer: Layer, plan: ColumnPlan, variables: list[str]) -> dict[str, VariableInfo]:
    """How each fused variable (named by the kernels) aggregates over an area."""
    out: dict[str, VariableInfo] = {}
    for name in variables:
        base = name.split("=", 1)[0]
        canonical = plan.canonical.get(base)
        unit = plan.units.get(base)
        if layer.kind == "point":
            if name == "count":
                info = VariableInfo("count", "1")
            elif "=" in name:  # a category's share of the cell's points
                info = VariableInfo("share", "1", canonical, weight="count")
            elif name.endswith("_sum"):
                col = name.removesuffix("_sum")
                info = VariableInfo("extensive", plan.units.get(col), plan.canonical.get(col))
            else:
                col = name.removesuffix("_mean")
                info = VariableInfo("intensive", plan.units.get(col), plan.canonical.get(col),
                                    weight="count")
        elif layer.kind == "line":
            if "=" in name:  # a category's share of the cell's line length (fuse_lines)
                info = VariableInfo("share", "1", canonical, weight="length_m")
            else:
                info = VariableInfo("extensive", "m")
        elif layer.kind == "raster":
            stat = name.rsplit("_", 1)[-1]
            kind = {"sum": "extensive", "min": "min", "max": "max"}.get(stat, "intensive")
            info = VariableInfo(kind)
        elif name == "coverage":
            info = VariableInfo("fraction", "1")
        elif "=" in name and layer.kind == "polygon":  # share of the cell's covered area
            info = VariableInfo("share", "1", canonical, weight="coverage")
        elif "=" in name:
            info = VariableInfo("intensive", "1", canonical, weight="coverage")
        elif base in plan.extensive:
            info = VariableInfo("extensive", unit, canonical)
        elif layer.kind == "polygon":
            info = VariableInfo("intensive", unit, canonical, weight="coverage")
        else:
            info = VariableInfo("intensive", unit, canonical)
        out[name] = info
    return out
