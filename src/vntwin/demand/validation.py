"""Checking what clients send about requests, feedback and targets: CKAN's error shape,
every problem in one answer, text stored NFC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from vntwin.catalog.validation import Errors
from vntwin.errors import Message
from vntwin.text import nfc

TITLE_MAX = 200
TEXT_MAX = 10_000


def text(data: dict[str, Any], key: str, errors: Errors, *, required: bool = False,
         maximum: int = TEXT_MAX) -> str | None:
    """A trimmed NFC string, or None when absent (and not required)."""
    if key not in data or data[key] is None:
        if required:
            errors.add(key, "Missing value")
        return None
    value = data[key]
    if not isinstance(value, str):
        errors.add(key, "Must be a string")
        return None
    value = nfc(value.strip())
    if required and not value:
        errors.add(key, "Missing value")
    if len(value) > maximum:
        errors.add(key, Message("Must be at most %(limit)s characters", limit=maximum))
    return value


def iso_date(data: dict[str, Any], key: str, errors: Errors) -> date | None:
    """An ISO 8601 date (``2027-03-01``), or None when absent or empty."""
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        errors.add(key, "Must be an ISO 8601 date (YYYY-MM-DD)")
        return None
    raw = value.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        errors.add(key, Message("Not an ISO 8601 date: %(value)r", value=value[:40]))
        return None


def number(data: dict[str, Any], key: str, errors: Errors, *, minimum: float,
           maximum: float, integer: bool = True) -> float | int | None:
    """A number in ``[minimum, maximum]``, or None when absent or empty."""
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors.add(key, "Must be a number")
        return None
    try:
        parsed: float | int = int(value) if integer else float(value)
    except (TypeError, ValueError):
        errors.add(key, "Must be a whole number" if integer else "Must be a number")
        return None
    if integer and isinstance(value, float) and not value.is_integer():
        errors.add(key, "Must be a whole number")
        return None
    if not minimum <= parsed <= maximum:
        errors.add(key, Message("Must be between %(minimum)s and %(maximum)s",
                                 minimum=f"{minimum:g}", maximum=f"{maximum:g}"))
        return None
    return parsed
