"""Which catalogue resources are twin layers, and reading them back as ``Layer`` objects.

A layer is a resource with the ``twin_layer`` extra (written by ``ingest_file``): one
immutable GeoParquet (vectors, tables) or GeoTIFF (rasters) in the content-addressed
store. Only public, active datasets feed the shared twin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import select

from vntwin.catalog.models import Package, Resource
from vntwin.catalog.service import Catalog
from vntwin.twin.layer import Layer


@dataclass(frozen=True)
class LayerSource:
    """A twin layer as stored in the catalogue."""

    name: str
    dataset_id: str
    dataset_name: str
    resource_id: str
    sha256: str
    kind: str
    place_column: str | None
    extras: dict[str, Any]


def layer_sources(cat: Catalog, datasets: Collection[str] | None = None) -> list[LayerSource]:
    """Every twin layer of the public, active datasets, in a stable order; only those of
    the datasets named in ``datasets`` when given (one collection's lookup, per request,
    reads its dataset's rows instead of the whole catalogue's).
    """
    query = (select(Package.id, Package.name, Package.extras, Resource.id, Resource.hash,
                    Resource.extras)
             .join(Resource, Resource.package_id == Package.id)
             .where(Package.state == "active", Package.access_level == "public",
                    Resource.state == "active", Resource.url_type == "upload"))
    if datasets is not None:
        query = query.where(Package.name.in_(list(datasets)))
    with cat.read() as session:
        rows = session.execute(query.order_by(Package.name, Resource.position))
        out = []
        for pid, pname, pextras, rid, sha, rextras in rows:
            layer = (rextras or {}).get("twin_layer")
            if not layer:
                continue
            out.append(LayerSource(
                name=f"{pname}--{layer}" if layer != pname else pname, dataset_id=pid,
                dataset_name=pname, resource_id=rid, sha256=sha,
                kind=str(rextras.get("twin_kind")), place_column=rextras.get("twin_place_column"),
                extras={**(pextras or {}), **(rextras or {})}))
        return out


def fingerprint(source: LayerSource, res: int) -> str:
    """What a fused layer depends on: the file, the resolution and the fusion options."""
    options = {k: v for k, v in sorted(source.extras.items()) if k.startswith("twin_")}
    text = json.dumps([source.sha256, res, options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _is_wgs84(crs: Any) -> bool:
    if crs is None:  # GeoParquet's default: OGC:CRS84
        return True
    ident = crs.get("id", {}) if isinstance(crs, dict) else {}
    return (ident.get("authority"), ident.get("code")) in (("EPSG", 4326), ("OGC", "CRS84"))


def read_point_coords(path: Any) -> Layer | None:
    """A Point-only GeoParquet in EPSG:4326 with the GeoParquet 1.1 ``bbox`` covering
    column (what ingest writes) as attributes and coordinate arrays, the geometries never
    decoded: a point's box is the point. None for any other file.
    """
    footer = pq.read_metadata(path)
    geo = json.loads((footer.metadata or {}).get(b"geo", b"{}"))
    primary = geo.get("primary_column", "geometry")
    meta = geo.get("columns", {}).get(primary, {})
    covering = meta.get("covering", {}).get("bbox")
    if meta.get("geometry_types") != ["Point"] or not covering or not _is_wgs84(
            meta.get("crs")):
        return None
    names = [n for n in pq.read_schema(path).names if n != primary]
    table = pq.read_table(path, columns=names)
    box = table.column(covering["xmin"][0]).combine_chunks()
    lon, lat = (np.asarray(box.field(covering[k][1]).to_numpy(zero_copy_only=False),
                           dtype=np.float64) for k in ("xmin", "ymin"))
    if box.null_count:  # a missing geometry has a missing box
        missing = box.is_null().to_numpy(zero_copy_only=False)
        lon, lat = np.where(missing, np.nan, lon), np.where(missing, np.nan, lat)
    frame = table.drop_columns([covering["xmin"][0]]).to_pandas()
    return Layer(name="", kind="point", frame=frame, coords=(lon, lat))


def read_layer(cat: Catalog, source: LayerSource, *, for_fusion: bool = False) -> Layer:
    """The stored file as a Layer, ready for fusion. ``for_fusion`` reads a point layer
    as coordinates when it can (:func:`read_point_coords`), about twice as fast.
    """
    return read_layer_file(cat.uploads.path_for(source.sha256), source,
                           for_fusion=for_fusion)


def read_layer_file(path: Any, source: LayerSource, *, for_fusion: bool = False) -> Layer:
    """:func:`read_layer` given the file's path: what a fusion worker process, which has
    no catalogue of its own, reads.
    """
    if for_fusion and source.kind == "point":
        points = read_point_coords(path)
        if points is not None:
            points.name = source.name
            return points
    if source.kind == "raster":
        return Layer(name=source.name, kind="raster", raster_path=path)
    if source.kind == "table":
        frame = pd.read_parquet(path)
        return Layer(name=source.name, kind="table", frame=frame,
                     place_column=source.place_column)
    frame = gpd.read_parquet(path)
    return Layer(name=source.name, kind=source.kind, frame=frame)  # type: ignore[arg-type]
