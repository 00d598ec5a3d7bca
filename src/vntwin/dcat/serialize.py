"""DCAT-AP 3.0 output: CKAN package dicts → RDF graphs → Turtle or JSON-LD.

Other portals (data.europa.eu, ckanext-dcat harvesters, national catalogues) find our
datasets through this output, so it carries every mandatory and recommended DCAT-AP 3
property we have data for, with EU controlled-vocabulary URIs rather than free text.
The mapping back is in :mod:`vntwin.dcat.harvest`; the code tables both use are in
:mod:`vntwin.dcat.vocab`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from rdflib import BNode, Graph, URIRef
from rdflib import Literal as Lit
from rdflib.term import Node

from vntwin.dcat import uris
from vntwin.dcat.vocab import (
    ACCESS_RIGHT_BASE,
    ACCESS_RIGHTS,
    ADMS,
    CHECKSUM_ALGORITHMS,
    DCAT,
    DCT,
    FOAF,
    FREQUENCY_BASE,
    GSP,
    HYDRA,
    IANA_MEDIA_BASE,
    LANGUAGE_BASE,
    LANGUAGES,
    LICENSES,
    LOCN,
    OWL,
    PREFIXES,
    RDF,
    RDFS,
    SKOS,
    SPDX,
    THEME_BASE,
    THEME_SCHEME,
    VCARD,
    XSD,
    code_uri,
    file_type_uri,
    license_uri,
)
from vntwin.quality.dqv import add_quality

Format = Literal["turtle", "json-ld", "xml"]

DEFAULT_LANGUAGE = "vi"


def new_graph() -> Graph:
    """Return an empty graph with our prefixes bound, so Turtle output is readable."""
    graph = Graph(bind_namespaces="core")
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def dataset_graph(pkg: Mapping[str, Any], site_url: str) -> Graph:
    """Describe one CKAN package as a DCAT-AP 3 ``dcat:Dataset`` with its distributions.

    Used for ``/dataset/{id}.{ttl,jsonld}``; the dataset URI is
    ``{site_url}/dataset/{id}``.

    Example:
        >>> g = dataset_graph({"id": "x1", "name": "x", "title": "X"}, "http://h")
        >>> (URIRef("http://h/dataset/x1"), RDF.type, DCAT.Dataset) in g
        True

    """
    graph = new_graph()
    add_dataset(graph, pkg, site_url)
    return graph


def catalog_graph(
    pkgs: Iterable[Mapping[str, Any]],
    *,
    site_url: str,
    title: str,
    publisher_name: str,
    page: int,
    page_size: int,
    total: int,
    ext: str = "ttl",
    description: str | None = None,
    issued: str | None = None,
    modified: str | None = None,
    languages: Iterable[str] = ("vi", "en"),
    catalog_license: str | None = LICENSES["cc-by-4.0"],
) -> Graph:
    """Describe one page of the catalogue: the ``dcat:Catalog`` and the datasets on it.

    Paging follows ckanext-dcat: the page URL ``{site_url}/catalog.{ext}?page=N`` is a
    ``hydra:PartialCollectionView`` (``hydra:first/last/next/previous`` as URIs) and a
    legacy ``hydra:PagedCollection`` (``hydra:firstPage`` ... as strings), so both old
    and new harvesters can walk the pages. ``issued`` / ``modified`` default to the
    oldest creation and newest change among ``pkgs``.
    """
    pkgs = list(pkgs)
    graph = new_graph()
    catalog = URIRef(uris.catalog_uri(site_url))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCT.title, Lit(title, lang=DEFAULT_LANGUAGE)))
    desc = description or f"Danh mục dữ liệu mở của {publisher_name}."
    graph.add((catalog, DCT.description, Lit(desc, lang=DEFAULT_LANGUAGE)))
    publisher = BNode()
    graph.add((catalog, DCT.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Lit(publisher_name)))
    graph.add((catalog, FOAF.homepage, URIRef(site_url.rstrip("/") + "/")))
    graph.add((catalog, DCAT.themeTaxonomy, URIRef(THEME_SCHEME)))
    for lang in languages:
        _add_uri(graph, catalog, DCT.language, code_uri(LANGUAGE_BASE, LANGUAGES.get(lang)))
    if catalog_license:
        graph.add((catalog, DCT.license, URIRef(catalog_license)))
        graph.add((URIRef(catalog_license), RDF.type, DCT.LicenseDocument))
    created = [str(p["metadata_created"]) for p in pkgs if p.get("metadata_created")]
    changed = [str(p["metadata_modified"]) for p in pkgs if p.get("metadata_modified")]
    _add_datetime(graph, catalog, DCT.issued, issued or (min(created) if created else None))
    _add_datetime(graph, catalog, DCT.modified, modified or (max(changed) if changed else None))
    for pkg in pkgs:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, pkg, site_url)))
    _add_paging(graph, catalog, site_url, page=page, page_size=page_size, total=total, ext=ext)
    return graph


def serialize(graph: Graph, fmt: Format = "turtle") -> str:
    """Write a graph as Turtle, compact JSON-LD (with our prefixes as ``@context``) or RDF/XML."""
    if fmt == "turtle":
        return graph.serialize(format="turtle")
    if fmt == "json-ld":
        return graph.serialize(format="json-ld", context=dict(PREFIXES), auto_compact=True)
    if fmt == "xml":
        return graph.serialize(format="pretty-xml")
    raise ValueError(f"unknown RDF format {fmt!r}; expected 'turtle', 'json-ld' or 'xml'")


def _add_paging(
    graph: Graph, catalog: URIRef, site_url: str, *, page: int, page_size: int, total: int, ext: str
) -> None:
    last = max(1, math.ceil(total / page_size)) if page_size > 0 else 1
    pages = {"first": 1, "last": last}
    if page < last:
        pages["next"] = page + 1
    if page > 1:
        pages["previous"] = min(page - 1, last)
    view = URIRef(uris.catalog_page_url(site_url, page, ext))
    graph.add((catalog, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, RDF.type, HYDRA.PagedCollection))
    graph.add((view, HYDRA.totalItems, Lit(total, datatype=XSD.integer)))
    graph.add((view, HYDRA.itemsPerPage, Lit(page_size, datatype=XSD.integer)))
    for key, number in pages.items():
        url = uris.catalog_page_url(site_url, number, ext)
        graph.add((view, HYDRA[key], URIRef(url)))
        graph.add((view, HYDRA[f"{key}Page"], Lit(url)))


def add_dataset(graph: Graph, pkg: Mapping[str, Any], site_url: str) -> URIRef:
    """Add one package's ``dcat:Dataset`` description to ``graph`` and return its URI."""
    ds = URIRef(uris.dataset_uri(site_url, str(pkg["id"])))
    lang = _default_language(pkg)
    graph.add((ds, RDF.type, DCAT.Dataset))
    _add_texts(
        graph, ds, DCT.title, pkg.get("title_translated"), pkg.get("title") or pkg.get("name"), lang
    )
    _add_texts(graph, ds, DCT.description, pkg.get("notes_translated"), pkg.get("notes"), lang)
    graph.add((ds, DCT.identifier, Lit(str(pkg["id"]))))
    if pkg.get("name"):
        ident = BNode()
        graph.add((ds, ADMS.identifier, ident))
        graph.add((ident, RDF.type, ADMS.Identifier))
        graph.add((ident, SKOS.notation, Lit(pkg["name"])))
    _add_datetime(graph, ds, DCT.issued, pkg.get("metadata_created"))
    _add_datetime(graph, ds, DCT.modified, pkg.get("metadata_modified"))
    _add_publisher(graph, ds, pkg.get("organization"), site_url)
    _add_agent(graph, ds, DCT.creator, pkg.get("author"), pkg.get("author_email"))
    _add_contact(graph, ds, pkg)
    for tag in pkg.get("tags") or []:
        name = tag.get("name") if isinstance(tag, Mapping) else tag
        if name:
            graph.add((ds, DCAT.keyword, Lit(str(name), lang=lang)))
    for theme in _as_list(pkg.get("theme")):
        _add_uri(graph, ds, DCAT.theme, code_uri(THEME_BASE, theme))
    _add_uri(
        graph, ds, DCT.accrualPeriodicity, code_uri(FREQUENCY_BASE, pkg.get("update_frequency"))
    )
    for code in _as_list(pkg.get("language")):
        _add_uri(graph, ds, DCT.language, code_uri(LANGUAGE_BASE, LANGUAGES.get(code)))
    _add_spatial(graph, ds, pkg.get("spatial"), pkg.get("spatial_label"), lang)
    _add_temporal(graph, ds, pkg.get("temporal_start"), pkg.get("temporal_end"))
    access = ACCESS_RIGHTS.get(pkg.get("access_level") or "public")
    _add_uri(graph, ds, DCT.accessRights, code_uri(ACCESS_RIGHT_BASE, access))
    landing = pkg.get("url") or (
        uris.dataset_page_url(site_url, pkg["name"]) if pkg.get("name") else None
    )
    if landing:
        graph.add((ds, DCAT.landingPage, URIRef(landing)))
        graph.add((URIRef(landing), RDF.type, FOAF.Document))
    if pkg.get("version"):
        graph.add((ds, DCAT.version, Lit(str(pkg["version"]))))
        graph.add((ds, OWL.versionInfo, Lit(str(pkg["version"]))))
    licence = license_uri(pkg.get("license_id"), pkg.get("license_url"))
    for res in pkg.get("resources") or []:
        dist = _add_distribution(graph, pkg, res, site_url, licence, lang)
        graph.add((ds, DCAT.distribution, dist))
    add_quality(graph, ds, pkg, site_url)  # W3C DQV measurements of the quality score
    return ds


