"""What each column of a table is, from its name, its type and a sample of its values.

Checks need to know which columns hold administrative codes or names (and of which
level, and whether they are pre-2025 on purpose), coordinates, geometries, times,
identifiers and measured quantities. Names are compared folded (no diacritics, no case),
so ``Mã tỉnh``, ``ma_tinh`` and ``province_code`` are all a province code column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vntwin.text import tokens
from vntwin.twin.vocabulary import load_vocabulary, name_key

PROVINCE_WORDS = frozenset({"tinh", "province", "provinces", "tinhthanh"})
COMMUNE_WORDS = frozenset({"xa", "phuong", "commune", "communes", "ward", "wards"})
DISTRICT_WORDS = frozenset({"huyen", "quan", "district", "districts"})
CODE_WORDS = frozenset({"ma", "code", "codes", "mso"})
NAME_WORDS = frozenset({"ten", "name", "names"})
LEGACY_WORDS = frozenset({"old", "cu", "legacy", "truoc", "previous", "former"})
UNIT_ONLY_KEYS = frozenset({"tinh", "province", "xa", "phuong", "commune", "ward",
                            "tinhthanhpho", "xaphuong"})
GENERIC_CODE_KEYS = frozenset({"madvhc", "madonvihanhchinh", "admincode", "unitcode"})
LAT_KEYS = frozenset({"lat", "latitude", "vido", "y"})
LON_KEYS = frozenset({"lon", "lng", "long", "longitude", "kinhdo", "x"})
TIME_WORDS = frozenset({"nam", "year", "ngay", "date", "thang", "month", "quy", "quarter",
                        "time", "period", "ky", "thoigian", "thoidiem", "timestamp",
                        "datetime", "day"})
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
TEXT_DATE = re.compile(r"^\s*(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}(-\d{2})?([T ].*)?)\s*$")
ISO_DATE_SQL = (r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                r"(Z|[+-]\d{2}:?\d{2})?)?)?)?$")
"""RE2 pattern of ISO 8601 dates and times (a year alone, year-month, date, date-time)."""


@dataclass
class Column:
    """One column and what it holds.

    ``role`` is one of ``admin_code``, ``admin_name``, ``district``, ``lat``, ``lon``,
    ``geometry``, ``time``, ``id``, ``measure`` (numbers) or ``text``.
    """

    name: str
    type: str
    role: str
    level: str | None = None  # "province" / "commune" for admin columns
    legacy: bool = False  # named as pre-2025 on purpose ("old_province_code")
    geometry: str | None = None  # "geojson" / "wkb" / "wkt"

    @property
    def sql(self) -> str:
        """The column as a quoted DuckDB identifier."""
        return '"' + self.name.replace('"', '""') + '"'

    @property
    def numeric(self) -> bool:
        """Whether DuckDB stores it as a number."""
        return self.type.startswith(NUMERIC_TYPES)

    @property
    def textual(self) -> bool:
        """Whether DuckDB stores it as text."""
        return self.type == "VARCHAR"

    @property
    def temporal(self) -> bool:
        """Whether DuckDB stores it as a date or a time."""
        return self.type.startswith(("DATE", "TIMESTAMP"))


def _digits(sample: Sequence[Any]) -> list[str]:
    out = []
    for value in sample:
        if value is None or isinstance(value, bool):
            continue
        text = str(int(value)) if isinstance(value, float) and value.is_integer() \
            else str(value).strip()
        if text:
            out.append(text)
    return out


def _looks_like_codes(sample: Sequence[Any]) -> bool:
    values = _digits(sample)
    return bool(values) and sum(v.isdigit() and len(v) <= 5 for v in values) >= 0.9 * len(values)


def _geometry_kind(name_k: str, kind: str, sample: Sequence[Any]) -> str | None:
    if kind.startswith("GEOMETRY") or (kind == "BLOB" and name_k in ("geometry", "geom",
                                                                       "wkb", "thegeom")):
        return "wkb"
    if kind != "VARCHAR":
        return None
    texts = [str(v).lstrip() for v in sample if v is not None and str(v).strip()]
    if not texts:
        return None
    if all(t.startswith("{") and '"type"' in t[:40] for t in texts):
        return "geojson"
    if name_k in ("geometry", "geom", "wkt", "thegeom", "shape") and all(
            t.upper().startswith(("POINT", "LINESTRING", "POLYGON", "MULTI", "GEOMETRYCOLL"))
            for t in texts):
        return "wkt"
    return None


def _admin_level(words: set[str], key: str, sample: Sequence[Any]) -> str | None:
    if words & PROVINCE_WORDS or key.startswith("tinh"):
        return "province"
    if words & COMMUNE_WORDS:
        return "commune"
    if key in GENERIC_CODE_KEYS:
        lengths = [len(v) for v in _digits(sample) if v.isdigit()]
        return "commune" if lengths and max(lengths) > 2 else "province"
    return None


def classify(name: str, kind: str, sample: Sequence[Any]) -> Column:
    """The role of one column (see :class:`Column`)."""
    kind = kind.upper()
    key = name_key(name)
    words = set(tokens(name.replace("_", " ").replace("-", " ")))
    numeric = kind.startswith(NUMERIC_TYPES)
    geometry = _geometry_kind(key, kind, sample)
    if geometry:
        return Column(name, kind, "geometry", geometry=geometry)
    if numeric and (key in LAT_KEYS or key.endswith(("latitude", "lat"))) and key != "x":
        return Column(name, kind, "lat")
    if numeric and (key in LON_KEYS or key.endswith(("longitude", "lon", "lng"))):
        return Column(name, kind, "lon")
    legacy = bool(words & LEGACY_WORDS)
    if words & DISTRICT_WORDS and not words & (PROVINCE_WORDS | COMMUNE_WORDS):
        return Column(name, kind, "district", legacy=True)
    level = _admin_level(words, key, sample)
    if level is not None:
        if words & CODE_WORDS or key in GENERIC_CODE_KEYS:
            return Column(name, kind, "admin_code", level, legacy)
        if not numeric and (words & NAME_WORDS or key in UNIT_ONLY_KEYS):
            role = "admin_code" if _looks_like_codes(sample) else "admin_name"
            return Column(name, kind, role, level, legacy)
    vocab = load_vocabulary()
    structural = {name_key(n): role for role, names in vocab.structural.items() for n in names}
    if kind.startswith(("DATE", "TIMESTAMP")) or words & TIME_WORDS \
            or structural.get(key) == "time":
        return Column(name, kind, "time")
    if not numeric and kind == "VARCHAR":
        texts = [str(v) for v in sample if v is not None and str(v).strip()]
        if texts and sum(bool(TEXT_DATE.match(t)) for t in texts) >= 0.9 * len(texts) \
                and not all(t.strip().isdigit() for t in texts):
            return Column(name, kind, "time")
    if structural.get(key) == "identifier" or (key.endswith("id") and numeric) \
            or (words & CODE_WORDS and not numeric):
        return Column(name, kind, "id")
    if numeric:
        return Column(name, kind, "measure")
    return Column(name, kind, "text")
