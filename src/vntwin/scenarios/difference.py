"""The difference layer of a scenario: one hexagon per changed cell, for the map.

Columns are the per-cell differences (scenario − base) of each indicator's cell values
(people within reach, distance, people covered or exposed...) and of each edited
variable. Stored as GeoParquet; served as GeoJSON by the API (a bbox at a time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from vntwin.twin.grid import cell_polygons, to_strings


def to_frame(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    """The changed cells as hexagons (EPSG:4326) with the H3 id as text."""
    geometry = cell_polygons(cells["h3"].to_numpy()) if len(cells) else gpd.GeoSeries(
        [], crs="EPSG:4326")
    frame = cells.drop(columns=["h3"]).copy()
    frame.insert(0, "h3", to_strings(cells["h3"].to_numpy()) if len(cells) else [])
    return gpd.GeoDataFrame(frame, geometry=geometry.values, crs="EPSG:4326")


def write(cells: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """Write the layer as GeoParquet into ``folder``; the API serves it as GeoJSON
    (``/scenarios/results/{dataset}/difference.geojson``, with a bbox filter).
    """
    frame = to_frame(cells)
    parquet = folder / "difference.parquet"
    frame.to_parquet(parquet, index=False)
    return {"cells": len(frame), "parquet": parquet}


def read_geojson(path: Path, bbox: tuple[float, float, float, float] | None = None,
                 limit: int = 10_000) -> dict[str, Any]:
    """A stored difference layer (GeoParquet) as a GeoJSON FeatureCollection, optionally
    inside a bounding box; ``numberMatched`` tells how many cells there are in all.
    """
    frame = gpd.read_parquet(path)
    if bbox is not None:
        frame = frame.cx[bbox[0]:bbox[2], bbox[1]:bbox[3]]
    matched = len(frame)
    body = json.loads(frame.head(limit).to_json(na="null", drop_id=True))
    return {"type": "FeatureCollection", "features": body["features"],
            "numberMatched": matched, "numberReturned": min(matched, limit)}