def _add_distribution(
    graph: Graph,
    pkg: Mapping[str, Any],
    res: Mapping[str, Any],
    site_url: str,
    licence: str | None,
    lang: str,
) -> URIRef:
    dist = URIRef(uris.distribution_uri(site_url, str(pkg["id"]), str(res["id"])))
    graph.add((dist, RDF.type, DCAT.Distribution))
    url = res.get("url") or ""
    if url and "://" not in url:
        url = site_url.rstrip("/") + "/" + url.lstrip("/")
    # dcat:accessURL is mandatory: fall back to the distribution's own page.
    graph.add((dist, DCAT.accessURL, URIRef(url or str(dist))))
    if url and res.get("url_type") == "upload":
        graph.add((dist, DCAT.downloadURL, URIRef(url)))
    if res.get("name"):
        graph.add((dist, DCT.title, Lit(str(res["name"]), lang=lang)))
    if res.get("description"):
        graph.add((dist, DCT.description, Lit(str(res["description"]), lang=lang)))
    _add_uri(graph, dist, DCT["format"], file_type_uri(res.get("format")))
    mimetype = (res.get("mimetype") or "").strip().lower()
    if mimetype.count("/") == 1 and " " not in mimetype:
        graph.add((dist, DCAT.mediaType, URIRef(IANA_MEDIA_BASE + mimetype)))
    size = res.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        graph.add((dist, DCAT.byteSize, Lit(size, datatype=XSD.nonNegativeInteger)))
    _add_checksum(graph, dist, res.get("hash"))
    if licence:
        graph.add((dist, DCT.license, URIRef(licence)))
        graph.add((URIRef(licence), RDF.type, DCT.LicenseDocument))
    elif pkg.get("license_title"):
        rights = BNode()
        graph.add((dist, DCT.rights, rights))
        graph.add((rights, RDF.type, DCT.RightsStatement))
        graph.add((rights, RDFS.label, Lit(str(pkg["license_title"]))))
    _add_datetime(graph, dist, DCT.issued, res.get("created"))
    _add_datetime(graph, dist, DCT.modified, res.get("last_modified") or res.get("created"))
    return dist


