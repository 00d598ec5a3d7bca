"""Features of the twin's collections, for OGC API – Features.

Two kinds of collection: each vector layer as ingested (its GeoParquet file), and each
fused layer on the grid (``grid-<layer>``: hexagon cells with that layer's variables as
properties). Paging is by offset over a stable order (row order of the file, cell id).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.twin.gridcells import grid_cells, layer_values
from vntwin.twin.layers import LayerSource, layer_sources
from vntwin.twin.store import TwinMissing, TwinStore

GRID_PREFIX = "grid-"
VECTOR_KINDS = ("point", "line", "polygon")
_CACHE_SIZE = 32  # layer files whose feature boxes stay in memory


@dataclass(frozen=True)
class Collection:
    """One OGC collection."""

    id: str
    title: str
    description: str
    kind: str  # "layer" or "grid"
    bbox: tuple[float, float, float, float] | None
    source: LayerSource | None = None
    layer: str | None = None  # fused layer name, for grid collections


@dataclass(frozen=True)
class FileMeta:
    """What a collection listing needs of a layer file, from its Parquet footer only, and
    where its row groups start and what they cover.

    ``group_boxes`` (one xmin, ymin, xmax, ymax row per row group) comes from the min/max
    statistics of the GeoParquet 1.1 ``bbox`` covering column; None when the file has no
    such column or a row group lacks the statistics (files from other writers).
    """

    rows: int
    bbox: tuple[float, float, float, float] | None
    group_starts: np.ndarray  # first row of each group, and the row count at the end
    group_boxes: np.ndarray | None
    # the parsed footer, handed to ParquetFile: parsing it again on every request (one
    # entry per row group) cost more than reading the row groups a small box needs
    footer: pq.FileMetaData | None = field(default=None, compare=False, repr=False)


@dataclass
class _Boxes:
    """Every feature's bounding box (from the GeoParquet 1.1 ``bbox`` covering column
    written at ingest, else computed once from the geometries) and where each row group
    starts: enough to find the rows in a box and read only their row groups.
    """

    xmin: np.ndarray
    ymin: np.ndarray
    xmax: np.ndarray
    ymax: np.ndarray
    group_starts: np.ndarray  # first row of each row group, and the row count at the end


class _FileCache:
    """Per layer file, keyed by its content hash (files are immutable, so a new version of
    a layer is a new key): the footer metadata (every listed file; a few hundred bytes
    each) and the features' bounding boxes (the last ``_CACHE_SIZE`` files used).
    """

    def __init__(self) -> None:
        self._meta: dict[str, FileMeta] = {}
        self._boxes: OrderedDict[str, _Boxes] = OrderedDict()
        self._lock = threading.Lock()

    def meta(self, path: Path, sha256: str) -> FileMeta:
        with self._lock:
            hit = self._meta.get(sha256)
        if hit is not None:
            return hit
        footer = pq.read_metadata(path)
        sizes = [footer.row_group(i).num_rows for i in range(footer.num_row_groups)]
        meta = FileMeta(footer.num_rows, _footer_bbox(footer) if footer.num_rows else None,
                        np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
                        _group_boxes(footer), footer)
        with self._lock:
            self._meta[sha256] = meta
        return meta

    def boxes(self, path: Path, sha256: str) -> _Boxes:
        with self._lock:
            if sha256 in self._boxes:
                self._boxes.move_to_end(sha256)
                return self._boxes[sha256]
        boxes = _read_boxes(path)
        with self._lock:
            self._boxes[sha256] = boxes
            while len(self._boxes) > _CACHE_SIZE:
                self._boxes.popitem(last=False)
        return boxes


def _geo(footer: pq.FileMetaData) -> dict[str, Any]:
    raw = (footer.metadata or {}).get(b"geo")
    return json.loads(raw) if raw else {}


def _footer_bbox(footer: pq.FileMetaData) -> tuple[float, float, float, float] | None:
    geo = _geo(footer)
    column = geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {})
    bbox = column.get("bbox")
    if bbox and len(bbox) == 4:
        return (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]))
    return None


def _covering(geo: dict[str, Any]) -> dict[str, Any] | None:
    primary = geo.get("primary_column", "geometry")
    covering = geo.get("columns", {}).get(primary, {}).get("covering", {}).get("bbox")
    return covering if isinstance(covering, dict) else None


def _group_boxes(footer: pq.FileMetaData) -> np.ndarray | None:
    """Each row group's extent from the statistics of the ``bbox`` covering column."""
    covering = _covering(_geo(footer))
    if not covering or footer.num_row_groups == 0:
        return None
    paths = {footer.schema.column(i).path: i for i in range(footer.num_columns)}
    try:
        leaves = [paths[".".join(covering[k])] for k in ("xmin", "ymin", "xmax", "ymax")]
    except (KeyError, TypeError):
        return None
    out = np.empty((footer.num_row_groups, 4), np.float64)
    for group in range(footer.num_row_groups):
        for j, leaf in enumerate(leaves):
            stats = footer.row_group(group).column(leaf).statistics
            if stats is None or not stats.has_min_max:
                return None
            # a group's box: the least xmin/ymin and the greatest xmax/ymax of its rows
            out[group, j] = stats.min if j < 2 else stats.max
    return out


