"""Text encodings of CSV and DBF files: which one, and decoding to NFC Unicode.

Vietnamese files arrive in four encodings: UTF-8 (often with Excel's BOM), UTF-16 (Excel's
"Unicode text"), Windows-1258 and TCVN3. The order of the checks matters:

1. a byte-order mark decides;
2. a declared encoding (the caller's, or a Shapefile's .cpg) is used, but refused when the
   bytes do not decode in it, or when it is a one-byte encoding and the bytes are in fact
   UTF-8 text (decoding them would silently garble every accented letter);
3. NUL bytes in every other position mean UTF-16 without a BOM;
4. bytes that decode as UTF-8 are UTF-8;
5. otherwise Windows-1258 and TCVN3 are both tried, and the one whose words are well-formed
   Vietnamese syllables wins (the other one's output is letters in impossible places);
6. otherwise charset-normalizer guesses.

Windows-1258 writes most tone marks as separate combining characters, so all text ends NFC.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from vntwin.errors import ValidationError
from vntwin.ingest import tcvn3
from vntwin.ingest.problems import Where, invalid

TCVN3 = "tcvn3"

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_TCVN3_NAMES = frozenset({"tcvn3", "tcvn", "tcvn-3", "abc", "vn3", "tcvn5712", "tcvn-5712"})
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = "aăâeêioôơuưy"
_VIETNAMESE = frozenset(
    unicodedata.normalize("NFC", base + tone)
    for vowel in _VOWELS
    for base in (vowel, vowel.upper())
    for tone in ("", *_TONES)
) | {"đ", "Đ"}
_SPLIT = re.compile(r"[\s\d_,;:.!?\"'()\[\]{}<>/\\|@#$%^&*+=~`-]+")
_SAMPLE_CHARS = 1 << 18


@dataclass(frozen=True)
class Decoded:
    """Text decoded to NFC, the codec it was read with, and whether that was detected."""

    text: str
    encoding: str
    detected: bool


def codec_name(name: str, field: str = "encoding") -> str:
    """The codec for an encoding as users and .cpg files write it ("1258", "ANSI 1258",
    "UTF8", "ABC"...); ValidationError under ``field`` for one that is not known.
    """
    clean = name.strip().lower().replace("_", "-")
    clean = re.sub(r"^(ansi|windows|win|cp|code ?page)[ -]?(?=\d)", "cp", clean)
    if clean in _TCVN3_NAMES:
        return TCVN3
    if clean in {"65001", "utf8"}:
        clean = "utf-8"
    elif match := re.fullmatch(r"(?:iso-?)?8859-?(\d+)", clean):
        clean = f"iso8859-{match.group(1)}"
    elif clean.isdigit():
        clean = f"cp{clean}"
    try:
        return codecs.lookup(clean).name
    except LookupError:
        raise ValidationError({field: [f"unknown text encoding {name!r}"]}) from None


def decode_strict(data: bytes, encoding: str) -> str:
    """Decode with ``encoding`` (a codec name or "tcvn3"); UnicodeDecodeError on bad bytes."""
    if encoding == TCVN3:
        return tcvn3.decode(data)
    return data.decode(encoding)


def decode(data: bytes, where: Where, declared: str | None = None) -> Decoded:
    """Decode ``data`` to NFC text, detecting its encoding unless ``declared`` (a name
    already through ``codec_name``) says it. Raises ValidationError naming the line of the
    first byte that does not decode, or saying the encoding could not be recognised.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return Decoded(_nfc(_decode_or_fail(data, encoding, where)), encoding, True)
    if declared is not None:
        refuse_garbling(data, declared, where)
        return Decoded(_nfc(_decode_or_fail(data, declared, where)), declared, False)
    encoding = detect(data, where)
    return Decoded(_nfc(_decode_or_fail(data, encoding, where)), encoding, True)


def detect(data: bytes, where: Where) -> str:
    """The encoding ``data`` is most likely in (no BOM, nothing declared)."""
    utf16 = utf16_without_bom(data)
    if utf16:
        return utf16
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if not data[: error.start].isascii():
            raise invalid(
                where, f"line {_line(data, error.start)}: invalid UTF-8 byte in a UTF-8 file"
            ) from None
    scores = {enc: _score(data, enc) for enc in ("cp1258", TCVN3)}
    best = max(scores, key=lambda enc: scores[enc])
    if scores[best] >= 0.8:
        return best
    guess = charset_normalizer.from_bytes(data[: 1 << 20]).best()
    if guess is None:
        raise invalid(where, "the text is not UTF-8 and its encoding was not recognised; "
                             "pass the encoding (e.g. cp1258 or tcvn3)")
    return codecs.lookup(str(guess.encoding)).name


def is_syllable(word: str) -> bool:
    """Whether an NFC word is spelled like Vietnamese: letters Vietnamese uses, no stray
    combining marks, and at most one tone mark (a wrong decoding breaks one of these).
    """
    tones = 0
    for char in word:
        if char.isascii():
            continue
        if char not in _VIETNAMESE:
            return False
        tones += any(mark in _TONES for mark in unicodedata.normalize("NFD", char))
    return tones <= 1


def _score(data: bytes, encoding: str) -> float:
    """Share of the non-ASCII words that read as Vietnamese syllables in ``encoding``."""
    try:
        text = _nfc(decode_strict(data, encoding))
    except UnicodeDecodeError:
        return 0.0
    words = [w for w in _SPLIT.split(text[:_SAMPLE_CHARS]) if w and not w.isascii()]
    if not words:
        return 0.0
    return sum(is_syllable(w) for w in words) / len(words)


def utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 LE/BE when NUL bytes fill every other position of mostly-ASCII text."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.6 * half and even == 0:
        return "utf-16-le"
    if even >= 0.6 * half and odd == 0:
        return "utf-16-be"
    return None


def utf16_codec(data: bytes) -> str | None:
    """The UTF-16 codec ``data`` (a file's first bytes) is in, or None: "utf-16" after a
    byte-order mark (not UTF-32's, which starts the same), else ``utf16_without_bom``.
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return utf16_without_bom(data)


def transcode_to_utf8(source: Path, target: Path, codec: str, where: Where) -> None:
    """Copy ``source`` to ``target`` as UTF-8, a MiB at a time (for readers, like GDAL's
    GeoJSON driver, that take UTF-8 only); ValidationError at the first bad byte.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with source.open("rb") as file, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = file.read(1 << 20)
            try:
                out.write(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as error:
                raise invalid(where, f"byte {offset + error.start:,}: not valid {codec} "
                                     "text") from None
            if not chunk:
                return
            offset += len(chunk)


def refuse_garbling(data: bytes, declared: str, where: Where) -> None:
    """A one-byte encoding declared for bytes that are valid, non-ASCII UTF-8 is a mistake."""
    if declared.startswith("utf") or data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    raise invalid(where, f"the encoding is declared as {declared} but the text is UTF-8; "
                         "reading it as declared would garble every accented letter")


def _decode_or_fail(data: bytes, encoding: str, where: Where) -> str:
    try:
        return decode_strict(data, encoding)
    except UnicodeDecodeError as error:
        raise invalid(
            where, f"line {_line(data, error.start)}: bytes that are not valid {encoding} "
                   "(is the declared encoding wrong?)"
        ) from None


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
