"""Tables keyed by pre-2025 units: rows of the old units merged into the 2025 unit they
became (63 provinces -> 34), unmatched rows reported, units listed twice refused.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vntwin.catalog import packages, resources
from vntwin.catalog.users import SYSTEM
from vntwin.twin.admin import AdminUnits
from vntwin.twin.admin_build import package_dir
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.fuse import FusionError
from vntwin.twin.fuse.tables import merge_unit_rows
from vntwin.twin.ingest_catalog import ingest_file

RES = 5
LAYER = "thong-ke-63-tinh--tinh_63"


def _old_provinces() -> pd.DataFrame:
    """The 63 provinces before the 2025 reform, as the package lists them (code, name)."""
    db = package_dir() / "data" / "dataset.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        frame = pd.read_sql_query("SELECT DISTINCT provinceCode AS ma, province AS ten "
                                  "FROM admin_units_legacy ORDER BY provinceCode", con)
    assert len(frame) == 63
    return frame


def _old_table() -> pd.DataFrame:
    """A statistics table of the 63 old provinces (made-up numbers) and one row no unit
    matches.
    """
    old = _old_provinces()
    n = np.arange(1, len(old) + 1, dtype=np.float64)
    table = pd.DataFrame({"ten_tinh": old["ten"], "dan_so": 1000.0 * n,
                          "ty_le_ngheo": n / 100.0})
    extra = pd.DataFrame({"ten_tinh": ["Tỉnh Atlantis"], "dan_so": [5.0], "ty_le_ngheo": [0.9]})
    return pd.concat([table, extra], ignore_index=True)


@pytest.fixture(scope="module")
def admin(admin_cache: Path) -> AdminUnits:
    return AdminUnits.load(admin_cache)  # the session's build, shared with the catalogue


def _merge(admin: AdminUnits, table: pd.DataFrame, weight: str | None = "dan_so"):
    found = admin.match_report(table["ten_tinh"].tolist())
    return merge_unit_rows(table, found.codes, found.keys, found.old, extensive=["dan_so"],
                           intensive=["ty_le_ngheo"], weight=weight, place="ten_tinh")


def test_63_old_provinces_merge_into_34(admin):
    table = _old_table()
    merged, match = _merge(admin, table)
    assert len(merged) == 34 and merged["unit_code"].is_unique
    assert set(merged["unit_code"]) == set(admin.provinces["code"])
    assert (match.rows, match.matched, match.units) == (64, 63, 34)
    assert match.unmatched == ["Tỉnh Atlantis"] and match.unmatched_rows == 1
    # every 2025 province made of several old ones: 23 of them, from 52 old provinces
    sizes = admin.provinces.set_index("code")["old_codes"].str.count(",") + 1
    assert len(match.merged) == (sizes > 1).sum() == 23
    assert match.merged_rows == sizes[sizes > 1].sum() == 52
    assert sorted(match.merged["48"]) == ["Thành phố Đà Nẵng", "Tỉnh Quảng Nam"]
    # conservation: the units' total is the matched rows' total
    assert merged["dan_so"].sum() == pytest.approx(table["dan_so"].iloc[:63].sum())
    # rates: weighted by population
    by_name = table.set_index("ten_tinh")
    parts = by_name.loc[match.merged["48"]]
    danang = merged.set_index("unit_code").loc["48"]
    assert danang["dan_so"] == parts["dan_so"].sum()
    assert danang["ty_le_ngheo"] == pytest.approx(
        (parts["dan_so"] * parts["ty_le_ngheo"]).sum() / parts["dan_so"].sum())
    assert danang["ten_tinh"] == "48"
    note = match.note()
    assert "63 of 64 rows matched to 34 units" in note and "52 rows" in note
    assert "Tỉnh Atlantis" in note and "weighted by dan_so" in note


def test_without_a_weight_rates_are_plain_means(admin):
    merged, match = _merge(admin, _old_table(), weight=None)
    parts = _old_table().set_index("ten_tinh").loc[match.merged["48"]]
    assert merged.set_index("unit_code").loc["48", "ty_le_ngheo"] == pytest.approx(
        parts["ty_le_ngheo"].mean())
    assert "plain means" in match.note()


def test_a_unit_listed_twice_is_refused(admin):
    table = _old_table()
    twice = pd.concat([table, table.iloc[[0]]], ignore_index=True)  # Hà Nội again
    with pytest.raises(FusionError, match="more than once"):
        _merge(admin, twice)
    # the same 2025 unit under two of its own names is no merger either
    both = pd.DataFrame({"ten_tinh": ["Hà Nội", "01"], "dan_so": [1.0, 2.0],
                         "ty_le_ngheo": [0.1, 0.2]})
    with pytest.raises(FusionError, match="01: Hà Nội, 01"):
        _merge(admin, both)
    # one old province spelled twice, with and without diacritics and prefix
    spelled = pd.DataFrame({"ten_tinh": ["Tỉnh Quảng Nam", "quang nam", "Đà Nẵng"],
                            "dan_so": [1.0, 1.0, 2.0], "ty_le_ngheo": [0.1, 0.1, 0.2]})
    with pytest.raises(FusionError, match="48"):
        _merge(admin, spelled)
    # one old province by its name and by its old code (Quảng Nam was 49)
    named_and_coded = pd.DataFrame({"ten_tinh": ["Quảng Nam", "49", "Đà Nẵng"],
                                    "dan_so": [1.0, 1.0, 2.0], "ty_le_ngheo": [0.1, 0.1, 0.2]})
    with pytest.raises(FusionError, match="48: Quảng Nam, 49"):
        _merge(admin, named_and_coded)


def test_divided_communes_are_reported(admin):
    """A pre-2025 commune the reform divided among several 2025 communes: its values go to
    the conversion's default one, and the report names it with every commune it went to."""
    db = package_dir() / "data" / "dataset.db"
    divided = next((code, parts) for code, parts in admin._get_lookup().divided.items()
                   if len(set(parts)) > 1)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        name, district, province = con.execute(
            "SELECT ward, district, province FROM admin_units_legacy WHERE wardCode = ?",
            [divided[0]]).fetchone()
    found = admin.match_report([divided[0], f"{name}, {district}, {province}"], "commune")
    assert found.codes == [divided[1][0]] * 2 and found.old == [True, True]
    assert found.split == {divided[0]: list(divided[1]),
                           f"{name}, {district}, {province}": list(divided[1])}
    assert found.keys[0] == found.keys[1]  # one old commune, by code or by name
    table = pd.DataFrame({"ma_xa": [divided[0]], "so_ho": [10.0]})
    _, match = merge_unit_rows(table, found.codes[:1], found.keys[:1], found.old[:1],
                               extensive=["so_ho"], intensive=[], place="ma_xa")
    match.split = {divided[0]: list(divided[1])}
    assert "divided among several 2025 communes" in match.note()
    assert f"{divided[0]} → {divided[1][0]}" in match.note()


