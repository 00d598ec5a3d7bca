"""The modelled population layer: totals conserved, cities not counted twice, honest labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vntwin.demo.population import (
    URBAN_DENSITY,
    Place,
    geonames_places,
    model_population,
    national_total,
)
from vntwin.demo.sources import Sources
from vntwin.twin import grid
from vntwin.twin.admin import AdminUnits

RES = 6  # about 36 km² a cell: quick, and coarse enough to see discs cover several cells


@pytest.fixture(scope="module")
def admin(admin_cache: Path) -> AdminUnits:
    return AdminUnits.load(admin_cache)


# Real GeoNames records (cities500): Chợ Lớn lies inside Hồ Chí Minh City's disc.
HCMC = Place("Ho Chi Minh City", 10.82302, 106.62965, 14_002_598)
CHO_LON = Place("Chợ Lớn", 10.75, 106.65, 561_000)
HANOI = Place("Hanoi", 21.0245, 105.84117, 8_053_663)
SMALL = Place("Sa Pa", 22.3364, 103.8438, 36_000)


def test_total_is_conserved_and_nested_places_are_dropped(admin: AdminUnits) -> None:
    total = 50_000_000
    frame, summary = model_population(admin, RES, [HCMC, CHO_LON, HANOI, SMALL], total)
    assert frame["population"].sum() == pytest.approx(total, rel=1e-9)
    assert summary["places_used"] == 3 and summary["places_inside_larger"] == 1
    assert summary["people_in_city_discs"] == HCMC.population + HANOI.population + SMALL.population
    rural = total - summary["people_in_city_discs"]
    assert summary["people_per_rural_commune"] == round(rural / summary["rural_communes"])


def test_city_disc_holds_the_city(admin: AdminUnits) -> None:
    frame, _ = model_population(admin, RES, [HANOI], 20_000_000)
    radius_km = np.sqrt(HANOI.population / URBAN_DENSITY / np.pi)
    lat, lon = np.radians(frame["lat"]), np.radians(frame["lon"])
    d = 6371.0 * np.arccos(np.clip(
        np.sin(lat) * np.sin(np.radians(HANOI.lat))
        + np.cos(lat) * np.cos(np.radians(HANOI.lat)) * np.cos(lon - np.radians(HANOI.lon)),
        -1, 1))
    in_disc = frame.loc[d <= radius_km, "population"].sum()
    # the city's people, plus no rural share: communes centred in the disc get none
    assert in_disc == pytest.approx(HANOI.population, rel=0.02)
    densest = frame.loc[frame["population"].idxmax()]
    assert abs(densest["lat"] - HANOI.lat) < 0.5 and abs(densest["lon"] - HANOI.lon) < 0.5


def test_a_small_place_lands_in_its_own_cell(admin: AdminUnits) -> None:
    tiny = Place("tiny", 21.0, 105.8, 600)  # disc of 0.15 km², far smaller than a res-6 cell
    frame, _ = model_population(admin, RES, [tiny], 10_000_000)
    cell = int(grid.latlng_to_cells([tiny.lat], [tiny.lon], RES)[0])
    assert frame.loc[frame["h3"] == cell, "population"].iloc[0] >= tiny.population


def test_more_people_in_places_than_in_all_is_an_error(admin: AdminUnits) -> None:
    with pytest.raises(ValueError, match="more than the total"):
        model_population(admin, RES, [HCMC], 1_000_000)


def test_real_inputs() -> None:
    places = geonames_places(Sources().geonames_vn)
    assert 500 <= len(places) <= 600 and all(p.population > 0 for p in places)
    assert 90_000_000 < national_total() < 110_000_000
