from __future__ import annotations

import datetime as dt
import decimal
import json
import unicodedata
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datastore_samples import PROVINCES_CSV, encode_cp1258

from vntwin.datastore import delete_resource, is_loaded, load_resource
from vntwin.errors import ValidationError
from vntwin.ingest import tcvn3
from vntwin.ingest.encoding import detect
from vntwin.ingest.problems import Where

RID = "3f1c2d4e-0000-4000-8000-000000000001"


def rows(store: Path, resource_id: str = RID) -> list[tuple]:
    with duckdb.connect(str(store / f"{resource_id}.duckdb"), read_only=True) as con:
        return con.sql("SELECT * FROM data ORDER BY _id").fetchall()


def types(fields: list[dict[str, str]]) -> dict[str, str]:
    return {field["id"]: field["type"] for field in fields}


@pytest.mark.parametrize("encode", [
    pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
    pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8-bom"),
    pytest.param(lambda text: text.encode("utf-16"), id="utf-16-bom"),
    pytest.param(encode_cp1258, id="cp1258"),
    pytest.param(lambda text: tcvn3.encode(text), id="tcvn3"),
    pytest.param(lambda text: text.encode("utf-16-le"), id="utf-16-no-bom"),
    pytest.param(lambda text: unicodedata.normalize("NFD", text).encode("utf-8"), id="utf-8-nfd"),
])
def test_vietnamese_text_arrives_as_nfc_in_every_encoding(store, tmp_path, encode):
    source = tmp_path / "provinces.csv"
    source.write_bytes(encode(PROVINCES_CSV))
    fields = load_resource(store, RID, source, "csv")
    assert [field["id"] for field in fields] == ["_id", "Tỉnh", "Mã", "Dân số", "Ngày", "Ghi chú"]
    assert types(fields) == {"_id": "int", "Tỉnh": "text", "Mã": "text", "Dân số": "int",
                             "Ngày": "date", "Ghi chú": "text"}
    loaded = rows(store)
    expected = [line.split(",") for line in PROVINCES_CSV.splitlines()[1:]]
    assert [row[1] for row in loaded] == [cells[0] for cells in expected]
    assert [row[5] for row in loaded][:5] == [cells[4] for cells in expected][:5]
    assert loaded[0][:5] == (1, "Hà Nội", "01", 8435700, dt.date(2024, 1, 1))
    assert all(unicodedata.is_normalized("NFC", row[1]) for row in loaded)


def test_cp1258_helper_really_produces_legacy_bytes():
    data = encode_cp1258("Hà Nội")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert detect(data, Where("x.csv")) == "cp1258"


def test_types_come_from_the_whole_file_not_a_sample(store, tmp_path):
    lines = ["n,code,label"]
    for i in range(1, 60_001):
        number = "12.5" if i == 50_000 else str(i)
        code = "abc" if i == 50_000 else str(i)
        lines.append(f"{number},{code},dòng {i}")
    source = tmp_path / "long.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fields = types(load_resource(store, RID, source, "CSV"))
    assert fields["n"] in ("numeric", "float8")
    assert fields["code"] == "text"
    with duckdb.connect(str(store / f"{RID}.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM data").fetchone() == (60_000,)
        assert con.sql("SELECT n, code FROM data WHERE _id = 50000").fetchone() == (12.5, "abc")
        assert con.sql("SELECT n FROM data WHERE _id = 49999").fetchone() == (49999.0,)


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b"a,b\n1,2\n3,4,5\n6,7\n", "line 3: expected 2 columns, found 3", id="extra-cell"),
    pytest.param(b"a,b\n1,2\n3,4\n5\n", "line 4: expected 2 columns, found 1", id="missing-cell"),
    pytest.param(b'a,b\n1,2\n3,"open\n4,5\n', "line 3: a quoted value is not closed", id="quote"),
    pytest.param("a,b\nHà Nội,1\nĐà Nẵng,\xff\n".encode().replace(b"\xc3\xbf", b"\xff"),
                 "line 3: invalid UTF-8", id="bad-utf8"),
    pytest.param(b"", "the file is empty", id="empty"),
    pytest.param(b"\n\n", "the file is empty", id="blank"),
    pytest.param(b"1,2,3\n4,5,6\n", "line 1: the file has no header row", id="no-header"),
    pytest.param(b",,\n1,2,3\n", "line 1: the header row is empty", id="empty-header"),
])
def test_malformed_csv_names_the_line_and_leaves_nothing(store, tmp_path, content, expected):
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        load_resource(store, RID, source, "csv")
    assert caught.value.errors["file"][0].startswith(expected)
    assert list(store.iterdir()) == []


