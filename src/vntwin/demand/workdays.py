"""Working days in Vietnam: deadlines that skip weekends and public holidays.

Holidays come from the ``holidays`` package (country ``VN``), which follows the Labour
Code: Tết Nguyên Đán on the lunar calendar, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh and
the days the government moves (a Saturday made a working day counts as one). Dates are
local (Asia/Ho_Chi_Minh): a request filed at 23:30 on Monday in Hà Nội is Monday's,
though it is still Monday 16:30 in UTC.

>>> deadline(date(2027, 2, 1), 15)  # Tết 2027 falls inside: 4-10 February are holidays
datetime.date(2027, 3, 1)
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    return holidays.country_holidays("VN", language="vi")


def local_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an aware moment."""
    return moment.astimezone(LOCAL_TZ).date()


def deadline(start: date, working_days: int) -> date:
    """The ``working_days``-th working day after ``start`` (``start`` itself not counted)."""
    if working_days < 1:
        raise ValueError("a deadline needs at least one working day")
    with _LOCK:  # the package fills its year tables lazily, which is not thread-safe
        return _calendar().get_nth_working_day(start, working_days)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    with _LOCK:
        cal = _calendar()
        return cal.get_working_days_count(start, end) - int(cal.is_working_day(start))


def holiday_name(day: date) -> str | None:
    """The Vietnamese name of the public holiday on ``day``, if it is one."""
    with _LOCK:
        return _calendar().get(day)
