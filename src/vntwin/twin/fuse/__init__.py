"""Fusion kernels: every layer kind onto H3 cells, as one long frame.

Each kernel returns a ``pandas.DataFrame`` with columns ``h3`` (uint64), ``variable``
(str) and ``value`` (float64), one row per cell and variable with a value. Geometry is
measured in an equal-area plane centred on Vietnam (:data:`EQUAL_AREA_CRS`): polygon
areas are exact (Sutherland–Hodgman clipping against each hexagon, numba), line lengths
exact per cell and geodesic overall, raster statistics weighted by exact pixel–cell
overlaps. Pass one :class:`HexGrid` of the territory as ``grid=`` to put every layer
on the same cells.
"""

from __future__ import annotations

from . import builtin as _builtin  # noqa: F401  (registers the built-in fusers)
from .base import FUSERS, Fuser, FuseSpec, fuse_layer, register_fuser
from .frame import COLUMNS, FusionError
from .grid import HexGrid
from .lines import fuse_lines
from .points import fuse_points
from .polygons import fuse_polygons
from .projection import EQUAL_AREA_CRS
from .raster import RasterCellIndex, fuse_raster
from .tables import spread_table

__all__ = [
    "COLUMNS",
    "EQUAL_AREA_CRS",
    "FUSERS",
    "FuseSpec",
    "Fuser",
    "FusionError",
    "HexGrid",
    "RasterCellIndex",
    "fuse_layer",
    "fuse_lines",
    "fuse_points",
    "fuse_polygons",
    "fuse_raster",
    "register_fuser",
    "spread_table",
]
