"""From a frame as a reader got it to finished layers: EPSG:4326, NFC, checked, typed.

Every vector reader ends here, so CRS choice, reprojection, geometry repair, the split of
mixed geometry kinds and the schema are done one way for all formats.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import ProjError

from vntwin.ingest import geometry, schema
from vntwin.ingest.crs import WGS84, choose, is_wgs84, label, transformation_note
from vntwin.ingest.problems import Where, capped, invalid, invalid_many
from vntwin.twin.layer import Layer


def tidy(frame: pd.DataFrame, report: list[str]) -> pd.DataFrame:
    """Clean column names, NFC text, UTC datetimes; rows numbered from 0 again."""
    frame = frame.reset_index(drop=True)
    geometry_name = getattr(frame, "_geometry_column_name", None)
    others = [c for c in frame.columns if c != geometry_name]
    frame = frame.rename(columns=dict(zip(others, schema.clean_names(others), strict=True)))
    if geometry_name is not None and geometry_name != "geometry":
        frame = frame.rename_geometry("geometry")
    frame = schema.nfc_values(frame)
    for name in frame.columns:
        column = frame[name]
        if name != "geometry" and pd.api.types.is_datetime64_any_dtype(column):
            if getattr(column.dt, "tz", None) is None:
                report.append(f"column {name!r}: times without a UTC offset read as "
                              f"{schema.LOCAL_TZ} and stored in UTC")
            frame[name] = schema.utc_datetimes(column)
    return frame


def vector_layers(frame: gpd.GeoDataFrame, *, name: str, where: Where, file_crs: CRS | None,
                  override: CRS | None, encoding: str | None = None,
                  report: list[str] | None = None,
                  reasons: Mapping[int, str] | None = None) -> list[Layer]:
    """Finished layers from one vector layer: one per geometry kind it holds."""
    report = list(report or [])
    if len(frame) == 0:
        raise invalid(where, "the layer has no rows")
    frame = tidy(frame, report)
    bounds = tuple(float(v) for v in frame.geometry.total_bounds)
    crs = choose(file_crs, override, (bounds[0], bounds[1], bounds[2], bounds[3]),
                 where, report)
    frame = frame.set_crs(crs, allow_override=True)
    if is_wgs84(crs):
        frame = frame.set_crs(WGS84, allow_override=True)
    else:
        frame = _to_wgs84(frame, crs, where, report)
    checked = geometry.check(frame.geometry.to_numpy(), reasons)
    frame = frame.set_geometry(gpd.GeoSeries(checked.geometry, index=frame.index, crs=WGS84))
    if checked.repaired:
        report += [f"{len(checked.repaired)} invalid geometries repaired:",
                   *capped(checked.repaired)]
    if checked.rejected:
        report += [f"{len(checked.rejected)} rows rejected:", *capped(checked.rejected)]
    kinds = sorted(set(checked.kinds) - {""})
    if not kinds:
        raise invalid_many(where, ["every row is broken; nothing to keep",
                                   *capped(checked.rejected, 10)])
    if len(kinds) > 1:
        counts = ", ".join(f"{int((checked.kinds == k).sum())} {k}s" for k in kinds)
        report.append(f"the layer mixes geometry kinds ({counts}); split into one layer "
                      f"per kind: " + ", ".join(f"{name}_{k}" for k in kinds))
    layers = []
    for kind in kinds:
        part = frame[np.asarray(checked.kinds == kind)].reset_index(drop=True)
        layers.append(Layer(
            name=name if len(kinds) == 1 else f"{name}_{kind}",
            kind=kind,  # type: ignore[arg-type]
            frame=part,
            source_crs=label(crs),
            encoding=encoding,
            report=list(report),
            schema=schema.infer(part),
        ))
    return layers


def _to_wgs84(frame: gpd.GeoDataFrame, crs: CRS, where: Where,
              report: list[str]) -> gpd.GeoDataFrame:
    """The frame reprojected to EPSG:4326, the way it was done noted in ``report``.

    PROJ refuses some CRSs only when asked for a transformation (a datum it cannot relate
    to WGS 84, a projection it cannot invert): that is the file's problem, said as such.
    """
    try:
        report.append(transformation_note(crs))
        return frame.to_crs(WGS84)
    except ProjError as error:
        raise invalid(where, f"cannot reproject from {label(crs)} to EPSG:4326 "
                             f"({str(error)[:200]}); pass --crs") from None


def table_layer(frame: pd.DataFrame, *, name: str, where: Where, place_column: str,
                encoding: str | None = None, report: list[str] | None = None) -> Layer:
    """A finished place-keyed table (no geometry)."""
    report = list(report or [])
    if len(frame) == 0:
        raise invalid(where, "the table has no rows")
    position = list(frame.columns).index(place_column)
    frame = tidy(pd.DataFrame(frame), report)
    return Layer(name=name, kind="table", frame=frame, place_column=str(frame.columns[position]),
                 encoding=encoding, report=report, schema=schema.infer(frame))
