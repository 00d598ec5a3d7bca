"""GeoTIFF rasters: copied into a new GeoTIFF in their own CRS, band names kept.

Opened with rasterio's ``driver="GTiff"`` only, so a VRT (XML pointing at other files)
renamed .tif is refused by GDAL as well as by the magic-number check.

Why not reprojected to EPSG:4326 like vector layers: resampling a raster changes its
totals (nearest neighbour on the VN-2000 fixture's population band: +2.9 %), and no
resampling keeps both counts (sums) and class codes or means without knowing which a
band holds, which only the fusion knows. The fusion computes each pixel's exact overlap
with each cell in the raster's own CRS (``twin.fuse.raster``), so storing the pixels as
they are keeps every total. The CRS written is the one chosen at ingest (a ``--crs``
override, or VN-2000 recognised without an EPSG code). Only a rotated raster is warped to
EPSG:4326 (nearest neighbour, said in the report), as the fusion needs a rectilinear grid.
Both copy window by window, so the raster is never loaded whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from vntwin.ingest.crs import choose, is_wgs84, label, lonlat_bounds, transformation_note
from vntwin.ingest.problems import Where, invalid, too_large
from vntwin.ingest.readers.base import Reader, Source, register
from vntwin.ingest.safety import check_driver, is_tiff
from vntwin.twin.layer import Layer

_WGS84 = RioCRS.from_epsg(4326)


@register
class GeoTiffReader(Reader):
    """GeoTIFF and BigTIFF."""

    label = "GeoTIFF"
    suffixes = (".tif", ".tiff", ".geotiff", ".gtiff")
    staged_name = "upload.tif"

    @classmethod
    def sniff(cls, head: bytes) -> bool:
        """TIFF or BigTIFF magic number, either byte order."""
        return is_tiff(head)

    def read(self, source: Source) -> list[Layer]:
        """One raster layer, written to a temporary GeoTIFF in ``source.output_dir``."""
        where = source.where.at_layer(source.stem)
        with rasterio.open(source.path, driver="GTiff") as src:
            check_driver(src.driver, "GTiff", where)
            if src.count == 0:
                raise invalid(where, "the GeoTIFF has no bands")
            if src.width * src.height * src.count > source.limits.max_raster_pixels:
                raise too_large(where, f"{src.width}×{src.height}×{src.count} pixels; the "
                                       f"limit is {source.limits.max_raster_pixels:,}")
            report: list[str] = []
            crs = _source_crs(src, source, where, report)
            names = [d or f"band_{i}" for i, d in enumerate(src.descriptions, start=1)]
            schema = [{"name": n, "type": "integer" if np.dtype(t).kind in "iu" else "number"}
                      for n, t in zip(names, src.dtypes, strict=True)]
            path = _warp(src, crs, source.output_dir, where, report)
        report.append("bands: " + ", ".join(names))
        return [Layer(name=source.stem, kind="raster", raster_path=path,
                      source_crs=label(crs), report=report, schema=schema)]


def _source_crs(src: DatasetReader, source: Source, where: Where, report: list[str]) -> CRS:
    if src.transform.is_identity and not src.gcps[0]:
        raise invalid(where, "the GeoTIFF has no georeferencing (no geotransform)")
    if not src.transform.is_identity and src.transform.is_rectilinear is False:
        report.append("the raster is rotated; warping removes the rotation")
    file_crs = CRS.from_wkt(src.crs.to_wkt()) if src.crs else None
    b = src.bounds
    return choose(file_crs, source.crs, (b.left, b.bottom, b.right, b.top), where, report)


def _warp(src: DatasetReader, crs: CRS, out_dir: Path, where: Where,
          report: list[str]) -> Path:
    """Write the raster to a new temporary file, in its CRS or, rotated, warped to
    EPSG:4326 (module docstring); removed on any error.
    """
    src_crs = RioCRS.from_wkt(crs.to_wkt())
    native = bool(src.transform.is_rectilinear) or is_wgs84(crs)
    dtype = np.dtype(src.dtypes[0])
    if native:
        dst_crs, transform, width, height = src_crs, src.transform, src.width, src.height
        nodata = src.nodata
        if not is_wgs84(crs):
            report.append(f"kept in {label(crs)}: the fusion overlaps its pixels with the "
                          "cells exactly, so totals are conserved")
    else:
        dst_crs = _WGS84
        transform, width, height = calculate_default_transform(
            src_crs, _WGS84, src.width, src.height, *src.bounds)
        report.append(transformation_note(crs) + " (nearest-neighbour resampling)")
        nodata = src.nodata if src.nodata is not None else _default_nodata(dtype, report)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": src.count,
               "dtype": dtype.name, "crs": dst_crs, "transform": transform, "nodata": nodata,
               "compress": "deflate"}
    if width >= 256 and height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    handle, name = tempfile.mkstemp(prefix=".vntwin-raster-", suffix=".tif", dir=out_dir)
    os.close(handle)
    path = Path(name)
    try:
        with rasterio.open(path, "w", **profile) as dst:
            if native:
                for _, window in src.block_windows(1):
                    dst.write(src.read(window=window).astype(dtype, copy=False),
                              window=window)
            for band in range(1, src.count + 1):
                if not native:
                    reproject(rasterio.band(src, band), rasterio.band(dst, band),
                              src_crs=src_crs, dst_crs=_WGS84, resampling=Resampling.nearest,
                              src_nodata=src.nodata, dst_nodata=nodata)
                dst.set_band_description(band, src.descriptions[band - 1] or f"band_{band}")
                dst.update_tags(band, **src.tags(band))
            try:
                west, south, east, north = transform_bounds(dst.crs, _WGS84, *dst.bounds)
            except Exception:  # any failure: the same wrong-CRS error below
                west = south = east = north = np.inf
            b = (west, south, east, north)
        if not lonlat_bounds(b):
            raise invalid(where, "the raster falls outside longitude/latitude ranges after "
                                 "reprojection; its CRS is probably wrong (pass --crs)")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _default_nodata(dtype: np.dtype, report: list[str]) -> float | int:
    """A nodata value for pixels outside the source after warping (the file had none)."""
    if dtype.kind == "f":
        value: float | int = float("nan")
    elif dtype.kind == "u":
        value = int(np.iinfo(dtype).max)
    else:
        value = int(np.iinfo(dtype).min)
    report.append(f"the raster had no nodata value; {value} marks pixels outside it")
    return value
