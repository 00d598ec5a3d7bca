"""Each dimension on real rows: a clean file scores 100, injected defects are found on
the rows they were put in (row 1 = first data row).
"""

from __future__ import annotations

import unicodedata

from quality_samples import check_score, commune_rows, finding, to_csv


def test_clean_file_scores_100_everywhere_it_is_measured(datasets):
    datasets.make("xa-da-nang", to_csv(commune_rows()))
    report = datasets.quality("xa-da-nang")
    for dim in ("accurate", "sufficient", "clean", "live", "shared"):
        assert report[dim]["score"] == 100, (dim, report[dim]["findings"])
        assert report[dim]["findings"] == []
    assert report["overall"] is not None and report["up_to_date"] is True
    measured = {c["id"] for c in report["accurate"]["checks"] if c["measured"]}
    assert {"types", "ranges", "code_lists", "territory"} <= measured
    assert check_score(report, "sufficient", "coverage") == 100  # all of Đà Nẵng's units


def test_accurate_defects(datasets):
    rows = commune_rows()
    rows[2]["commune_code"] = "99999"  # row 3: no such commune
    rows[4]["latitude"], rows[4]["longitude"] = rows[4]["longitude"], rows[4]["latitude"]
    rows[6]["area_km2"] = "mười hai"  # row 7: text in a number column
    datasets.make("xa-loi-dung", to_csv(rows))
    report = datasets.quality("xa-loi-dung")
    assert report["accurate"]["score"] < 100
    assert finding(report, "accurate", "code_lists", "commune_code")["rows"] == [3]
    assert finding(report, "accurate", "code_lists")["examples"] == ["99999"]
    assert finding(report, "accurate", "types", "area_km2")["rows"] == [7]
    assert finding(report, "accurate", "ranges", "latitude")["rows"] == [5]
    assert 5 in finding(report, "accurate", "territory")["rows"]


def test_sufficient_defects(datasets):
    rows = commune_rows()
    rows[1]["area_km2"] = ""  # row 2
    dropped = [r["commune_code"] for r in rows[-3:]]
    datasets.make("xa-thieu", to_csv(rows[:-3]), license_id="", tags=[])
    report = datasets.quality("xa-thieu")
    assert report["sufficient"]["score"] < 100
    assert finding(report, "sufficient", "completeness", "area_km2")["rows"] == [2]
    cover = finding(report, "sufficient", "coverage")
    assert cover["count"] == 3 and [e[:5] for e in cover["examples"]] == dropped
    lacking = {f["column"] for f in report["sufficient"]["findings"] if f["check"] == "metadata"}
    assert lacking == {"license_id", "tags"}


def test_clean_defects(datasets):
    rows = commune_rows()
    rows[5]["commune_name"] = rows[5]["commune_name"].encode("utf-8").decode("cp1252",
                                                                              "replace")
    rows[7]["commune_name"] = " " + rows[7]["commune_name"]
    rows[8]["area_km2"] = float(rows[8]["area_km2"]) * 100_000
    rows.append(dict(rows[3]))  # a repeat of row 4 as the last row
    datasets.make("xa-ban", to_csv(rows))
    report = datasets.quality("xa-ban")
    assert report["clean"]["score"] < 100
    dup = finding(report, "clean", "duplicates")
    assert dup["rows"] == [len(rows)] and dup["examples"] == [f"row {len(rows)} = row 4"]
    assert finding(report, "clean", "encoding", "commune_name")["rows"] == [6]
    assert finding(report, "clean", "whitespace", "commune_name")["rows"] == [8]
    assert finding(report, "clean", "outliers", "area_km2")["rows"] == [9]


def _yearly(rows, year):
    return [{"nam": year, **r} for r in rows]


def test_live(datasets, cat):
    from datetime import UTC, datetime, timedelta

    from vntwin.catalog.users import SYSTEM
    from vntwin.quality.service import quality_for

    this_year = datetime.now(UTC).year
    datasets.make("xa-moi", to_csv(_yearly(commune_rows(), this_year)))
    fresh = datasets.quality("xa-moi")
    assert fresh["live"]["score"] == 100
    assert {c["id"] for c in fresh["live"]["checks"] if c["measured"]} == {
        "declared_frequency", "freshness", "data_time"}

    datasets.make("xa-cu", to_csv(_yearly(commune_rows(), 2015)), update_frequency="MONTHLY")
    old = datasets.quality("xa-cu")
    assert check_score(old, "live", "data_time") == 0
    assert finding(old, "live", "data_time")["examples"] == ["2015-01-01"]
    # two years on without an update, the annual dataset is no longer live
    later = quality_for(cat, SYSTEM, "xa-moi", now=datetime.now(UTC) + timedelta(days=730))
    assert check_score(later, "live", "freshness") < 100

    datasets.make("xa-khong-tan-suat", to_csv(commune_rows()), update_frequency="")
    none = datasets.quality("xa-khong-tan-suat")
    assert check_score(none, "live", "declared_frequency") == 0


def test_unified(datasets):
    rows = [{**r, "ngay_cap_nhat": "2025-07-01"} for r in commune_rows()]
    datasets.make("xa-chuan", to_csv(rows))
    clean = datasets.quality("xa-chuan")
    assert clean["unified"]["score"] == 100, clean["unified"]["findings"]

    bad = [dict(r) for r in rows]
    bad[1]["commune_code"] = "20195"  # row 2: pre-2025 code of Phường Hòa Hiệp Nam
    bad[3]["ngay_cap_nhat"] = "01/07/2025"  # row 4: not ISO 8601
    for r in bad:
        r["dien_tich_ha"] = round(float(r.pop("area_km2")) * 100, 2)  # hectares
    datasets.make("xa-khong-chuan", to_csv(bad))
    report = datasets.quality("xa-khong-chuan")
    assert report["unified"]["score"] < 100
    assert finding(report, "unified", "admin_codes", "commune_code")["rows"] == [2]
    assert finding(report, "unified", "dates", "ngay_cap_nhat")["rows"] == [4]
    units = finding(report, "unified", "variables", "dien_tich_ha")
    assert "km2" in units["message"]


def test_unified_text_form_in_parquet(datasets, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # the datastore stores text NFC; a GeoParquet twin layer is read as it was uploaded
    rows = commune_rows()
    rows[4]["commune_name"] = unicodedata.normalize("NFD", rows[4]["commune_name"])  # row 5
    path = tmp_path / "xa.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    datasets.make("xa-nfd", path.read_bytes(), filename="xa.parquet", fmt="GeoParquet")
    report = datasets.quality("xa-nfd")
    assert finding(report, "unified", "text_form", "commune_name")["rows"] == [5]
    assert check_score(report, "unified", "text_form") < 100


def test_shared(datasets, api, editor_token):
    datasets.make("xa-mo", to_csv(commune_rows()))
    assert datasets.quality("xa-mo")["shared"]["score"] == 100
    datasets.make("xa-dong", to_csv(commune_rows()), license_id="other-closed", url="",
                  notes="Ngắn", access_level="restricted")
    api.ok("resource_create", editor_token, package_id="xa-dong", url="https://x.vn/bao-cao.pdf",
           format="PDF")
    report = datasets.quality("xa-dong")
    assert report["shared"]["score"] < 50
    assert finding(report, "shared", "open_licence")["column"] == "license_id"
    assert finding(report, "shared", "open_format")["message"].startswith("format PDF")
    assert check_score(report, "shared", "access") == 25
