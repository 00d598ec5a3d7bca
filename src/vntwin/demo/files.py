"""Files the demo writes: CSV and GeoJSON points, bounding boxes, number formatting."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Mainland Vietnam's bounding box (for datasets without coordinates of their own).
VIETNAM_BBOX = (102.14, 8.18, 109.47, 23.39)


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """UTF-8 CSV with a header; returns the number of data rows."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
            n += 1
    return n


def write_points(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """A GeoJSON FeatureCollection of points (``longitude``/``latitude`` columns), written
    one feature at a time; rows without coordinates are left out.
    """
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write('{"type": "FeatureCollection", "features": [\n')
        for row in rows:
            lat, lon = row.get("latitude"), row.get("longitude")
            if lat is None or lon is None:
                continue
            feature = {"type": "Feature",
                       "geometry": {"type": "Point", "coordinates": [lon, lat]},
                       "properties": {c: row.get(c) for c in columns
                                      if c not in ("latitude", "longitude")}}
            f.write((",\n" if n else "") + json.dumps(feature, ensure_ascii=False))
            n += 1
        f.write("\n]}\n")
    return n


def _bbox_polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def bbox_of(rows: Iterable[dict[str, Any]],
             include: tuple[float, float, float, float] | None = None) -> dict[str, Any]:
    """The points' bounding box, widened to whole hundredths of a degree (and to cover
    ``include``, a west-south-east-north box, if given).
    """
    lats, lons = [], []
    if include is not None:
        lons += [include[0], include[2]]
        lats += [include[1], include[3]]
    for row in rows:
        if row.get("latitude") is not None and row.get("longitude") is not None:
            lats.append(float(row["latitude"]))
            lons.append(float(row["longitude"]))
    if not lats:
        return _bbox_polygon(*VIETNAM_BBOX)
    return _bbox_polygon(math.floor(min(lons) * 100) / 100, math.floor(min(lats) * 100) / 100,
                         math.ceil(max(lons) * 100) / 100, math.ceil(max(lats) * 100) / 100)


def fmt(n: int) -> str:
    """Vietnamese thousands separator: 3321 -> 3.321."""
    return f"{n:,}".replace(",", ".")
