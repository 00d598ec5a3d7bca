"""Sample data for the DCAT tests: a package dict as the catalogue's package_show returns it."""

from __future__ import annotations

from typing import Any

SITE = "http://data.example.vn"
DATASET_ID = "0b6c2c1e-1111-4222-8333-444455556666"
RESOURCE_ID = "7d1e0a52-aaaa-4bbb-8ccc-dddddddddddd"

PACKAGE: dict[str, Any] = {
    "id": DATASET_ID,
    "name": "dan-so-tinh",
    "title": "Dân số theo tỉnh",
    "notes": "Dân số trung bình theo **tỉnh**, 2018–2030.",
    "title_translated": {"vi": "Dân số theo tỉnh", "en": "Population by province"},
    "notes_translated": {
        "vi": "Dân số trung bình theo **tỉnh**, 2018–2030.",
        "en": "Average population by **province**, 2018–2030.",
    },
    "license_id": "cc-by-4.0",
    "license_title": "Creative Commons Attribution 4.0",
    "license_url": "https://creativecommons.org/licenses/by/4.0/",
    "metadata_created": "2026-11-24T10:00:00.123456+00:00",
    "metadata_modified": "2026-11-25T08:30:00.000001+00:00",
    "private": False,
    "access_level": "public",
    "type": "dataset",
    "state": "active",
    "author": "Tổng cục Thống kê",
    "author_email": "gso@example.vn",
    "maintainer": "Nguyễn Văn An",
    "maintainer_email": "an.nguyen@example.vn",
    "version": "2.1",
    "url": "",
    "theme": ["ECON", "SOCI"],
    "update_frequency": "ANNUAL",
    "spatial": '{"type": "Polygon", "coordinates": [[[102.14, 8.18], [109.46, 8.18], '
    "[109.46, 23.39], [102.14, 23.39], [102.14, 8.18]]]}",
    "spatial_label": "Việt Nam",
    "temporal_start": "2018-01-01",
    "temporal_end": "2030-12-31",
    "language": ["vi"],
    "tags": [
        {"name": "dân số", "display_name": "dân số"},
        {"name": "thống kê", "display_name": "thống kê"},
    ],
    "extras": [{"key": "nguon", "value": "GSO"}],
    "organization": {
        "id": "a1b2",
        "name": "tong-cuc-thong-ke",
        "title": "Tổng cục Thống kê",
        "description": "",
    },
    "owner_org": "a1b2",
    "groups": [{"id": "g1", "name": "xa-hoi", "title": "Xã hội"}],
    "resources": [
        {
            "id": RESOURCE_ID,
            "package_id": DATASET_ID,
            "position": 0,
            "name": "Bảng dân số (CSV)",
            "description": "Một dòng mỗi tỉnh và năm.",
            "format": "CSV",
            "mimetype": "text/csv",
            "size": 1234,
            "hash": "sha256:" + "0f" * 32,
            "created": "2026-11-24T10:00:01+00:00",
            "last_modified": "2026-11-25T08:30:00+00:00",
            "url": f"{SITE}/dataset/{DATASET_ID}/resource/{RESOURCE_ID}/download/dan-so.csv",
            "url_type": "upload",
            "datastore_active": True,
        },
        {
            "id": "r2",
            "package_id": DATASET_ID,
            "position": 1,
            "name": "Bản đồ ranh giới",
            "description": "",
            "format": "GeoJSON",
            "mimetype": "application/geo+json",
            "size": 98765,
            "hash": "",
            "created": "2026-11-24T10:00:02+00:00",
            "last_modified": None,
            "url": "https://gis.example.vn/ranh-gioi.geojson",
            "url_type": None,
            "datastore_active": False,
        },
    ],
}
