"""Administrative units built from the installed packages (needs `npm ci`, see README)."""

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from vntwin.twin import grid
from vntwin.twin.admin import CELLS_VERSION, AdminDataMissing, AdminUnits
from vntwin.twin.admin_build import EQUAL_AREA, build_cells, give_every_unit_a_cell, name_keys

HOAN_KIEM = "00070"


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> AdminUnits:
    return AdminUnits.build(tmp_path_factory.mktemp("admin"))


@pytest.fixture(scope="module")
def cells7(admin: AdminUnits):
    return admin.cells(7)


def test_34_provinces(admin):
    prov = admin.provinces
    assert len(prov) == 34 and prov["code"].is_unique
    assert prov["code"].str.fullmatch(r"\d{2}").all()
    assert prov.crs.to_epsg() == 4326 and prov.is_valid.all()
    assert set(prov["type"]) == {"Tỉnh", "Thành phố"} and (prov["type"] == "Thành phố").sum() == 6
    total = prov["area_km2"].sum()
    assert abs(total - 331_000) / 331_000 < 0.03
    measured = prov.to_crs(EQUAL_AREA).area.sum() / 1e6
    assert measured == pytest.approx(total, rel=1e-3)
    # merged whole: 63 old provinces, each in exactly one new one
    olds = [c for codes in prov["old_codes"] for c in codes.split(",")]
    assert len(olds) == 63 == len(set(olds))
    danang = prov.set_index("code").loc["48"]
    assert danang["name"] == "Đà Nẵng" and danang["old_codes"] == "48,49"


def test_ha_noi_holds_hoan_kiem(admin):
    communes = admin.communes.set_index("code")
    hk = communes.loc[HOAN_KIEM]
    assert hk["name"] == "Hoàn Kiếm" and hk["province_code"] == "01"
    ha_noi = admin.provinces.set_index("code").geometry["01"]
    point = shapely.Point(hk["lon"], hk["lat"])
    assert ha_noi.contains(point)
    assert communes.geometry[HOAN_KIEM].contains(point)
    others = admin.provinces[admin.provinces["code"] != "01"]
    assert not others.contains(point).any()


def test_communes_table(admin):
    com = admin.communes
    assert len(com) == 3321 and com["code"].is_unique
    assert com["code"].str.fullmatch(r"\d{5}").all()
    assert set(com["province_code"]) == set(admin.provinces["code"])
    assert com["approximate"].all()
    assert com.is_valid.all() and not com.is_empty.any()
    assert set(com["type"]) == {"Xã", "Phường", "Đặc khu"}
    counts = com.groupby("province_code").size()
    assert (counts == admin.provinces.set_index("code")["n_communes"]).all()


def test_commune_centroids_in_their_province(admin):
    com = admin.communes.to_crs(EQUAL_AREA)
    prov = admin.provinces.to_crs(EQUAL_AREA).set_index("code").geometry
    points = gpd.points_from_xy(admin.communes["lon"], admin.communes["lat"], crs=4326)
    points = gpd.GeoSeries(points).to_crs(EQUAL_AREA).values
    dist = shapely.distance(points, prov.loc[com["province_code"]].values)
    assert np.mean(dist <= 1000) >= 0.99
    # and in their own commune's polygon
    assert np.mean(shapely.contains(com.geometry.values, points)) >= 0.98


def test_communes_partition_their_province(admin):
    com = admin.communes.to_crs(EQUAL_AREA)
    prov = admin.provinces.to_crs(EQUAL_AREA).set_index("code")
    summed = com.area.groupby(com["province_code"]).sum()
    assert np.allclose(summed, prov.area.loc[summed.index], rtol=0.01)
    # no overlaps: the union is as large as the sum
    for code in ("01", "79", "91"):
        parts = com[com["province_code"] == code].geometry.values
        assert shapely.union_all(parts).area == pytest.approx(
            shapely.area(parts).sum(), rel=1e-4)
        assert shapely.union_all(parts).symmetric_difference(
            prov.geometry[code]).area < 1e-4 * prov.geometry[code].area


def test_commune_polygons_follow_official_areas(admin):
    com = admin.communes
    ratio = com["polygon_area_km2"] / com["area_km2"]
    assert 0.9 < ratio.median() < 1.1
    assert ((ratio > 0.5) & (ratio < 2)).mean() > 0.85


def test_match_names_and_codes(admin):
    values = ["Ha Noi", "TP. Hồ Chí Minh", "01", 1, "Quảng Nam", "Bắc Giang", "Atlantis",
              None, "thanh pho ho chi minh", "VN-54", "27", 1.0]
    report = admin.match_report(values)
    assert report.codes == ["01", "79", "01", "01", "48", "24", None, None, "79", "24",
                            "24", "01"]
    assert report.unmatched == ["Atlantis"]
    assert report.legacy["Quảng Nam"] == "48" and report.legacy["27"] == "24"
    assert "Ha Noi" not in report.legacy
    assert admin.match(["Sài Gòn", "Thừa Thiên Huế", "Tỉnh Kon Tum"]) == ["79", "46", "51"]


