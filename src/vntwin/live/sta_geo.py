"""The spatial functions of SensorThings ``$filter``: ``geo.intersects``, ``geo.distance``,
``geo.length`` and ``st_equals``, ``st_disjoint``, ``st_touches``, ``st_within``,
``st_overlaps``, ``st_crosses``, ``st_intersects``, ``st_contains``, ``st_relate``, on a
Location's ``location`` (directly, or through a path: ``Thing/Locations/location``) and a
WKT literal, ``geography'POLYGON((105.8 21.0, ...))'`` (lon lat, EPSG:4326; an
``SRID=4326;`` prefix is accepted).

The database holds Locations as GeoJSON (SQLite and PostgreSQL alike, no PostGIS), and a
twin has thousands of stations, not millions: the geometries are read once per request
and tested with Shapely, and the filter becomes ``Location.id IN (the ones that match)``,
so paging, ``$count`` and navigation paths work as for any other condition.
``geo.distance`` and ``geo.length`` are in metres on the WGS84 sphere (great-circle),
as the literal is a geography.

>>> read_literal("geography'SRID=4326;POINT(105.85 21.03)'").x
105.85
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from sqlalchemy import select
from sqlalchemy.orm import Session

from vntwin.live.models import StaLocation
from vntwin.live.sta_expr import Deferred, error, is_sql
from vntwin.live.sta_functions import register

EARTH_RADIUS_M = 6_371_008.8
_LITERAL = re.compile(r"(?:geography|geometry)'(?:SRID=(\d+);)?(.*)'", re.S | re.I)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge,
    "lt": operator.lt, "le": operator.le}
PREDICATES: dict[str, Callable[[BaseGeometry, BaseGeometry], bool]] = {
    "geo.intersects": shapely.intersects, "st_intersects": shapely.intersects,
    "st_equals": shapely.equals, "st_disjoint": shapely.disjoint,
    "st_touches": shapely.touches, "st_within": shapely.within,
    "st_overlaps": shapely.overlaps, "st_crosses": shapely.crosses,
    "st_contains": shapely.contains}


def read_literal(text: str) -> BaseGeometry:
    """The geometry of ``geography'WKT'``; a 400 for anything else."""
    m = _LITERAL.fullmatch(text.strip())
    if m is None:
        raise error(f"cannot read the geography literal {text[:60]!r}")
    if m.group(1) not in (None, "4326"):
        raise error(f"only SRID 4326 (longitude latitude) is supported, not {m.group(1)}")
    try:
        geom = shapely.from_wkt(m.group(2))
    except shapely.errors.GEOSException as exc:
        raise error(f"the geography literal is not valid WKT: {exc}") from None
    if geom is None or geom.is_empty:
        raise error("the geography literal is empty")
    return geom  # type: ignore[no-any-return]


class LocationGeometry(Deferred):
    """A Location's ``location``: usable only in the spatial functions."""

    def __init__(self, session: Session | None) -> None:
        self.session = session

    def typed(self, other: Any) -> Any:
        """A geometry is not compared or computed with directly."""
        raise error("location can only be used in the spatial functions (geo.intersects, "
                    "geo.distance, st_within, ...)")

    def geometries(self) -> dict[int, BaseGeometry]:
        """Every Location's geometry, read once per request (kept in the session)."""
        if self.session is None:
            raise error("spatial functions are not available here")
        cached = self.session.info.get("sta_geometries")
        if cached is None:
            cached = {}
            for ident, location in self.session.execute(
                    select(StaLocation.id, StaLocation.location)):
                try:
                    cached[ident] = shape(location)
                except (ValueError, TypeError, AttributeError, KeyError):
                    continue  # not GeoJSON: matches no spatial condition
            self.session.info["sta_geometries"] = cached
        return cached  # type: ignore[no-any-return]

    def where(self, test: Callable[[BaseGeometry], bool]) -> Any:
        """The condition: this Location is one whose geometry passes ``test``."""
        ids = sorted(i for i, geom in self.geometries().items() if test(geom))
        return StaLocation.id.in_(ids)


class GeoMeasure(Deferred):
    """``geo.distance(location, g)`` or ``geo.length(location)``, compared with a number."""

    def __init__(self, location: LocationGeometry, measure: Callable[[BaseGeometry], float],
                 name: str) -> None:
        self.location, self.measure, self.name = location, measure, name

    def typed(self, other: Any) -> Any:
        """Only a comparison with a number is supported."""
        raise error(f"{self.name} can only be compared with a number (of metres)")

    def compare(self, op: str, other: Any) -> Any:
        """The Locations whose measure ``op other`` holds."""
        if isinstance(other, bool) or not isinstance(other, int | float):
            raise error(f"{self.name} can only be compared with a number (of metres)")
        test = _COMPARE[op]
        return self.location.where(lambda geom: test(self.measure(geom), other))


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """Great-circle metres between the nearest points of two geometries (0 if they meet)."""
    if a.intersects(b):
        return 0.0
    pa, pb = nearest_points(a, b)
    return _haversine((pa.x, pa.y), (pb.x, pb.y))


def length_m(geom: BaseGeometry) -> float:
    """Great-circle metres along a line (0 for a point; the rings of a polygon)."""
    parts = getattr(geom, "geoms", [geom])
    total = 0.0
    for part in parts:
        rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
        for ring in rings:
            coords = list(ring.coords)
            total += sum(_haversine(coords[i][:2], coords[i + 1][:2])
                         for i in range(len(coords) - 1))
    return total


def _operands(name: str, a: Any, b: Any) -> tuple[LocationGeometry, BaseGeometry, bool]:
    """(the location, the literal, whether the literal came first)."""
    if isinstance(a, LocationGeometry) and isinstance(b, BaseGeometry):
        return a, b, False
    if isinstance(b, LocationGeometry) and isinstance(a, BaseGeometry):
        return b, a, True
    if is_sql(a) and is_sql(b):
        raise error(f"{name} compares a Location's location with a geography literal, "
                    "not two properties")
    raise error(f"{name} needs a Location's location (location, Thing/Locations/location) "
                "and a geography'...' literal")


def _predicate(name: str) -> Callable[[Any, Any], Any]:
    test = PREDICATES[name]

    def apply(a: Any, b: Any) -> Any:
        location, literal, swapped = _operands(name, a, b)
        if swapped:
            return location.where(lambda geom: test(literal, geom))
        return location.where(lambda geom: test(geom, literal))
    return apply


for _name in PREDICATES:
    register(_name, 2)(_predicate(_name))


@register("st_relate", 3)
def _relate(a: Any, b: Any, pattern: Any) -> Any:
    if not isinstance(pattern, str) or not re.fullmatch(r"[TF*012]{9}", pattern):
        raise error("st_relate needs a DE-9IM pattern of 9 characters (T F * 0 1 2)")
    location, literal, swapped = _operands("st_relate", a, b)
    if swapped:
        return location.where(lambda geom: literal.relate_pattern(geom, pattern))
    return location.where(lambda geom: geom.relate_pattern(literal, pattern))


@register("geo.distance", 2)
def _distance(a: Any, b: Any) -> GeoMeasure:
    location, literal, _ = _operands("geo.distance", a, b)
    return GeoMeasure(location, lambda geom: distance_m(geom, literal), "geo.distance")


@register("geo.length", 1)
def _length(a: Any) -> GeoMeasure:
    if not isinstance(a, LocationGeometry):
        raise error("geo.length needs a Location's location")
    return GeoMeasure(a, length_m, "geo.length")


__all__ = ["GeoMeasure", "LocationGeometry", "distance_m", "length_m", "read_literal"]
