"""Features of the twin's collections, for OGC API – Features.

Two kinds of collection: each vector layer as ingested (its GeoParquet file), and each
fused layer on the grid (``grid-<layer>``: hexagon cells with that layer's variables as
properties). Paging is by offset over a stable order (row order of the file, cell id).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import shapely

from vntwin.catalog.service import Catalog
from vntwin.errors import NotFound, ValidationError
from vntwin.twin.layers import LayerSource, layer_sources
from vntwin.twin.store import TwinMissing, TwinStore

GRID_PREFIX = "grid-"
_CACHE_SIZE = 8


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


class _FrameCache:
    """The last few layer files read, keyed by content hash: files are immutable."""

    def __init__(self) -> None:
        self._frames: OrderedDict[str, gpd.GeoDataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cat: Catalog, source: LayerSource) -> gpd.GeoDataFrame:
        with self._lock:
            if source.sha256 in self._frames:
                self._frames.move_to_end(source.sha256)
                return self._frames[source.sha256]
        frame = gpd.read_parquet(cat.uploads.path_for(source.sha256))
        with self._lock:
            self._frames[source.sha256] = frame
            while len(self._frames) > _CACHE_SIZE:
                self._frames.popitem(last=False)
        return frame


_frames = _FrameCache()


def collections(cat: Catalog, store: TwinStore) -> list[Collection]:
    """Every vector layer and every fused layer on the grid."""
    out: list[Collection] = []
    for source in layer_sources(cat):
        if source.kind in ("point", "line", "polygon"):
            frame = _frames.get(cat, source)
            bounds = tuple(float(v) for v in frame.total_bounds) if len(frame) else None
            out.append(Collection(source.name, source.name,
                                  f"Lớp {source.kind} của bộ dữ liệu {source.dataset_name}",
                                  "layer", bounds, source=source))  # type: ignore[arg-type]
    try:
        fused = store.layers()
    except TwinMissing:
        fused = []
    for layer in fused:
        out.append(Collection(f"{GRID_PREFIX}{layer['layer']}", f"{layer['layer']} (lưới H3)",
                              f"Lớp {layer['layer']} hợp nhất trên lưới H3 độ phân giải "
                              f"{layer['res']}", "grid", None, layer=layer["layer"]))
    return out


def find(cat: Catalog, store: TwinStore, collection_id: str) -> Collection:
    """One collection by id."""
    for item in collections(cat, store):
        if item.id == collection_id:
            return item
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
    frame = _frames.get(cat, col.source)
    if bbox is not None:
        frame = frame.iloc[frame.sindex.query(shapely.box(*bbox), predicate="intersects")]
        frame = frame.sort_index()
    matched = len(frame)
    page = frame.iloc[offset:offset + limit]
    features = []
    for fid, row in zip(page.index, page.itertuples(index=False), strict=True):
        props = {k: _json_value(v) for k, v in row._asdict().items() if k != "geometry"}
        geom = row.geometry
        features.append({"type": "Feature", "id": int(fid),
                         "geometry": json.loads(shapely.to_geojson(geom)) if geom else None,
                         "properties": props})
    return features, matched


def layer_item(cat: Catalog, col: Collection, fid: str) -> dict[str, Any]:
    """One feature by id (its row number in the layer file)."""
    assert col.source is not None
    frame = _frames.get(cat, col.source)
    try:
        index = int(fid)
    except ValueError:
        raise NotFound(f"feature {fid!r} not found") from None
    if index not in frame.index:
        raise NotFound(f"feature {fid!r} not found")
    features, _ = layer_items(cat, col, None, 1, int(frame.index.get_loc(index)))
    return features[0]


def grid_items(store: TwinStore, col: Collection,
               bbox: tuple[float, float, float, float] | None, limit: int,
               offset: int, cell: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of hexagon cells carrying one fused layer's variables (or one cell)."""
    _check_bbox(bbox)
    where = "v.layer = ? AND v.valid_time IS NULL"
    params: list[Any] = [col.layer]
    if cell is not None:
        where += " AND v.h3 = ?"
        params.append(cell)
    if bbox is not None:
        where += " AND c.lon BETWEEN ? AND ? AND c.lat BETWEEN ? AND ?"
        params += [bbox[0], bbox[2], bbox[1], bbox[3]]
    with store.read() as con:
        matched = con.execute(
            f"SELECT count(DISTINCT v.h3) FROM cell_values v JOIN cells c USING (h3) "
            f"WHERE {where}", params).fetchone()
        rows = con.execute(
            f"SELECT v.h3, any_value(c.province_code), any_value(c.commune_code), "
            f"map(list(v.variable), list(v.value)) FROM cell_values v JOIN cells c USING (h3) "
            f"WHERE {where} GROUP BY v.h3 ORDER BY v.h3 "
            f"LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    features = []
    for cell, province, commune, values in rows:
        text = h3.int_to_str(int(cell))
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(text)]
        features.append({"type": "Feature", "id": text,
                         "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                         "properties": {"h3": text, "province_code": province,
                                        "commune_code": commune, **dict(values)}})
    return features, int(matched[0]) if matched else 0
