"""Hostile uploads fail safely: limits, zip checks, GDAL's reach kept inside the upload.

GDAL can open far more than the formats we accept: a VRT or an OGR VRT is XML that points
at any local file (``/etc/passwd``) or URL, ``/vsicurl/`` fetches from the network, a
GeoPackage is an SQLite database that may declare virtual tables reading other files, and
a zip can hold ``../`` paths, symlinks or a few KB that expand to gigabytes. So:

- every name is checked for GDAL virtual paths and URLs before anything opens it;
- the upload is staged under a fixed, plain name in a private temporary directory, so
  GDAL's sibling-file probing (.aux.xml, .ovr, .prj...) finds only what we put there;
- each reader opens its file with one driver of ``ALLOWED_DRIVERS``, named explicitly
  (GDAL's ``GeoJSON:``/``GPKG:`` prefixes, rasterio's ``driver=``), after the content's
  magic bytes said it is that format (``content_kind`` refuses VRT/XML up front);
- GDAL runs with the configuration in ``GDAL_SANDBOX`` (no directory listing, no network,
  no PAM side files, no external access from SQLite);
- zips are checked entry by entry before one byte is extracted, then extracted with the
  byte counts enforced as they are written (headers can lie);
- GeoPackages are inspected with Python's sqlite3 (read-only, immutable, untrusted schema)
  before GDAL sees them;
- CRS definitions GDAL would hand to PROJ (a GeoPackage's ``gpkg_spatial_ref_sys``, a
  GeoJSON "crs" member) are checked first: PROJ opens any grid or init file a CRS names,
  anywhere on the server (``crs.refuse_files``); a Shapefile's .prj is read by vntwin
  and never shown to GDAL.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import shutil
import sqlite3
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, ClassVar

import pyogrio
import rasterio

from vntwin.ingest.crs import definition_names_file
from vntwin.ingest.problems import Where, invalid, too_large

ALLOWED_DRIVERS = frozenset({"GeoJSON", "GPKG", "ESRI Shapefile", "GTiff"})
"""The only GDAL drivers that read uploads. CSV and GeoParquet do not go through GDAL."""

GDAL_SANDBOX: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".vntwin-no-network",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "vntwin-no-network",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "GDAL_PAM_ENABLED": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_LIST_VIRTUAL_OGR": "NO",
    "PROJ_NETWORK": "OFF",
}
"""GDAL configuration while an upload is open: nothing outside the upload is opened."""

_VIRTUAL = re.compile(r"/vsi[a-z0-9_]*(/|$)|^[a-z][a-z0-9+.-]+:/|^[A-Za-z_ ]+:(?![\\/])", re.I)
_ZIP_SUFFIXES = frozenset({".shp", ".shx", ".dbf", ".prj", ".cpg"})
_GPKG_IDS = frozenset({0x47504B47, 0x47503130, 0x47503131})  # "GPKG", "GP10", "GP11"
_EXTERNAL = r"\battach\b|load_extension|virtualogr|/vsi|\bfile:|readfile|writefile"
_GPKG_SUSPECT = re.compile(
    _EXTERNAL + r"|https?:|ftp:|ogr_geocode|fts[345]|\bgenerated\s+always|\bas\s*\(", re.I
)
_EXTENSION_SUSPECT = re.compile(_EXTERNAL, re.I)  # extension definitions are URLs: fine
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_ZIP_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError,
               zlib.error, lzma.LZMAError, ValueError)
"""What zipfile and its decompressors raise on damaged bytes (and bz2 raises OSError,
caught only around reads: writing, it would be a full disk)."""


@dataclass(frozen=True)
class Limits:
    """Size limits for one upload; breaking one raises ``TooLarge``.

    ``max_compression_ratio`` applies to zip entries larger than ``ratio_floor_bytes``
    (DBF files of blank-padded text compress 50-200x; a zip bomb over 1,000x).
    """

    max_file_bytes: int = 1 << 30
    max_zip_entries: int = 200
    max_expanded_bytes: int = 2 << 30
    max_compression_ratio: float = 250.0
    ratio_floor_bytes: int = 1 << 20
    max_layers: int = 100
    max_features: int = 5_000_000
    max_raster_pixels: int = 400_000_000


def check_name(name: str, where: Where) -> None:
    """Refuse names GDAL would read as virtual paths, URLs or driver prefixes."""
    if "\x00" in name or _VIRTUAL.search(name.replace("\\", "/")):
        raise invalid(where, "GDAL virtual paths, URLs and driver prefixes are not accepted "
                             "as file names; upload the file itself")


def check_upload(path: Path, where: Where, limits: Limits) -> int:
    """The upload must be a regular, non-empty file within the size limit; its size.

    Only the start of the path can make GDAL read it as a virtual file system or URL (and
    GDAL never sees this path: it opens the staged copy), so a directory that happens to
    be called ``/data/vsi/`` is fine; an uploader's file name is checked whole instead.
    """
    if "\x00" in str(path) or _VIRTUAL.match(str(path)):
        raise invalid(where, "GDAL virtual paths and URLs are not accepted; upload the file "
                             "itself")
    try:
        info = path.stat()
    except OSError:
        raise invalid(where, "the file does not exist or cannot be read") from None
    if not stat.S_ISREG(info.st_mode):
        raise invalid(where, "not a regular file")
    if info.st_size == 0:
        raise invalid(where, "the file is empty")
    if info.st_size > limits.max_file_bytes:
        raise too_large(where, f"the file is {info.st_size:,} bytes; the limit is "
                               f"{limits.max_file_bytes:,}")
    return info.st_size


def refuse_gdal_xml(head: bytes, where: Where) -> None:
    """VRT and OGR VRT files are XML pointing at other files: never accepted."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<vrtdataset", b"<ogrvrtdatasource")):
        raise invalid(where, "the file is a GDAL VRT (XML that points at other files or "
                             "URLs); VRT files are not accepted")
    if text.startswith(b"<"):
        raise invalid(where, "XML files are not accepted; upload CSV, GeoJSON, GeoPackage, "
                             "a zipped Shapefile, GeoParquet or GeoTIFF")


