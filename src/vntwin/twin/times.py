"""Time-stamped layers: which time each feature's values are valid at.

A dataset (or a layer's resource) declares its time in one of two extras, as CKAN
temporal extensions and QGIS's temporal controller do:

- ``twin_time``: the name of a column holding each feature's date or time (a year such
  as ``2023``, ``2023-06``, ``2023-06-30``, an ISO 8601 date-time, or a date/datetime
  column). Fusion groups the features by time and stores each group's values with that
  ``valid_time``: "as of" queries then see, per cell, the latest value at or before the
  time asked.
- ``twin_valid_time``: one ISO 8601 date or time for the whole layer (a yearly statistics
  table, a raster of one date).

Times are stored in UTC. A time without a zone is Vietnam's local time (UTC+7, no daylight
saving): a date or a year means 00:00 in Vietnam on that day (on 1 January for a year,
on the 1st for a month), so ``2024-01-01`` is stored as ``2023-12-31T17:00:00Z``. Layers
with neither extra stay timeless (``valid_time`` NULL), valid at any time.

"As of" is the latest known value of each cell: a cell with features in 2023 and none in
2024 still shows its 2023 values as of 2025 (no zeros are written for times a cell has no
features), so an area's total as of a time adds each cell's latest value.

A value that is not a time (text, an empty cell, a fraction of a year) refuses the whole
layer with an error naming the column and the row (1-based, as ingest counts rows), and
nothing of the layer is stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from vntwin.errors import ValidationError
from vntwin.twin.fuse.frame import FusionError
from vntwin.twin.layer import Layer

TIME_EXTRA = "twin_time"  # a column naming each feature's time
VALID_TIME_EXTRA = "twin_valid_time"  # one time for the whole layer
VIETNAM = timezone(timedelta(hours=7))  # what a time without a zone means
MAX_TIMES = 1000  # distinct times in one layer: each is fused on its own

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class TimeValueError(ValueError):
    """A value that is not a date or time (message: why)."""


def as_of_time(value: str | datetime | None) -> datetime | None:
    """An "as of" time asked by a user, in UTC, read as stored times are (a date, month or
    year without a zone is 00:00 Vietnam time that day); None for "now".
    """
    if value is None:
        return None
    try:
        return parse_time(value).to_pydatetime()
    except TimeValueError:
        shown = value if isinstance(value, datetime) else value[:40]
        raise ValidationError({"as_of": [f"not an ISO 8601 time: {shown!r}"]}) from None


def parse_time(value: Any) -> pd.Timestamp:
    """``value`` as a UTC timestamp (module docstring: years, months, dates, ISO 8601
    times; no zone means Vietnam's); raises :class:`TimeValueError` when it is not one.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        raise TimeValueError("no time")
    if isinstance(value, (bool, np.bool_)):
        raise TimeValueError(f"not a date or time: {value!r}")
    if isinstance(value, (int, np.integer, float, np.floating)):
        if float(value).is_integer() and 1000 <= value <= 9999:
            return _local(datetime(int(value), 1, 1))
        raise TimeValueError(f"not a year: {value!r}")
    if isinstance(value, (pd.Timestamp, datetime)):
        return _local(value)
    if isinstance(value, date):
        return _local(datetime(value.year, value.month, value.day))
    if isinstance(value, np.datetime64):
        return _local(pd.Timestamp(value))
    if not isinstance(value, str):
        raise TimeValueError(f"not a date or time: {value!r}")
    text = value.strip()
    try:
        if _YEAR.match(text):
            return _local(datetime(int(text), 1, 1))
        month = _MONTH.match(text)
        if month:
            return _local(datetime(int(month[1]), int(month[2]), 1))
        return _local(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise TimeValueError(f"not a date or time: {value!r}") from None


def _local(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(VIETNAM)
    return stamp.tz_convert("UTC")


def layer_times(layer: Layer, extras: dict[str, Any]
                ) -> tuple[Layer, pd.Timestamp | np.ndarray | None]:
    """The layer without its time column, and its time: None (timeless), one UTC
    timestamp (``twin_valid_time``) or one per row (``twin_time``, an array of
    ``datetime64[ns]`` in UTC). Raises :class:`FusionError` naming the column and the row
    of a value that is not a time.
    """
    column = str(extras.get(TIME_EXTRA) or "").strip()
    whole = str(extras.get(VALID_TIME_EXTRA) or "").strip()
    if column and whole:
        raise FusionError(f"layer {layer.name!r}: give {TIME_EXTRA} (a column) or "
                          f"{VALID_TIME_EXTRA} (one time), not both")
    if whole:
        try:
            return layer, parse_time(whole)
        except TimeValueError as exc:
            raise FusionError(f"layer {layer.name!r}: {VALID_TIME_EXTRA}: {exc}") from None
    if not column:
        return layer, None
    frame = layer.frame
    if frame is None:
        raise FusionError(f"layer {layer.name!r} ({layer.kind}) has no columns: "
                          f"{TIME_EXTRA} needs one; give {VALID_TIME_EXTRA} instead")
    if column not in frame.columns:
        raise FusionError(f"layer {layer.name!r}: {TIME_EXTRA} names column {column!r}, "
                          f"which the layer does not have")
    times = _column_times(frame[column], layer.name, column)
    return replace(layer, frame=frame.drop(columns=[column])), times


def _column_times(series: pd.Series, layer: str, column: str) -> np.ndarray:
    """Each row's UTC time, parsed once per distinct value."""
    def refuse(position: int, why: str) -> FusionError:
        return FusionError(f"layer {layer!r}: time column {column!r}, row {position + 1}: {why}")

    if pd.api.types.is_datetime64_any_dtype(series):
        missing = np.flatnonzero(series.isna().to_numpy())
        if len(missing):
            raise refuse(int(missing[0]), "no time")
        stamps = pd.DatetimeIndex(series)
        stamps = (stamps.tz_localize(VIETNAM) if stamps.tz is None else stamps
                  ).tz_convert("UTC")
        return stamps.tz_localize(None).to_numpy("datetime64[ns]")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if (codes < 0).any():
        raise refuse(int(np.flatnonzero(codes < 0)[0]), "no time")
    parsed = np.empty(len(uniques), "datetime64[ns]")
    for i, value in enumerate(uniques):
        try:
            parsed[i] = parse_time(value).tz_localize(None).to_datetime64()
        except TimeValueError as exc:
            raise refuse(int(np.flatnonzero(codes == i)[0]), str(exc)) from None
    return parsed[codes]


def _subset(layer: Layer, rows: np.ndarray) -> Layer:
    """The layer's rows where ``rows`` is true (and their coordinates, if read so)."""
    coords = layer.coords
    if coords is not None:
        coords = (np.asarray(coords[0])[rows], np.asarray(coords[1])[rows])
    return replace(layer, frame=layer.frame[rows], coords=coords)


def fuse_by_time(layer: Layer, times: pd.Timestamp | np.ndarray | None,
                 fuse: Callable[[Layer, pd.Timestamp | None], pd.DataFrame]) -> pd.DataFrame:
    """``fuse`` the layer once per distinct time (given to ``fuse`` as a UTC timestamp, None
    for a timeless layer) and stack the long frames with their ``valid_time``; a timeless
    layer is fused once, without the column.
    """
    if times is None:
        return fuse(layer, None)
    if isinstance(times, pd.Timestamp):
        return fuse(layer, times).assign(valid_time=times)
    distinct = np.unique(times)
    if len(distinct) > MAX_TIMES:
        raise FusionError(f"layer {layer.name!r}: {len(distinct)} distinct times in "
                          f"{TIME_EXTRA}, at most {MAX_TIMES}: give dates, months or years")
    parts = []
    for moment in distinct:
        utc = pd.Timestamp(moment).tz_localize("UTC")
        parts.append(fuse(_subset(layer, times == moment), utc).assign(valid_time=utc))
    if len(parts) <= 1:  # one time, or no rows
        return parts[0] if parts else fuse(layer, None).assign(valid_time=pd.NaT)
    merged = pd.concat(parts, ignore_index=True)
    # counts the kernels report (polygons repaired) add up over the times
    merged.attrs = {key: sum(p.attrs.get(key, 0) for p in parts)
                    for key in parts[0].attrs if isinstance(parts[0].attrs[key], int)}
    return merged


def latest_per_cell(values: pd.DataFrame, moment: pd.Timestamp | None) -> pd.DataFrame:
    """Each cell's value as "as of" queries read it at ``moment``: its timeless value if
    it has one, else its latest at or before ``moment``; one row per cell (``h3``,
    ``value``) of ``values`` (``h3``, ``value``, ``valid_time`` in UTC, NaT if timeless).

    ``moment`` None means the layer's latest time. A moment before the layer's first time
    is read as that first time: a 2015 table spread by weights first measured in 2019
    takes the 2019 weights, the nearest known, rather than none.
    """
    when = values["valid_time"]
    timed = when.dropna()
    if timed.empty:
        cut = None
    elif moment is None:
        cut = timed.max()
    else:
        cut = max(moment, timed.min())
    keep = when.isna() | (when <= cut) if cut is not None else when.isna()
    kept = values[keep]
    # a timeless value outranks every timed one of its cell
    latest = kept.assign(_timeless=kept["valid_time"].isna()).sort_values(
        ["h3", "_timeless", "valid_time"], na_position="first")
    return latest.drop_duplicates("h3", keep="last")[["h3", "value"]].reset_index(drop=True)
