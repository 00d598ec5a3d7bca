"""The built-in fusion rules, registered like any plug-in."""

from __future__ import annotations

import pandas as pd

from vntwin.twin.layer import Layer

from .base import Fuser, FuseSpec, register_fuser
from .frame import FusionError
from .lines import fuse_lines
from .points import fuse_point_coords, fuse_points
from .polygons import fuse_polygons
from .raster import fuse_raster
from .tables import spread_table

__all__ = ["LineFuser", "PointFuser", "PolygonFuser", "RasterFuser", "TableFuser"]


def _frame(layer: Layer) -> pd.DataFrame:
    if layer.frame is None:
        raise FusionError(f"layer {layer.name!r} ({layer.kind}) has no data frame")
    return layer.frame


class PointFuser(Fuser):
    """Count, sum and mean per cell; the declared extensive and intensive columns, or
    every numeric column when none is declared.
    """

    kind = "point"

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        frame = _frame(layer)
        numeric = list(dict.fromkeys(spec.extensive + spec.intensive))
        geometry = frame.geometry.name if layer.coords is None else None
        if not numeric:
            numeric = [c for c in frame.columns if c != geometry
                       and pd.api.types.is_numeric_dtype(frame[c])
                       and not pd.api.types.is_bool_dtype(frame[c])]
        if layer.coords is not None:  # read as coordinates (layers.read_point_coords)
            return fuse_point_coords(frame, *layer.coords, res, numeric=numeric,
                                     categorical=spec.categorical, grid=spec.grid)
        return fuse_points(frame, res, numeric=numeric, categorical=spec.categorical,
                           grid=spec.grid)


class LineFuser(Fuser):
    """Length per cell, and the share of each declared category."""

    kind = "line"

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        return fuse_lines(_frame(layer), res, categorical=spec.categorical, grid=spec.grid)


class PolygonFuser(Fuser):
    """Coverage, and the declared extensive, intensive and categorical columns."""

    kind = "polygon"

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        return fuse_polygons(_frame(layer), res, extensive=spec.extensive,
                             intensive=spec.intensive, categorical=spec.categorical,
                             grid=spec.grid)


class RasterFuser(Fuser):
    """Zonal mean, sum, min and max of every band."""

    kind = "raster"

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        if layer.raster_path is None:
            raise FusionError(f"raster layer {layer.name!r} has no raster_path")
        return fuse_raster(layer.raster_path, res, grid=spec.grid)


class TableFuser(Fuser):
    """A unit-keyed table spread to the units' cells (``unit_cells`` required; its
    ``weight`` column, when present, splits the extensive columns).
    """

    kind = "table"

    def fuse(self, layer: Layer, res: int, spec: FuseSpec) -> pd.DataFrame:
        frame = _frame(layer)
        if spec.unit_cells is None:
            raise FusionError(f"table layer {layer.name!r} needs unit_cells to be spread")
        place = layer.place_column or "unit_code"
        if "unit_code" in frame.columns:  # codes already matched from the place column
            values = frame.drop(columns=[place]) if place != "unit_code" else frame
        elif place in frame.columns:
            values = frame.rename(columns={place: "unit_code"})
        else:
            raise FusionError(f"table layer {layer.name!r} has no place column {place!r}")
        if spec.extensive or spec.intensive:
            values = values[["unit_code", *dict.fromkeys(spec.extensive + spec.intensive)]]
        unit_cells = spec.unit_cells
        if spec.grid is not None:
            unit_cells = unit_cells[spec.grid.index_of(unit_cells["h3"].to_numpy()) >= 0]
        weight = "weight" if "weight" in unit_cells.columns else None
        return spread_table(values, unit_cells, extensive=spec.extensive, weight=weight)


for _fuser in (PointFuser(), LineFuser(), PolygonFuser(), RasterFuser(), TableFuser()):
    register_fuser(_fuser)
