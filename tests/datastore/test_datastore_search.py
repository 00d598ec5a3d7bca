from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from vntwin.datastore import datastore_search, load_resource
from vntwin.errors import NotFound, ValidationError


def names(result: dict) -> list[str]:
    return [record["Tỉnh"] for record in result["records"]]


def test_default_search_has_ckans_shape(store, provinces):
    result = datastore_search(store, provinces)
    assert result["resource_id"] == provinces
    assert result["fields"] == [
        {"id": "_id", "type": "int"}, {"id": "Tỉnh", "type": "text"}, {"id": "Mã", "type": "text"},
        {"id": "Dân số", "type": "int"}, {"id": "Ngày", "type": "date"},
        {"id": "Ghi chú", "type": "text"}]
    assert result["total"] == 6
    assert result["limit"] == 100
    assert result["records_format"] == "objects"
    assert result["records"][0] == {"_id": 1, "Tỉnh": "Hà Nội", "Mã": "01", "Dân số": 8435700,
                                    "Ngày": "2024-01-01", "Ghi chú": "Thủ đô"}
    assert result["records"][-1]["Ghi chú"] is None
    assert "offset" not in result


@pytest.mark.parametrize(("q", "expected"), [
    ("ha noi", ["Hà Nội"]),
    ("HA NOI", ["Hà Nội"]),
    ("Hà Nội", ["Hà Nội"]),
    ("da nang", ["Đà Nẵng"]),
    ("đà nẵng", ["Đà Nẵng"]),
    ("thanh pho", ["Thành phố Hồ Chí Minh", "Đà Nẵng"]),
    ("song cuu long", ["Cần Thơ"]),
    ("hue", ["Thừa Thiên Huế"]),
    ("khong co", []),
])
def test_q_ignores_case_and_diacritics(store, provinces, q, expected):
    assert names(datastore_search(store, provinces, q=q)) == expected


def test_q_as_dict_searches_one_column(store, provinces):
    assert names(datastore_search(store, provinces, q={"Ghi chú": "thanh pho"})) == ["Đà Nẵng"]
    assert names(datastore_search(store, provinces, q={"Tỉnh": "thanh pho"})) == [
        "Thành phố Hồ Chí Minh"]


@pytest.mark.parametrize("q", ["' OR 1=1 --", "%", ".", ".*", "(", "[a-z]+", "\\", "a|b"])
def test_q_with_sql_or_regex_in_it_is_only_text(store, provinces, q):
    assert datastore_search(store, provinces, q=q)["records"] == []


def test_q_in_decomposed_unicode_still_matches(store, provinces):
    q = unicodedata.normalize("NFD", "Đà Nẵng")
    assert names(datastore_search(store, provinces, q=q)) == ["Đà Nẵng"]


def test_json_and_geometry_columns_come_back_as_json(store, tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"tên": "Huế", "thông tin": {"mã": 46}},
         "geometry": {"type": "Point", "coordinates": [107.58, 16.46]}}]}
    path = tmp_path / "hue.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    load_resource(store, "hue", path, "geojson")
    record = datastore_search(store, "hue", q="hue")["records"][0]
    assert record["thông tin"] == {"mã": 46}
    assert json.loads(record["geometry"]) == {"type": "Point", "coordinates": [107.58, 16.46]}


def test_filters(store, provinces):
    assert names(datastore_search(store, provinces, filters={"Mã": "48"})) == ["Đà Nẵng"]
    assert names(datastore_search(store, provinces, filters={"Mã": ["01", "92"]})) == [
        "Hà Nội", "Cần Thơ"]
    assert names(datastore_search(store, provinces, filters={"Dân số": "1245000"})) == ["Đà Nẵng"]
    assert names(datastore_search(store, provinces, filters={"Dân số": 1245000})) == ["Đà Nẵng"]
    assert names(datastore_search(store, provinces, filters={"Ghi chú": None})) == [
        "Thừa Thiên Huế"]
    assert names(datastore_search(store, provinces, filters={"Ngày": "2024-01-03",
                                                            "Mã": "48"})) == ["Đà Nẵng"]
    assert datastore_search(store, provinces, filters={"Mã": "x"})["total"] == 0


def test_filter_value_of_the_wrong_type_is_a_validation_error(store, provinces):
    with pytest.raises(ValidationError) as caught:
        datastore_search(store, provinces, filters={"Dân số": "nhiều"})
    assert "Dân số" in caught.value.errors["filters"][0]


def test_q_and_filters_combine(store, provinces):
    result = datastore_search(store, provinces, q="thanh pho", filters={"Mã": "48"})
    assert names(result) == ["Đà Nẵng"]
    assert result["total"] == 1


def test_sort(store, provinces):
    assert names(datastore_search(store, provinces, sort="Dân số desc"))[:2] == [
        "Thành phố Hồ Chí Minh", "Hà Nội"]
    assert names(datastore_search(store, provinces, sort='"Dân số" asc'))[0] == "Thừa Thiên Huế"
    assert names(datastore_search(store, provinces, sort=["Mã DESC"]))[0] == "Cần Thơ"
    assert names(datastore_search(store, provinces, sort="Ghi chú desc, _id"))[0] == "Cần Thơ"
    ordered = datastore_search(store, provinces, sort="Ghi chú asc, _id desc")["records"]
    assert [record["Ghi chú"] for record in ordered][:2] == ["Cảng biển", "Thành phố biển"]


