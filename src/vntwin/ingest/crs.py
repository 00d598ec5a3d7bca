"""Coordinate reference systems: which one a layer is in, and getting it to EPSG:4326.

Vietnamese data is often in VN-2000, either UTM (EPSG:3405 zone 48N, EPSG:3406 zone 49N)
or a provincial TM-3 zone, whose .prj files rarely carry an EPSG code. PROJ applies the
official VN-2000 -> WGS 84 Helmert shift when it recognises the datum (ESRI's
``D_Vietnam_2000`` included); when it cannot, it falls back to a "ballpark" transformation
that ignores the datum and lands about 200 m off in Hà Nội, so that case is reported.

A CRS can also name files: a grid (``+nadgrids=``, WKT 2's ``PARAMETERFILE``, GDAL's
``EXTENSION["PROJ4_GRIDS", ...]``), an init file (``+init=``), a tinshift file. PROJ opens
them, anywhere on the server, when the CRS is parsed (init files) or a transformation is
built (grids). A CRS from an upload or from the uploader is therefore refused when it
names any file (``refuse_files``); VN-2000's seven-parameter shift (``TOWGS84``) names
none and is kept. The one exception is ``@null``, PROJ's built-in empty grid, which GDAL
writes into Web Mercator's WKT 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from pyproj import CRS
from pyproj.exceptions import CRSError
from pyproj.transformer import TransformerGroup

from vntwin.errors import ValidationError
from vntwin.ingest.problems import Where, invalid

WGS84 = CRS.from_epsg(4326)

NO_CRS_HINT = ("no CRS and coordinates are not longitude/latitude; pass --crs, "
               "e.g. EPSG:3405 for VN-2000 / UTM 48N")


_FILE_MARKERS = re.compile(r"PARAMETERFILE|PROJ4_GRIDS|gridshift|tinshift", re.I)
_FILE_KEYS = re.compile(
    r"(?<![\w])(nadgrids|geoidgrids|grids|xy_grids|z_grids|t_grids|init|file)\s*=\s*"
    r"([^\s+\"'\]]*)", re.I)
_NO_FILE = frozenset({"null", "@null"})
_REFUSED = ("CRSs that name grid, init or other files are not accepted (PROJ would open "
            "them on the server)")


def named_file(text: str) -> str | None:
    """What in a CRS's text (WKT, PROJ string, PROJJSON) names a file for PROJ to open, or
    None. Looks at the text only, so it is safe to call before PROJ parses anything.
    """
    if marker := _FILE_MARKERS.search(text):
        return marker.group(0)
    for match in _FILE_KEYS.finditer(text):
        values = [v.strip() for v in match.group(2).split(",")]
        if match.group(1).lower() == "nadgrids" and all(v.lower() in _NO_FILE for v in values):
            continue
        return match.group(0)
    return None


def crs_files(crs: CRS) -> list[str]:
    """The files a parsed CRS names: parameter files (the only parameters whose value is
    text), and anything ``named_file`` finds in its PROJJSON (a method or datum name
    carrying a PROJ string).
    """
    definition = crs.to_json_dict()
    files = [f for f in _text_parameters(definition) if f.strip().lower() not in _NO_FILE]
    if not files and (found := named_file(crs.to_json())):
        files.append(found)
    return files


def definition_names_file(text: str) -> str | None:
    """The file a CRS definition names (``named_file``, then, if PROJ can parse the text,
    ``crs_files``), or None: for CRS text GDAL would hand to PROJ, checked beforehand.
    """
    found = named_file(text)
    if found is not None:
        return found
    try:
        crs = CRS.from_user_input(text.strip())
    except (CRSError, TypeError, ValueError):
        return None
    files = crs_files(crs)
    return files[0] if files else None


def _text_parameters(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        value = node.get("value")
        if isinstance(value, str) and "name" in node:
            yield value
        for child in node.values():
            yield from _text_parameters(child)
    elif isinstance(node, list):
        for child in node:
            yield from _text_parameters(child)


def refuse_files(crs: CRS, where: Where, what: str = "the file's CRS") -> CRS:
    """``crs``, unless it names a file (module docstring): then a ValidationError."""
    files = crs_files(crs)
    if files:
        raise invalid(where, f"{what} refers to a file ({files[0][:120]}); {_REFUSED}. "
                             "Re-export the data with an EPSG code, or without its CRS "
                             "and pass --crs")
    return crs


def parse_crs(text: str, field: str = "crs") -> CRS:
    """A CRS from user input ("EPSG:3405", WKT, PROJ string); ValidationError if unknown
    or if it names a file (``+init=`` is opened while parsing, so that is checked first).
    """
    found = named_file(text)
    if found is None:
        try:
            crs = CRS.from_user_input(text.strip())
        except (CRSError, TypeError, ValueError):
            raise ValidationError(
                {field: [f"{text!r} is not a coordinate reference system PROJ knows"]}
            ) from None
        files = crs_files(crs)
        if not files:
            return crs
        found = files[0]
    raise ValidationError({field: [f"{text[:200]!r} refers to a file ({found[:120]}); "
                                   f"{_REFUSED}; give an EPSG code such as EPSG:3405"]})


def parse_prj(text: str, where: Where) -> CRS:
    """The CRS of a Shapefile's .prj (ESRI or OGC WKT); ValidationError if unreadable or
    if it names a file.
    """
    found = named_file(text)
    if found is not None:
        raise invalid(where, f"the .prj file refers to a file ({found[:120]}); {_REFUSED}. "
                             "Re-export the data with an EPSG code, or remove the .prj "
                             "and pass --crs")
    try:
        crs = CRS.from_wkt(text.strip())
    except (CRSError, TypeError, ValueError):
        raise invalid(where, "the .prj file is not a coordinate reference system PROJ "
                             "understands; pass --crs") from None
    return refuse_files(crs, where, "the .prj file")


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
        return refuse_files(file_crs, where)
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
