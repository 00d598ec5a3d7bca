"""``read_layers``: any supported upload to normalised layers, or a ValidationError.

The steps, in order: check the name and size; refuse VRT/XML; recognise the format from
the content (a name that claims another format is refused: a GeoJSON named .csv is more
likely a mistake, or a trick, than something to guess around); stage the upload in a
private temporary directory; open it with its reader inside the GDAL sandbox. Errors
from the libraries become ValidationErrors naming the file; the private directory is
removed whatever happens.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePath

import pyogrio.errors
import rasterio.errors
from pyproj.exceptions import ProjError
from shapely.errors import GEOSException

from vntwin.ingest.crs import parse_crs
from vntwin.ingest.encoding import codec_name
from vntwin.ingest.problems import Where, invalid
from vntwin.ingest.readers import Source, by_content, by_suffix
from vntwin.ingest.safety import (
    Limits,
    check_name,
    check_upload,
    gdal_sandbox,
    refuse_gdal_xml,
    stage,
)
from vntwin.twin.layer import Layer

HEAD_BYTES = 1 << 16

_LIBRARY_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    rasterio.errors.RasterioError,
    rasterio.errors.CRSError,
    ProjError,  # CRSError too; and a transformation PROJ cannot build
    GEOSException,
    csv.Error,
    sqlite3.Error,
    zipfile.BadZipFile,
    zlib.error,
    UnicodeError,
)
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def read_layers(path: Path, *, filename: str | None = None, crs: str | None = None,
                encoding: str | None = None, limits: Limits | None = None,
                workdir: Path | None = None) -> list[Layer]:
    """Read every layer of an uploaded file, normalised to EPSG:4326.

    ``filename`` is the name the uploader gave (``path`` may be a temporary name): its
    suffix must agree with the content, and messages use it. ``crs`` overrides the file's
    CRS ("EPSG:3405"); ``encoding`` declares the text encoding of a CSV or DBF ("cp1258",
    "tcvn3"). Rasters are copied (in their CRS) into a temporary GeoTIFF in ``workdir`` (default:
    the system's temporary directory); ``write_layer`` moves it into place.

    Raises ValidationError naming the file, layer, row and reason, or TooLarge when the
    upload breaks ``limits``.

    >>> layers = read_layers(Path("communes.zip"), crs="EPSG:3405")  # doctest: +SKIP
    >>> layers[0].kind, layers[0].frame.crs.to_epsg()  # doctest: +SKIP
    ('polygon', 4326)
    """
    limits = limits or Limits()
    display = PurePath((filename or path.name).replace("\\", "/")).name or "upload"
    where = Where(display)
    check_name(filename or display, where)
    check_upload(path, where, limits)
    override = parse_crs(crs) if crs else None
    declared = codec_name(encoding) if encoding else None
    suffix = PurePath(display).suffix.lower()
    if suffix in _SHAPEFILE_PARTS:
        raise invalid(where, "upload a Shapefile as one .zip holding its .shp, .shx, .dbf, "
                             ".prj and .cpg files")
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    refuse_gdal_xml(head, where)
    reader = by_content(head)
    if reader is None:
        raise invalid(where, "not a format vntwin reads (CSV, GeoJSON, GeoPackage, zipped "
                             "Shapefile, GeoParquet, GeoTIFF)")
    named = by_suffix(suffix)
    if named is not None and named is not reader:
        raise invalid(where, f"the name says {named.label} ({suffix}) but the content is "
                             f"{reader.label}; rename the file or upload the right one")
    out_dir = Path(workdir) if workdir is not None else Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix="vntwin-ingest-") as private, gdal_sandbox():
        private_dir = Path(private)
        source = Source(path=stage(path, private_dir, reader.staged_name), where=where,
                        stem=PurePath(display).stem or "layer", private_dir=private_dir,
                        output_dir=out_dir, crs=override, encoding=declared, limits=limits)
        try:
            return reader().read(source)
        except _LIBRARY_ERRORS as error:
            message = str(error).replace(str(private_dir), "").strip() or type(error).__name__
            raise invalid(where, f"cannot be read as {reader.label}: {message[:300]}") from None
