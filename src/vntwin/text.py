"""Vietnamese-aware text helpers: NFC storage, diacritics folding, tokens, slugs."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
_SLUG_STRIP = re.compile(r"[^a-z0-9_-]+")


def nfc(text: str) -> str:
    """Vietnamese text is stored NFC, whatever form it arrived in."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case and strip diacritics, so "dan so" matches "Dân số".

    ``đ`` is a letter of its own, not d with a combining mark, so NFKD leaves it alone:
    it is mapped by hand.
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> list[str]:
    """Folded word tokens of ``text``."""
    return _WORD.findall(fold(text))


def slugify(text: str, max_len: int = 100) -> str:
    """A CKAN-valid name (a-z 0-9 - _) from any title: "Dân số 2024" -> "dan-so-2024"."""
    slug = _SLUG_STRIP.sub("-", fold(text)).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug)[:max_len].strip("-_")
    return slug if len(slug) >= 2 else (slug + "-dataset")[:max_len]
