"""Every string of the pages is in both catalogues, translated, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from vntwin.web import i18n

WEB = Path(i18n.__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


def extracted() -> set[str]:
    found = extract_from_dir(str(WEB), METHODS, keywords={"_": None, "gettext": None,
                                                          "N_": None, "ngettext": (1, 2)},
                             options_map=OPTIONS)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in found:
        ids.update([message] if isinstance(message, str) else [m for m in message if m])
    return ids


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalogue_is_complete(lang):
    with i18n.catalogue_path(lang).open("rb") as f:
        catalog = read_po(f)
    entries = {m.id: m for m in catalog if m.id}
    wanted = extracted()
    assert len(wanted) > 150
    missing = sorted(wanted - set(entries))
    assert not missing, f"not in the {lang} catalogue: {missing}"
    for msgid in wanted:
        entry = entries[msgid]
        assert entry.string, f"untranslated in {lang}: {msgid!r}"
        assert not entry.fuzzy, f"fuzzy in {lang}: {msgid!r}"
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(entry.string)), msgid


def test_vietnamese_is_nfc_and_really_vietnamese():
    import unicodedata

    translations = i18n.translations("vi")
    assert translations.ugettext("Sign in") == "Đăng nhập"
    with i18n.catalogue_path("vi").open("rb") as f:
        for entry in read_po(f):
            if entry.id:
                assert unicodedata.normalize("NFC", entry.string) == entry.string


def test_dates_are_shown_in_vietnam_time():
    assert i18n.show_datetime("2025-07-01T17:30:00+00:00", "vi").startswith("00:30:00 2 thg 7")
    assert i18n.show_datetime("2025-07-01T17:30:00+00:00", "en") == "Jul 2, 2025, 12:30:00\u202fAM"
    assert i18n.show_number(1234567.5, "vi") == "1.234.567,5"
    assert i18n.show_size(2_500_000, "en") == "2.5 MB"
