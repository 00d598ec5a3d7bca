"""Ingest: read any supported upload into normalised layers, and write layer versions.

``read_layers`` turns a CSV, GeoJSON, GeoPackage, zipped Shapefile, GeoParquet or GeoTIFF
into ``Layer`` objects in EPSG:4326 with NFC text, checked geometries, a schema and a
report of what was changed; ``write_layer`` stores one as an immutable GeoParquet (or
GeoTIFF), atomically. Hostile files fail safely (``safety``); readers are a registry
(``readers``) that new formats join with ``@register``.
"""

from vntwin.ingest.read import read_layers
from vntwin.ingest.readers.base import Reader, Source, register
from vntwin.ingest.safety import ALLOWED_DRIVERS, Limits
from vntwin.ingest.write import write_layer

__all__ = ["ALLOWED_DRIVERS", "Limits", "Reader", "Source", "read_layers", "register",
           "write_layer"]
