"""Resource formats: what a file name's extension says, and which formats are tables."""

from __future__ import annotations

from pathlib import PurePosixPath

EXTENSION_FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".xlsx": "XLSX", ".parquet": "PARQUET",
    ".geojson": "GEOJSON", ".json": "JSON", ".gpkg": "GPKG", ".zip": "ZIP",
    ".tif": "GeoTIFF", ".tiff": "GeoTIFF", ".pdf": "PDF", ".ttl": "TTL",
    ".jsonld": "JSON-LD", ".xml": "XML", ".txt": "TXT",
}
DATASTORE_FORMATS = {"CSV", "TSV", "XLSX", "PARQUET", "GEOJSON"}


def format_for_name(name: str) -> str:
    """The format a file name or URL path suggests, or "" when it says nothing."""
    suffix = PurePosixPath(name.split("?", 1)[0].split("#", 1)[0]).suffix.lower()
    return EXTENSION_FORMATS.get(suffix, "")