def test_a_2025_table_is_unchanged(admin):
    new = admin.provinces[["code", "name"]].rename(columns={"name": "ten_tinh"})
    table = new.assign(dan_so=1.0, ty_le_ngheo=0.5).drop(columns="code")
    merged, match = _merge(admin, table)
    assert match.merged_rows == 0 and match.unmatched_rows == 0 and match.matched == 34
    assert (merged["dan_so"] == 1.0).all() and len(merged) == 34


def test_an_old_table_is_fused_and_its_matching_reported(cat, org, tmp_path: Path):
    table = _old_table()
    path = tmp_path / "tinh_63.csv"
    table.to_csv(path, index=False)
    ingest_file(cat, SYSTEM, path, dataset="thong-ke-63-tinh", org=org["name"])
    pkg = packages.show(cat, SYSTEM, "thong-ke-63-tinh")
    rid = next(r["id"] for r in pkg["resources"] if r.get("twin_layer"))
    resources.update(cat, SYSTEM, {"id": rid, "twin_extensive": "dan_so",
                                   "twin_intensive": "ty_le_ngheo",
                                   "twin_merge_weight": "dan_so"}, None, patch=True)
    report = fuse_catalog(cat, res=RES)
    assert report.failed == {}, report.failed
    match = report.matching[LAYER]
    assert (match["matched"], match["merged_rows"], match["unmatched_rows"]) == (63, 52, 1)
    assert match["unmatched"] == ["Tỉnh Atlantis"]
    store = twin_store(cat)
    notes = next(r["notes"] for r in store.layers() if r["layer"] == LAYER)
    assert "52 rows of pre-2025 units merged into 23 units" in notes
    with store.read() as con:
        values = con.execute("SELECT c.province_code, v.variable, v.value FROM cell_values v "
                             "JOIN cells c USING (h3) WHERE layer = ?", [LAYER]).fetchdf()
    pop = values[values["variable"] == "dan_so"]
    # conservation: every matched row's people are on the 2025 units' cells
    assert pop["value"].sum() == pytest.approx(table["dan_so"].iloc[:63].sum())
    names = table.set_index("ten_tinh")
    parts = names.loc[["Thành phố Đà Nẵng", "Tỉnh Quảng Nam"]]
    assert pop.loc[pop["province_code"] == "48", "value"].sum() == pytest.approx(
        parts["dan_so"].sum())
    rate = values[(values["variable"] == "ty_le_ngheo") & (values["province_code"] == "48")]
    expected = (parts["dan_so"] * parts["ty_le_ngheo"]).sum() / parts["dan_so"].sum()
    assert rate["value"].to_numpy() == pytest.approx(expected)


def test_a_long_table_repeats_units_by_time_and_merges_per_time():
    """A yearbook's long table (unit × year) is not "a unit listed twice"; old units of
    one year merge into their 2025 unit for that year only, and a unit repeated within
    one year is still refused."""
    frame = pd.DataFrame({"ma": ["A", "B", "A", "B"], "nam": [2023, 2023, 2024, 2024],
                          "dan_so": [1.0, 2.0, 10.0, 20.0]})
    times = pd.to_datetime(frame["nam"].astype(str)).to_numpy()
    out, match = merge_unit_rows(frame, ["X"] * 4, ["a", "b", "a", "b"], [True] * 4,
                                 extensive=["dan_so"], intensive=[], times=times)
    assert out[["nam", "dan_so"]].values.tolist() == [[2023, 3.0], [2024, 30.0]]
    assert match.units == 1 and match.merged_rows == 4
    with pytest.raises(FusionError, match="more than once"):
        merge_unit_rows(frame, ["X"] * 4, ["a", "a", "a", "b"], [True] * 4,
                        extensive=["dan_so"], intensive=[], times=times)
