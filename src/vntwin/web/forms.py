"""The dataset form: its fields, filled from a dataset, and read back into a dataset dict.

Validation stays in ``catalog.validation``: the form only reshapes input, and the field
errors of ``ValidationError.errors`` are shown next to the fields they name.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from vntwin.catalog.models import ACCESS_LEVELS

TEXT_FIELDS = ("name", "title", "title_en", "notes", "notes_en", "owner_org", "access_level",
               "license_id", "tag_string", "update_frequency", "temporal_start",
               "temporal_end", "spatial_label", "author", "author_email", "maintainer",
               "maintainer_email", "url", "version")
MAX_FIELD = 20_000
# errors the catalogue reports under another key than the form field that caused them
ERROR_FIELDS = {"title_translated": "title", "notes_translated": "notes", "tags": "tag_string",
                "organization": "owner_org"}


def values_from_dataset(pkg: dict[str, Any]) -> dict[str, Any]:
    """The form's values for an existing dataset."""
    title = pkg.get("title_translated") or {}
    notes = pkg.get("notes_translated") or {}
    return {
        "name": pkg["name"], "title": title.get("vi") or pkg.get("title", ""),
        "title_en": title.get("en") or "", "notes": notes.get("vi") or pkg.get("notes", ""),
        "notes_en": notes.get("en") or "", "owner_org": pkg.get("owner_org") or "",
        "access_level": pkg.get("access_level", "public"),
        "license_id": pkg.get("license_id", ""),
        "tag_string": ", ".join(t["name"] for t in pkg.get("tags", [])),
        "theme": list(pkg.get("theme", [])),
        "update_frequency": pkg.get("update_frequency", ""),
        "temporal_start": (pkg.get("temporal_start") or "")[:10],
        "temporal_end": (pkg.get("temporal_end") or "")[:10],
        **{k: pkg.get(k) or "" for k in ("spatial_label", "author", "author_email",
                                         "maintainer", "maintainer_email", "url", "version")},
    }


def values_from_form(form: FormData) -> dict[str, Any]:
    """The submitted values, as strings (and the list of themes), cut to a sane length."""
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        raw = form.get(key)
        values[key] = raw.strip()[:MAX_FIELD] if isinstance(raw, str) else ""
    values["theme"] = [t for t in form.getlist("theme") if isinstance(t, str)][:20]
    if values["access_level"] not in ACCESS_LEVELS:
        values["access_level"] = "public"
    return values


def dataset_dict(values: dict[str, Any]) -> dict[str, Any]:
    """The ``package_create`` / ``package_patch`` input of the form's values.

    Every field is sent, empty or not, so clearing a field on the form clears it in the
    dataset; fields the form does not show (extras, groups, resources) are left alone.
    """
    data: dict[str, Any] = {
        "name": values["name"],
        "title_translated": {"vi": values["title"], "en": values["title_en"]},
        "notes_translated": {"vi": values["notes"], "en": values["notes_en"]},
        "owner_org": values["owner_org"], "access_level": values["access_level"],
        "license_id": values["license_id"], "theme": values["theme"],
        "tags": [t.strip() for t in values["tag_string"].split(",") if t.strip()],
    }
    for key in ("update_frequency", "temporal_start", "temporal_end", "spatial_label",
                "author", "author_email", "maintainer", "maintainer_email", "url", "version"):
        data[key] = values[key]
    return data


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Errors keyed by the form field they belong to."""
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        out.setdefault(ERROR_FIELDS.get(key, key), []).extend(messages)
    return out
