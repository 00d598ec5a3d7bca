"""Small real fixtures for the quality tests: rows of the 2025 communes from the
``vietnamadminunits`` package (Đà Nẵng's, about a hundred), written as CSV with or without
injected defects.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import Any

from vntwin.twin.admin_build import package_dir

DA_NANG = "48"
COLUMNS = ["commune_code", "commune_name", "province_code", "province_name", "latitude",
           "longitude", "area_km2"]
GOOD_NOTES = ("Danh sách đơn vị hành chính cấp xã của thành phố Đà Nẵng sau sắp xếp năm "
              "2025, lấy từ gói vietnamadminunits (giấy phép MIT), dùng để kiểm thử.")


def commune_rows(province: str = DA_NANG) -> list[dict[str, Any]]:
    path = package_dir() / "data" / "dataset.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT wardCode, ward, provinceCode, province, wardLat, wardLon, wardAreaKm2 "
            "FROM admin_units WHERE provinceCode = ? ORDER BY wardCode", (province,)).fetchall()
    return [dict(zip(COLUMNS, tuple(r), strict=True)) for r in rows]


def to_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


class Datasets:
    """Creates datasets with one uploaded CSV through the API."""

    def __init__(self, api: Any, token: str, org: str) -> None:
        self.api, self.token, self.org = api, token, org

    def make(self, name: str, content: bytes, *, filename: str = "xa.csv",
             fmt: str = "", **metadata: Any) -> dict[str, Any]:
        meta = {"title": "Xã, phường Đà Nẵng", "notes": GOOD_NOTES, "license_id": "cc-by-4.0",
                "theme": ["GOVE"], "tags": [{"name": "đơn vị hành chính"}],
                "update_frequency": "ANNUAL", "spatial_label": "Đà Nẵng",
                "temporal_start": "2025-07-01", "maintainer": "Sở Khoa học và Công nghệ",
                "maintainer_email": "sokhcn@danang.gov.vn",
                "url": "https://github.com/tranngocminhhieu/vietnamadminunits", **metadata}
        self.api.ok("package_create", self.token, name=name, owner_org=self.org, **meta)
        r = self.api.client.post("/api/action/resource_create",
                                 data={"package_id": name, "name": filename, "format": fmt,
                                       "description": "Bảng xã, phường"},
                                 files={"upload": (filename, content, "text/csv")},
                                 headers={"Authorization": self.token})
        assert r.status_code == 200, r.json()
        assert r.json()["result"]["datastore_active"] or fmt, r.json()
        return self.api.ok("package_show", self.token, id=name)

    def quality(self, name: str) -> dict[str, Any]:
        r = self.api.client.get(f"/quality/{name}", headers={"Authorization": self.token})
        assert r.status_code == 200, r.text
        return r.json()


def finding(report: dict[str, Any], dimension: str, check: str,
            column: str | None = None) -> dict[str, Any]:
    found = [f for f in report[dimension]["findings"] if f["check"] == check
             and (column is None or f["column"] == column)]
    assert found, (check, report[dimension]["findings"])
    return found[0]


def check_score(report: dict[str, Any], dimension: str, check: str) -> float | None:
    return next(c["score"] for c in report[dimension]["checks"] if c["id"] == check)
