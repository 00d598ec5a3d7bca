"""The plane every fusion kernel computes in: a Lambert azimuthal equal-area projection
centred on Vietnam.

Areas measured in it are true ellipsoidal areas (the projection is equal-area), so
shoelace areas of projected polygons and hexagons need no correction. Lengths are not
preserved (the scale error grows to about 0.25 % at Vietnam's far corners, 8° from the
centre), so line lengths are rescaled per segment to the WGS84 geodesic length
(:func:`geodesic_lengths`).

Vertices are projected and edges are straight in this plane, as ``GeoDataFrame.to_crs``
would do: a polygon's area here equals ``gdf.to_crs(EQUAL_AREA_CRS).area``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pyproj
from numpy.typing import NDArray

__all__ = ["EQUAL_AREA_CRS", "geodesic_lengths", "to_lonlat", "to_plane"]

EQUAL_AREA_CRS = (
    "+proj=laea +lat_0=16 +lon_0=106 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"
)

FloatArray = NDArray[np.float64]
_CHUNK = 250_000  # points per thread


def _transformer() -> pyproj.Transformer:
    # Built per call (a few ms): pyproj transformers are not shared between threads.
    return pyproj.Transformer.from_crs("EPSG:4326", EQUAL_AREA_CRS, always_xy=True)


def _forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = _transformer().transform(lon, lat)
    return np.asarray(x, float), np.asarray(y, float)


def to_plane(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 longitudes/latitudes (degrees) to the equal-area plane (metres)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    n = max(1, min(numba.get_num_threads(), lon.size // _CHUNK))
    if n == 1:
        return _forward(lon, lat)
    with ThreadPoolExecutor(n) as pool:  # PROJ releases the GIL; one transformer a thread
        parts = list(pool.map(_forward, np.array_split(lon.ravel(), n),
                              np.array_split(lat.ravel(), n)))
    x = np.concatenate([p[0] for p in parts]).reshape(lon.shape)
    y = np.concatenate([p[1] for p in parts]).reshape(lon.shape)
    return x, y


def to_lonlat(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`to_plane`: plane metres back to longitude/latitude degrees."""
    lon, lat = _transformer().transform(
        np.asarray(x, float), np.asarray(y, float), direction="INVERSE"
    )
    return np.asarray(lon, float), np.asarray(lat, float)


def geodesic_lengths(
    lon0: FloatArray, lat0: FloatArray, lon1: FloatArray, lat1: FloatArray
) -> FloatArray:
    """WGS84 geodesic length in metres of each segment (vectorised ``Geod.inv``)."""
    if len(lon0) == 0:
        return np.zeros(0)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    return np.asarray(dist, float)
