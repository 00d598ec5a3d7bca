"""Attribute tables (CSV, or Parquet/GeoPackage tables without geometry): points or places?

A table becomes a point layer when two columns are named like latitude and longitude
(``lat``/``vĩ độ``/``y`` and ``lon``/``kinh độ``/``x``...). Otherwise it must be keyed by
administrative units: a column named like a unit code or name (``ma_tinh``, ``ma_xa``,
``province``, ``tỉnh``, ``xã``...) or whose values look like one ("Tỉnh ...", "Xã ...",
zero-padded 2- or 5-digit codes). Resolving those values to units is the twin's job; this
module only says which column holds them.

Vietnamese surveying writes X for northing and Y for easting, the reverse of GIS
software, so projected x/y columns are swapped when only the swapped order lands inside
the CRS's area of use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from vntwin.ingest.crs import WGS84
from vntwin.ingest.problems import Where, invalid
from vntwin.text import fold

_LAT = ("lat", "latitude", "vido", "y", "ycoord", "toadoy", "northing", "latdd", "latwgs84")
_LON = ("lon", "lng", "long", "longitude", "kinhdo", "x", "xcoord", "toadox", "easting",
        "londd", "lonwgs84")
_LAT_SUFFIX = ("lat", "latitude", "vido")
_LON_SUFFIX = ("lon", "lng", "longitude", "kinhdo")
_PROJECTED_NAMES = frozenset({"x", "y", "xcoord", "ycoord", "toadox", "toadoy", "easting",
                              "northing"})
_CODE_NAMES = frozenset({
    "matinh", "maxa", "maphuong", "mahuyen", "madvhc", "madonvi", "madonvihanhchinh",
    "mahc", "provincecode", "communecode", "wardcode", "districtcode", "admincode",
    "adm1code", "adm2code", "code", "ma", "matinhthanh", "maphuongxa", "maxaphuong",
})
_NAME_NAMES = frozenset({
    "tinh", "tentinh", "tinhthanh", "tinhthanhpho", "thanhpho", "province", "provincename",
    "xa", "tenxa", "phuong", "phuongxa", "xaphuong", "tenphuong", "tenphuongxa", "commune",
    "communename", "ward", "wardname", "huyen", "tenhuyen", "district", "districtname",
    "diaban", "donvi", "tendonvi", "dvhc", "tendvhc", "donvihanhchinh",
})
_UNIT_PREFIX = re.compile(
    r"^(tinh|thanh pho|tp\.?|xa|phuong|dac khu|huyen|quan|thi xa|thi tran)\s", re.I
)
_CODE_VALUE = re.compile(r"\d{2}|\d{5}")


@dataclass
class Classified:
    """A table read as points (``frame`` a GeoDataFrame) or as a place-keyed table."""

    frame: pd.DataFrame
    kind: str  # "point" or "table"
    crs: CRS | None = None
    place_column: str | None = None
    report: list[str] = field(default_factory=list)
    missing: dict[int, str] = field(default_factory=dict)
    """Why rows (0-based) got no geometry, for the rejection report."""


def key(name: str) -> str:
    """A column name folded for matching: "Vĩ độ" -> "vido", "ma_tinh" -> "matinh"."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


def is_code_name(name: str) -> bool:
    """Whether a column name says it holds administrative-unit codes (kept as text)."""
    return key(name) in _CODE_NAMES


def classify(frame: pd.DataFrame, where: Where, override: CRS | None) -> Classified:
    """Points when lat/lon columns are found, else a table keyed by a place column."""
    columns = coordinate_columns(list(frame.columns))
    if columns is not None:
        return _points(frame, columns, where, override)
    place = place_column(frame)
    if place is None:
        raise invalid(where, "no latitude/longitude columns and no administrative-unit "
                             "column found; name them lat/lon (vĩ độ/kinh độ) or "
                             "ma_tinh/ma_xa/tỉnh/xã")
    note = f"place column {place!r} holds administrative units (codes or names)"
    return Classified(frame, "table", place_column=place, report=[note])


