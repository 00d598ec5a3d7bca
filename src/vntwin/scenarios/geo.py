"""Great-circle distances through KD-trees on the unit sphere.

Points become 3-D unit vectors; the straight (chord) distance between two vectors is a
monotone function of the great-circle distance, so a Euclidean KD-tree (scipy
``cKDTree``) answers nearest-neighbour and within-radius queries *exactly* for the
haversine distance, with no projection and no distortion across Vietnam's 15° of
latitude (a projected CRS would need several UTM zones).
"""

from __future__ import annotations

from typing import Any

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the usual radius for haversine distances."""


def unit_xyz(lat: Any, lon: Any) -> np.ndarray:
    """Unit vectors of points given in degrees, shape (n, 3)."""
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    cos_la = np.cos(la)
    return np.column_stack([cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)])


def km_to_chord(km: float | np.ndarray) -> Any:
    """Chord length on the unit sphere of a great-circle distance in km."""
    return 2.0 * np.sin(np.minimum(np.asarray(km, dtype=np.float64), np.pi * EARTH_RADIUS_KM)
                        / (2.0 * EARTH_RADIUS_KM))


def chord_to_km(chord: float | np.ndarray) -> Any:
    """Great-circle distance in km of a chord on the unit sphere (inf stays inf)."""
    c = np.asarray(chord, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(c / 2.0, 0.0, 1.0))
    return np.where(np.isfinite(c), out, np.inf)


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km (the reference the tree's answers are checked with)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def nearest_km(points_xyz: np.ndarray, targets_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the distance (km) to the nearest target and its index
    (inf and -1 when there are no targets).
    """
    n = len(points_xyz)
    if len(targets_xyz) == 0 or n == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    from scipy.spatial import cKDTree

    chord, index = cKDTree(targets_xyz).query(points_xyz, k=1)
    return chord_to_km(chord), np.asarray(index, dtype=np.int64)