def _add_checksum(graph: Graph, dist: URIRef, value: str | None) -> None:
    if not value or ":" not in value:
        return
    algorithm, _, digest = value.partition(":")
    algorithm = algorithm.strip().lower().replace("-", "")
    if algorithm not in CHECKSUM_ALGORITHMS or not digest.strip():
        return
    checksum = BNode()
    graph.add((dist, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX[f"checksumAlgorithm_{algorithm}"]))
    graph.add((checksum, SPDX.checksumValue, Lit(digest.strip().lower(), datatype=XSD.hexBinary)))


def _add_publisher(graph: Graph, ds: URIRef, org: Any, site_url: str) -> None:
    if not isinstance(org, Mapping) or not (org.get("name") or org.get("title")):
        return
    node: Node = (
        URIRef(uris.organization_uri(site_url, org["name"])) if org.get("name") else BNode()
    )
    graph.add((ds, DCT.publisher, node))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Lit(str(org.get("title") or org["name"]))))


def _add_agent(graph: Graph, ds: URIRef, prop: URIRef, name: Any, email: Any) -> None:
    if not name and not email:
        return
    agent = BNode()
    graph.add((ds, prop, agent))
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Lit(str(name or email))))
    if email:
        graph.add((agent, FOAF.mbox, URIRef(_mailto(str(email)))))