@pytest.mark.parametrize("sort", [
    "Dân số; DROP TABLE data",
    "(SELECT 1)",
    "_id desc nulls first; --",
    '"Dân số" desc, "nope"',
    "1",
])
def test_hostile_sort_names_the_column(store, provinces, sort):
    with pytest.raises(ValidationError) as caught:
        datastore_search(store, provinces, sort=sort)
    assert "not in table" in caught.value.errors["sort"][0]
    assert datastore_search(store, provinces)["total"] == 6


@pytest.mark.parametrize("fields", [
    "Tỉnh, (SELECT 1)",
    ["Tỉnh", '"; DROP TABLE data; --'],
    "*",
    "getenv('HOME')",
])
def test_hostile_fields_name_the_column(store, provinces, fields):
    with pytest.raises(ValidationError) as caught:
        datastore_search(store, provinces, fields=fields)
    assert "not in table" in caught.value.errors["fields"][0]


def test_hostile_filter_and_q_keys(store, provinces):
    with pytest.raises(ValidationError) as caught:
        datastore_search(store, provinces, filters={"1=1) OR (1": "x"})
    assert '"1=1) OR (1" not in table' in caught.value.errors["filters"][0]
    with pytest.raises(ValidationError):
        datastore_search(store, provinces, q={"nope": "x"})


def test_fields_select_columns(store, provinces):
    result = datastore_search(store, provinces, fields="Tỉnh, Mã", limit=1)
    assert result["fields"] == [{"id": "Tỉnh", "type": "text"}, {"id": "Mã", "type": "text"}]
    assert result["records"] == [{"Tỉnh": "Hà Nội", "Mã": "01"}]


def test_paging_and_links(store, provinces):
    base = "/api/3/action/datastore_search"
    page = datastore_search(store, provinces, limit=2, offset=2, q="a", base_path=base)
    assert [record["_id"] for record in page["records"]] == [3, 4]
    assert page["offset"] == 2
    assert page["total"] == 6
    start, following = urlsplit(page["_links"]["start"]), urlsplit(page["_links"]["next"])
    assert start.path == following.path == base
    assert parse_qs(start.query) == {"resource_id": [provinces], "q": ["a"], "limit": ["2"]}
    assert parse_qs(following.query) == {"resource_id": [provinces], "q": ["a"], "limit": ["2"],
                                         "offset": ["4"]}
    last = datastore_search(store, provinces, limit=2, offset=4)
    assert [record["_id"] for record in last["records"]] == [5, 6]
    assert datastore_search(store, provinces, limit=2, offset=6)["records"] == []


def test_links_keep_filters_as_json(store, provinces):
    page = datastore_search(store, provinces, filters={"Mã": ["01", "48"]}, sort="Mã desc")
    query = parse_qs(urlsplit(page["_links"]["next"]).query)
    assert query["filters"] == ['{"Mã":["01","48"]}']
    assert query["sort"] == ["Mã desc"]
    assert query["offset"] == ["100"]


def test_limit_is_capped_and_checked(store, provinces):
    assert datastore_search(store, provinces, limit=10**9)["limit"] == 32000
    assert datastore_search(store, provinces, limit=0)["records"] == []
    assert datastore_search(store, provinces, limit=0)["total"] == 6
    for bad in (-1, "abc", 1.5):
        with pytest.raises(ValidationError):
            datastore_search(store, provinces, limit=bad)
    with pytest.raises(ValidationError):
        datastore_search(store, provinces, offset=-5)


def test_records_formats(store, provinces):
    lists = datastore_search(store, provinces, fields=["_id", "Tỉnh"], limit=2,
                             records_format="lists")
    assert lists["records"] == [[1, "Hà Nội"], [2, "Thành phố Hồ Chí Minh"]]
    csv_text = datastore_search(store, provinces, fields="Tỉnh,Dân số", limit=2,
                                records_format="csv")["records"]
    assert csv_text == "Hà Nội,8435700\nThành phố Hồ Chí Minh,9521000\n"
    tsv_text = datastore_search(store, provinces, fields="Tỉnh,Ghi chú", filters={"Mã": "46"},
                                records_format="tsv")["records"]
    assert tsv_text == "Thừa Thiên Huế\t\n"
    with pytest.raises(ValidationError):
        datastore_search(store, provinces, records_format="xml")


def test_include_total_false_and_distinct(store, tmp_path):
    source = tmp_path / "d.csv"
    source.write_text("vùng,tỉnh\nBắc,Hà Nội\nBắc,Hải Phòng\nTrung,Huế\nNam,Cần Thơ\n",
                      encoding="utf-8")
    load_resource(store, "dist", source, "csv")
    result = datastore_search(store, "dist", fields="vùng", distinct=True, include_total=False)
    assert "total" not in result
    assert [record["vùng"] for record in result["records"]] == ["Bắc", "Nam", "Trung"]
    result = datastore_search(store, "dist", fields="vùng", distinct=True, sort="vùng desc")
    assert [record["vùng"] for record in result["records"]] == ["Trung", "Nam", "Bắc"]
    assert result["total"] == 3


@pytest.mark.parametrize("resource_id", ["missing", "../../etc/passwd", "a b"])
def test_unknown_resource_is_not_found(store, resource_id):
    with pytest.raises(NotFound):
        datastore_search(store, resource_id)


def test_search_does_not_write(store, provinces):
    path = Path(store) / f"{provinces}.duckdb"
    before = path.stat().st_mtime_ns, path.stat().st_size
    datastore_search(store, provinces, q="ha noi")
    assert (path.stat().st_mtime_ns, path.stat().st_size) == before
    assert sorted(item.name for item in store.iterdir()) == [f"{provinces}.duckdb"]
