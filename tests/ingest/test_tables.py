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


@pytest.mark.parametrize(("decimal_comma", "values", "kind", "expected"), [
    (True, ["8.435.700", "9.456.700"], "integer", [8435700, 9456700]),
    (True, ["1.234", "2.000", ""], "integer", [1234, 2000, None]),
    (True, ["-1.234", "999"], "integer", [-1234, 999]),
    (True, ["1.234,5", "9.456"], "number", [1234.5, 9456.0]),
    (True, ["3,5", "10"], "number", [3.5, 10.0]),
    (True, ["1.5", "21.0285"], "number", [1.5, 21.0285]),  # plain decimal points still
    (True, ["8,435,700", "1,234"], "integer", [8435700, 1234]),  # two commas: thousands
    (False, ["8,435,700", "9,456,700"], "integer", [8435700, 9456700]),
    (False, ["8.435.700", "1.234"], "integer", [8435700, 1234]),  # two points: thousands
    (False, ["1.234", "2.000"], "number", [1.234, 2.0]),  # comma-separated: decimals
    (False, ["1.234", "2.5"], "number", [1.234, 2.5]),
    (False, ["1,234.5", "2"], "number", [1234.5, 2.0]),
    (False, ["1,5", "2,25"], "string", ["1,5", "2,25"]),  # a decimal comma needs ; or tab
])
def test_numbers_follow_the_files_convention(decimal_comma: bool, values: list[str],
                                             kind: str, expected: list[object]):
    """Vietnamese Excel writes 8.435.700 and 3.358,6: typed as text, such columns were
    left out of the twin; and 1.234 in a semicolon file is 1234, not 1.234.
    """
    frame = pd.DataFrame({"so": values}, dtype=object)
    typed = type_text_columns(frame, decimal_comma=decimal_comma)
    assert infer(typed) == [{"name": "so", "type": kind}]
    assert [None if pd.isna(v) else v for v in typed["so"]] == expected


def test_semicolon_csv_with_thousands_and_coordinates(tmp_path: Path):
    """Coordinates never group digits: 21.028 is a latitude, not 21,028."""
    path = tmp_path / "dan_so.csv"
    path.write_text("ten;lat;lon;dan_so;dien_tich\nHà Nội;21.028;105.854;8.435.700;3.358,6\n"
                    "Huế;16.463;107.590;1.236.393;4.947,1\n", encoding="utf-8")
    [layer] = read_layers(path)
    assert list(layer.frame["dan_so"]) == [8435700, 1236393]
    assert list(layer.frame["dien_tich"]) == [3358.6, 4947.1]
    point = layer.frame.geometry.iloc[0]
    assert (point.x, point.y) == (105.854, 21.028)


def test_numeric_looking_text_columns_are_reported(tmp_path: Path):
    path = tmp_path / "dan_so.csv"
    path.write_text("ma_tinh;dan_so;ghi_chu;dien_thoai\n01;8.435.700;a;0912 345 678\n"
                    "79;9.456.700;b;0283 829 1234\n46;1,234.5;c;0234 382 2442\n",
                    encoding="utf-8")
    [layer] = read_layers(path)
    assert {c["name"]: c["type"] for c in layer.schema}["dan_so"] == "string"
    notes = [line for line in layer.report if "looks numeric" in line]
    assert notes == ["column 'dan_so' looks numeric but was kept as text: 1 of 3 values are "
                     "not numbers written like the others (row 3: '1,234.5'); fix them to "
                     "have the column fused into the twin"]
