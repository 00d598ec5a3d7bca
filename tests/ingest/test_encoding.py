"""Encodings: TCVN3 table, detection between Windows-1258 and TCVN3, UTF-16, NFC."""

from __future__ import annotations

import unicodedata

import pytest

from vntwin.errors import ValidationError
from vntwin.ingest import tcvn3
from vntwin.ingest.encoding import TCVN3, codec_name, decode, detect, is_syllable
from vntwin.ingest.problems import Where

W = Where("test.csv")
TEXT = "Thành phố Hồ Chí Minh, Phường Bến Thành, Đặc khu Phú Quốc, Xã Đồng Hỷ, tỉnh Điện Biên"


def cp1258_windows(text: str) -> bytes:
    """Windows' own form: base letter + combining tone where no precomposed letter exists."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            base, marks = decomposed[0], decomposed[1:]
            tones = [m for m in marks if m in "\u0300\u0301\u0303\u0309\u0323"]
            rest = [m for m in marks if m not in tones]
            out += unicodedata.normalize("NFC", base + "".join(rest)).encode("cp1258")
            out += "".join(tones).encode("cp1258")
    return bytes(out)


def test_tcvn3_known_bytes():
    assert tcvn3.decode(b"H\xb5 N\xe9i") == "Hà Nội"
    assert tcvn3.decode(b"\xa7\xb5 N\xb5ng") == "Đà Nàng"
    assert tcvn3.encode("Đà Nẵng") == b"\xa7\xb5 N\xbdng"
    with pytest.raises(UnicodeEncodeError):
        tcvn3.encode("Ấn")  # upper-case toned letters do not exist in TCVN3
    with pytest.raises(UnicodeDecodeError):
        tcvn3.decode(b"\x81")


def test_tcvn3_round_trips_every_lower_case_vietnamese_letter():
    letters = "".join(sorted({unicodedata.normalize("NFC", v + t)
                              for v in "aăâeêioôơuưy"
                              for t in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")}))
    assert tcvn3.decode(tcvn3.encode(letters + "đ")) == letters + "đ"


@pytest.mark.parametrize(("data", "expected"), [
    (cp1258_windows(TEXT), "cp1258"),
    (tcvn3.encode(TEXT.replace("Đặc", "đặc").replace("Điện", "điện").replace("Đồng", "đồng")),
     TCVN3),
    (TEXT.encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-16-le"), "utf-16-le"),
    (TEXT.encode("utf-16-be"), "utf-16-be"),
])
def test_detect(data: bytes, expected: str):
    assert detect(data, W) == expected


def test_decoded_text_is_nfc():
    decoded = decode(cp1258_windows(TEXT), W)
    assert decoded.text == TEXT and unicodedata.is_normalized("NFC", decoded.text)
    assert decoded.encoding == "cp1258" and decoded.detected
    nfd = unicodedata.normalize("NFD", TEXT).encode("utf-8")
    assert decode(nfd, W).text == TEXT


def test_broken_utf8_names_the_line():
    data = "dòng 1\ndòng 2\n".encode() + b"d\xf2ng 3\n"
    with pytest.raises(ValidationError, match="line 3: invalid UTF-8 byte in a UTF-8 file"):
        decode(data, W)


def test_syllables():
    assert is_syllable("Nguyễn") and is_syllable("Đường") and is_syllable("Hà")
    assert not is_syllable("Nụũi")  # two tones: a wrong decoding
    assert not is_syllable("Hµ")  # TCVN3 read as Windows-1258


@pytest.mark.parametrize(("name", "codec"), [
    ("UTF-8", "utf-8"), ("65001", "utf-8"), ("1258", "cp1258"), ("ANSI 1258", "cp1258"),
    ("windows-1258", "cp1258"), ("CP1258", "cp1258"), ("TCVN3", TCVN3), ("ABC", TCVN3),
    ("88591", "iso8859-1"), ("ISO-8859-1", "iso8859-1"),
])
def test_codec_names(name: str, codec: str):
    assert codec_name(name) == codec


@pytest.mark.parametrize("encode", [cp1258_windows, tcvn3.encode], ids=["cp1258", "tcvn3"])
def test_a_geojson_in_a_legacy_vietnamese_encoding_is_read(tmp_path, encode):
    """RFC 7946 says UTF-8, but older GIS tools write GeoJSON in Windows-1258 or TCVN3:
    it is copied to UTF-8 and read, and the report says which encoding was found."""
    import json

    from vntwin.ingest.read import read_layers

    names = ["Xã Đồng Hỷ", "Phường Bến Thành", "Đặc khu Phú Quốc", "Thành phố Điện Biên Phủ"]
    features = [{"type": "Feature", "properties": {"ten": name},
                 "geometry": {"type": "Point", "coordinates": [105.8 + i / 10, 21.0]}}
                for i, name in enumerate(names)]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path = tmp_path / "dia_danh.geojson"
    path.write_bytes(encode(text.lower() if encode is tcvn3.encode else text))
    (layer,) = read_layers(path)
    expected = [n.lower() for n in names] if encode is tcvn3.encode else names
    assert layer.frame["ten"].tolist() == expected
    assert any("text encoding" in line for line in layer.report)
