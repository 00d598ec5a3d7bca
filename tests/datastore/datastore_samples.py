"""Vietnamese sample data and a Windows-1258 encoder for the datastore tests."""

from __future__ import annotations

import unicodedata

PROVINCES_CSV = (
    "Tỉnh,Mã,Dân số,Ngày,Ghi chú\n"
    "Hà Nội,01,8435700,2024-01-01,Thủ đô\n"
    "Thành phố Hồ Chí Minh,79,9521000,2024-01-02,Đô thị lớn nhất\n"
    "Đà Nẵng,48,1245000,2024-01-03,Thành phố biển\n"
    "Hải Phòng,31,2105000,2024-01-04,Cảng biển\n"
    "Cần Thơ,92,1258000,2024-01-05,Đồng bằng sông Cửu Long\n"
    "Thừa Thiên Huế,46,1160000,2024-01-06,\n"
)

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Encode NFC Vietnamese text as Windows-1258 does: tone marks as combining characters.

    Python's cp1258 codec is a plain character map, so ``"ộ".encode("cp1258")`` fails:
    the letter must first be split into the base letter cp1258 has (``ô``) and the tone.
    """
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out += (base + "".join(c for c in parts if c in _TONE_MARKS)).encode("cp1258")
    return bytes(out)
