"""A table keyed by unit, spread over the unit's cells by a weight layer (e.g. population)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vntwin.catalog import packages, resources
from vntwin.catalog.users import SYSTEM
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.ingest_catalog import ingest_file

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
RES = 6
PLACES_LAYER = "dia-danh--places_vn"
TABLE_LAYER = "tinh--provinces_geonames"


def _table_resource(cat) -> str:
    pkg = packages.show(cat, SYSTEM, "tinh")
    return next(r["id"] for r in pkg["resources"] if r.get("twin_layer"))


@pytest.fixture
def twin(cat, org):
    ingest_file(cat, SYSTEM, FIXTURES / "places_vn.geojson", dataset="dia-danh", org=org["name"])
    ingest_file(cat, SYSTEM, FIXTURES / "provinces_geonames.csv", dataset="tinh",
                org=org["name"])
    resources.update(cat, SYSTEM, {"id": _table_resource(cat), "twin_extensive": "so_dia_danh",
                                   "twin_weight": f"{PLACES_LAYER}/population_sum"},
                     None, patch=True)
    report = fuse_catalog(cat, res=RES)
    assert report.failed == {}, report.failed
    assert report.fused[-1] == TABLE_LAYER  # weighted tables come after their weights
    return cat


def _cells(cat, layer: str, variable: str) -> pd.DataFrame:
    with twin_store(cat).read() as con:
        return con.execute("SELECT v.h3, c.province_code, v.value FROM cell_values v "
                           "JOIN cells c USING (h3) WHERE layer = ? AND variable = ?",
                           [layer, variable]).fetchdf()


def test_spread_in_proportion_to_the_weight(twin):
    table = pd.read_csv(FIXTURES / "provinces_geonames.csv", dtype={"ma_tinh": str})
    spread = _cells(twin, TABLE_LAYER, "so_dia_danh")
    weight = _cells(twin, PLACES_LAYER, "population_sum").set_index("h3")["value"]
    hanoi = spread[spread["province_code"] == "01"].set_index("h3")["value"]
    expected_total = float(table.loc[table["ma_tinh"] == "01", "so_dia_danh"].iloc[0])
    assert hanoi.sum() == pytest.approx(expected_total)
    # only cells with people get a share, in proportion to their people
    w = weight.reindex(hanoi.index).fillna(0.0)
    assert (hanoi[w == 0] == 0).all() and (hanoi[w > 0] > 0).all()
    assert (hanoi / hanoi.sum()).to_numpy() == pytest.approx((w / w.sum()).to_numpy())


def test_refused_weight_is_reported_and_unchanged_is_skipped(twin):
    again = fuse_catalog(twin, res=RES)
    assert again.fused == [] and TABLE_LAYER in again.skipped
    resources.update(twin, SYSTEM, {"id": _table_resource(twin),
                                    "twin_weight": "khong-co/population_sum"}, None, patch=True)
    report = fuse_catalog(twin, res=RES)
    assert "fuse that layer first" in report.failed[TABLE_LAYER]
    resources.update(twin, SYSTEM, {"id": _table_resource(twin), "twin_weight": "no-slash"},
                     None, patch=True)
    assert "layer/variable" in fuse_catalog(twin, res=RES).failed[TABLE_LAYER]


def test_a_time_stamped_table_is_spread_by_the_weights_of_its_own_time(cat, org, tmp_path):
    """Weights measured at several times: each time of the table takes each cell's weight
    as "as of" reads it then, the earliest weights before their first time, the latest
    for a timeless table."""
    import geopandas as gpd
    import shapely

    from vntwin.twin.grid import latlng_to_cells

    center, west = (21.03, 105.85), (21.14, 105.50)  # two places in Hà Nội (province 01)
    people = tmp_path / "dan_so.geojson"
    gpd.GeoDataFrame({"nam": [2019, 2024, 2024], "dan_so": [100.0, 100.0, 300.0]},
                     geometry=[shapely.Point(center[::-1]), shapely.Point(center[::-1]),
                               shapely.Point(west[::-1])], crs=4326).to_file(people)
    ingest_file(cat, SYSTEM, people, dataset="dan-so", org=org["name"])
    table = tmp_path / "nha_o.csv"
    table.write_text("ma_tinh,nam,so_nha\n01,2015,10\n01,2019,20\n01,2024,40\n",
                     encoding="utf-8")
    ingest_file(cat, SYSTEM, table, dataset="nha-o", org=org["name"])
    timeless = tmp_path / "truong.csv"
    timeless.write_text("ma_tinh,so_truong\n01,8\n", encoding="utf-8")
    ingest_file(cat, SYSTEM, timeless, dataset="truong", org=org["name"])
    for dataset, extras in (("dan-so", {"twin_time": "nam", "twin_extensive": "dan_so"}),
                            ("nha-o", {"twin_time": "nam", "twin_extensive": "so_nha"}),
                            ("truong", {"twin_extensive": "so_truong"})):
        resource = next(r["id"] for r in packages.show(cat, SYSTEM, dataset)["resources"]
                        if r.get("twin_layer"))
        weight = {} if dataset == "dan-so" else {"twin_weight": "dan-so--dan_so/dan_so_sum"}
        resources.update(cat, SYSTEM, {"id": resource, **extras, **weight}, None, patch=True)
    report = fuse_catalog(cat, res=RES)
    assert report.failed == {}, report.failed
    a, b = (int(c) for c in latlng_to_cells([center[0], west[0]], [center[1], west[1]], RES))
    with twin_store(cat).read() as con:
        rows = con.execute(
            "SELECT layer, year(valid_time + INTERVAL 7 HOUR) AS year, h3, value "
            "FROM cell_values WHERE variable IN ('so_nha', 'so_truong') AND value > 0"
        ).fetchall()
    spread = {(layer, year, int(h3)): value for layer, year, h3, value in rows}
    assert spread == pytest.approx({
        ("nha-o--nha_o", 2015, a): 10.0,  # before the first weights: the 2019 ones
        ("nha-o--nha_o", 2019, a): 20.0,  # in 2019 only the centre has people
        ("nha-o--nha_o", 2024, a): 10.0,  # 2024: 100 people at the centre, 300 west
        ("nha-o--nha_o", 2024, b): 30.0,
        ("truong", None, a): 2.0,  # a timeless table: the latest weights
        ("truong", None, b): 6.0,
    })
