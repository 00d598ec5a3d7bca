"""Harvesting DCAT-AP: our own output round-trips, and foreign catalogues map sensibly."""

from __future__ import annotations

from typing import Any

import pytest
from dcat_sample import DATASET_ID, SITE

from vntwin.dcat.harvest import make_name, next_page_url, parse_catalog
from vntwin.dcat.read import detect_format, read_graph
from vntwin.dcat.serialize import catalog_graph, serialize


def catalog_text(pkgs: list[dict[str, Any]], fmt: str = "turtle", **kw: Any) -> bytes:
    args = {"site_url": SITE, "title": "Cổng", "publisher_name": "vntwin"}
    args.update({"page": 1, "page_size": 10, "total": len(pkgs)}, **kw)
    return serialize(catalog_graph(pkgs, **args), fmt).encode("utf-8")  # type: ignore[arg-type]


def extras(pkg: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in pkg["extras"]}


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml"])
@pytest.mark.parametrize("detect", [True, False])
def test_round_trip(pkg: dict[str, Any], fmt: str, detect: bool) -> None:
    [back] = parse_catalog(catalog_text([pkg], fmt), None if detect else fmt)
    assert back["title"] == pkg["title"]
    assert back["notes"] == pkg["notes"]
    assert back["title_translated"] == pkg["title_translated"]
    assert back["notes_translated"] == pkg["notes_translated"]
    assert sorted(t["name"] for t in back["tags"]) == sorted(t["name"] for t in pkg["tags"])
    assert back["license_id"] == pkg["license_id"]
    assert back["theme"] == pkg["theme"]
    assert back["update_frequency"] == pkg["update_frequency"]
    assert (back["temporal_start"], back["temporal_end"]) == ("2018-01-01", "2030-12-31")
    assert back["spatial"] == pkg["spatial"] and back["spatial_label"] == "Việt Nam"
    assert back["language"] == ["vi"]
    assert back["access_level"] == "public"
    assert back["version"] == "2.1"
    assert (back["maintainer"], back["maintainer_email"]) == (
        "Nguyễn Văn An",
        "an.nguyen@example.vn",
    )
    assert (back["author"], back["author_email"]) == ("Tổng cục Thống kê", "gso@example.vn")
    assert back["name"] == "dan-so-tinh"
    fields = ("url", "format", "size", "name", "description", "mimetype")
    expected = [{k: r[k] for k in fields} for r in pkg["resources"]]
    assert [{k: r.get(k) for k in fields} for r in back["resources"]] == expected
    assert back["resources"][0]["hash"] == pkg["resources"][0]["hash"]
    assert "hash" not in back["resources"][1]
    meta = extras(back)
    assert meta["dcat_identifier"] == DATASET_ID
    assert meta["dcat_uri"] == f"{SITE}/dataset/{DATASET_ID}"
    assert meta["dcat_publisher_name"] == "Tổng cục Thống kê"


@pytest.mark.parametrize(
    ("level", "license_id"),
    [("agencies", "odc-odbl"), ("restricted", "cc0-1.0"), ("public", "cc-by-sa-4.0")],
)
def test_round_trip_access_and_license(pkg: dict[str, Any], level: str, license_id: str) -> None:
    pkg.update(access_level=level, license_id=license_id)
    [back] = parse_catalog(catalog_text([pkg]))
    assert (back["access_level"], back["license_id"]) == (level, license_id)


def test_other_license_round_trips_to_none(pkg: dict[str, Any]) -> None:
    pkg["license_id"] = "other-open"
    [back] = parse_catalog(catalog_text([pkg]))
    assert "license_id" not in back


def test_many_datasets_get_unique_names(pkg: dict[str, Any]) -> None:
    pkgs = []
    for i in range(3):
        copy = {**pkg, "id": f"{DATASET_ID[:-1]}{i}", "resources": []}
        pkgs.append(copy)
    back = parse_catalog(catalog_text(pkgs))
    assert sorted(p["name"] for p in back) == ["dan-so-tinh", "dan-so-tinh-2", "dan-so-tinh-3"]
    assert len({extras(p)["dcat_identifier"] for p in back}) == 3


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Dân số theo tỉnh", "dan-so-theo-tinh"),
        ("Đường bộ Đà Nẵng", "duong-bo-da-nang"),
        ("  Nước_sạch / 2024  ", "nuoc_sach-2024"),
        ("ÂĂÊÔƠƯ ấầẩẫậ", "aaeoou-aaaaa"),
        ("x", None),
        ("!!!", None),
        ("", None),
    ],
)
def test_make_name(text: str, name: str | None) -> None:
    assert make_name(text) == name


@pytest.mark.parametrize(
    ("identifier", "name"),
    [
        ("https://data.gov.vn/dataset/ho-so-dat-dai/", "ho-so-dat-dai"),
        ("urn:gso:dataset:DS-042", "ds-042"),
        ("http://other.example/id#Bảng_1", "bang_1"),
    ],
)
def test_name_from_uri_identifier(identifier: str, name: str) -> None:
    doc = f"""<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> ;
        <http://purl.org/dc/terms/identifier> "{identifier}" ;
        <http://purl.org/dc/terms/title> "Tiêu đề khác" ."""
    [pkg] = parse_catalog(doc.encode("utf-8"))
    assert pkg["name"] == name
    assert extras(pkg)["dcat_identifier"] == identifier


def test_make_name_is_at_most_100_chars() -> None:
    name = make_name("Dữ liệu " * 40)
    assert name is not None and len(name) <= 100 and not name.endswith("-")


