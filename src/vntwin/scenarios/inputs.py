"""Points a scenario reads from the catalogue: existing facilities and candidate sites.

Facilities and candidates may come from a fused point layer of the twin (its stored
GeoParquet) or from a dataset's resource (read with the ingest readers, so every format
``vntwin ingest`` accepts works). They are read once, in the process that validates the
specs; the content hash of every file read becomes part of the result's lineage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from vntwin.catalog import packages
from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.errors import NotAuthorized, NotFound, VntwinError
from vntwin.twin.layers import LayerSource, layer_sources

FACILITY_COLUMNS = ["id", "type", "lat", "lon", "capacity", "radius_km", "name", "origin"]


class InputError(VntwinError):
    """A layer, dataset or column a spec names cannot be used."""


@dataclass(frozen=True)
class PointTable:
    """Points read from the catalogue with the hash of the file they came from."""

    frame: gpd.GeoDataFrame
    sha256: str
    label: str


def empty_facilities() -> pd.DataFrame:
    """A facility table with no rows (the columns every edit and indicator expects)."""
    return pd.DataFrame({"id": pd.Series(dtype=str), "type": pd.Series(dtype=str),
                         "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float),
                         "capacity": pd.Series(dtype=float),
                         "radius_km": pd.Series(dtype=float), "name": pd.Series(dtype=str),
                         "origin": pd.Series(dtype=str)})


class PointReader:
    """Reads point layers and dataset resources for one batch (each file once)."""

    def __init__(self, cat: Catalog, actor: Actor) -> None:
        self.cat = cat
        self.actor = actor
        self._sources: dict[str, LayerSource] | None = None
        self._cache: dict[str, PointTable] = {}

    def _layers(self) -> dict[str, LayerSource]:
        if self._sources is None:
            self._sources = {s.name: s for s in layer_sources(self.cat)}
        return self._sources

    def layer(self, name: str) -> PointTable:
        """A twin layer's points, by layer name (or dataset name, if it has one layer)."""
        key = f"layer:{name}"
        if key in self._cache:
            return self._cache[key]
        sources = self._layers()
        source = sources.get(name)
        if source is None:
            same = [s for s in sources.values() if s.dataset_name == name]
            source = same[0] if len(same) == 1 else None
        if source is None:
            known = ", ".join(sorted(sources)) or "none"
            raise InputError(f"no twin layer {name!r} (layers: {known})")
        if source.kind != "point":
            raise InputError(f"layer {name!r} holds {source.kind}s, not points")
        frame = gpd.read_parquet(self.cat.uploads.path_for(source.sha256))
        table = PointTable(_points_only(frame, name), source.sha256, source.name)
        self._cache[key] = table
        return table

    def dataset(self, name: str, resource: str | None) -> PointTable:
        """A dataset resource's points (any format ``vntwin ingest`` reads)."""
        from vntwin.ingest.read import read_layers

        key = f"dataset:{name}:{resource}"
        if key in self._cache:
            return self._cache[key]
        try:
            pkg = packages.show(self.cat, self.actor, name)
        except (NotFound, NotAuthorized):
            raise InputError(f"no dataset {name!r} that you may read") from None
        files = [r for r in pkg["resources"] if r.get("url_type") == "upload" and r.get("hash")]
        if resource:
            files = [r for r in files if resource in (r["id"], r.get("name"))]
        if not files:
            raise InputError(f"dataset {name!r} has no uploaded file"
                             + (f" named {resource!r}" if resource else ""))
        chosen = files[0]
        path = self.cat.uploads.path_for(chosen["hash"].removeprefix("sha256:"))
        layers = read_layers(path, filename=chosen.get("filename") or chosen.get("name"))
        points = [lay for lay in layers if lay.kind == "point" and lay.frame is not None]
        if not points:
            raise InputError(f"resource {chosen.get('name')!r} of {name!r} has no points")
        frame = points[0].frame
        assert frame is not None
        table = PointTable(_points_only(gpd.GeoDataFrame(frame), name),
                           chosen["hash"].removeprefix("sha256:"), f"{name}/{chosen['name']}")
        self._cache[key] = table
        return table


def _points_only(frame: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geom = frame.geometry
    if not (geom.geom_type == "Point").all():
        raise InputError(f"{label!r} has geometries other than points")
    out = frame.copy()
    out["__lat"] = geom.y.to_numpy()
    out["__lon"] = geom.x.to_numpy()
    return out


def filter_rows(frame: pd.DataFrame, where: dict[str, Any] | None, label: str) -> pd.DataFrame:
    """Rows whose columns equal the given values (compared as text, so codes match
    whether stored as numbers or strings).
    """
    if not where:
        return frame
    keep = np.ones(len(frame), dtype=bool)
    for column, wanted in where.items():
        if column not in frame.columns:
            raise InputError(f"{label!r} has no column {column!r} (columns: "
                             f"{', '.join(c for c in frame.columns if not c.startswith('__'))})")
        values = wanted if isinstance(wanted, list) else [wanted]
        texts = {_text(v) for v in values}
        keep &= frame[column].map(_text).isin(texts).to_numpy()
    return frame[keep]


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def column(frame: pd.DataFrame, name: str | None, label: str) -> pd.Series | None:
    """A named column, or an error listing the columns there are."""
    if name is None:
        return None
    if name not in frame.columns:
        raise InputError(f"{label!r} has no column {name!r} (columns: "
                         f"{', '.join(c for c in frame.columns if not c.startswith('__'))})")
    return frame[name]
