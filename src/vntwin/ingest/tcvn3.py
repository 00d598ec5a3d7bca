"""TCVN3 (the "ABC" font encoding, TCVN 5712:1993 VN3) to Unicode and back.

Why a table here: no Python codec, no iconv name and no charset-normalizer model exists
for TCVN3, yet Vietnamese agencies' older DBF and CSV files (made with the .VnTime fonts)
still use it. Each byte above 0x7F maps to one precomposed letter. VN3 has no upper-case
toned letters: the ABC fonts drew them with separate "H" fonts on the same byte codes, so
such text decodes to lower case — nothing in the bytes says otherwise.

Bytes the table does not define fall back to Windows-1252, which those Windows fonts
used for punctuation and symbols (°, ², €).
"""

from __future__ import annotations

_LETTERS = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}


def _decode_table() -> dict[int, str]:
    """Latin-1 code point -> Unicode text, for ``str.translate`` on latin-1-decoded bytes."""
    table: dict[int, str] = {}
    for byte in range(0x80, 0x100):
        if byte in _LETTERS:
            table[byte] = _LETTERS[byte]
            continue
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # left as is: decode() reports it
    return table


_DECODE = _decode_table()
_UNDEFINED = frozenset(range(0x80, 0x100)) - _DECODE.keys()
_ENCODE = {ord(char): byte for byte, char in _LETTERS.items()}


def decode(data: bytes) -> str:
    """Decode TCVN3 bytes; raises UnicodeDecodeError on a byte TCVN3 leaves undefined."""
    for index, byte in enumerate(data):
        if byte in _UNDEFINED:
            raise UnicodeDecodeError("tcvn3", data, index, index + 1, "undefined in TCVN3")
    return data.decode("latin-1").translate(_DECODE)


def encode(text: str) -> bytes:
    """Encode NFC text as TCVN3 (used to make fixtures); raises UnicodeEncodeError."""
    out = bytearray()
    for index, char in enumerate(text):
        if ord(char) < 0x80:
            out.append(ord(char))
        elif ord(char) in _ENCODE:
            out.append(_ENCODE[ord(char)])
        else:
            raise UnicodeEncodeError("tcvn3", text, index, index + 1, "not in TCVN3")
    return bytes(out)
