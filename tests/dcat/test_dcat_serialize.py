"""DCAT-AP 3 output: every mandatory and recommended property, paging, both formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dcat_sample import DATASET_ID, RESOURCE_ID, SITE
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from vntwin.dcat import vocab
from vntwin.dcat.read import read_graph
from vntwin.dcat.serialize import catalog_graph, dataset_graph, serialize
from vntwin.dcat.vocab import DCAT, DCT, HYDRA, PREFIXES, RDF

PREFIX_LINES = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())
DS = f"<{SITE}/dataset/{DATASET_ID}>"
DIST = f"<{SITE}/dataset/{DATASET_ID}/resource/{RESOURCE_ID}>"
EU = "http://publications.europa.eu/resource/authority"


def ask(graph: Graph, pattern: str) -> bool:
    return bool(graph.query(f"{PREFIX_LINES}\nASK {{ {pattern} }}").askAnswer)


def build_catalog(pkgs: list[dict[str, Any]], **kw: Any) -> Graph:
    args = {"site_url": SITE, "title": "Cổng dữ liệu", "publisher_name": "vntwin"}
    args.update({"page": 1, "page_size": 10, "total": len(pkgs)})
    args.update(kw)
    return catalog_graph(pkgs, **args)


DATASET_PROPERTIES = {
    "type": f"{DS} a dcat:Dataset",
    "title@vi": f'{DS} dct:title "Dân số theo tỉnh"@vi',
    "title@en": f'{DS} dct:title "Population by province"@en',
    "description@vi": f"{DS} dct:description ?d . FILTER(lang(?d) = 'vi')",
    "description@en": f"{DS} dct:description ?d . FILTER(lang(?d) = 'en')",
    "identifier": f'{DS} dct:identifier "{DATASET_ID}"',
    "issued": f'{DS} dct:issued "2026-11-24T10:00:00.123456+00:00"^^xsd:dateTime',
    "modified": f"{DS} dct:modified ?m . FILTER(datatype(?m) = xsd:dateTime)",
    "publisher": f'{DS} dct:publisher ?p . ?p a foaf:Agent ; foaf:name "Tổng cục Thống kê"',
    "publisher URI": f"{DS} dct:publisher <{SITE}/organization/tong-cuc-thong-ke>",
    "contactPoint": (
        f'{DS} dcat:contactPoint ?c . ?c a vcard:Kind ; vcard:fn "Nguyễn Văn An" ; '
        "vcard:hasEmail <mailto:an.nguyen@example.vn>"
    ),
    "keyword@vi": f'{DS} dcat:keyword "dân số"@vi, "thống kê"@vi',
    "theme": f"{DS} dcat:theme <{EU}/data-theme/ECON>, <{EU}/data-theme/SOCI>",
    "accrualPeriodicity": f"{DS} dct:accrualPeriodicity <{EU}/frequency/ANNUAL>",
    "spatial": (
        f"{DS} dct:spatial ?l . ?l a dct:Location ; locn:geometry ?g ; "
        'skos:prefLabel "Việt Nam"@vi . FILTER(datatype(?g) = geosparql:geoJSONLiteral)'
    ),
    "temporal": (
        f"{DS} dct:temporal ?t . ?t a dct:PeriodOfTime ; "
        'dcat:startDate "2018-01-01"^^xsd:date ; dcat:endDate "2030-12-31"^^xsd:date'
    ),
    "accessRights": f"{DS} dct:accessRights <{EU}/access-right/PUBLIC>",
    "landingPage": f"{DS} dcat:landingPage <{SITE}/dataset/dan-so-tinh>",
    "version": f'{DS} dcat:version "2.1" ; owl:versionInfo "2.1"',
    "language": f"{DS} dct:language <{EU}/language/VIE>",
    "adms:identifier": f'{DS} adms:identifier ?i . ?i skos:notation "dan-so-tinh"',
    "distribution": f"{DS} dcat:distribution {DIST}",
}

DISTRIBUTION_PROPERTIES = {
    "type": f"{DIST} a dcat:Distribution",
    "accessURL": f"{DIST} dcat:accessURL ?u",
    "downloadURL": f"{DIST} dcat:downloadURL <{SITE}/dataset/{DATASET_ID}/resource/"
    f"{RESOURCE_ID}/download/dan-so.csv>",
    "title": f'{DIST} dct:title "Bảng dân số (CSV)"@vi',
    "description": f"{DIST} dct:description ?d",
    "format": f"{DIST} dct:format <{EU}/file-type/CSV>",
    "mediaType": f"{DIST} dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv>",
    "byteSize": f'{DIST} dcat:byteSize "1234"^^xsd:nonNegativeInteger',
    "checksum": (
        f"{DIST} spdx:checksum ?c . ?c a spdx:Checksum ; "
        f"spdx:algorithm spdx:checksumAlgorithm_sha256 ; spdx:checksumValue ?v . "
        f'FILTER(str(?v) = "{"0f" * 32}")'
    ),
    "license": f"{DIST} dct:license <https://creativecommons.org/licenses/by/4.0/>",
    "issued": f"{DIST} dct:issued ?i . FILTER(datatype(?i) = xsd:dateTime)",
    "modified": f"{DIST} dct:modified ?m . FILTER(datatype(?m) = xsd:dateTime)",
}

CATALOG = f"<{SITE}/catalog>"
CATALOG_PROPERTIES = {
    "type": f"{CATALOG} a dcat:Catalog",
    "title": f'{CATALOG} dct:title "Cổng dữ liệu"@vi',
    "description": f"{CATALOG} dct:description ?d",
    "publisher": f'{CATALOG} dct:publisher ?p . ?p a foaf:Agent ; foaf:name "vntwin"',
    "dataset": f"{CATALOG} dcat:dataset {DS}",
    "homepage": f"{CATALOG} foaf:homepage <{SITE}/>",
    "language": f"{CATALOG} dct:language <{EU}/language/VIE>",
    "modified": f'{CATALOG} dct:modified "2026-11-25T08:30:00.000001+00:00"^^xsd:dateTime',
    "issued": f'{CATALOG} dct:issued "2026-11-24T10:00:00.123456+00:00"^^xsd:dateTime',
    "license": f"{CATALOG} dct:license ?l",
    "themeTaxonomy": f"{CATALOG} dcat:themeTaxonomy <{EU}/data-theme>",
}


@pytest.mark.parametrize("prop", sorted(DATASET_PROPERTIES))
def test_dataset_has_property(pkg: dict[str, Any], prop: str) -> None:
    assert ask(dataset_graph(pkg, SITE), DATASET_PROPERTIES[prop]), prop


@pytest.mark.parametrize("prop", sorted(DISTRIBUTION_PROPERTIES))
def test_distribution_has_property(pkg: dict[str, Any], prop: str) -> None:
    assert ask(dataset_graph(pkg, SITE), DISTRIBUTION_PROPERTIES[prop]), prop


@pytest.mark.parametrize("prop", sorted(CATALOG_PROPERTIES))
def test_catalog_has_property(pkg: dict[str, Any], prop: str) -> None:
    assert ask(build_catalog([pkg]), CATALOG_PROPERTIES[prop]), prop


def test_catalog_includes_full_dataset_descriptions(pkg: dict[str, Any]) -> None:
    graph = build_catalog([pkg])
    for prop, pattern in DATASET_PROPERTIES.items():
        assert ask(graph, pattern), prop


def test_every_distribution_has_access_url(pkg: dict[str, Any]) -> None:
    pkg["resources"][1]["url"] = ""
    graph = dataset_graph(pkg, SITE)
    dists = set(graph.subjects(RDF.type, DCAT.Distribution))
    assert len(dists) == 2
    for dist in dists:
        assert graph.value(dist, DCAT.accessURL) is not None, dist


def test_download_url_only_for_uploads(pkg: dict[str, Any]) -> None:
    graph = dataset_graph(pkg, SITE)
    linked = URIRef(f"{SITE}/dataset/{DATASET_ID}/resource/r2")
    assert graph.value(linked, DCAT.accessURL) == URIRef("https://gis.example.vn/ranh-gioi.geojson")
    assert graph.value(linked, DCAT.downloadURL) is None
    assert graph.value(linked, DCT["format"]) == URIRef(f"{EU}/file-type/GEOJSON")


@pytest.mark.parametrize(
    ("level", "code"),
    [("public", "PUBLIC"), ("agencies", "RESTRICTED"), ("restricted", "NON_PUBLIC")],
)
def test_access_rights(pkg: dict[str, Any], level: str, code: str) -> None:
    pkg["access_level"] = level
    graph = dataset_graph(pkg, SITE)
    assert list(graph.objects(None, DCT.accessRights)) == [URIRef(f"{EU}/access-right/{code}")]


@pytest.mark.parametrize(
    ("license_id", "uri"),
    [
        ("cc-by-4.0", "https://creativecommons.org/licenses/by/4.0/"),
        ("cc-by-sa-4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
        ("cc0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("cc-zero", "https://creativecommons.org/publicdomain/zero/1.0/"),
        ("odc-odbl", "https://opendatacommons.org/licenses/odbl/1-0/"),
        ("odc-by", "https://opendatacommons.org/licenses/by/1-0/"),
        ("odc-pddl", "https://opendatacommons.org/licenses/pddl/1-0/"),
        ("other-open", None),
        ("other-closed", None),
    ],
)
def test_license_uris(pkg: dict[str, Any], license_id: str, uri: str | None) -> None:
    pkg["license_id"] = license_id
    graph = dataset_graph(pkg, SITE)
    licences = set(graph.objects(None, DCT.license))
    assert licences == ({URIRef(uri)} if uri else set())


def test_missing_optional_fields_are_left_out() -> None:
    bare = {"id": "x1", "name": "x1", "title": "Tối giản", "resources": [{"id": "r", "url": ""}]}
    graph = dataset_graph(bare, SITE)
    ds = URIRef(f"{SITE}/dataset/x1")
    assert graph.value(ds, DCT.title) == Literal("Tối giản", lang="vi")
    for prop in (DCT.spatial, DCT.temporal, DCAT.theme, DCT.accrualPeriodicity, DCAT.contactPoint):
        assert graph.value(ds, prop) is None, prop


def test_invalid_values_are_dropped_not_emitted(pkg: dict[str, Any]) -> None:
    pkg.update(spatial="{not json", temporal_start="sometime", theme=["ECON", "bad code/x"])
    graph = dataset_graph(pkg, SITE)
    ds = URIRef(f"{SITE}/dataset/{DATASET_ID}")
    assert set(graph.objects(ds, DCAT.theme)) == {URIRef(f"{EU}/data-theme/ECON")}
    assert not ask(graph, f"{DS} dct:spatial/locn:geometry ?g")
    assert not ask(graph, f"{DS} dct:temporal/dcat:startDate ?s")
    assert ask(graph, f'{DS} dct:temporal/dcat:endDate "2030-12-31"^^xsd:date')


def paging(graph: Graph) -> dict[str, str]:
    view = next(iter(graph.subjects(RDF.type, HYDRA.PartialCollectionView)))
    assert (view, RDF.type, HYDRA.PagedCollection) in graph
    out = {"self": str(view)}
    for key in ("first", "last", "next", "previous"):
        value = graph.value(view, HYDRA[key])
        if value is not None:
            out[key] = str(value)
            assert graph.value(view, HYDRA[f"{key}Page"]) == Literal(str(value))
    out["total"] = graph.value(view, HYDRA.totalItems).toPython()
    out["per_page"] = graph.value(view, HYDRA.itemsPerPage).toPython()
    return out


def test_paging_middle_page(pkg: dict[str, Any]) -> None:
    info = paging(build_catalog([pkg], page=2, page_size=10, total=35))
    assert info == {
        "self": f"{SITE}/catalog.ttl?page=2",
        "first": f"{SITE}/catalog.ttl?page=1",
        "last": f"{SITE}/catalog.ttl?page=4",
        "next": f"{SITE}/catalog.ttl?page=3",
        "previous": f"{SITE}/catalog.ttl?page=1",
        "total": 35,
        "per_page": 10,
    }


def test_paging_first_and_last_page(pkg: dict[str, Any]) -> None:
    first = paging(build_catalog([pkg], page=1, page_size=10, total=35))
    assert "previous" not in first and first["next"].endswith("page=2")
    last = paging(build_catalog([pkg], page=4, page_size=10, total=35, ext="jsonld"))
    assert "next" not in last and last["previous"] == f"{SITE}/catalog.jsonld?page=3"
    assert last["last"] == f"{SITE}/catalog.jsonld?page=4"


def test_empty_catalog_has_one_page() -> None:
    info = paging(build_catalog([], total=0))
    assert info["first"] == info["last"] == f"{SITE}/catalog.ttl?page=1"
    assert "next" not in info


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml"])
def test_output_parses_back_to_the_same_graph(pkg: dict[str, Any], fmt: str) -> None:
    graph = build_catalog([pkg], page=1, page_size=1, total=3)
    text = serialize(graph, fmt)  # type: ignore[arg-type]
    again = read_graph(text.encode("utf-8"), fmt)
    assert len(again) == len(graph) > 80
    assert isomorphic(graph, again)


def test_json_ld_has_compact_embedded_context(pkg: dict[str, Any]) -> None:
    doc = json.loads(serialize(dataset_graph(pkg, SITE), "json-ld"))
    context = doc["@context"]
    assert isinstance(context, dict)
    for prefix in (
        "dcat",
        "dct",
        "foaf",
        "vcard",
        "adms",
        "dcatap",
        "locn",
        "skos",
        "xsd",
        "hydra",
    ):
        assert context[prefix] == PREFIXES[prefix]
    text = json.dumps(doc)
    assert '"dct:title"' in text and '"dcat:distribution"' in text
    assert "http://purl.org/dc/terms/title" not in text


def test_turtle_uses_prefixes(pkg: dict[str, Any]) -> None:
    text = serialize(dataset_graph(pkg, SITE), "turtle")
    assert "@prefix dcat: <http://www.w3.org/ns/dcat#>" in text
    assert "dcat:Dataset" in text
    assert "Dân số theo tỉnh" in text


def test_byte_size_datatype(pkg: dict[str, Any]) -> None:
    graph = dataset_graph(pkg, SITE)
    sizes = {o.datatype for o in graph.objects(None, DCAT.byteSize)}
    assert sizes == {vocab.XSD.nonNegativeInteger}


def test_unknown_format_is_an_error(pkg: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown RDF format"):
        serialize(dataset_graph(pkg, SITE), "n-quads")  # type: ignore[arg-type]