def _read_boxes(path: Path) -> _Boxes:
    file = pq.ParquetFile(path)
    geo = _geo(file.metadata)
    primary = geo.get("primary_column", "geometry")
    covering = _covering(geo)
    sizes = [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)]
    starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    if covering:
        column = covering["xmin"][0]
        struct = file.read(columns=[column]).column(column).combine_chunks()
        parts = [np.asarray(struct.field(covering[k][1]).to_numpy(zero_copy_only=False),
                            dtype=np.float64) for k in ("xmin", "ymin", "xmax", "ymax")]
    else:
        geoms = shapely.from_wkb(file.read(columns=[primary]).column(primary)
                                 .to_numpy(zero_copy_only=False))
        parts = list(shapely.bounds(geoms).T)
    xmin, ymin, xmax, ymax = parts
    return _Boxes(xmin, ymin, xmax, ymax, group_starts=starts)


def _features_by_groups(path: Path, meta: FileMeta, bbox: tuple[float, float, float, float],
                        limit: int, offset: int) -> tuple[gpd.GeoDataFrame, int]:
    """``features_in`` for a file whose row groups carry ``bbox`` statistics (what ingest
    writes): only the row groups whose extent meets the box are read, then their rows are
    tested on the covering column, and only the candidates' geometries decoded.
    """
    assert meta.group_boxes is not None
    west, south, east, north = bbox
    g = meta.group_boxes
    groups = np.flatnonzero((g[:, 0] <= east) & (g[:, 2] >= west)
                            & (g[:, 1] <= north) & (g[:, 3] >= south))
    file = pq.ParquetFile(path, metadata=meta.footer)
    geo = _geo(file.metadata)
    primary = geo.get("primary_column", "geometry")
    covering = _covering(geo)
    assert covering is not None
    if not len(groups):
        return _frame(file.schema_arrow.empty_table(), primary, covering,
                      np.zeros(0, np.int64)), 0
    table = file.read_row_groups(groups.tolist())
    struct = table.column(covering["xmin"][0]).combine_chunks()

    def part(key: str) -> np.ndarray:
        return np.asarray(struct.field(covering[key][1]).to_numpy(zero_copy_only=False),
                          dtype=np.float64)

    hit = np.flatnonzero((part("xmin") <= east) & (part("xmax") >= west)
                         & (part("ymin") <= north) & (part("ymax") >= south))
    starts = meta.group_starts
    row_of = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in groups])
    frame = _frame(table.take(pa.array(hit, pa.int64())), primary, covering, row_of[hit])
    if len(frame):
        frame = frame[shapely.intersects(frame.geometry.values,
                                         shapely.box(west, south, east, north))]
    return frame.iloc[offset:offset + limit], len(frame)


def _frame(table: pa.Table, primary: str, covering: dict[str, Any] | None,
           rows: np.ndarray) -> gpd.GeoDataFrame:
    """Rows of a layer file as a GeoDataFrame indexed by row number (the feature id),
    without the covering column.
    """
    if covering and covering["xmin"][0] in table.column_names:
        table = table.drop_columns([covering["xmin"][0]])
    geometry = shapely.from_wkb(table.column(primary).to_numpy(zero_copy_only=False))
    frame = table.drop_columns([primary]).to_pandas()
    frame.index = pd.Index(rows, dtype=np.int64)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, index=frame.index),
                            crs="EPSG:4326")


