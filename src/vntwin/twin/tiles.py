"""Mapbox Vector Tiles of the twin's collections.

Points (a layer as ingested) and hexagons (a fused layer on the grid) are encoded with
numpy by ``vntwin.twin.mvt``: thousands of features a tile, no object per feature. Lines
and polygons of ingested layers go through DuckDB spatial's ST_AsMVT (loaded from its
PyPI wheel, never downloaded), which projects, clips and validates them; one connection
per thread, since loading the extension costs more than a tile.

A grid tile finds its cells, their values and their hexagons through
``vntwin.twin.gridcells`` (cells and hexagons cached per store, values read by range
scans DuckDB can prune).
"""

from __future__ import annotations

import math
import threading

import duckdb
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from vntwin.catalog.service import Catalog
from vntwin.duckdb_spatial import load_spatial
from vntwin.errors import ValidationError
from vntwin.twin import mvt
from vntwin.twin.features import Collection, features_in
from vntwin.twin.gridcells import GridCells, grid_cells, layer_values
from vntwin.twin.store import TwinStore

EXTENT = mvt.EXTENT
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
    """A tile of a vector layer as ingested; feature ids are the OGC feature ids for
    point layers (row numbers in the file).
    """
    assert col.source is not None
    sub: gpd.GeoDataFrame
    sub, _ = features_in(cat, col.source, tile_bounds(z, x, y), MAX_FEATURES)
    geoms = sub.geometry.to_numpy()
    attrs = _plain(sub.drop(columns=sub.geometry.name))
    if len(sub) and (shapely.get_type_id(geoms) == 0).all():
        tx, ty = mvt.to_tile(shapely.get_x(geoms), shapely.get_y(geoms), z, x, y)
        return mvt.encode_points(col.id, tx, ty, dict(attrs.items()),
                                 ids=sub.index.to_numpy(np.uint64))
    attrs.insert(0, "wkb", shapely.to_wkb(geoms))
    return _encode(attrs.reset_index(drop=True), col.id, z, x, y)


def _hexagons(grid: GridCells, positions: np.ndarray, z: int, x: int,
              y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells' hexagons in tile units, clipped to the tile and its buffer: flat x, y
    and the offset of each cell's ring (an empty ring for a cell left outside).
    """
    lon, lat, offsets = grid.boundaries(positions)
    tx, ty = mvt.to_tile(lon, lat, z, x, y)
    low, high = -mvt.BUFFER, EXTENT + mvt.BUFFER
    outside = ((tx < low) | (tx > high) | (ty < low) | (ty > high))
    ring_of = np.repeat(np.arange(len(positions)), np.diff(offsets))
    cut = np.flatnonzero(np.bincount(ring_of, outside, minlength=len(positions)) > 0)
    if not len(cut):
        return tx, ty, offsets
    # only hexagons across the buffer's edge are clipped; one clipped by a rectangle
    # stays one convex polygon (anything else, touching only, becomes empty)
    pick = np.isin(ring_of, cut)
    polygons = shapely.polygons(shapely.linearrings(
        np.c_[tx[pick], ty[pick]], indices=np.searchsorted(cut, ring_of[pick])))
    clipped = shapely.clip_by_rect(polygons, low, low, high, high)
    clipped[shapely.get_type_id(clipped) != 3] = shapely.Polygon()
    coords, owner = shapely.get_coordinates(clipped, return_index=True)
    sizes = np.diff(offsets)
    sizes[cut] = np.bincount(owner, minlength=len(cut))
    new_offsets = np.concatenate([[0], np.cumsum(sizes)])
    out_x, out_y = np.empty(new_offsets[-1]), np.empty(new_offsets[-1])
    whole = ~pick  # points of the rings left as they were, moved to their new place
    target = new_offsets[ring_of[whole]] + (np.arange(len(tx)) - offsets[ring_of])[whole]
    out_x[target], out_y[target] = tx[whole], ty[whole]
    ring = cut[owner]
    target = new_offsets[ring] + np.arange(len(owner)) - np.searchsorted(owner, owner)
    out_x[target], out_y[target] = coords[:, 0], coords[:, 1]
    return out_x, out_y, new_offsets


def grid_tile(store: TwinStore, col: Collection, z: int, x: int, y: int) -> bytes:
    """A tile of hexagon cells with one fused layer's variables (and the cell id, as the
    ``h3`` text property and as the feature id); a time-stamped layer's latest value in
    each cell (``gridcells.layer_values``; the map's ``grid_tile_at`` picks a time).
    """
    assert col.layer is not None
    west, south, east, north = tile_bounds(z, x, y)
    grid = grid_cells(store)
    # a cell's centre lies within two edge lengths of any point of its hexagon
    pad_lat = 2 * h3.average_hexagon_edge_length(grid.res, "km") / 110.574
    pad_lon = pad_lat / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.01)
    candidates = grid.h3[grid.in_box(west - pad_lon, south - pad_lat, east + pad_lon,
                                     north + pad_lat)]
    found, columns = layer_values(store, grid, col.layer, candidates)
    if not len(found):
        return b""
    found = found[:MAX_FEATURES]
    columns = {k: v[:MAX_FEATURES] for k, v in columns.items()}
    tx, ty, offsets = _hexagons(grid, np.searchsorted(grid.h3, found), z, x, y)
    props: dict[str, np.ndarray | pd.Series] = {
        "h3": np.array([h3.int_to_str(c) for c in found.tolist()], dtype=object),
        **columns}
    return mvt.encode_rings(col.id, tx, ty, offsets, props, ids=found)
