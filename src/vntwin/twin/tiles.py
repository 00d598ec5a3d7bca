"""Mapbox Vector Tiles of the twin's collections.

Points (a layer as ingested) and hexagons (a fused layer on the grid) are encoded with
numpy by ``vntwin.twin.mvt``: thousands of features a tile, no object per feature. Lines
and polygons of ingested layers go through DuckDB spatial's ST_AsMVT (loaded from its
PyPI wheel, never downloaded), which projects, clips and validates them; one connection
per thread, since loading the extension costs more than a tile.

A grid tile reads the cells of the tile from a per-store cache of cell centres, and the
layer's values with one range scan per coarse bucket of cells (the store's clustering
key, ``store.bucket_shift``), so DuckDB's zone maps skip the rest of the table.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

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
from vntwin.twin.store import TwinStore, bucket_shift

EXTENT = mvt.EXTENT
MAX_FEATURES = 50_000
MAX_BUCKETS = 64  # more coarse cells in a tile (low zooms): one scan of the id range
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


@dataclass(frozen=True)
class _Cells:
    """The store's grid cells sorted by id, with their centres: which cells a tile holds
    is then a numpy mask, not a join.
    """

    key: tuple[str, int, int]
    res: int
    h3: np.ndarray  # uint64, sorted
    lon: np.ndarray
    lat: np.ndarray


_cells_lock = threading.Lock()
_cells: dict[str, _Cells] = {}


def _grid_cells(store: TwinStore) -> _Cells:
    """The cells of the store, cached until its file changes (a fusion rewrites it)."""
    stat = Path(store.path).stat()
    key = (str(store.path), stat.st_mtime_ns, stat.st_size)
    with _cells_lock:
        hit = _cells.get(key[0])
    if hit is not None and hit.key == key:
        return hit
    with store.read() as con:
        data = con.execute("SELECT h3, lon, lat FROM cells ORDER BY h3").fetchnumpy()
        row = con.execute("SELECT max(res) FROM layers").fetchone()
    cells = np.asarray(data["h3"], np.uint64)
    res = int(row[0]) if row and row[0] is not None else (
        h3.get_resolution(h3.int_to_str(int(cells[0]))) if len(cells) else 8)
    fresh = _Cells(key, res, cells, np.asarray(data["lon"], np.float64),
                   np.asarray(data["lat"], np.float64))
    with _cells_lock:
        _cells[key[0]] = fresh
    return fresh


def _tile_values(store: TwinStore, layer: str, cells: np.ndarray,
                 res: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The cells among ``cells`` (sorted) with values of ``layer`` (at most
    MAX_FEATURES), and each variable's value per cell (NaN where the cell has none).
    """
    shift = bucket_shift(res)
    buckets = np.unique(cells >> np.uint64(shift))
    base = "SELECT h3, variable, value FROM cell_values WHERE layer = $layer " \
           "AND valid_time IS NULL AND h3 BETWEEN "
    if len(buckets) <= MAX_BUCKETS:
        query = " UNION ALL ".join(
            f"({base}{int(b) << shift} AND {((int(b) + 1) << shift) - 1})" for b in buckets)
    else:
        query = f"{base}{int(cells[0])} AND {int(cells[-1])}"
    with store.read() as con:
        rows = con.execute(query, {"layer": layer}).fetchnumpy()
    h3s = np.asarray(rows["h3"], np.uint64)
    inside = np.isin(h3s, cells)
    h3s, values = h3s[inside], np.asarray(rows["value"], np.float64)[inside]
    variables = np.asarray(rows["variable"], dtype=object)[inside]
    found = np.unique(h3s)[:MAX_FEATURES]
    where = np.searchsorted(found, h3s)
    ok = (where < len(found)) & (found[np.minimum(where, len(found) - 1)] == h3s)
    columns: dict[str, np.ndarray] = {}
    for name in sorted(set(variables[ok].tolist())):
        column = np.full(len(found), np.nan)
        pick = ok & (variables == name)
        column[where[pick]] = values[pick]
        columns[str(name)] = column
    return found, columns


def _hexagons(found: np.ndarray, z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """The cells' boundaries in tile units, clipped to the tile and its buffer: flat
    x, y and the offset of each cell's ring (an empty ring for a cell left outside).
    """
    boundary = h3.api.basic_int.cell_to_boundary
    rings = [boundary(int(c)) for c in found.tolist()]
    sizes = np.fromiter((len(r) for r in rings), np.int64, len(rings))
    latlng = np.array([p for r in rings for p in r], np.float64).reshape(-1, 2)
    tx, ty = mvt.to_tile(latlng[:, 1], latlng[:, 0], z, x, y)
    ring_of = np.repeat(np.arange(len(rings)), sizes)
    # close each ring: shapely's linearrings wants explicit closure for the index form
    polygons = shapely.polygons(shapely.linearrings(np.c_[tx, ty], indices=ring_of))
    low, high = -mvt.BUFFER, EXTENT + mvt.BUFFER
    clipped = shapely.clip_by_rect(polygons, low, low, high, high)
    # a hexagon clipped by a rectangle stays one convex polygon; anything else is empty
    clipped[shapely.get_type_id(clipped) != 3] = shapely.Polygon()
    coords, owner = shapely.get_coordinates(clipped, return_index=True)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(rings)))])
    return coords[:, 0], coords[:, 1], offsets


def grid_tile(store: TwinStore, col: Collection, z: int, x: int, y: int) -> bytes:
    """A tile of hexagon cells with one fused layer's variables (and the cell id, as the
    ``h3`` text property and as the feature id).
    """
    assert col.layer is not None
    west, south, east, north = tile_bounds(z, x, y)
    grid = _grid_cells(store)
    # a cell's centre lies within two edge lengths of any point of its hexagon
    pad_lat = 2 * h3.average_hexagon_edge_length(grid.res, "km") / 110.574
    pad_lon = pad_lat / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.01)
    mask = ((grid.lon >= west - pad_lon) & (grid.lon <= east + pad_lon)
            & (grid.lat >= south - pad_lat) & (grid.lat <= north + pad_lat))
    candidates = grid.h3[mask]
    if not len(candidates):
        return b""
    found, columns = _tile_values(store, col.layer, candidates, grid.res)
    if not len(found):
        return b""
    tx, ty, offsets = _hexagons(found, z, x, y)
    props: dict[str, np.ndarray | pd.Series] = {
        "h3": np.array([h3.int_to_str(int(c)) for c in found.tolist()], dtype=object),
        **columns}
    return mvt.encode_rings(col.id, tx, ty, offsets, props, ids=found)