def _read_rows(path: Path, starts: np.ndarray, rows: np.ndarray,
               footer: pq.FileMetaData | None = None) -> gpd.GeoDataFrame:
    """The given rows (sorted row numbers) of a layer file, reading only their row
    groups (``starts``: each group's first row, then the row count).
    """
    file = pq.ParquetFile(path, metadata=footer)
    geo = _geo(file.metadata)
    primary = geo.get("primary_column", "geometry")
    covering = _covering(geo)
    group_of = np.searchsorted(starts, rows, side="right") - 1
    groups = np.unique(group_of)
    if len(rows):
        table = file.read_row_groups(groups.tolist())
        table_starts = np.concatenate([[0], np.cumsum(np.diff(starts)[groups])[:-1]])
        local = table_starts[np.searchsorted(groups, group_of)] + rows - starts[group_of]
        table = table.take(pa.array(local, pa.int64()))
    else:
        table = file.schema_arrow.empty_table()
    return _frame(table, primary, covering, rows)


def features_in(cat: Catalog, source: LayerSource,
                bbox: tuple[float, float, float, float] | None, limit: int,
                offset: int = 0) -> tuple[gpd.GeoDataFrame, int]:
    """A page of a vector layer's features meeting ``bbox`` (all when None), in file
    order, and how many match; geometries are tested exactly.

    Files as ingest writes them (spatially sorted, small row groups, ``bbox`` covering
    column) are read by row group, chosen from the footer's statistics. Other files fall
    back to every feature's box, cached per file: only the row groups of the candidates
    are read, but for an unsorted file that can be all of them.
    """
    path = cat.uploads.path_for(source.sha256)
    meta = _files.meta(path, source.sha256)
    if bbox is None:
        rows = np.arange(offset, min(offset + limit, meta.rows), dtype=np.int64)
        return _read_rows(path, meta.group_starts, rows, meta.footer), meta.rows
    if meta.group_boxes is not None:
        return _features_by_groups(path, meta, bbox, limit, offset)
    boxes = _files.boxes(path, source.sha256)
    west, south, east, north = bbox
    rows = np.flatnonzero((boxes.xmin <= east) & (boxes.xmax >= west)
                          & (boxes.ymin <= north) & (boxes.ymax >= south))
    box = shapely.box(west, south, east, north)
    # a feature whose box meets the query box can still miss it (lines, polygons)
    frame = _read_rows(path, boxes.group_starts, rows)
    if len(frame):
        frame = frame[shapely.intersects(frame.geometry.values, box)]
    return frame.iloc[offset:offset + limit], len(frame)


_files = _FileCache()


def _collection(source: LayerSource, meta: FileMeta) -> Collection:
    return Collection(source.name, source.name,
                      f"Lớp {source.kind} của bộ dữ liệu {source.dataset_name}",
                      "layer", meta.bbox, source=source)


def _grid_collection(layer: str, res: int) -> Collection:
    return Collection(f"{GRID_PREFIX}{layer}", f"{layer} (lưới H3)",
                      f"Lớp {layer} hợp nhất trên lưới H3 độ phân giải {res}", "grid", None,
                      layer=layer)


def collections(cat: Catalog, store: TwinStore) -> list[Collection]:
    """Every vector layer and every fused layer on the grid. Extents and counts come from
    each file's Parquet footer, cached by content hash: no geometry is read.
    """
    out: list[Collection] = []
    for source in layer_sources(cat):
        if source.kind in VECTOR_KINDS:
            out.append(_collection(source, _files.meta(cat.uploads.path_for(source.sha256),
                                                       source.sha256)))
    try:
        fused = store.layers()
    except TwinMissing:
        fused = []
    out.extend(_grid_collection(layer["layer"], layer["res"]) for layer in fused)
    return out