def is_tiff(head: bytes) -> bool:
    """Whether ``head`` starts like a TIFF or BigTIFF file."""
    return head.startswith(_TIFF_MAGIC)


def stage(path: Path, directory: Path, name: str) -> Path:
    """Put the upload at ``directory/name`` (a hard link, else a copy) for GDAL to open.

    The fixed name keeps prefixes and odd characters out of what GDAL parses, and the
    private directory holds nothing GDAL could pick up as a side file.
    """
    target = directory / name
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)
    return target


class _SandboxState:
    """Who holds the sandbox, and the options to put back when the last one leaves."""

    lock: ClassVar[threading.Lock] = threading.Lock()
    holders: ClassVar[int] = 0
    saved: ClassVar[dict[str, str | None]] = {}


@contextmanager
def gdal_sandbox() -> Iterator[None]:
    """GDAL_SANDBOX applied to both GDAL copies (pyogrio's and rasterio's), then restored.

    pyogrio's options are process-wide, and API uploads are read in a thread pool, so the
    sandbox is reference-counted under a lock: the first reader in saves the options and
    applies the sandbox, the last one out restores them. (Saving and restoring per block
    let an early leaver switch the sandbox off under a reader still inside, and a late one
    "restore" the sandbox for good.) rasterio's ``Env`` is per thread already. Other GDAL
    work in the process runs sandboxed while any upload is being read.
    """
    state = _SandboxState
    with state.lock:
        if state.holders == 0:
            state.saved = {key: pyogrio.get_gdal_config_option(key) for key in GDAL_SANDBOX}
            pyogrio.set_gdal_config_options(dict(GDAL_SANDBOX))
        state.holders += 1
    try:
        with rasterio.Env(**GDAL_SANDBOX):
            yield
    finally:
        with state.lock:
            state.holders -= 1
            if state.holders == 0:
                pyogrio.set_gdal_config_options(state.saved)


def check_driver(opened: str, expected: str, where: Where) -> None:
    """After GDAL opened a file, it must have used the driver we asked for."""
    if opened != expected or opened not in ALLOWED_DRIVERS:
        raise invalid(where, f"GDAL read the file as {opened}, not {expected}; refused")


