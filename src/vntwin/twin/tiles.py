"""Mapbox Vector Tiles of the twin's collections, encoded by DuckDB spatial's ST_AsMVT.

Geometry selection happens in Python (the layer's spatial index, or the grid's cell
centres); DuckDB spatial (loaded from its PyPI wheel, never downloaded) projects to Web
Mercator, clips to the tile and encodes. One connection per thread: loading the
extension costs more than a tile.
"""

from __future__ import annotations

import math
import threading

import duckdb
import geopandas as gpd
import h3
import pandas as pd
import shapely

from vntwin.catalog.service import Catalog
from vntwin.duckdb_spatial import load_spatial
from vntwin.errors import ValidationError
from vntwin.twin.features import Collection, features_in
from vntwin.twin.store import TwinStore

EXTENT = 4096
MAX_FEATURES = 50_000
_local = threading.local()


def _spatial() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"autoinstall_known_extensions": "false",
                                     "autoload_known_extensions": "false"})
        if not load_spatial(con):
            raise RuntimeError("DuckDB's spatial extension is missing: reinstall vntwin "
                               "(it comes with the duckdb-extension-spatial package)")
        _local.con = con
    return con


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of an XYZ tile in degrees."""
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise ValidationError({"tile": [f"no tile {z}/{x}/{y}"]})
    n = 2.0**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _encode(frame: pd.DataFrame, layer: str, z: int, x: int, y: int) -> bytes:
    """MVT bytes of a frame with a ``wkb`` column (EPSG:4326) and attribute columns."""
    if frame.empty:
        return b""
    con = _spatial()
    con.register("features", frame)
    try:
        props = ", ".join(f'"{c}"' for c in frame.columns if c != "wkb")
        select = f", {props}" if props else ""
        row = con.execute(
            "SELECT ST_AsMVT(t, ?, ?, 'geometry') FROM ("
            "  SELECT ST_AsMVTGeom(ST_Transform(ST_GeomFromWKB(wkb), 'EPSG:4326', 'EPSG:3857',"
            "         always_xy := true), ST_Extent(ST_TileEnvelope(?, ?, ?)), ?, 64, true)"
            f"    AS geometry {select} FROM features) t WHERE geometry IS NOT NULL",
            [layer, EXTENT, z, x, y, EXTENT]).fetchone()
    finally:
        con.unregister("features")
    return bytes(row[0]) if row and row[0] else b""


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Attributes MVT can carry: numbers and text (dates and the like become text)."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype("float64")
        else:
            out[column] = series.astype("string").astype(object)
    return out


def layer_tile(cat: Catalog, col: Collection, z: int, x: int, y: int) -> bytes:
    """A tile of a vector layer as ingested."""
    assert col.source is not None
    sub: gpd.GeoDataFrame
    sub, _ = features_in(cat, col.source, tile_bounds(z, x, y), MAX_FEATURES)
    attrs = _plain(sub.drop(columns=sub.geometry.name))
    attrs.insert(0, "wkb", shapely.to_wkb(sub.geometry.to_numpy()))
    return _encode(attrs.reset_index(drop=True), col.id, z, x, y)


def grid_tile(store: TwinStore, col: Collection, z: int, x: int, y: int) -> bytes:
    """A tile of hexagon cells with one fused layer's variables."""
    west, south, east, north = tile_bounds(z, x, y)
    pad = 0.02  # a res-8 cell's centre can sit ~0.5 km outside the tile its edge touches
    with store.read() as con:
        rows = con.execute(
            "SELECT v.h3, map(list(v.variable), list(v.value)) FROM cell_values v "
            "JOIN cells c USING (h3) WHERE v.layer = ? AND v.valid_time IS NULL "
            "AND c.lon BETWEEN ? AND ? AND c.lat BETWEEN ? AND ? GROUP BY v.h3 LIMIT ?",
            [col.layer, west - pad, east + pad, south - pad, north + pad, MAX_FEATURES],
        ).fetchall()
    if not rows:
        return b""
    records = []
    for cell, values in rows:
        text = h3.int_to_str(int(cell))
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(text)]
        records.append({"wkb": shapely.to_wkb(shapely.Polygon(ring)), "h3": text,
                        **{k: float(v) for k, v in dict(values).items()}})
    return _encode(pd.DataFrame.from_records(records), col.id, z, x, y)
