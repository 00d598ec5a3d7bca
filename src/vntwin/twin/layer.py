"""The one type that moves between ingest, fusion and the twin store: a layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

LayerKind = Literal["point", "line", "polygon", "raster", "table"]


@dataclass
class Layer:
    """One layer read from a file, normalised: vectors as a GeoDataFrame in EPSG:4326,
    rasters as a path to a GeoTIFF in its own CRS (``ingest.readers.geotiff`` says why),
    tables (place-coded rows, no geometry)
    as a DataFrame with ``place_column`` naming the column holding unit codes or names.

    ``report`` lists what ingest changed (reprojection, repaired geometries, encoding) so
    the dataset page can show it.
    """

    name: str
    kind: LayerKind
    frame: Any = None  # geopandas.GeoDataFrame (vectors) or pandas.DataFrame (tables)
    raster_path: Path | None = None
    place_column: str | None = None
    source_crs: str | None = None
    encoding: str | None = None
    report: list[str] = field(default_factory=list)
    schema: list[dict[str, str]] = field(default_factory=list)
    # a point layer read for fusion as coordinates: ``frame`` holds the attributes only
    # and ``coords`` the (longitude, latitude) arrays, NaN for a missing point
    coords: tuple[Any, Any] | None = None
