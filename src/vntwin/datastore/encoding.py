"""Turn any text file into UTF-8, NFC, streaming: DuckDB only reads UTF-8.

Vietnamese agencies still publish files in Windows-1258, whose tone marks are separate
combining characters, and Excel exports UTF-16. The order of the checks matters:

1. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
2. otherwise the whole file is decoded as UTF-8, one chunk at a time. If it decodes and
   is already NFC, it is used as it is (the common, fast case);
3. if it fails after valid non-ASCII UTF-8 was seen, the file is UTF-8 with a broken
   byte: that is reported with its line, not guessed around;
4. otherwise the bytes near the first failure go to the ingest detector
   (:func:`vntwin.ingest.encoding.detect`: BOM-less UTF-16, Windows-1258 or TCVN3 by which
   one spells Vietnamese syllables, then charset-normalizer) — one detector for both.

Converted text goes to a temporary file, normalised to NFC line by line.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vntwin.errors import ValidationError
from vntwin.ingest import tcvn3
from vntwin.ingest.encoding import BOMS, TCVN3, detect
from vntwin.ingest.problems import Where

CHUNK = 4 << 20

@dataclass(frozen=True)
class Utf8File:
    """A UTF-8, NFC file ready for DuckDB, and the encoding it was read from."""

    path: Path
    encoding: str


def to_utf8(path: Path, workdir: Path) -> Utf8File:
    """Return ``path`` itself if it is UTF-8 and NFC, else a converted copy in ``workdir``.

    Raises ValidationError for an empty file, a broken UTF-8 byte or an undecodable one
    (naming the line), or an encoding that cannot be recognised.
    """
    with path.open("rb") as file:
        head = file.read(4)
    if not head:
        raise ValidationError({"file": ["the file is empty"]})
    for bom, encoding in BOMS:
        if head.startswith(bom) and encoding != "utf-8-sig":
            return Utf8File(_transcode(path, workdir, encoding), encoding)
    scan = _scan_utf8(path)
    if scan.error_line is None:
        if scan.nfc:
            return Utf8File(path, "utf-8")
        return Utf8File(_transcode(path, workdir, "utf-8-sig"), "utf-8")
    if scan.saw_non_ascii or head.startswith(codecs.BOM_UTF8):
        raise ValidationError(
            {"file": [f"line {scan.error_line}: invalid UTF-8 byte in a UTF-8 file"]}
        )
    encoding = _guess_legacy(_sample(path, scan.error_offset), scan.error_line)
    return Utf8File(_transcode(path, workdir, encoding), encoding)


@dataclass(frozen=True)
class _Scan:
    nfc: bool
    saw_non_ascii: bool
    error_line: int | None = None
    error_offset: int = 0


def _scan_utf8(path: Path) -> _Scan:
    """Decode the whole file as UTF-8: where it fails, and whether it is NFC."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    nfc, saw_non_ascii, lines, offset = True, False, 0, 0
    with path.open("rb") as file:
        while True:
            chunk = file.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                good = bytes(error.object[: error.start])
                saw_non_ascii = saw_non_ascii or not good.isascii()
                line = lines + good.count(b"\n") + 1
                start = offset - (len(error.object) - len(chunk)) + error.start
                return _Scan(nfc, saw_non_ascii, line, max(start, 0))
            if not text.isascii():
                saw_non_ascii = True
                nfc = nfc and unicodedata.is_normalized("NFC", text)
            lines += chunk.count(b"\n")
            offset += len(chunk)
            if not chunk:
                return _Scan(nfc, saw_non_ascii)


def _sample(path: Path, offset: int, size: int = 1 << 20) -> bytes:
    """Up to ``size`` bytes around ``offset``, starting at a line break where possible."""
    start = max(0, offset - size // 4)
    with path.open("rb") as file:
        file.seek(start)
        data = file.read(size)
    if start:
        cut = data.find(b"\n")
        data = data[cut + 1 :] if 0 <= cut < offset - start else data
    return data


def _guess_legacy(sample: bytes, line: int) -> str:
    """The encoding of a file that is not UTF-8, from the bytes near its first non-UTF-8 one."""
    try:
        return detect(sample, Where("file"))
    except ValidationError:
        raise ValidationError(
            {"file": [f"line {line}: the text is not UTF-8 and its encoding was not recognised"]}
        ) from None


class _Tcvn3Decoder:
    """TCVN3 is one byte per character, so chunks decode independently."""

    def decode(self, data: bytes, final: bool = False) -> str:
        return tcvn3.decode(data)


def _decoder(encoding: str) -> Any:
    if encoding == TCVN3:
        return _Tcvn3Decoder()
    return codecs.getincrementaldecoder(encoding)()


def _transcode(path: Path, workdir: Path, encoding: str) -> Path:
    """Copy ``path`` to a UTF-8, NFC file in ``workdir``, a chunk at a time."""
    target = workdir / f"{path.stem}.utf8{path.suffix}"
    decoder = _decoder(encoding)
    carry, lines = "", 0
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = source.read(CHUNK)
            try:
                text = carry + decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                good = bytes(error.object[: error.start]).decode(encoding, "replace")
                line = lines + carry.count("\n") + good.count("\n") + 1
                raise ValidationError(
                    {"file": [f"line {line}: bytes that are not valid {encoding}"]}
                ) from None
            if not chunk:
                out.write(unicodedata.normalize("NFC", text))
                return target
            # Normalise whole lines only: a combining mark may start the next chunk.
            cut = text.rfind("\n") + 1
            done, carry = text[:cut], text[cut:]
            lines += done.count("\n")
            out.write(unicodedata.normalize("NFC", done))
