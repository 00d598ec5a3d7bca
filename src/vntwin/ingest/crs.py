"""Coordinate reference systems: which one a layer is in, and getting it to EPSG:4326.

Vietnamese data is often in VN-2000, either UTM (EPSG:3405 zone 48N, EPSG:3406 zone 49N)
or a provincial TM-3 zone, whose .prj files rarely carry an EPSG code. PROJ applies the
official VN-2000 -> WGS 84 Helmert shift when it recognises the datum (ESRI's
``D_Vietnam_2000`` included); when it cannot, it falls back to a "ballpark" transformation
that ignores the datum and lands about 200 m off in Hà Nội, so that case is reported.
"""

from __future__ import annotations

import math

from pyproj import CRS
from pyproj.exceptions import CRSError
from pyproj.transformer import TransformerGroup

from vntwin.errors import ValidationError
from vntwin.ingest.problems import Where, invalid

WGS84 = CRS.from_epsg(4326)

NO_CRS_HINT = ("no CRS and coordinates are not longitude/latitude; pass --crs, "
               "e.g. EPSG:3405 for VN-2000 / UTM 48N")


def parse_crs(text: str, field: str = "crs") -> CRS:
    """A CRS from user input ("EPSG:3405", WKT, PROJ string); ValidationError if unknown."""
    try:
        return CRS.from_user_input(text.strip())
    except (CRSError, TypeError, ValueError):
        raise ValidationError(
            {field: [f"{text!r} is not a coordinate reference system PROJ knows"]}
        ) from None


def parse_prj(text: str, where: Where) -> CRS:
    """The CRS of a Shapefile's .prj (ESRI or OGC WKT); ValidationError if unreadable."""
    try:
        return CRS.from_wkt(text.strip())
    except (CRSError, TypeError, ValueError):
        raise invalid(where, "the .prj file is not a coordinate reference system PROJ "
                             "understands; pass --crs") from None


def label(crs: CRS) -> str:
    """A short name for reports: "EPSG:3405" when PROJ can identify it, else its name."""
    authority = crs.to_authority(min_confidence=90)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def is_wgs84(crs: CRS) -> bool:
    """Whether ``crs`` is WGS 84 longitude/latitude (EPSG:4326 or OGC:CRS84)."""
    return crs.is_geographic and crs.equals(WGS84, ignore_axis_order=True)


def lonlat_bounds(bounds: tuple[float, float, float, float]) -> bool:
    """Whether finite ``(minx, miny, maxx, maxy)`` fit longitude and latitude ranges."""
    minx, miny, maxx, maxy = bounds
    if not all(math.isfinite(v) for v in bounds):
        return False
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def choose(file_crs: CRS | None, override: CRS | None, bounds: tuple[float, float, float,
           float], where: Where, report: list[str]) -> CRS:
    """The CRS a layer's coordinates are in: the caller's, else the file's, else
    longitude/latitude when the coordinates fit, else a ValidationError asking for --crs.
    """
    if override is not None:
        if file_crs is not None and not file_crs.equals(override):
            report.append(f"CRS {label(override)} given by the caller used instead of the "
                          f"file's {label(file_crs)}")
        return override
    if file_crs is not None:
        return file_crs
    if lonlat_bounds(bounds):
        report.append("the file has no CRS; its coordinates are longitude/latitude, so "
                      "EPSG:4326 was assumed")
        return WGS84
    raise invalid(where, NO_CRS_HINT)


def transformation_note(crs: CRS) -> str:
    """A report line saying how coordinates reached EPSG:4326, warning when inexact."""
    group = TransformerGroup(crs, WGS84, always_xy=True)
    description = group.transformers[0].description if group.transformers else ""
    note = f"reprojected from {label(crs)} to EPSG:4326"
    if "ballpark" in description.lower():
        note += (" WITHOUT a datum shift (PROJ knows none for this CRS's datum): positions "
                 "may be off by up to a few hundred metres; if the data is VN-2000, pass "
                 "--crs with the VN-2000 CRS (e.g. EPSG:3405, or EPSG:5897 for TM-3 105°)")
    return note
