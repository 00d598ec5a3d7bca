"""CSV tables: lat/lon columns, place columns by name or by values, typing, broken rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vntwin.errors import ValidationError
from vntwin.ingest import read_layers
from vntwin.ingest.schema import infer, type_text_columns
from vntwin.ingest.tables import coordinate_columns, place_column


@pytest.mark.parametrize(("names", "expected"), [
    (["ten", "Vĩ độ", "Kinh độ"], ("Vĩ độ", "Kinh độ")),
    (["name", "latitude", "longitude"], ("latitude", "longitude")),
    (["name", "LAT", "LNG"], ("LAT", "LNG")),
    (["id", "x", "y"], ("y", "x")),
    (["wardLat", "wardLon"], ("wardLat", "wardLon")),
    (["ma_tinh", "dan_so"], None),
])
def test_coordinate_columns(names: list[str], expected: tuple[str, str] | None):
    assert coordinate_columns(names) == expected


@pytest.mark.parametrize(("frame", "expected"), [
    (pd.DataFrame({"Mã tỉnh": ["01", "79"], "dan_so": [1, 2]}), "Mã tỉnh"),
    (pd.DataFrame({"so": [1, 2], "Tỉnh/Thành phố": ["Hà Nội", "Huế"]}), "Tỉnh/Thành phố"),
    (pd.DataFrame({"so": [1, 2], "ten": ["Hà Nội", "Huế"]}), None),
    (pd.DataFrame({"so": [1, 2], "Tỉnh": ["Hà Nội", "Huế"]}), "Tỉnh"),
    (pd.DataFrame({"don": ["Xã Đồng Hỷ", "Phường Bến Thành", "Đặc khu Phú Quốc"],
                   "n": [1, 2, 3]}), "don"),
    (pd.DataFrame({"id": ["01", "04", "79"], "n": [1, 2, 3]}), "id"),
    (pd.DataFrame({"id": ["1", "4", "79"], "n": [1, 2, 3]}), None),
])
def test_place_column(frame: pd.DataFrame, expected: str | None):
    assert place_column(frame) == expected


def test_text_typing_keeps_codes_and_reads_dates():
    frame = pd.DataFrame({
        "code": ["01", "79"], "n": ["1", "-2"], "x": ["1.5", "2"], "ok": ["true", "FALSE"],
        "ngay": ["31/12/2024", "01/01/2025"], "iso": ["2024-12-31", ""],
        "luc": ["2024-12-31T08:00:00", "2025-01-01 07:30"], "ten": ["Hà Nội", "Huế"],
    }, dtype=object)
    typed = type_text_columns(frame, keep_text=["n"])
    types = {c["name"]: c["type"] for c in infer(typed)}
    assert types == {"code": "string", "n": "string", "x": "number", "ok": "boolean",
                     "ngay": "date", "iso": "date", "luc": "datetime", "ten": "string"}
    assert str(typed["luc"].iloc[0]) == "2024-12-31 01:00:00+00:00"  # Vietnam time -> UTC


def test_rows_with_bad_coordinates_are_rejected_with_their_numbers(tmp_path: Path):
    path = tmp_path / "diem.csv"
    path.write_text("ten,lat,lon\nA,21.03,105.85\nB,,105.8\nC,abc,105.8\nD,121.0,21.0\n"
                    "E,16.46,107.59\n", encoding="utf-8")
    layer = read_layers(path)[0]
    assert list(layer.frame["ten"]) == ["A", "E"]
    report = "\n".join(layer.report)
    assert "row 2: coordinates missing or not numbers" in report
    assert "row 3: coordinates missing or not numbers (105.8, 'abc')" in report
    assert "row 4: latitude 121.0 or longitude 21.0 out of range (are latitude and " \
           "longitude swapped?)" in report


def test_csv_row_with_too_many_fields(tmp_path: Path):
    path = tmp_path / "thua.csv"
    path.write_text("ten,lat,lon\nA,21.03,105.85\nB,21.0,105.8,extra\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"thua.csv, layer 'thua', row 2: 4 fields but "
                                              r"the header has 3"):
        read_layers(path)


def test_csv_with_only_a_header(tmp_path: Path):
    path = tmp_path / "rong.csv"
    path.write_text("ten,lat,lon\n\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="a header but no rows"):
        read_layers(path)