def find(cat: Catalog, store: TwinStore, collection_id: str) -> Collection:
    """One collection by id, reading only that collection's metadata."""
    if collection_id.startswith(GRID_PREFIX):
        layer = collection_id.removeprefix(GRID_PREFIX)
        try:
            with store.read() as con:
                row = con.execute("SELECT res FROM layers WHERE layer = ?", [layer]).fetchone()
        except TwinMissing:
            row = None
        if row is not None:
            return _grid_collection(layer, int(row[0]))
    # a layer's name is its dataset's name, or "<dataset>--<layer>" (``layer_sources``);
    # dataset names may hold "--" themselves: every prefix ending before one is a candidate
    parts = collection_id.split("--")
    datasets = ["--".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for source in layer_sources(cat, datasets=datasets):
        if source.kind in VECTOR_KINDS and source.name == collection_id:
            return _collection(source, _files.meta(cat.uploads.path_for(source.sha256),
                                                   source.sha256))
    raise NotFound(f"collection {collection_id!r} not found")


def _check_bbox(bbox: tuple[float, float, float, float] | None) -> None:
    if bbox is not None and not (bbox[0] <= bbox[2] and bbox[1] <= bbox[3]):
        raise ValidationError({"bbox": ["must be minx,miny,maxx,maxy"]})


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def layer_items(cat: Catalog, col: Collection, bbox: tuple[float, float, float, float] | None,
                limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of a vector layer's features, and how many match."""
    _check_bbox(bbox)
    assert col.source is not None
    page, matched = features_in(cat, col.source, bbox, limit, offset)
    features = []
    geometry = page.geometry.to_numpy() if len(page) else []
    # records, not itertuples(): that renames every column that is not a Python name
    # ("Mã xã" -> "_0"), and the properties must keep the names the agency gave
    records = page.drop(columns=page.geometry.name).to_dict("records") if len(page) else []
    for fid, row, geom in zip(page.index, records, geometry, strict=True):
        props = {str(k): _json_value(v) for k, v in row.items()}
        features.append({"type": "Feature", "id": int(fid),
                         "geometry": json.loads(shapely.to_geojson(geom)) if geom else None,
                         "properties": props})
    return features, matched


def layer_item(cat: Catalog, col: Collection, fid: str) -> dict[str, Any]:
    """One feature by id (its row number in the layer file)."""
    assert col.source is not None
    try:
        index = int(fid)
    except ValueError:
        raise NotFound(f"feature {fid!r} not found") from None
    rows = _files.meta(cat.uploads.path_for(col.source.sha256), col.source.sha256).rows
    if not 0 <= index < rows:
        raise NotFound(f"feature {fid!r} not found")
    features, _ = layer_items(cat, col, None, 1, index)
    return features[0]


def grid_items(store: TwinStore, col: Collection,
               bbox: tuple[float, float, float, float] | None, limit: int,
               offset: int, cell: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of hexagon cells carrying one fused layer's variables (or one cell): the
    cells whose centre is in ``bbox``, by cell id. Cells come from the store's cached
    grid (``gridcells``), values from range scans of the layer's buckets; a time-stamped
    layer shows each cell's latest value (``/twin/...?as_of=`` answers for other times).
    """
    _check_bbox(bbox)
    assert col.layer is not None
    grid = grid_cells(store)
    if cell is not None:
        at = np.searchsorted(grid.h3, np.uint64(cell))
        positions = np.array([at] if at < len(grid.h3) and grid.h3[at] == cell else [],
                             np.int64)
        if bbox is not None:
            positions = positions[np.isin(positions, grid.in_box(*bbox))]
    elif bbox is not None:
        positions = grid.in_box(*bbox)
    else:
        positions = np.arange(len(grid.h3))
    found, columns = layer_values(store, grid, col.layer, grid.h3[positions])
    page = slice(offset, offset + limit)
    cells = found[page]
    if not len(cells):
        return [], len(found)
    listed = ", ".join(str(int(c)) for c in cells)
    with store.read() as con:
        units = {int(h): (p, c) for h, p, c in con.execute(
            f"SELECT h3, province_code, commune_code FROM cells WHERE h3 IN ({listed})"
        ).fetchall()}
    values = {name: column[page] for name, column in columns.items()}
    features = []
    for i, cell_id in enumerate(cells.tolist()):
        text = h3.int_to_str(cell_id)
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(text)]
        province, commune = units.get(cell_id, (None, None))
        props = {name: float(column[i]) for name, column in values.items()
                 if not np.isnan(column[i])}
        features.append({"type": "Feature", "id": text,
                         "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                         "properties": {"h3": text, "province_code": province,
                                        "commune_code": commune, **props}})
    return features, len(found)