def test_failed_reload_keeps_the_previous_table(store, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,x\n", encoding="utf-8")
    load_resource(store, RID, good, "csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n2,y,z\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_resource(store, RID, bad, "csv")
    assert [path.name for path in store.iterdir()] == [f"{RID}.duckdb"]
    assert rows(store) == [(1, 1, "x")]


@pytest.mark.parametrize(("text", "delimiter_free"), [
    ("tỉnh;dân số\nHà Nội;8435700\nHuế;1160000\n", "semicolon"),
    ("tỉnh\tdân số\nHà Nội\t8435700\nHuế\t1160000\n", "tab"),
    ("tỉnh|dân số\nHà Nội|8435700\nHuế|1160000\n", "pipe"),
])
def test_delimiter_is_detected(store, tmp_path, text, delimiter_free):
    source = tmp_path / "file.txt"
    source.write_text(text, encoding="utf-8")
    fields = load_resource(store, RID, source, "CSV")
    assert types(fields) == {"_id": "int", "tỉnh": "text", "dân số": "int"}
    assert rows(store) == [(1, "Hà Nội", 8435700), (2, "Huế", 1160000)]


def test_tsv_format_forces_tabs(store, tmp_path):
    source = tmp_path / "upload"
    source.write_text("địa chỉ\tghi chú\n12, Tràng Tiền\tgần hồ, phố cổ\n", encoding="utf-8")
    fields = load_resource(store, RID, source, "TSV")
    assert [field["id"] for field in fields] == ["_id", "địa chỉ", "ghi chú"]
    assert rows(store) == [(1, "12, Tràng Tiền", "gần hồ, phố cổ")]


def test_column_names_are_kept_but_made_unique(store, tmp_path):
    source = tmp_path / "names.csv"
    source.write_text('Tên,,tên,_id,"  Dân  số ",__c0\na,b,c,d,e,g\n', encoding="utf-8")
    fields = load_resource(store, RID, source, "csv")
    assert [field["id"] for field in fields] == [
        "_id", "Tên", "column_2", "tên_2", "_id_2", "Dân số", "__c0"]
    assert rows(store) == [(1, "a", "b", "c", "d", "e", "g")]


def test_unknown_format_is_rejected(store, tmp_path):
    source = tmp_path / "file.pdf"
    source.write_bytes(b"%PDF")
    with pytest.raises(ValidationError) as caught:
        load_resource(store, RID, source, "PDF")
    assert "format" in caught.value.errors


@pytest.mark.parametrize("resource_id", ["../escape", "a/b", "", ".hidden", "x" * 101])
def test_resource_ids_cannot_leave_the_store(store, tmp_path, resource_id):
    source = tmp_path / "a.csv"
    source.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        load_resource(store, resource_id, source, "csv")
    assert not is_loaded(store, resource_id)
    assert list(store.iterdir()) == []


def test_xlsx_is_streamed_and_typed(store, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Tỉnh", "Dân số", "Diện tích", "Ngày", "Lúc", "Có cảng"])
    sheet.append(["Hà Nội", 8435700, 3359.8, dt.datetime(2024, 1, 1),
                  dt.datetime(2024, 1, 1, 8, 30), False])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Đà Nẵng", 1245000, 1284.9, dt.datetime(2024, 2, 1), dt.datetime(2024, 2, 1),
                  True])
    path = tmp_path / "upload.bin"  # uploads arrive under any name
    workbook.save(path)
    fields = load_resource(store, RID, path, "XLSX")
    assert types(fields) == {"_id": "int", "Tỉnh": "text", "Dân số": "int", "Diện tích": "float8",
                             "Ngày": "date", "Lúc": "timestamp", "Có cảng": "bool"}
    assert rows(store) == [
        (1, "Hà Nội", 8435700, 3359.8, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 8, 30), False),
        (2, "Đà Nẵng", 1245000, 1284.9, dt.date(2024, 2, 1), dt.datetime(2024, 2, 1), True),
    ]


