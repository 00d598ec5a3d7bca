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