def test_match_communes(admin):
    assert admin.match([HOAN_KIEM, 70, "Phường Hoàn Kiếm", "hoan kiem, ha noi"],
                       level="commune") == [HOAN_KIEM] * 4
    # a name shared by several communes needs its province
    report = admin.match_report(["Tân Thành", "Tân Thành, Cà Mau"], level="commune")
    assert report.codes[0] is None and len(report.ambiguous["Tân Thành"]) > 5
    tan_thanh = admin.communes.set_index("code").loc[report.codes[1]]
    assert tan_thanh["name"] == "Tân Thành" and tan_thanh["province_code"] == "96"
    # a pre-2025 ward maps to the ward it joined
    old = admin.match_report(["Phúc Xá, Ba Đình, Hà Nội"], level="commune")
    assert old.codes[0] is not None and old.codes[0] in old.legacy.values()
    merged_into = admin.communes.set_index("code").loc[old.codes[0]]
    assert merged_into["province_code"] == "01"
    assert admin.match(["Quảng Nam"], level="commune") == [None]
    # a column of commune codes that lost its leading zeros, read as numbers
    assert admin.match([70, 4.0, 25534]) == [HOAN_KIEM, "00004", "25534"]
    assert admin.match([79, 4.0]) == ["79", "04"]
    assert admin.match(["Nowhere at all"]) == [None]


def test_name_keys_keep_names_that_look_like_prefixes():
    assert name_keys("Tịnh Biên") == ["tinhbien"]  # a ward, not "Tỉnh Biên"
    assert name_keys("Tỉnh Bắc Giang") == ["bacgiang"]
    assert name_keys("Xã Phương Sơn") == ["phuongson"]
    assert name_keys("TP.HCM") == ["hcm"]


def test_cells_cover_the_land(admin, cells7):
    cells = cells7
    assert cells["h3"].dtype == np.uint64 and cells["h3"].is_unique
    assert (grid.resolution(cells["h3"].to_numpy()) == 7).all()
    assert cells["commune_code"].notna().all() and cells["province_code"].notna().all()
    com = admin.communes.set_index("code")
    assert (com.loc[cells["commune_code"], "province_code"].to_numpy()
            == cells["province_code"].to_numpy()).all()
    assert set(cells["province_code"]) == set(admin.provinces["code"])
    # random points on land all fall in a listed cell
    rng = np.random.default_rng(1)
    land = shapely.union_all(admin.provinces.geometry.values)
    minx, miny, maxx, maxy = land.bounds
    lon, lat = rng.uniform(minx, maxx, 20000), rng.uniform(miny, maxy, 20000)
    inside = shapely.contains_xy(land, lon, lat)
    hit = grid.latlng_to_cells(lat[inside], lon[inside], 7)
    assert np.isin(hit, cells["h3"].to_numpy()).all()
    # small islands are there too (Trường Sa, Bạch Long Vĩ, Cồn Cỏ)
    for name in ("Trường Sa", "Bạch Long Vĩ", "Cồn Cỏ"):
        code = com.index[com["name"] == name][0]
        assert (cells["commune_code"] == code).any(), name
    # land fractions: the land area is recovered
    land_km2 = (cells["land_fraction"] * cells["area_km2"]).sum()
    assert land_km2 == pytest.approx(admin.provinces["area_km2"].sum(), rel=0.01)
    assert cells["land_fraction"].between(0, 1).all()
    assert (cells["land_fraction"] == 1).mean() > 0.8


def test_cells_centre_rule(admin, cells7):
    """A cell whose centre is in a commune's polygon belongs to that commune."""
    sample = cells7.sample(3000, random_state=3)
    points = shapely.points(sample["lon"], sample["lat"])
    com = admin.communes
    tree = shapely.STRtree(com.geometry.values)
    idx_point, idx_comm = tree.query(points, predicate="within")
    expected = com["code"].to_numpy()[idx_comm]
    assert (sample["commune_code"].to_numpy()[idx_point] == expected).mean() > 0.999


def test_cache_is_reused(admin):
    assert admin.cache_dir is not None
    admin.cells(7)
    files = sorted(p.name for p in admin.cache_dir.iterdir())
    assert "admin_provinces.parquet" in files
    assert f"admin_cells_v{CELLS_VERSION}_r7.parquet" in files
    again = AdminUnits.load(admin.cache_dir)
    assert len(again.provinces) == 34
    cells = again.cells(7)
    assert len(cells) == len(admin.cells(7))


