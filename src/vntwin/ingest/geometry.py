"""Geometry checks per row: repair what ``make_valid`` can, reject what it cannot.

Fusion needs each layer to be one kind (points, lines or polygons) of valid geometries
in longitude/latitude. Here, every row is either kept (possibly repaired, which is
reported with its row number) or rejected with its row number and reason:

- missing, empty, non-finite or out-of-range geometries are rejected;
- invalid ones (a self-intersecting "bowtie", a ring that crosses itself) are repaired
  with ``shapely.make_valid``, keeping only the parts of the original dimension; when
  nothing of that dimension is left (a polygon with no area, a line of one point) the
  row is rejected;
- geometry collections of one dimension become Multi* geometries; mixed ones are rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

KINDS = {0: "point", 1: "line", 2: "polygon"}
_COLLECTION = 7
_LINEARRING = 2
_MULTI_OR_COLLECTION = frozenset({4, 5, 6, 7})
_MULTI = {0: shapely.multipoints, 1: shapely.multilinestrings}


@dataclass
class Checked:
    """Result of ``check``: kept geometries (None where rejected), their kinds ("" where
    rejected), and report lines for repaired and for rejected rows.
    """

    geometry: np.ndarray
    kinds: np.ndarray
    repaired: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def check(values: Any, reasons: Mapping[int, str] | None = None) -> Checked:
    """Check and repair an array of shapely geometries already in EPSG:4326.

    ``reasons`` says why some rows (0-based) have no geometry, when the reader knows
    better than "missing" (a CSV row whose latitude is not a number).
    """
    geoms = np.array(values, dtype=object)
    result = Checked(geoms.copy(), np.full(len(geoms), "", dtype=object))
    bad = np.zeros(len(geoms), dtype=bool)
    missing = shapely.is_missing(geoms)
    for index in np.flatnonzero(missing):
        reason = (reasons or {}).get(int(index), "no geometry (missing or unreadable)")
        result.rejected.append(f"row {index + 1}: {reason}")
    bad |= missing
    _reject(result, bad, shapely.is_empty(geoms) & ~bad, "empty geometry")
    masked = geoms.copy()
    masked[bad] = None
    bounds = shapely.bounds(masked)
    finite = np.isfinite(bounds).all(axis=1)
    _reject(result, bad, ~finite & ~bad, "coordinates are not finite numbers")
    with np.errstate(invalid="ignore"):
        inside = ((bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
                  & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90))
    _reject(result, bad, ~inside & ~bad,
            "coordinates outside longitude/latitude ranges after reprojection (wrong CRS?)")
    for index in np.flatnonzero(~bad):
        _check_row(result, int(index))
    return result


def _reject(result: Checked, bad: np.ndarray, mask: np.ndarray, reason: str) -> None:
    for index in np.flatnonzero(mask):
        result.rejected.append(f"row {index + 1}: {reason}")
    bad |= mask
    result.geometry[mask] = None


def _check_row(result: Checked, index: int) -> None:
    geom: BaseGeometry = result.geometry[index]
    row = f"row {index + 1}"
    type_id = int(shapely.get_type_id(geom))
    if type_id == _LINEARRING:
        geom = shapely.linestrings(shapely.get_coordinates(geom))
    if type_id == _COLLECTION:
        dims = {int(shapely.get_dimensions(p)) for p in _flatten(geom) if not p.is_empty}
        if len(dims) != 1:
            names = " and ".join(sorted(KINDS[d] + "s" for d in dims))
            result.rejected.append(f"{row}: a geometry collection mixing {names}")
            result.geometry[index] = None
            return
        geom = _of_dimension(geom, dims.pop())
    dim = int(shapely.get_dimensions(geom))
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        fixed = _of_dimension(shapely.make_valid(geom), dim)
        if fixed is None:
            result.rejected.append(f"{row}: invalid geometry that could not be repaired "
                                   f"({reason})")
            result.geometry[index] = None
            return
        result.repaired.append(f"{row}: invalid geometry repaired with make_valid ({reason})")
        geom = fixed
    result.geometry[index] = geom
    result.kinds[index] = KINDS[dim]


def _flatten(geom: BaseGeometry) -> list[BaseGeometry]:
    """The single (non-Multi, non-collection) parts of ``geom``, recursively."""
    if int(shapely.get_type_id(geom)) not in _MULTI_OR_COLLECTION:
        return [geom]
    return [leaf for part in shapely.get_parts(geom) for leaf in _flatten(part)]


def _of_dimension(geom: BaseGeometry, dim: int) -> BaseGeometry | None:
    """The parts of ``geom`` of dimension ``dim`` as one geometry, or None if none."""
    parts = [p for p in _flatten(geom)
             if not p.is_empty and int(shapely.get_dimensions(p)) == dim]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    if dim == 2:
        return shapely.union_all(parts)
    return _MULTI[dim](parts)