def extract_zip(path: Path, dest: Path, where: Where, limits: Limits) -> list[Path]:
    """Extract a zipped Shapefile's parts (.shp .shx .dbf .prj .cpg) into ``dest``.

    Every entry is checked before anything is written: no absolute or ``..`` paths, no
    symlinks, no encryption, no duplicate names, entry count, expanded size and
    compression ratio within ``limits``. Other entries (.xml, .sbn...) are skipped.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            wanted = _check_entries(infos, where, limits)
            return [_extract(archive, info, dest, where, limits) for info in wanted]
    except _ZIP_DAMAGE as err:
        raise invalid(where, f"the zip archive is damaged or truncated ({err})") from None


def _check_entries(infos: list[zipfile.ZipInfo], where: Where,
                   limits: Limits) -> list[zipfile.ZipInfo]:
    if len(infos) > limits.max_zip_entries:
        raise too_large(where, f"the zip holds {len(infos):,} entries; the limit is "
                               f"{limits.max_zip_entries:,}")
    total, seen, wanted = 0, set(), []
    for info in infos:
        name = info.filename
        entry = where.at_layer(name)
        _check_entry_name(name, entry)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise invalid(entry, "the zip entry is a symbolic link; refused")
        if info.flag_bits & 0x1:
            raise invalid(entry, "the zip entry is encrypted; refused")
        if name.lower() in seen:
            raise invalid(entry, "two zip entries have the same name; refused")
        seen.add(name.lower())
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
            raise too_large(entry, f"compression ratio {ratio:,.0f}:1 is over the limit of "
                                   f"{limits.max_compression_ratio:,.0f}:1 (a zip bomb?)")
        if not info.is_dir() and PurePosixPath(name).suffix.lower() in _ZIP_SUFFIXES:
            wanted.append(info)
    if total > limits.max_expanded_bytes:
        raise too_large(where, f"the zip expands to {total:,} bytes; the limit is "
                               f"{limits.max_expanded_bytes:,}")
    return wanted


def _check_entry_name(name: str, where: Where) -> None:
    unified = name.replace("\\", "/")
    parts = unified.split("/")
    if (unified.startswith("/") or re.match(r"^[A-Za-z]:", unified) or ".." in parts
            or "\x00" in name):
        raise invalid(where, "the zip entry's path is absolute or climbs out with '..'; "
                             "refused")
    check_name(name, where)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, where: Where,
             limits: Limits) -> Path:
    """Write one checked entry, counting bytes: a lying header cannot make it bigger."""
    parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
    target = dest.joinpath(*parts)
    if dest.resolve() not in target.resolve().parents:
        raise invalid(where.at_layer(info.filename), "the zip entry escapes the archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    budget = min(info.file_size, limits.max_expanded_bytes)
    written = 0
    entry = where.at_layer(info.filename)
    try:
        source = archive.open(info)
    except (*_ZIP_DAMAGE, OSError) as err:  # OSError: a header offset before the file start
        raise invalid(entry, f"the zip entry is damaged ({err})") from None
    with source, target.open("xb") as out:
        while chunk := _read_entry(source, entry):
            written += len(chunk)
            if written > budget:
                raise too_large(entry, "the entry expands beyond its declared size; refused")
            out.write(chunk)
    return target


def _read_entry(source: IO[bytes], entry: Where) -> bytes:
    """The next MiB of a zip entry; its damage (a bad CRC, undecodable deflate, bzip2 or
    LZMA data, which bz2 reports as OSError) as a ValidationError naming the entry.
    """
    try:
        return source.read(1 << 20)
    except (*_ZIP_DAMAGE, OSError) as err:
        raise invalid(entry, f"the zip entry is damaged ({err})") from None


def check_geopackage(path: Path, where: Where) -> None:
    """Refuse GeoPackages whose schema could make GDAL read other files or run code.

    Only plain tables, indexes, triggers and ``rtree`` virtual tables (the spatial index)
    are accepted; views and any other virtual table (``VirtualOGR`` opens any file GDAL
    can read) are refused, as is schema SQL that mentions attaching databases, loading
    extensions, virtual paths, URLs or generated columns.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise invalid(where, f"the GeoPackage cannot be opened ({error})") from None
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        if app_id not in _GPKG_IDS:
            raise invalid(where, "an SQLite database that is not a GeoPackage; refused")
        rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        _check_schema(rows, where)
        _check_gpkg_tables(con, where)
        _check_gpkg_crs(con, where)
    except sqlite3.DatabaseError as error:
        raise invalid(where, f"the GeoPackage is damaged or truncated ({error})") from None
    finally:
        con.close()


def _check_schema(rows: list[tuple[Any, ...]], where: Where) -> None:
    for kind, name, sql in rows:
        text = sql or ""
        if kind == "view":
            raise invalid(where, f"the GeoPackage defines the SQL view {name!r}; views are "
                                 "not accepted (they can run SQL functions)")
        if kind == "table" and text.lstrip().upper().startswith("CREATE VIRTUAL TABLE"):
            if not re.search(r"\busing\s+rtree\s*\(", text, re.I):
                raise invalid(where, f"the GeoPackage declares the virtual table {name!r}, "
                                     "which may read other files; refused")
            continue
        if _GPKG_SUSPECT.search(text):
            raise invalid(where, f"the GeoPackage's definition of {name!r} refers to other "
                                 "databases, files, URLs or computed columns; refused")


