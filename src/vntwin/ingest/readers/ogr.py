"""GeoJSON, GeoPackage and zipped Shapefiles, read through GDAL (pyogrio).

Each reader names its GDAL driver explicitly: GeoJSON and GeoPackage with GDAL's
``GeoJSON:``/``GPKG:`` prefixes (GDAL then tries no other driver), Shapefiles after their
parts were extracted from the zip by ``safety.extract_zip`` and the .shp's magic number
checked; every opened dataset's driver is checked against the allow-list afterwards.
GeoPackages are inspected by ``safety.check_geopackage`` before GDAL opens them.
"""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
import pyogrio

from vntwin.ingest import normalise, tables
from vntwin.ingest.crs import parse_prj
from vntwin.ingest.dbf import decode_dbf_text
from vntwin.ingest.encoding import (
    Decoded,
    codec_name,
    decode,
    transcode_to_utf8,
    utf16_codec,
)
from vntwin.ingest.problems import Where, invalid, too_large
from vntwin.ingest.readers.base import Reader, Source, register
from vntwin.ingest.safety import (
    check_driver,
    check_geojson_crs,
    check_geopackage,
    extract_zip,
)
from vntwin.twin.layer import Layer

_SHP_MAGIC = b"\x00\x00\x27\x0a"
_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def read_ogr(dataset: str, layer: str | None, driver: str, where: Where, source: Source,
             encoding: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One layer's frame (GeoDataFrame, or DataFrame without geometry) and GDAL's info."""
    info = pyogrio.read_info(dataset, layer=layer, encoding=encoding)
    check_driver(str(info["driver"]), driver, where)
    if int(info["features"]) > source.limits.max_features:
        raise too_large(where, f"{int(info['features']):,} features; the limit is "
                               f"{source.limits.max_features:,}")
    frame = pyogrio.read_dataframe(dataset, layer=layer, on_invalid="ignore", use_arrow=False,
                                   encoding=encoding)
    for name, ogr_type in zip(info["fields"], info["ogr_types"], strict=False):
        if ogr_type == "OFTDate" and name in frame.columns:
            frame[name] = frame[name].map(_to_date).astype(object)
    return frame, info


def _to_date(value: Any) -> dt.date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def finish(frame: pd.DataFrame, name: str, where: Where, source: Source,
           encoding: str | None = None, report: list[str] | None = None,
           file_crs: Any = None) -> list[Layer]:
    """Vector layers, or (no geometry column) points/table via ``tables.classify``."""
    if isinstance(frame, gpd.GeoDataFrame):
        crs = file_crs if file_crs is not None else frame.crs
        return normalise.vector_layers(frame, name=name, where=where, file_crs=crs,
                                       override=source.crs, encoding=encoding, report=report)
    found = tables.classify(frame, where, source.crs)
    report = [*(report or []), *found.report]
    if found.kind == "table":
        assert found.place_column is not None
        return [normalise.table_layer(found.frame, name=name, where=where, report=report,
                                      place_column=found.place_column, encoding=encoding)]
    points = cast(gpd.GeoDataFrame, found.frame)
    return normalise.vector_layers(points, name=name, where=where,
                                   file_crs=found.crs, override=source.crs, encoding=encoding,
                                   report=report, reasons=found.missing)


@register
class GeoJsonReader(Reader):
    """GeoJSON (RFC 7946; a legacy "crs" member is honoured by GDAL)."""

    label = "GeoJSON"
    suffixes = (".geojson", ".json")
    staged_name = "upload.geojson"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """A JSON object, in UTF-8 or (Windows "Unicode" exports) UTF-16."""
        codec = utf16_codec(head)
        if codec is not None:
            head = head[: len(head) // 2 * 2].decode(codec, errors="ignore").encode()
        return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")

    def read(self, source: Source) -> list[Layer]:
        """The file's one layer (split by geometry kind when mixed).

        GDAL reads GeoJSON as UTF-8 only (as RFC 7946 asks), so a UTF-16 file, or one
        written in Windows-1258 or TCVN3 by an older GIS tool, is first copied as UTF-8
        into the private directory, and the "crs" members are checked in that copy.
        """
        where = source.where.at_layer(source.stem)
        path, report = source.path, []
        with path.open("rb") as file:
            codec = utf16_codec(file.read(4096))
        legacy = _legacy_text(path, where) if codec is None else None
        if legacy is not None:
            path = source.private_dir / "upload-utf8.geojson"
            path.write_text(legacy.text, encoding="utf-8")
            report.append(f"text encoding {legacy.encoding} (detected)")
        elif codec is not None:
            path = source.private_dir / "upload-utf8.geojson"
            transcode_to_utf8(source.path, path, codec, where)
            report.append(f"text encoding {codec} (detected)")
        check_geojson_crs(path, where)
        frame, _ = read_ogr(f"GeoJSON:{path}", None, "GeoJSON", where, source)
        return finish(frame, source.stem, where, source, report=report)


def _legacy_text(path: Path, where: Where) -> Decoded | None:
    """None for UTF-8 text, else the text decoded from the Vietnamese legacy encoding it
    is in (``decode`` raises an error naming the file when none fits).
    """
    checker = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as file:  # a MiB at a time: most files are UTF-8, and large
        try:
            while chunk := file.read(1 << 20):
                checker.decode(chunk)
            checker.decode(b"", final=True)
            return None
        except UnicodeDecodeError:
            pass
    return decode(path.read_bytes(), where)


@register
class GeoPackageReader(Reader):
    """OGC GeoPackage: every vector and attribute layer in it."""

    label = "GeoPackage"
    suffixes = (".gpkg",)
    staged_name = "upload.gpkg"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """An SQLite database (``check_geopackage`` then insists it is a GeoPackage)."""
        return head.startswith(b"SQLite format 3\x00")

    def read(self, source: Source) -> list[Layer]:
        """One layer per GeoPackage layer; empty ones are skipped and reported."""
        check_geopackage(source.path, source.where)
        dataset = f"GPKG:{source.path}"
        names = [str(row[0]) for row in pyogrio.list_layers(dataset)]
        if len(names) > source.limits.max_layers:
            raise too_large(source.where, f"{len(names)} layers; the limit is "
                                          f"{source.limits.max_layers}")
        layers: list[Layer] = []
        empty = []
        for name in names:
            where = source.where.at_layer(name)
            frame, _ = read_ogr(dataset, name, "GPKG", where, source)
            if len(frame) == 0:
                empty.append(name)
                continue
            layers += finish(frame, name, where, source)
        if not layers:
            raise invalid(source.where, "the GeoPackage has no layer with features")
        for layer in layers:
            layer.report += [f"empty layer {n!r} in the file was skipped" for n in empty]
        return layers


@register
class ShapefileZipReader(Reader):
    """Zipped Shapefiles: every .shp in the zip, with its .shx, .dbf, .prj and .cpg."""

    label = "zipped Shapefile"
    suffixes = (".zip",)
    staged_name = "upload.zip"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """A zip archive (local file header, or the end record of an empty one)."""
        return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))

    def read(self, source: Source) -> list[Layer]:
        """One layer per Shapefile in the archive."""
        unzipped = source.private_dir / "unzipped"
        unzipped.mkdir()
        files = extract_zip(source.path, unzipped, source.where, source.limits)
        shapefiles = sorted(p for p in files if p.suffix.lower() == ".shp")
        if not shapefiles:
            raise invalid(source.where, "the zip archive holds no Shapefile (.shp)")
        if len(shapefiles) > source.limits.max_layers:
            raise too_large(source.where, f"{len(shapefiles)} Shapefiles; the limit is "
                                          f"{source.limits.max_layers}")
        layers: list[Layer] = []
        for number, shp in enumerate(shapefiles):
            name = shp.stem
            where = source.where.at_layer(str(shp.relative_to(unzipped)))
            parts = _gather(shp, files, source.private_dir / f"layer{number}", where)
            layers += _read_shapefile(parts, name, where, source)
        return layers


def _gather(shp: Path, files: list[Path], folder: Path, where: Where) -> dict[str, Path]:
    """Move one Shapefile's parts to ``folder`` under plain lower-case names.

    The .prj goes under a name GDAL does not look for: vntwin parses it (``parse_prj``
    refuses one naming a grid or init file), and GDAL would hand it to PROJ first.
    """
    folder.mkdir()
    parts: dict[str, Path] = {}
    for path in files:
        suffix = path.suffix.lower()
        if path.parent == shp.parent and path.stem == shp.stem and suffix in _PARTS:
            name = "crs.wkt" if suffix == ".prj" else f"layer{suffix}"
            parts[suffix] = path.rename(folder / name)
    missing = [s for s in (".shx", ".dbf") if s not in parts]
    if missing:
        raise invalid(where, f"the Shapefile has no {' or '.join(missing)} file in the zip")
    with parts[".shp"].open("rb") as file:
        if file.read(4) != _SHP_MAGIC:
            raise invalid(where, "the .shp file is not a Shapefile (wrong header)")
    return parts


def _read_shapefile(parts: dict[str, Path], name: str, where: Where,
                    source: Source) -> list[Layer]:
    report = []
    file_crs = None
    if ".prj" in parts:
        file_crs = parse_prj(parts[".prj"].read_bytes().decode("latin-1"), where)
    declared = source.encoding
    if declared is None and ".cpg" in parts:
        cpg = parts[".cpg"].read_bytes().decode("latin-1").strip()
        declared = codec_name(cpg, field="cpg") if cpg else None
        if declared:
            report.append(f".cpg declares the text encoding {cpg!r}")
    # ISO-8859-1 hands every DBF byte over unchanged; dbf.py decodes them (TCVN3 too).
    # (GDAL's spelling: given "latin-1", GDAL recodes from the .cpg's encoding instead.)
    frame, _ = read_ogr(str(parts[".shp"]), None, "ESRI Shapefile", where, source,
                        encoding="ISO-8859-1")
    frame, used, detected = decode_dbf_text(frame, where, declared)
    if used:
        report.append(f"text encoding {used} ({'detected' if detected else 'as declared'})")
    return finish(frame, name, where, source, encoding=used, report=report, file_crs=file_crs)
