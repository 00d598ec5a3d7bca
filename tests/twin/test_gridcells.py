"""The grid cells a server draws (``twin.gridcells``): hexagons come from the store when
the fusion wrote them, and are computed, the same, for a store without them."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from test_store_layout import RES, _grid

from vntwin.twin import gridcells
from vntwin.twin.store import TwinStore


def _expected(cell: int) -> np.ndarray:
    return np.array([(lon, lat) for lat, lon in h3.api.basic_int.cell_to_boundary(cell)])


def _check(grid: gridcells.GridCells) -> None:
    picked = np.arange(0, len(grid.h3), 7)
    lon, lat, offsets = grid.boundaries(picked)
    for k, position in enumerate(picked.tolist()):
        ring = np.column_stack([lon, lat])[offsets[k]:offsets[k + 1]]
        assert ring == pytest.approx(_expected(int(grid.h3[position])), abs=1e-6)


def test_hexagons_are_read_from_the_store(tmp_path):
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(_grid().sample(frac=1, random_state=2), RES)  # any order in, sorted out
    grid = gridcells.grid_cells(store)
    assert (np.diff(grid.h3.astype(np.float64)) > 0).all()
    assert (grid.counts == 6).all()  # every hexagon there at once, none computed
    _check(grid)


def test_a_store_without_them_computes_the_same(tmp_path):
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(_grid(), RES)
    with store.write() as con:  # as a store written before cell_rings, or merged
        con.execute("DELETE FROM cell_rings")
    grid = gridcells.grid_cells(store)
    _check(grid)
