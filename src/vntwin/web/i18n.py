"""Languages of the portal: gettext catalogues, the request's language, dates and numbers.

The catalogues are the ``.po`` files in ``locale/{vi,en}/LC_MESSAGES`` (msgids in English,
as gettext expects). They are compiled in memory with Babel when the app starts, so a fresh
clone installed with ``pip install -e .`` needs no build step and no committed ``.mo``.
Vietnamese is the default; ``?lang=en`` or the switch (which sets a cookie) chooses English.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from starlette.requests import Request

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LANG_COOKIE = "vntwin_lang"
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).parent / "locale"

_cache: dict[str, Translations] = {}
_lock = threading.Lock()


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def translations(lang: str) -> Translations:
    """The compiled catalogue of ``lang`` (read once per process)."""
    with _lock:
        if lang not in _cache:
            with catalogue_path(lang).open("rb") as f:
                catalog = read_po(f, locale=lang)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            _cache[lang] = Translations(buffer)
        return _cache[lang]


def negotiate(request: Request) -> tuple[str, bool]:
    """(language, whether to remember it in the cookie): ``?lang=`` wins, then the cookie,
    then Vietnamese. ``Accept-Language`` is not consulted: the portal is Vietnamese first,
    and a shared link should show the same page to everyone.
    """
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, request.cookies.get(LANG_COOKIE) != asked
    cookie = request.cookies.get(LANG_COOKIE, "")
    return (cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE), False


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 time from the API dicts; None for empty or unreadable values."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def show_datetime(value: str | datetime | None, lang: str, fmt: str = "medium") -> str:
    """A stored UTC time as people in Vietnam read it (Asia/Ho_Chi_Minh), in ``lang``."""
    when = parse_time(value)
    if when is None:
        return ""
    if when.tzinfo is None:  # times are stored aware; a naive one is a date-only value
        return format_datetime(when, fmt, locale=lang)
    return format_datetime(when, fmt, tzinfo=TIMEZONE, locale=lang)


def show_number(value: float | int | None, lang: str) -> str:
    """A number with the language's separators (``1.234,5`` in Vietnamese)."""
    if value is None:
        return ""
    return format_decimal(value, locale=lang)


def show_size(size: int | None, lang: str) -> str:
    """A file size in bytes as B / KB / MB / GB (decimal units, as file managers show)."""
    if size is None:
        return ""
    units = ("B", "KB", "MB", "GB", "TB")
    value = float(size)
    unit = 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{format_decimal(round(value, 1), locale=lang)} {units[unit]}"