def coordinate_columns(names: list[str]) -> tuple[str, str] | None:
    """The (latitude, longitude) column names, exact names before suffixes."""
    keys = [key(str(n)) for n in names]

    def find(exact: tuple[str, ...], suffixes: tuple[str, ...]) -> str | None:
        for wanted in exact:
            if wanted in keys:
                return str(names[keys.index(wanted)])
        for position, k in enumerate(keys):
            if k.endswith(suffixes) or k.startswith(suffixes):
                return str(names[position])
        return None

    lat, lon = find(_LAT, _LAT_SUFFIX), find(_LON, _LON_SUFFIX)
    if lat is None or lon is None or lat == lon:
        return None
    return lat, lon


def place_column(frame: pd.DataFrame) -> str | None:
    """The column naming administrative units: a code name, a unit name, then values."""
    for names in (_CODE_NAMES, _NAME_NAMES):
        for name in frame.columns:
            if key(str(name)) in names and frame[name].notna().mean() >= 0.9:
                return str(name)
    for name in frame.columns:
        values = [v for v in frame[name] if isinstance(v, str) and v.strip()]
        if len(values) < max(1, 0.9 * len(frame)):
            continue
        if sum(bool(_UNIT_PREFIX.match(fold(v))) for v in values) >= 0.8 * len(values):
            return str(name)
        if (all(_CODE_VALUE.fullmatch(v) for v in values) and any(v[0] == "0" for v in values)
                and len({len(v) for v in values}) == 1):
            return str(name)
    return None


def _points(frame: pd.DataFrame, columns: tuple[str, str], where: Where,
            override: CRS | None) -> Classified:
    lat_name, lon_name = columns
    lat, lon = _numbers(frame[lat_name]), _numbers(frame[lon_name])
    projected = {key(lat_name), key(lon_name)} <= _PROJECTED_NAMES
    report = [f"points from columns {lon_name!r} (x) and {lat_name!r} (y)"]
    missing = {int(i): "coordinates missing or not numbers "
                       f"({_cell(frame[lon_name].iloc[i])}, {_cell(frame[lat_name].iloc[i])})"
               for i in np.flatnonzero((lat.isna() | lon.isna()).to_numpy())}
    crs = override
    if crs is None and not projected:
        crs = WGS84  # the columns are named latitude and longitude
        missing.update(_out_of_range(lat, lon))
    elif crs is not None and crs.is_projected and projected:
        lat, lon = _surveyors_order(lat, lon, crs, report)
    geometry = shapely.points(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float))
    if missing:
        geometry[list(missing)] = None
    points = gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)
    return Classified(points, "point", crs=crs, report=report, missing=missing)


def _cell(value: object) -> str:
    """A cell as a message shows it: text quoted, numbers plain, nothing as "empty"."""
    if isinstance(value, str):
        return repr(value)
    return "empty" if value is None or bool(pd.isna(value)) else str(value)  # type: ignore[call-overload]


def _numbers(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    text = column.astype(object).map(lambda v: v.replace(",", ".") if isinstance(v, str) else v)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _out_of_range(lat: pd.Series, lon: pd.Series) -> dict[int, str]:
    bad_lat = (lat.abs() > 90).to_numpy()
    bad_lon = (lon.abs() > 180).to_numpy()
    hint = " (are latitude and longitude swapped?)" if bad_lat.any() and not bad_lon.any() else ""
    return {int(i): f"latitude {lat.iloc[i]} or longitude {lon.iloc[i]} out of range{hint}"
            for i in np.flatnonzero(bad_lat | bad_lon)}


def _surveyors_order(lat: pd.Series, lon: pd.Series, crs: CRS,
                     report: list[str]) -> tuple[pd.Series, pd.Series]:
    """Swap x/y when only the swapped order falls inside the CRS's area of use."""
    area = crs.area_of_use
    if area is None:
        return lat, lon
    to_lonlat = Transformer.from_crs(crs, WGS84, always_xy=True)
    x, y = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)

    def inside(east: np.ndarray, north: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):
            glon, glat = to_lonlat.transform(east, north)
            ok = ((glon >= area.west) & (glon <= area.east)
                  & (glat >= area.south) & (glat <= area.north))
        return float(np.nanmean(ok)) if len(ok) else 0.0

    if inside(x, y) < 0.5 <= inside(y, x):
        report.append("x/y columns read as northing/easting (the Vietnamese surveying "
                      "convention): only that order falls inside the CRS's area of use")
        return lon, lat
    return lat, lon
