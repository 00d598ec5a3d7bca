"""Vietnamese-aware text helpers: NFC storage, diacritics folding, tokens, slugs."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
_SLUG_STRIP = re.compile(r"[^a-z0-9_-]+")


def nfc(text: str) -> str:
    """Vietnamese text is stored NFC, whatever form it arrived in."""
    return unicodedata.normalize("NFC", text)


def _fold_table() -> dict[int, str | None]:
    """Base letter of every accented Latin letter (Latin-1 to Latin Extended Additional,
    which holds Vietnamese), and nothing for combining marks (text that arrived NFD).

    Built once: a per-character NFKD pass made folding the main cost of indexing.
    ``đ`` is a letter of its own, not d with a mark, so it is mapped by hand.
    """
    table: dict[int, str | None] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(c))
        if base and base != char:
            table[code] = base
    for code in range(0x300, 0x370):
        table[code] = None
    table[ord("đ")] = "d"
    table[ord("Đ")] = "D"
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lower-case and strip diacritics, so "dan so" matches "Dân số"."""
    return text.translate(_FOLD).lower()


def tokens(text: str) -> list[str]:
    """Folded word tokens of ``text``."""
    return _WORD.findall(fold(text))


def slugify(text: str, max_len: int = 100) -> str:
    """A CKAN-valid name (a-z 0-9 - _) from any title: "Dân số 2024" -> "dan-so-2024"."""
    slug = _SLUG_STRIP.sub("-", fold(text)).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug)[:max_len].strip("-_")
    return slug if len(slug) >= 2 else (slug + "-dataset")[:max_len]
