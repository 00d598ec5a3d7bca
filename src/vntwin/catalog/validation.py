"""Validation of dataset and resource dicts as they arrive through the Action API.

Errors are collected per field into CKAN's ``{field: [messages]}`` shape and raised once,
so a client sees every problem in one answer.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from vntwin.catalog.formats import format_for_name
from vntwin.catalog.licenses import BY_ID, normalise_license_id
from vntwin.catalog.models import ACCESS_LEVELS
from vntwin.catalog.vocabularies import FREQUENCIES, THEMES
from vntwin.errors import Message, ValidationError
from vntwin.text import nfc

NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_RE = re.compile(r"^[\w .\-]{1,100}$", re.UNICODE)
URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)
GEOJSON_TYPES = {
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
    "GeometryCollection",
}

TEXT_FIELDS = (
    "title", "notes", "author", "author_email", "maintainer", "maintainer_email", "version",
    "url", "spatial_label",
)


class Errors:
    """Collects field errors; ``raise_if_any`` raises one CKAN Validation Error."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        """Record one problem with ``field``."""
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        """Raise ValidationError with everything collected, if anything was."""
        if self.errors:
            raise ValidationError(self.errors)


def check_name(value: Any, errors: Errors, field: str = "name") -> str:
    """CKAN's name rule: 2–100 characters of lower-case a-z, 0-9, ``-`` and ``_``."""
    if not isinstance(value, str) or not value:
        errors.add(field, "Missing value")
        return ""
    if not NAME_RE.match(value):
        errors.add(
            field,
            "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_ "
            "(2 to 100 characters)",
        )
    return value


def _text(value: Any, field: str, errors: Errors) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.add(field, "Must be a string")
        return ""
    return nfc(value.strip())


def _date(value: str, field: str, errors: Errors) -> str:
    """An ISO 8601 date or date-time, whole (no trailing text)."""
    if not value:
        return ""
    try:
        if len(value) <= 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.add(field, Message("Not an ISO 8601 date: %(value)r", value=value[:40]))
    return value


def _tags(data: dict[str, Any], errors: Errors) -> list[str] | None:
    raw: Any = data.get("tags")
    if raw is None and "tag_string" in data:
        raw = [t for t in str(data["tag_string"]).split(",") if t.strip()]
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors.add("tags", "Must be a list")
        return []
    out: list[str] = []
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not TAG_RE.match(nfc(name.strip())):
            errors.add(
                "tags", f"Tag {name!r} must be 1-100 letters, digits, spaces or the symbols -_."
            )
            continue
        tag = nfc(name.strip())
        if tag not in out:
            out.append(tag)
    return out


def _themes(value: Any, errors: Errors) -> list[str]:
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        errors.add("theme", "Must be a list of data-theme codes")
        return []
    out = []
    for item in items:
        code = str(item).strip().rsplit("/", 1)[-1].upper()
        if code not in THEMES:
            errors.add("theme", Message("Unknown theme %(value)r; use one of %(choices)s",
                                         value=item, choices=", ".join(THEMES)))
        elif code not in out:
            out.append(code)
    return out