def _check_gpkg_tables(con: sqlite3.Connection, where: Where) -> None:
    """gpkg_contents and gpkg_extensions may name only real tables and plain definitions."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "gpkg_contents" not in tables:
        raise invalid(where, "the GeoPackage has no gpkg_contents table; damaged")
    for (name,) in con.execute("SELECT table_name FROM gpkg_contents"):
        if name not in tables:
            raise invalid(where, f"gpkg_contents lists {name!r}, which is not a table")
    if "gpkg_extensions" in tables:
        for row in con.execute("SELECT * FROM gpkg_extensions"):
            if any(isinstance(v, str) and _EXTENSION_SUSPECT.search(v) for v in row):
                raise invalid(where, "gpkg_extensions refers to other databases, files or "
                                     "URLs; refused")


def _check_gpkg_crs(con: sqlite3.Connection, where: Where) -> None:
    """No definition in gpkg_spatial_ref_sys may name a file (GDAL hands them to PROJ)."""
    for row in con.execute("SELECT * FROM gpkg_spatial_ref_sys"):
        for value in row:
            found = definition_names_file(value) if isinstance(value, str) else None
            if found is not None:
                raise invalid(where, f"a CRS in gpkg_spatial_ref_sys refers to a file "
                                     f"({found[:120]}); CRSs that name grid, init or other "
                                     "files are not accepted (PROJ would open them on the "
                                     "server)")


_CRS_KEY = re.compile(rb'"(?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)"', re.I)
_CRS_KEY_MAX = 20  # a quote, c r s each escaped as \u00XX, a quote
_CRS_MEMBER_MAX = 1 << 16
_JSON_SPACE = " \t\r\n"


def check_geojson_crs(path: Path, where: Where) -> None:
    r"""Check every "crs" member of a GeoJSON file before GDAL reads it.

    GDAL honours the legacy "crs" member (RFC 7946 dropped it) of the file and of each
    geometry, case-insensitively, passing its name to PROJ (which opens any grid or init
    file it names) or fetching its "link". Members are found in the raw bytes, escaped
    spellings (``"\u0063rs"``) included, and decoded with every duplicate key kept; a
    "link"/"url" CRS or one naming a file is refused. EPSG codes, URNs and plain WKT are
    fine (QGIS writes ``urn:ogc:def:crs:EPSG::3405``).
    """
    with path.open("rb") as file:
        offset, tail = 0, b""
        while chunk := file.read(1 << 20):
            block = tail + chunk
            for match in _CRS_KEY.finditer(block):
                after = block[match.end():match.end() + 256].lstrip(_JSON_SPACE.encode())
                if after and not after.startswith(b":"):
                    continue  # "crs" as a value, not a key: no need to look further
                _check_crs_member(path, offset - len(tail) + match.end(), where)
            tail = block[-(_CRS_KEY_MAX - 1):]
            offset += len(chunk)


def _check_crs_member(path: Path, start: int, where: Where) -> None:
    """The value after a "crs" key at byte ``start`` (if it is a key: a colon follows)."""
    with path.open("rb") as file:
        file.seek(start)
        raw = file.read(_CRS_MEMBER_MAX)
    text = raw.decode("utf-8", errors="replace")
    body = text.lstrip(_JSON_SPACE)
    if not body.startswith(":"):
        return  # "crs" as a value, not a key
    value_at = len(text) - len(body[1:].lstrip(_JSON_SPACE))
    decoder = json.JSONDecoder(object_pairs_hook=list)
    try:
        value, _ = decoder.raw_decode(text, value_at)
    except json.JSONDecodeError:
        raise invalid(where, "a \"crs\" member is not valid JSON or is over "
                             f"{_CRS_MEMBER_MAX:,} bytes; refused") from None
    for item in _json_strings(value):
        if item.strip().lower().startswith(("url", "link", "href")):
            raise invalid(where, "a \"crs\" member links to a CRS elsewhere (GDAL would "
                                 "fetch it); give the EPSG code instead")
        found = definition_names_file(item)
        if found is not None:
            raise invalid(where, f"a \"crs\" member refers to a file ({found[:120]}); CRSs "
                                 "that name grid, init or other files are not accepted "
                                 "(PROJ would open them on the server)")


def _json_strings(node: object) -> Iterator[str]:
    """Every string in decoded JSON, keys included (objects are lists of pairs here)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list | tuple):
        for child in node:
            yield from _json_strings(child)
