"""Converting Action API parameters, which arrive as strings from GET query strings and
as typed values from JSON bodies.
"""

from __future__ import annotations

import json
from typing import Any

from vntwin.errors import ValidationError

MAX_INT = 2**31 - 1  # offsets, limits and days beyond this are mistakes or attacks


def as_int(data: dict[str, Any], key: str, default: int | None, *, minimum: int = 0,
           maximum: int | None = None) -> int | None:
    """An integer parameter, range-checked, with CKAN's error shape."""
    value = data.get(key, default)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({key: ["Invalid integer"]}) from None
    if number < minimum:
        raise ValidationError({key: [f"Must be a natural number of at least {minimum}"]})
    maximum = min(maximum, MAX_INT) if maximum is not None else MAX_INT
    if number > maximum:
        raise ValidationError({key: [f"Must be at most {maximum}"]})
    return number


def as_bool(data: dict[str, Any], key: str, default: bool = False) -> bool:
    """A boolean parameter: JSON true/false or the strings true/false/1/0/yes/no."""
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off", ""):
        return False
    if isinstance(value, int):
        return bool(value)
    raise ValidationError({key: ["Must be true or false"]})


def as_list(data: dict[str, Any], key: str) -> list[Any]:
    """A list parameter: a JSON list, a JSON-encoded list string, or one value."""
    value = data.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValidationError({key: ["Invalid JSON list"]}) from None
        if not isinstance(parsed, list):
            raise ValidationError({key: ["Must be a list"]})
        return parsed
    return [value]


def as_dict(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """An object parameter, possibly JSON-encoded in a query string."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError({key: ["Invalid JSON object"]}) from None
    if not isinstance(value, dict):
        raise ValidationError({key: ["Must be an object"]})
    return value


def required(data: dict[str, Any], key: str) -> str:
    """A required string parameter."""
    value = data.get(key)
    if value is None or value == "" or not isinstance(value, (str, int)):
        raise ValidationError({key: ["Missing value"]})
    return str(value)