def test_missing_boundaries_name_the_command(tmp_path: Path):
    with pytest.raises(AdminDataMissing) as err:
        AdminUnits.build(tmp_path / "cache", node_modules=tmp_path / "node_modules")
    assert "npm ci" in str(err.value) and "make install" in str(err.value)


def test_stale_cell_cache_is_not_read(admin, tmp_path: Path):
    """Cells cached by an older rule (the file without a version) are rebuilt, not read."""
    assert admin.cache_dir is not None
    stale = admin.cache_dir / "admin_cells_r5.parquet"
    admin.cells(5).iloc[:1].to_parquet(stale)  # newer than the manifest: used to be read
    fresh = AdminUnits(admin.provinces, admin.communes, admin.cache_dir, admin.info)
    assert len(fresh.cells(5)) == len(admin.cells(5)) > 1


def _square(lon: float, lat: float, half: float) -> shapely.Polygon:
    return shapely.box(lon - half, lat - half, lon + half, lat + half)


def test_a_commune_without_a_cell_centre_takes_the_cell_it_overlaps_most():
    """A commune too small to hold a cell centre takes the cell it lies in, from a
    neighbour that keeps other cells; the cell's province follows the commune.
    """
    res = 8
    cell = h3.latlng_to_cell(21.03, 105.85, res)
    lat, lon = h3.cell_to_latlng(cell)
    vlat, vlon = h3.cell_to_boundary(cell)[0]
    # a 150 m square a quarter of the way from the centre to a vertex: no centre inside
    tiny = _square(lon + (vlon - lon) * 0.4, lat + (vlat - lat) * 0.4, 0.0007)
    big = _square(lon, lat, 0.03).difference(tiny)
    provinces = gpd.GeoDataFrame({"code": ["01", "02"]},
                                 geometry=[big, tiny], crs=4326)
    communes = gpd.GeoDataFrame({"code": ["00001", "00002"], "province_code": ["01", "02"]},
                                geometry=[big, tiny], crs=4326)
    cells = build_cells(provinces, communes, res)
    held = cells.set_index("h3")
    assert held.loc[np.uint64(int(cell, 16)), "commune_code"] == "00002"
    assert held.loc[np.uint64(int(cell, 16)), "province_code"] == "02"
    assert (cells["commune_code"] == "00002").sum() == 1
    assert (cells["commune_code"] == "00001").sum() == len(cells) - 1 > 50


def test_a_cell_is_not_taken_from_a_unit_it_would_leave_empty():
    res = 8
    cell = np.uint64(int(h3.latlng_to_cell(21.03, 105.85, res), 16))
    lat, lon = grid.cell_centres(np.array([cell]))
    hexagon = np.asarray(grid.cell_polygons(np.array([cell])).values)[0]
    tiny = _square(float(lon[0]) + 0.001, float(lat[0]), 0.0005)
    geoms = np.array([hexagon.difference(tiny), tiny])
    owner = give_every_unit_a_cell(np.array([cell]), np.array([0]), geoms, res)
    assert owner.tolist() == [0]  # unit 0 has only this cell: unit 1 stays without one


def test_every_commune_holds_a_cell_at_res_8(admin):
    cells = admin.cells(8)
    assert set(admin.communes["code"]) <= set(cells["commune_code"])
    com = admin.communes.set_index("code")
    assert (com.loc[cells["commune_code"], "province_code"].to_numpy()
            == cells["province_code"].to_numpy()).all()
    # the four communes that held no cell centre (about 1.1 km², in Hồ Chí Minh City)
    for code in ("26737", "27286", "27301", "27367"):
        assert (cells["commune_code"] == code).sum() >= 1


def test_a_commune_table_keeps_its_total_where_communes_have_no_cell(admin, cells7):
    """At resolution 7 some communes are smaller than any cell they could own; a table's
    values for them go to the cell holding their centre instead of vanishing."""
    from vntwin.twin.build import _unit_cells
    from vntwin.twin.fuse.tables import spread_table

    owned = set(cells7["commune_code"])
    cell_less = admin.communes[~admin.communes["code"].isin(owned)]
    assert len(cell_less) > 0  # what this test is about: 31 communes at res 7
    unit_cells = _unit_cells(cells7, "commune", admin.communes)
    assert set(unit_cells["unit_code"]) == set(admin.communes["code"])
    table = pd.DataFrame({"unit_code": admin.communes["code"], "so_ho": 1.0})
    spread = spread_table(table, unit_cells, extensive=["so_ho"])
    assert spread["value"].sum() == pytest.approx(len(admin.communes))
    assert set(spread["h3"]) <= set(cells7["h3"])  # only cells of the grid