FOREIGN_TTL = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix spdx: <http://spdx.org/rdf/terms#> .

<https://other.example/catalog> a dcat:Catalog ;
    dcat:dataset <https://other.example/ds/1>, <https://other.example/ds/2> .

<https://other.example/ds/1> a dcat:Dataset ;
    dct:identifier "GTVT/Đường-bộ 2024" ;
    dct:title "Mạng lưới đường bộ"@vi, "Road network"@en ;
    dcat:keyword "giao thông"@vi, "transport"@en, "a/b, c"@vi ;
    dcat:theme <http://publications.europa.eu/resource/authority/data-theme/TRAN>,
        <http://example.org/my-theme> ;
    dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/MONTHLY> ;
    dct:temporal [ dcat:startDate "2020-05-01T00:00:00Z"^^xsd:dateTime ] ;
    dct:language <http://publications.europa.eu/resource/authority/language/ENG> ;
    dcat:distribution [
        dcat:accessURL <https://other.example/api/roads> ;
        dcat:mediaType <https://www.iana.org/assignments/media-types/application/geo+json> ;
        dct:license <http://publications.europa.eu/resource/authority/licence/CC_BY_4_0> ;
        dcat:byteSize "2048"^^xsd:decimal ;
        spdx:checksum [ spdx:algorithm spdx:checksumAlgorithm_md5 ;
                        spdx:checksumValue "ABCDEF" ]
    ] .

<https://other.example/ds/2> dct:title "Untitled in English" ;
    dct:identifier "0b6c2c1e-9999-4222-8333-444455556666" .
"""


def test_foreign_turtle() -> None:
    by_title = {p["title"]: p for p in parse_catalog(FOREIGN_TTL.encode(), "text/turtle")}
    roads = by_title["Mạng lưới đường bộ"]
    assert roads["name"] == "gtvt-duong-bo-2024"
    assert extras(roads)["dcat_identifier"] == "GTVT/Đường-bộ 2024"
    assert roads["title_translated"] == {"vi": "Mạng lưới đường bộ", "en": "Road network"}
    assert {t["name"] for t in roads["tags"]} == {"giao thông", "transport", "a b c"}
    assert roads["theme"] == ["TRAN"]
    assert roads["update_frequency"] == "MONTHLY"
    assert roads["temporal_start"] == "2020-05-01" and roads["temporal_end"] == ""
    assert roads["language"] == ["en"]
    assert roads["license_id"] == "cc-by-4.0"
    [res] = roads["resources"]
    assert res["url"] == "https://other.example/api/roads"
    assert (res["format"], res["mimetype"]) == ("GeoJSON", "application/geo+json")
    assert (res["size"], res["hash"]) == (2048, "md5:abcdef")
    # Untyped but listed by dcat:dataset; UUID identifiers give way to the title.
    other = by_title["Untitled in English"]
    assert other["name"] == "untitled-in-english"
    assert other["notes"] == "" and other["resources"] == []


FOREIGN_RDFXML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/">
  <dcat:Dataset rdf:about="https://other.example/ds/caf\xe9">
    <dct:title xml:lang="fr">Caf\xe9s de Hano\xef</dct:title>
    <dct:description>Liste</dct:description>
    <dcat:distribution>
      <dcat:Distribution>
        <dcat:downloadURL rdf:resource="https://other.example/cafes.csv"/>
        <dcat:accessURL rdf:resource="https://other.example/cafes"/>
        <dct:format>csv</dct:format>
        <dct:license rdf:resource="https://example.org/some-licence"/>
      </dcat:Distribution>
    </dcat:distribution>
  </dcat:Dataset>
</rdf:RDF>
"""


def test_foreign_rdfxml_with_declared_encoding() -> None:
    data = FOREIGN_RDFXML.encode("latin-1")
    assert detect_format(data) == "xml"
    [pkg] = parse_catalog(data)
    assert pkg["title"] == "Cafés de Hanoï"
    assert pkg["name"] == "cafes-de-hanoi"  # no dct:identifier: the title, not the URI
    assert pkg["title_translated"] == {"fr": "Cafés de Hanoï"}
    assert extras(pkg)["dcat_identifier"] == "https://other.example/ds/café"
    assert extras(pkg)["dcat_license"] == "https://example.org/some-licence"
    assert "license_id" not in pkg
    [res] = pkg["resources"]
    assert (res["url"], res["format"]) == ("https://other.example/cafes.csv", "csv")


def test_turtle_starting_with_an_iri_is_detected_as_turtle() -> None:
    doc = b"<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> ."
    assert detect_format(doc) == "turtle"
    assert detect_format(b'\xef\xbb\xbf  {"@id": "x"}') == "json-ld"
    assert detect_format(b"<rdf:RDF xmlns:rdf='x'/>") == "xml"
    assert len(parse_catalog(doc)) == 1


def test_next_page_url(pkg: dict[str, Any]) -> None:
    page1 = read_graph(catalog_text([pkg], page=1, page_size=1, total=2))
    page2 = read_graph(catalog_text([pkg], page=2, page_size=1, total=2))
    assert next_page_url(page1) == f"{SITE}/catalog.ttl?page=2"
    assert next_page_url(page2) is None


def test_next_page_url_legacy_paged_collection() -> None:
    doc = b"""@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
    <http://x/c?page=1> a hydra:PagedCollection ; hydra:nextPage "http://x/c?page=2" ."""
    assert next_page_url(read_graph(doc)) == "http://x/c?page=2"


def test_empty_document_gives_no_datasets() -> None:
    assert parse_catalog(b"") == []
    assert parse_catalog(b'{"@graph": []}') == []
