"""Checking one observation before it may be stored.

Every rejection has a reason code, counted per source (``live_counter``), and a message
naming the problem: ``malformed`` (not a JSON object, no result, an unreadable or
zone-less time), ``wrong_type`` (a text where the datastream measures numbers),
``wrong_unit`` (the payload names a unit other than the datastream's), ``out_of_range``
(outside the datastream's ``properties.validRange``, the usual sign of a wrong unit),
``future_time`` (later than now plus the allowed clock skew).

Whatever a payload holds, checking it raises nothing but :class:`Rejected`: one message
that broke the checks (a 400-digit number, the year 1) would otherwise fail its whole
batch, and the MQTT subscriber, retrying it, would stall every source behind it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_PAYLOAD = 64 * 1024
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # before this, a time is a typo, not a reading


@dataclass(frozen=True)
class StreamInfo:
    """What validating and placing an observation needs to know of its datastream."""

    id: int
    name: str
    value_type: str  # number | integer | boolean | text | any
    unit_symbol: str
    valid_range: tuple[float, float] | None
    source_id: int | None
    source_name: str
    rate_per_s: float | None
    observed_property_id: int
    thing_name: str
    lat: float | None
    lon: float | None
    h3: int | None
    province_code: str | None
    commune_code: str | None


class Rejected(Exception):
    """An observation refused, with its reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Checked:
    """A valid observation, ready to insert."""

    datastream_id: int
    phenomenon_time: datetime
    phenomenon_end: datetime | None
    result_time: datetime | None
    result_num: float | None
    result_json: Any
    parameters: dict[str, Any] | None
    time_given: bool = True  # False: the service assigned the phenomenon time


def parse_payload(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The JSON object of a message; Rejected('malformed') otherwise."""
    if isinstance(payload, dict):
        return payload
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("malformed", f"payload larger than {MAX_PAYLOAD} bytes")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("malformed", f"not JSON: {exc}") from None
    except RecursionError:
        raise Rejected("malformed", "JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise Rejected("malformed", "the payload must be a JSON object with 'result'")
    return body


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise Rejected("malformed", f"{field} must be an ISO 8601 text, not {value!r}")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("malformed", f"{field} is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise Rejected("malformed", f"{field} {value!r} has no time zone: add Z (UTC) "
                                    "or an offset such as +07:00")
    try:
        utc = when.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the year 1 in UTC
        utc = EARLIEST - timedelta(days=1)
    if utc < EARLIEST:
        raise Rejected("malformed", f"{field} {value!r} is before {EARLIEST.year}")
    return when


def _time(body: dict[str, Any], now: datetime) -> tuple[datetime, datetime | None]:
    value = body.get("phenomenonTime")
    if value is None:  # STA: the service assigns the current time when none is given
        return now, None
    if isinstance(value, str) and "/" in value:
        start_text, _, end_text = value.partition("/")
        start = _instant(start_text, "phenomenonTime")
        end = _instant(end_text, "phenomenonTime")
        if end < start:
            raise Rejected("malformed", "phenomenonTime interval ends before it starts")
        return start, end
    return _instant(value, "phenomenonTime"), None


def _result(stream: StreamInfo, value: Any) -> tuple[float | None, Any]:
    kind = stream.value_type
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Rejected("wrong_type", f"result must be a number for {stream.name!r}, "
                                         f"not {value!r}"[:300])
        try:
            number = float(value)
        except OverflowError:
            raise Rejected("wrong_type", "result is too large for a number") from None
        if not math.isfinite(number):
            raise Rejected("wrong_type", "result must be a finite number")
        if kind == "integer" and not number.is_integer():
            raise Rejected("wrong_type", "result must be a whole number (a count)")
        return number, None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise Rejected("wrong_type", "result must be true or false")
        return float(value), None
    if kind == "text" and not isinstance(value, str):
        raise Rejected("wrong_type", "result must be a text (a category)")
    return None, value


def _unit(body: dict[str, Any]) -> str | None:
    params = body.get("parameters")
    unit = body.get("unitOfMeasurement")
    if isinstance(unit, dict):
        unit = unit.get("symbol")
    if unit is None and isinstance(params, dict):
        unit = params.get("unit")
    return None if unit is None else str(unit)


def check(stream: StreamInfo, body: dict[str, Any], now: datetime,
          max_future: timedelta) -> Checked:
    """A valid observation of ``stream`` from a payload object, or Rejected."""
    if "result" not in body:
        raise Rejected("malformed", "no 'result' in the payload")
    start, end = _time(body, now)
    if (end or start) > now + max_future:
        raise Rejected("future_time", f"phenomenonTime {(end or start).isoformat()} is more "
                                      f"than {int(max_future.total_seconds())} s in the future")
    unit = _unit(body)
    if unit is not None and unit != stream.unit_symbol:
        raise Rejected("wrong_unit", f"unit {unit!r} given, datastream {stream.id} is in "
                                     f"{stream.unit_symbol!r}")
    number, other = _result(stream, body["result"])
    if number is not None and stream.valid_range is not None:
        low, high = stream.valid_range
        if not low <= number <= high:
            raise Rejected("out_of_range", f"result {number:g} outside the datastream's valid "
                                           f"range [{low:g}, {high:g}] {stream.unit_symbol} "
                                           "(a wrong unit?)")
    result_time = body.get("resultTime")
    params = body.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise Rejected("malformed", "parameters must be a JSON object")
    try:
        json.dumps(other, allow_nan=False)
        json.dumps(params, allow_nan=False)
    except ValueError:  # NaN or Infinity: not JSON, and databases refuse them in JSON
        raise Rejected("malformed", "NaN and Infinity are not JSON values") from None
    return Checked(stream.id, start, end,
                   _instant(result_time, "resultTime") if result_time is not None else None,
                   number, other, params, time_given="phenomenonTime" in body
                   and body["phenomenonTime"] is not None)
