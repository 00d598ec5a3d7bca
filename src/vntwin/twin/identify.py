"""GIS "identify": the attributes of each vector layer's features at a place.

As QGIS's Identify Features tool does: polygons that contain the point, and points or lines
within a search radius (QGIS uses a few pixels; here metres, default 100). The layers are
the stored GeoParquet versions; each is read once per process (only the rows whose bounding
box — the GeoParquet 1.1 ``bbox`` covering column written at ingest — meets the search box)
and kept with a Shapely STRtree in a small LRU cache, so repeated clicks on a map are fast.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from vntwin.catalog.service import Catalog
from vntwin.errors import ValidationError
from vntwin.twin.layers import LayerSource, layer_sources

DEFAULT_RADIUS_M = 100.0
MAX_RADIUS_M = 5000.0
MAX_FEATURES = 20  # per layer, nearest first
CACHE_LAYERS = 64
VECTOR_KINDS = ("point", "line", "polygon")


@dataclass
class _Indexed:
    frame: gpd.GeoDataFrame
    tree: shapely.STRtree


_CACHE: OrderedDict[str, _Indexed] = OrderedDict()
_LOCK = threading.Lock()


def _indexed(cat: Catalog, source: LayerSource) -> _Indexed:
    """The layer's features with a spatial index, cached by file hash (immutable)."""
    with _LOCK:
        hit = _CACHE.get(source.sha256)
        if hit is not None:
            _CACHE.move_to_end(source.sha256)
            return hit
    frame = gpd.read_parquet(cat.uploads.path_for(source.sha256))
    indexed = _Indexed(frame, shapely.STRtree(frame.geometry.values))
    with _LOCK:
        _CACHE[source.sha256] = indexed
        while len(_CACHE) > CACHE_LAYERS:
            _CACHE.popitem(last=False)
    return indexed


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


def _metres_to_degrees(radius_m: float, lat: float) -> tuple[float, float]:
    """A search box half-size in degrees (latitude, longitude) around ``lat``."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return dlat, dlon


def _distance_m(geoms: np.ndarray, point: shapely.Point, lat: float) -> np.ndarray:
    """Distance in metres, in a local equirectangular frame (exact enough within 5 km)."""
    scale = math.cos(math.radians(lat))
    moved = shapely.transform(geoms, lambda xy: xy * np.array([scale, 1.0]))
    here = shapely.Point(point.x * scale, point.y)
    return np.asarray(shapely.distance(moved, here)) * 111_320.0


def identify(cat: Catalog, lat: float, lon: float, *, layers: list[str] | None = None,
             radius_m: float = DEFAULT_RADIUS_M) -> dict[str, Any]:
    """Features of every public vector layer (or of ``layers``) at ``lat, lon``."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"lat": ["latitude -90..90 and longitude -180..180"]})
    if not 0 <= radius_m <= MAX_RADIUS_M:
        raise ValidationError({"radius_m": [f"search radius 0..{MAX_RADIUS_M:g} m"]})
    sources = [s for s in layer_sources(cat) if s.kind in VECTOR_KINDS]
    if layers:
        unknown = set(layers) - {s.name for s in sources}
        if unknown:
            raise ValidationError({"layers": [f"no vector layer {n!r}" for n in sorted(unknown)]})
        sources = [s for s in sources if s.name in layers]
    point = shapely.Point(lon, lat)
    dlat, dlon = _metres_to_degrees(radius_m, lat)
    box = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    found: dict[str, Any] = {}
    for source in sources:
        indexed = _indexed(cat, source)
        hits = indexed.tree.query(box)
        if len(hits) == 0:
            continue
        geoms = indexed.frame.geometry.values[hits]
        distance = _distance_m(np.asarray(geoms), point, lat)
        if source.kind == "polygon":
            keep = np.asarray(shapely.covers(geoms, point))
        else:
            keep = distance <= radius_m
        if not keep.any():
            continue
        order = np.argsort(distance[keep], kind="stable")[:MAX_FEATURES]
        rows = indexed.frame.iloc[hits[keep][order]]
        attributes = rows.drop(columns=rows.geometry.name)
        features = []
        for (_, row), d in zip(attributes.iterrows(), distance[keep][order], strict=True):
            features.append({"distance_m": round(float(d), 1),
                             "attributes": {str(k): _jsonable(v) for k, v in row.items()}})
        found[source.name] = {"dataset": source.dataset_name, "kind": source.kind,
                              "features": features, "more": int(keep.sum()) > MAX_FEATURES}
    return {"lat": lat, "lon": lon, "radius_m": radius_m, "layers": found}
