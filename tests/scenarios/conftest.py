"""Small real twins for the scenario tests.

``small_twin``: the real H3 res-7 grid of Hà Nội, Bắc Ninh and Hưng Yên (2025 units, from
the shared admin cache) with one layer, ``population`` = GeoNames' population of the
places in each cell (the ingest fixture ``places_vn.geojson``), written straight into a
TwinStore, so indicator values can be computed by hand from the same inputs.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from vntwin.twin.admin import AdminUnits
from vntwin.twin.grid import latlng_to_cells
from vntwin.twin.store import LayerRecord, TwinStore, VariableInfo

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
PLACES = FIXTURES / "places_vn.geojson"
PROVINCES = ("01", "24", "33")
RES = 7


@pytest.fixture(scope="session")
def region_cells(admin_cache: Path) -> pd.DataFrame:
    cells = AdminUnits.load(admin_cache).cells(RES)
    return cells[cells["province_code"].isin(PROVINCES)].reset_index(drop=True)


@pytest.fixture(scope="session")
def places() -> gpd.GeoDataFrame:
    frame = gpd.read_file(PLACES)
    frame["h3"] = latlng_to_cells(frame.geometry.y.to_numpy(), frame.geometry.x.to_numpy(), RES)
    return frame


def write_twin(path: Path, cells: pd.DataFrame, population: pd.Series,
               extra: dict[str, pd.Series] | None = None) -> TwinStore:
    """A twin file with the given grid and variables (index of each series: h3)."""
    store = TwinStore(path)
    store.set_grid(cells, RES)
    layers = {"population": population, **(extra or {})}
    for name, series in layers.items():
        values = pd.DataFrame({"h3": series.index.to_numpy(dtype=np.uint64),
                               "variable": name, "value": series.to_numpy(dtype=float)})
        info = VariableInfo("extensive", "1", name) if name == "population" else \
            VariableInfo("fraction" if name == "coverage" else "extensive")
        store.replace_layer(LayerRecord(f"test-{name}", "d", "test", "r", f"fp-{name}",
                                        "point", RES), values, {name: info})
    return store


@pytest.fixture
def small_twin(tmp_path: Path, region_cells: pd.DataFrame,
               places: gpd.GeoDataFrame) -> TwinStore:
    inside = places[places["h3"].isin(region_cells["h3"])]
    population = inside.groupby("h3")["population"].sum()
    return write_twin(tmp_path / "twin.duckdb", region_cells, population)


def haversine(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle km, written out here independently of the code under test."""
    r = 6371.0088
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * \
        np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))
