"""The territory a dataset declares, as one prepared polygon to test points against.

The territory is Vietnam (the union of the 34 provinces), or the province the dataset
names in ``spatial_label`` (or its extra ``territory``: a code or a name), cut to the
dataset's ``spatial`` polygon when it declares one. It is widened by the rules'
``tolerance_km``, because Natural Earth's coastline is coarser than official centroids.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vntwin.twin.admin import AdminUnits

log = logging.getLogger(__name__)
KM_PER_DEGREE = 111.32
_CACHE: dict[tuple[int, str, str, float], tuple[BaseGeometry, str]] = {}



def declared_province(pkg: dict[str, Any], admin: AdminUnits) -> str | None:
    """The 2025 code of the province the dataset says it is about, if it names one."""
    extras = {e["key"]: e["value"] for e in pkg.get("extras") or [] if isinstance(e, dict)}
    for value in (extras.get("territory"), pkg.get("spatial_label")):
        if isinstance(value, str) and value.strip():
            code = admin.match([value], "province")[0]
            if code:
                return code
    return None


def _spatial_polygon(pkg: dict[str, Any]) -> BaseGeometry | None:
    raw = pkg.get("spatial")
    if not raw:
        return None
    try:
        geom = shapely.from_geojson(raw if isinstance(raw, str) else json.dumps(raw))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    return shapely.make_valid(geom)


def _archipelagos(admin: AdminUnits, provinces: set[str], radius_km: float,
                  named: dict[str, float]) -> list[BaseGeometry]:
    zones = admin.communes[(admin.communes["type"] == "Đặc khu")
                           & admin.communes["province_code"].isin(provinces)]
    return [shapely.Point(lon, lat).buffer(named.get(name, radius_km) / KM_PER_DEGREE)
            for name, lat, lon in zip(zones["name"], zones["lat"], zones["lon"], strict=True)]


def territory_of(pkg: dict[str, Any], admin: AdminUnits, tolerance_km: float,
                 special_zone_km: float = 0.0,
                 archipelagos: dict[str, float] | None = None) -> tuple[BaseGeometry, str]:
    """(prepared polygon, label) of the dataset's declared territory."""
    province = declared_province(pkg, admin)
    spatial = _spatial_polygon(pkg)
    key = (id(admin), province or "", spatial.wkb_hex if spatial is not None else "",
           tolerance_km + 1e-6 * special_zone_km + 1e-9 * sum((archipelagos or {}).values()))
    if key in _CACHE:
        return _CACHE[key]
    buffer = tolerance_km / KM_PER_DEGREE
    if province:
        frame = admin.provinces[admin.provinces["code"] == province]
        label = f"{admin.name(province)} ({province})"
    else:
        frame = admin.provinces
        label = "Việt Nam"
    discs = _archipelagos(admin, set(frame["code"]), special_zone_km, archipelagos or {}) \
        if special_zone_km > 0 else []
    area = shapely.union_all([*frame.geometry.values, *discs]).buffer(buffer)
    if spatial is not None:
        area = area.intersection(spatial.buffer(buffer))
        label += " ∩ spatial"
    shapely.prepare(area)
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = (area, label)
    return area, label


def outside(area: BaseGeometry, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Mask of the points (vectors of degrees) outside ``area``; NaN counts as outside."""
    inside = shapely.contains_xy(area, lon, lat)
    return ~np.asarray(inside, dtype=bool)
