"""``write_layer``: one immutable file per layer version, in place atomically or not at all.

Vectors and tables become GeoParquet (EPSG:4326; tables as plain Parquet, having no
geometry), rasters the GeoTIFF copied in its CRS. Vector files follow GeoParquet's advice for
files read by area (``write_geoparquet``): rows sorted along a Hilbert curve, small row
groups, and the 1.1 ``bbox`` covering column, so the footer's per-row-group statistics
of that column tell a reader which few row groups a bounding box needs (OGC items, vector
tiles) without any index of its own. The file is written under a hidden temporary
name in ``out_dir``, flushed to disk, then published with ``os.link`` — atomic, and it
fails rather than replace an existing version (versions are immutable). A raster from
``read_layers`` is moved the same way (copied first when it lives on another file system).
Any error removes the temporary file: nothing is left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from vntwin.errors import ValidationError
from vntwin.twin.layer import Layer

_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
ROW_GROUP_ROWS = 16_384  # a 2 km box or a z12 tile of a 1 M-point layer reads 1-3 groups


def write_layer(layer: Layer, out_dir: Path, stem: str) -> Path:
    """Write ``layer`` as ``out_dir/stem.parquet`` (or ``.tif`` for a raster); its path.

    Raises ValidationError if ``stem`` is not a plain file name, the layer has nothing to
    write, or that version already exists.

    >>> for i, layer in enumerate(read_layers(upload)):  # doctest: +SKIP
    ...     write_layer(layer, store / "roads", f"v3-{i}")
    """
    if not _STEM.fullmatch(stem) or ".." in stem:
        raise ValidationError({"stem": [f"{stem!r} is not a plain file name"]})
    out_dir.mkdir(parents=True, exist_ok=True)
    if layer.kind == "raster":
        if layer.raster_path is None or not Path(layer.raster_path).is_file():
            raise ValidationError({"layer": [f"raster layer {layer.name!r} has no file"]})
        return _move_raster(Path(layer.raster_path), out_dir / f"{stem}.tif")
    if layer.frame is None:
        raise ValidationError({"layer": [f"layer {layer.name!r} has no data"]})
    target = out_dir / f"{stem}.parquet"
    temp = _temp_name(out_dir, ".parquet")
    try:
        _write_parquet(layer, temp)
        _publish(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _write_parquet(layer: Layer, path: Path) -> None:
    frame = layer.frame
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None or frame.crs.to_epsg() != 4326:
            raise ValidationError({"layer": [f"layer {layer.name!r} is not in EPSG:4326"]})
        write_geoparquet(frame, path)
    else:
        pd.DataFrame(frame).to_parquet(path, index=False, compression="zstd")
    _fsync(path)


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write a layer as ingest stores it: rows in Hilbert order of their bounding boxes'
    centres, ``ROW_GROUP_ROWS`` rows a row group, zstd, WKB, ``bbox`` covering column.

    The row order is the layer's feature order from then on (OGC feature ids are row
    numbers); the uploaded original is kept as it was. Nearby features share row groups,
    so a box query reads a few small groups instead of decoding the whole file.
    """
    if len(frame) > ROW_GROUP_ROWS:  # in one row group the order would gain nothing
        geoms = frame.geometry
        present = ~(geoms.isna() | geoms.is_empty).to_numpy()
        order = np.arange(len(frame))
        if present.any():
            # empty or missing geometries have no box: they go last, in their order
            distance = geoms[present].hilbert_distance(total_bounds=geoms[present].total_bounds)
            order = np.concatenate([np.flatnonzero(present)[np.argsort(distance.to_numpy(),
                                                                       kind="stable")],
                                    np.flatnonzero(~present)])
        frame = frame.iloc[order]
    frame.to_parquet(path, index=False, compression="zstd", geometry_encoding="WKB",
                     write_covering_bbox=True, row_group_size=ROW_GROUP_ROWS)


def _move_raster(source: Path, target: Path) -> Path:
    """Publish the reprojected raster: linked in place, or copied across file systems."""
    temp = _temp_name(target.parent, ".tif")
    try:
        try:
            os.link(source, temp)
        except OSError:
            shutil.copyfile(source, temp)
            _fsync(temp)
        _publish(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    source.unlink(missing_ok=True)
    return target


def _publish(temp: Path, target: Path) -> None:
    """Give ``temp`` its final name atomically, refusing to replace an existing file."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise ValidationError(
            {"stem": [f"{target.name} already exists; layer versions are immutable"]}
        ) from None
    _fsync(target.parent)


def _temp_name(directory: Path, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(handle)
    path = Path(name)
    path.unlink()
    return path


def _fsync(path: Path) -> None:
    """Flush a file (or a directory's entries) to disk before it is published."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    handle = os.open(path, flags)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