def _add_contact(graph: Graph, ds: URIRef, pkg: Mapping[str, Any]) -> None:
    org = pkg.get("organization") if isinstance(pkg.get("organization"), Mapping) else {}
    name = pkg.get("maintainer") or pkg.get("author") or (org or {}).get("title")
    email = pkg.get("maintainer_email") or pkg.get("author_email")
    if not name and not email:
        return
    contact = BNode()
    graph.add((ds, DCAT.contactPoint, contact))
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, VCARD.fn, Lit(str(name or email))))
    if email:
        graph.add((contact, VCARD.hasEmail, URIRef(_mailto(str(email)))))


def _add_spatial(graph: Graph, ds: URIRef, geometry: Any, label: Any, lang: str) -> None:
    geojson = None
    if isinstance(geometry, Mapping):
        geojson = json.dumps(geometry, ensure_ascii=False)
    elif isinstance(geometry, str) and geometry.strip():
        try:
            json.loads(geometry)
        except ValueError:
            geojson = None
        else:
            geojson = geometry.strip()
    if not geojson and not label:
        return
    location = BNode()
    graph.add((ds, DCT.spatial, location))
    graph.add((location, RDF.type, DCT.Location))
    if geojson:
        graph.add((location, LOCN.geometry, Lit(geojson, datatype=GSP.geoJSONLiteral)))
    if label:
        graph.add((location, SKOS.prefLabel, Lit(str(label), lang=lang)))


def _add_temporal(graph: Graph, ds: URIRef, start: Any, end: Any) -> None:
    start_date, end_date = _as_date(start), _as_date(end)
    if start_date is None and end_date is None:
        return
    period = BNode()
    graph.add((ds, DCT.temporal, period))
    graph.add((period, RDF.type, DCT.PeriodOfTime))
    if start_date is not None:
        graph.add((period, DCAT.startDate, Lit(start_date.isoformat(), datatype=XSD.date)))
    if end_date is not None:
        graph.add((period, DCAT.endDate, Lit(end_date.isoformat(), datatype=XSD.date)))


def _add_texts(
    graph: Graph,
    subject: URIRef,
    prop: URIRef,
    translated: Any,
    fallback: Any,
    lang: str,
) -> None:
    texts = {}
    if isinstance(translated, Mapping):
        texts = {k: str(v) for k, v in translated.items() if k and isinstance(v, str) and v.strip()}
    if not texts and fallback:
        texts = {lang: str(fallback)}
    for code, text in texts.items():
        graph.add((subject, prop, Lit(text, lang=code)))


def _add_uri(graph: Graph, subject: Node, prop: URIRef, uri: str | None) -> None:
    if uri:
        graph.add((subject, prop, URIRef(uri)))


def _add_datetime(graph: Graph, subject: Node, prop: URIRef, value: Any) -> None:
    moment = _as_datetime(value)
    if moment is not None:
        graph.add((subject, prop, Lit(moment.isoformat(), datatype=XSD.dateTime)))


def _as_datetime(value: Any) -> datetime | None:
    """Parse an ISO-8601 timestamp; naive ones are UTC, as everywhere in vntwin."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _mailto(email: str) -> str:
    email = email.strip()
    return email if email.lower().startswith("mailto:") else f"mailto:{email}"


def _default_language(pkg: Mapping[str, Any]) -> str:
    langs = _as_list(pkg.get("language"))
    return str(langs[0]) if langs else DEFAULT_LANGUAGE


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value or [])


__all__ = ["add_dataset", "catalog_graph", "dataset_graph", "new_graph", "serialize"]
