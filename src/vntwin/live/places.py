"""Where a Location is in the twin: its H3 cell and its 2025 commune and province.

A sensor's cell is the twin's cell at the configured resolution; its units are those of
the commune polygon holding the cell's centre (the rule the twin's grid uses), else the
nearest commune (a buoy off the coast, a gauge on a border river). Without the boundary
data (``make install`` not run) the cell is still set and the units are left empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import h3
import shapely

from vntwin.errors import ValidationError
from vntwin.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """A Location's point, cell and units."""

    lat: float
    lon: float
    h3: int
    province_code: str | None
    commune_code: str | None


def point_of(geometry: Any) -> tuple[float, float]:
    """(lat, lon) of a GeoJSON geometry: the point itself, or a representative point.

    Raises ValidationError naming the problem for anything that is not valid GeoJSON in
    longitude/latitude order within range.
    """
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    if not isinstance(geometry, dict) or "type" not in geometry:
        raise ValidationError({"location": ["must be a GeoJSON geometry, e.g. {\"type\": "
                                            "\"Point\", \"coordinates\": [105.85, 21.03]}"]})
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ValidationError({"location": [f"not a valid GeoJSON geometry: {exc}"]}) from None
    if shape.is_empty:
        raise ValidationError({"location": ["the geometry is empty"]})
    point = shape if shape.geom_type == "Point" else shape.representative_point()
    lon, lat = float(point.x), float(point.y)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"location": ["coordinates are [longitude, latitude] in "
                                            "degrees (WGS 84); these are out of range"]})
    return lat, lon


def locate(settings: Settings, geometry: Any) -> Place:
    """The Place of a GeoJSON geometry at the twin's resolution."""
    lat, lon = point_of(geometry)
    cell = h3.latlng_to_cell(lat, lon, settings.h3_resolution)
    province, commune = _units(settings, *h3.cell_to_latlng(cell))
    return Place(lat, lon, h3.str_to_int(cell), province, commune)


def _units(settings: Settings, lat: float, lon: float) -> tuple[str | None, str | None]:
    from vntwin.errors import VntwinError
    from vntwin.twin.admin import AdminUnits

    try:
        units = AdminUnits.load(settings.admin_dir)
    except (VntwinError, OSError) as exc:
        log.warning("sensor locations get no administrative units: %s", exc)
        return None, None
    communes = units.communes
    point = shapely.Point(lon, lat)
    hits = communes.sindex.query(point, predicate="intersects")
    if len(hits) == 0:
        nearest = communes.sindex.nearest(point, return_all=False)
        hits = nearest[1] if nearest.ndim == 2 else nearest
        # a point far out at sea belongs to no commune (more than ~0.5° from any)
        if len(hits) == 0 or communes.geometry.iloc[int(hits[0])].distance(point) > 0.5:
            return None, None
    row = communes.iloc[int(hits[0])]
    return str(row["province_code"]), str(row["code"])
