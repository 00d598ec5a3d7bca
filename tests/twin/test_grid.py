import h3
import numpy as np
import pytest
import shapely

from vntwin.twin import grid


@pytest.fixture(scope="module")
def points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(8.5, 23.4, 500), rng.uniform(102.1, 109.5, 500)


def test_latlng_to_cells_matches_h3(points):
    lat, lon = points
    for res in (0, 5, 8, 12):
        cells = grid.latlng_to_cells(lat, lon, res)
        assert cells.dtype == np.uint64
        expected = [h3.str_to_int(h3.latlng_to_cell(a, b, res))
                    for a, b in zip(lat, lon, strict=True)]
        assert cells.tolist() == expected


def test_missing_coordinates_give_no_cell():
    cells = grid.latlng_to_cells([21.03, np.nan, 91.0, 10.8], [105.85, 106.0, 0.0, np.inf])
    assert cells[0] != 0 and cells[1:].tolist() == [0, 0, 0]
    assert grid.resolution(cells).tolist() == [8, -1, -1, -1]
    assert np.isnan(grid.cell_area_km2(cells)[1])
    assert grid.cell_polygons(cells).iloc[1] is None


def test_parent_matches_h3(points):
    lat, lon = points
    cells = grid.latlng_to_cells(lat, lon, 9)
    for res in (0, 3, 7, 8, 9):
        expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res))
                    for c in cells]
        assert grid.parent(cells, res).tolist() == expected
    with pytest.raises(ValueError):
        grid.parent(cells, 10)


def test_area_and_polygons_agree(points):
    lat, lon = points
    cells = grid.latlng_to_cells(lat, lon, grid.DEFAULT_RES)
    areas = grid.cell_area_km2(cells)
    assert np.allclose(areas, [h3.cell_area(h3.int_to_str(int(c)), "km^2") for c in cells])
    assert 0.7 < areas.mean() < 0.9  # ≈0.8 km² a cell at Vietnam's latitudes
    polys = grid.cell_polygons(cells)
    assert polys.crs.to_epsg() == 4326
    assert shapely.contains_xy(polys.values, lon, lat).all()
    clat, clon = grid.cell_centres(cells)
    assert np.allclose(clat, lat, atol=0.01) and np.allclose(clon, lon, atol=0.01)
    projected = polys.to_crs("+proj=aea +lat_1=10 +lat_2=21 +lat_0=16 +lon_0=106")
    assert np.allclose(projected.area / 1e6, areas, rtol=0.01)


def test_as_cells_accepts_strings_and_rejects_junk():
    cell = h3.latlng_to_cell(21.03, 105.85, 8)
    out = grid.as_cells([cell, h3.str_to_int(cell), "zz", None, 5])
    assert out.tolist() == [h3.str_to_int(cell)] * 2 + [0, 0, 0]
    assert grid.to_strings(out[:1]) == [cell]
