"""Which catalogue resources are twin layers, and reading them back as ``Layer`` objects.

A layer is a resource with the ``twin_layer`` extra (written by ``ingest_file``): one
immutable GeoParquet (vectors, tables) or GeoTIFF (rasters) in the content-addressed
store. Only public, active datasets feed the shared twin.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
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


def layer_sources(cat: Catalog) -> list[LayerSource]:
    """Every twin layer of the public, active datasets, in a stable order."""
    with cat.read() as session:
        rows = session.execute(
            select(Package.id, Package.name, Package.extras, Resource.id, Resource.hash,
                   Resource.extras)
            .join(Resource, Resource.package_id == Package.id)
            .where(Package.state == "active", Package.access_level == "public",
                   Resource.state == "active", Resource.url_type == "upload")
            .order_by(Package.name, Resource.position))
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


def read_layer(cat: Catalog, source: LayerSource) -> Layer:
    """The stored file as a Layer, ready for fusion."""
    path = cat.uploads.path_for(source.sha256)
    if source.kind == "raster":
        return Layer(name=source.name, kind="raster", raster_path=path)
    if source.kind == "table":
        frame = pd.read_parquet(path)
        return Layer(name=source.name, kind="table", frame=frame,
                     place_column=source.place_column)
    frame = gpd.read_parquet(path)
    return Layer(name=source.name, kind=source.kind, frame=frame)  # type: ignore[arg-type]