def _extras(value: Any, errors: Errors) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = [{"key": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list):
        errors.add("extras", "Must be a list of {key, value}")
        return {}
    out: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            errors.add("extras", "Each extra needs a string key")
            continue
        if item.get("deleted"):
            continue
        out[item["key"]] = item.get("value")
    return out


def _translated(data: dict[str, Any], field: str, errors: Errors) -> tuple[str | None, str | None]:
    """``title`` / ``title_translated`` -> (Vietnamese, English); None means not given."""
    vi: str | None = None
    en: str | None = None
    if field in data:
        vi = _text(data[field], field, errors)
    tr = data.get(f"{field}_translated")
    if tr is not None:
        if isinstance(tr, str):
            try:
                tr = json.loads(tr)
            except ValueError:
                tr = None
        if not isinstance(tr, dict):
            errors.add(f"{field}_translated", "Must be an object of language codes")
        else:
            if "vi" in tr:
                vi = _text(tr["vi"], f"{field}_translated", errors)
            if "en" in tr:
                en = _text(tr["en"], f"{field}_translated", errors)
    return vi, en


def _access_level(data: dict[str, Any], current: str | None, errors: Errors) -> str | None:
    """``access_level`` wins; a bare CKAN ``private`` flag maps to restricted / public."""
    level = data.get("access_level")
    if level not in (None, ""):
        if level not in ACCESS_LEVELS:
            errors.add("access_level", Message("Must be one of %(choices)s",
                                                choices=", ".join(ACCESS_LEVELS)))
            return None
        return str(level)
    if "private" in data:
        private = data["private"]
        if isinstance(private, str):
            private = private.strip().lower() in ("true", "1", "yes")
        if not private:
            return "public"
        return current if current in ("agencies", "restricted") else "restricted"
    return None


def clean_package(data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a dataset dict; return only the model fields it sets.

    ``current`` is the stored dataset (for updates), so partial input can be checked against
    what it will be combined with.
    """
    errors = Errors()
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = check_name(data.get("name"), errors)
    for field in TEXT_FIELDS:
        if field in data and field != "title":
            out[field] = _text(data[field], field, errors)
    for field in ("title", "notes"):
        vi, en = _translated(data, field, errors)
        if vi is not None:
            out[field] = vi
        if en is not None:
            out[f"{field}_en"] = en
    for field in ("author_email", "maintainer_email"):
        if out.get(field) and not EMAIL_RE.match(out[field]):
            errors.add(field, Message("Not a valid email address: %(value)r", value=out[field]))
    if out.get("url") and not URL_RE.match(out["url"]):
        errors.add("url", "Must be an http(s) URL")
    if "license_id" in data:
        lic = normalise_license_id(_text(data["license_id"], "license_id", errors))
        if lic and lic not in BY_ID:
            errors.add("license_id", Message("Unknown licence %(value)r; see license_list",
                                              value=lic))
        out["license_id"] = lic
    level = _access_level(data, (current or {}).get("access_level"), errors)
    if level is not None:
        out["access_level"] = level
    if "theme" in data:
        out["theme"] = _themes(data["theme"], errors)
    if "update_frequency" in data:
        freq = _text(data["update_frequency"], "update_frequency", errors)
        freq = freq.rsplit("/", 1)[-1].upper()
        if freq and freq not in FREQUENCIES:
            errors.add("update_frequency",
                       f"Unknown frequency; use one of {', '.join(FREQUENCIES)}")
        out["update_frequency"] = freq
    if "spatial" in data:
        out["spatial"] = _spatial(data["spatial"], errors)
    for field in ("temporal_start", "temporal_end"):
        if field in data:
            out[field] = _date(_text(data[field], field, errors), field, errors)
    start = out.get("temporal_start", (current or {}).get("temporal_start"))
    end = out.get("temporal_end", (current or {}).get("temporal_end"))
    if start and end and start[:10] > end[:10]:
        errors.add("temporal_end", "Must not be before temporal_start")
    tags = _tags(data, errors)
    if tags is not None:
        out["tags"] = tags
    extras = _extras(data.get("extras"), errors)
    if extras is not None:
        out["extras"] = extras
    if "state" in data and data["state"] not in ("active", "draft", "deleted"):
        errors.add("state", "Must be active, draft or deleted")
    elif "state" in data:
        out["state"] = data["state"]
    if "type" in data:
        out["type"] = _text(data["type"], "type", errors) or "dataset"
        if not NAME_RE.match(out["type"]) or len(out["type"]) > 40:
            errors.add("type", "Must be 2-40 characters of a-z 0-9 - _")
    errors.raise_if_any()
    return out


def _spatial(value: Any, errors: Errors) -> str:
    if value in (None, ""):
        return ""
    geom = value
    if isinstance(value, str):
        try:
            geom = json.loads(value)
        except ValueError:
            errors.add("spatial", "Must be a GeoJSON geometry (invalid JSON)")
            return ""
    if not isinstance(geom, dict) or geom.get("type") not in GEOJSON_TYPES:
        errors.add("spatial", "Must be a GeoJSON geometry object")
        return ""
    if geom["type"] != "GeometryCollection" and not isinstance(geom.get("coordinates"), list):
        errors.add("spatial", "GeoJSON geometry has no coordinates")
        return ""
    return json.dumps(geom, ensure_ascii=False)


RESOURCE_FIELDS = ("name", "description", "format", "mimetype", "url")
RESOURCE_LIMITS = {"format": 40, "mimetype": 100}
# Fields a client may send back (e.g. from a dump) but only the server sets.
SERVER_SET_RESOURCE_FIELDS = frozenset((
    "id", "package_id", "position", "upload", "created", "last_modified", "hash", "url_type",
    "datastore_active", "state", "cache_url", "cache_last_updated", "mimetype_inner",
    "resource_type", "metadata_modified", "size", "tracking_summary", "schema",
    "datastore_error",
))


def clean_resource(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a resource dict; unknown keys become resource extras, as in CKAN."""
    errors = Errors()
    out: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in data.items():
        if key in RESOURCE_FIELDS:
            out[key] = _text(value, key, errors)
        elif key == "size" and value not in (None, ""):
            try:
                out["size"] = int(value)
            except (TypeError, ValueError, OverflowError):
                errors.add("size", "Must be an integer")
            else:
                if not 0 <= out["size"] < 2**63:
                    errors.add("size", "Must be between 0 and 2^63 - 1")
        elif key in SERVER_SET_RESOURCE_FIELDS:
            continue
        elif isinstance(value, (str, int, float, bool)) or value is None:
            extras[key] = value
    if out.get("url") and not URL_RE.match(out["url"]) and not out["url"].startswith("/"):
        errors.add("url", "Must be an http(s) URL")
    for key, limit in RESOURCE_LIMITS.items():
        if len(out.get(key) or "") > limit:
            errors.add(key, Message("Must be at most %(limit)s characters", limit=limit))
    if "format" in out:
        out["format"] = out["format"].upper().lstrip(".")
    if not out.get("format") and out.get("url"):
        out["format"] = format_for_name(out["url"])
    errors.raise_if_any()
    if extras:
        out["extras"] = extras
    return out