def test_xlsx_value_outside_the_header_is_reported_by_row(store, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["a", "b"])
    sheet.append([1, 2])
    sheet.append([3, 4, "stray"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    with pytest.raises(ValidationError) as caught:
        load_resource(store, RID, path, "xlsx")
    assert caught.value.errors["file"][0].startswith("row 3:")
    assert list(store.iterdir()) == []


def test_not_an_xlsx_file(store, tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValidationError):
        load_resource(store, RID, path, "xlsx")
    assert list(store.iterdir()) == []


def test_parquet_types_map_to_ckan_types(store, tmp_path):
    table = pa.table({
        "tên": [unicodedata.normalize("NFD", "Hà Nội"), "Huế"],
        "n": pa.array([1, 2], pa.int32()),
        "x": [1.5, None],
        "d": pa.array([decimal.Decimal("1.25"), decimal.Decimal("2.50")], pa.decimal128(10, 2)),
        "t": pa.array([dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.UTC)] * 2,
                      pa.timestamp("us", "UTC")),
        "tags": [["a", "b"], []],
        "ok": [True, False],
        "_id": [10, 20],
    })
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    fields = load_resource(store, RID, path, "Parquet")
    assert types(fields) == {"_id": "int", "tên": "text", "n": "int", "x": "float8",
                             "d": "numeric", "t": "timestamp", "tags": "json", "ok": "bool",
                             "_id_2": "int"}
    first = rows(store)[0]
    assert first[:3] == (1, "Hà Nội", 1)
    assert first[5] == dt.datetime(2024, 1, 1, 1, 0)
    assert json.loads(first[6]) == ["a", "b"]


def test_geoparquet_geometry_becomes_geojson_text(store, tmp_path):
    shapely = pytest.importorskip("shapely")
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}
    table = pa.table({"tên": ["Hà Nội"],
                      "geometry": [shapely.to_wkb(shapely.Point(105.85, 21.03))]})
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    path = tmp_path / "g.parquet"
    pq.write_table(table, path)
    fields = load_resource(store, RID, path, "geoparquet")
    assert types(fields)["geometry"] == "text"
    geometry = rows(store)[0][2]
    assert geometry.startswith(("{", "POINT"))
    if geometry.startswith("{"):
        assert json.loads(geometry) == {"type": "Point", "coordinates": [105.85, 21.03]}


def test_geojson_properties_become_columns(store, tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"tên": "Hà Nội", "dân số": 8435700, "extra": {"a": 1}},
         "geometry": {"type": "Point", "coordinates": [105.85, 21.03]}},
        {"type": "Feature", "properties": {"tên": "Đà Nẵng", "dân số": 1245000},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
    ]}
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    fields = load_resource(store, RID, path, "GeoJSON")
    assert types(fields) == {"_id": "int", "tên": "text", "dân số": "int", "extra": "json",
                             "geometry": "text"}
    loaded = rows(store)
    assert [row[1] for row in loaded] == ["Hà Nội", "Đà Nẵng"]
    assert json.loads(loaded[0][3]) == {"a": 1}
    assert json.loads(loaded[1][4])["type"] == "Polygon"


def test_malformed_geojson_names_the_line(store, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [\n'
                    '{"type": "Feature", "properties": {"a": 1}, "geometry": null},\n'
                    '{"type": "Feature", "properties": {"a": 2 "b": 3}, "geometry": null}\n]}\n',
                    encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_resource(store, RID, path, "geojson")
    assert caught.value.errors["file"][0].startswith("line 3:")
    assert list(store.iterdir()) == []


def test_geojson_without_features_is_rejected(store, tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(ValidationError):
        load_resource(store, RID, path, "geojson")
    assert list(store.iterdir()) == []


def test_delete_and_is_loaded(store, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("a\n1\n", encoding="utf-8")
    assert not is_loaded(store, RID)
    load_resource(store, RID, source, "csv")
    assert is_loaded(store, RID)
    assert delete_resource(store, RID) is True
    assert not is_loaded(store, RID)
    assert delete_resource(store, RID) is False


def test_progress_reaches_the_total(store, tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(1000)), encoding="utf-8")
    calls: list[tuple[int, int]] = []
    load_resource(store, RID, source, "csv",
                  progress=lambda done, total: calls.append((done, total)))
    size = source.stat().st_size
    assert calls[0] == (0, size)
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
