"""Import a DCAT-AP catalogue: RDF document → CKAN package dicts for ``package_create``.

This is the inverse of :mod:`vntwin.dcat.serialize` and uses the same code tables
(:mod:`vntwin.dcat.vocab`), so a catalogue we publish harvests back to the same
metadata. Parsing is delegated to :func:`vntwin.dcat.read.read_graph`, which refuses
external entities and remote JSON-LD contexts; fetching over HTTP is
:func:`vntwin.dcat.fetch.fetch`, re-exported here.

The dicts carry no ``owner_org``, ``id`` or ``private``: the caller decides where
harvested datasets live. For idempotent re-harvests, ``extras`` always holds
``dcat_identifier`` (the source's ``dct:identifier``, else the dataset URI, else the
derived name) and ``dcat_uri`` when the dataset has a URI.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from rdflib import Graph, URIRef
from rdflib import Literal as Lit
from rdflib.term import Node

from vntwin.dcat.fetch import fetch
from vntwin.dcat.read import DEFAULT_MAX_BYTES, read_graph
from vntwin.dcat.vocab import (
    ACCESS_LEVELS,
    ACCESS_RIGHT_BASE,
    ADMS,
    DCAT,
    DCT,
    FILE_TYPE_BASE,
    FOAF,
    FREQUENCY_BASE,
    GSP,
    HYDRA,
    IANA_MEDIA_BASE,
    LANGUAGE_BASE,
    LANGUAGE_CODES,
    LOCN,
    MEDIA_TYPE_FORMATS,
    OWL,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    SPDX,
    THEME_BASE,
    VCARD,
    format_name,
    license_id_for,
    uri_code,
)

#: Language preference when one value must be chosen from several language tags.
PREFERRED_LANGUAGES = ("vi", "", "en")

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
_CHECKSUM_PREFIX = str(SPDX) + "checksumAlgorithm_"


def parse_catalog(
    data: bytes | str,
    fmt: str | None = None,
    *,
    base: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[dict[str, Any]]:
    """Parse a DCAT-AP document (Turtle, RDF/XML or JSON-LD) into CKAN package dicts.

    ``fmt`` may be a format name, file extension or media type; None detects it from
    the content. Pass ``max_bytes=settings.harvest_max_bytes``. Raises TooLarge or
    ValidationError (naming the format and the parser's message).

    Example:
        >>> doc = ('<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> ; '
        ...        '<http://purl.org/dc/terms/title> "Dân số"@vi .')
        >>> [p["name"] for p in parse_catalog(doc.encode("utf-8"))]
        ['dan-so']

    """
    return packages_from_graph(read_graph(data, fmt, base=base, max_bytes=max_bytes))


def packages_from_graph(graph: Graph) -> list[dict[str, Any]]:
    """Return one package dict per ``dcat:Dataset`` in ``graph``, with unique names."""
    nodes = set(graph.subjects(RDF.type, DCAT.Dataset)) | set(graph.objects(None, DCAT.dataset))
    nodes = {n for n in nodes if isinstance(n, Node) and not isinstance(n, Lit)}
    nodes -= set(graph.subjects(RDF.type, DCAT.Catalog))
    pkgs = sorted((package_from_graph(graph, n) for n in nodes), key=_sort_key)
    used: set[str] = set()
    for pkg in pkgs:
        pkg["name"] = _unique(pkg["name"], used)
    return pkgs


def next_page_url(graph: Graph) -> str | None:
    """Return the Hydra next-page URL of a catalogue page, or None on the last page."""
    for view in graph.subjects(RDF.type, HYDRA.PartialCollectionView):
        for nxt in graph.objects(view, HYDRA.next):
            return str(nxt)
    for view in graph.subjects(RDF.type, HYDRA.PagedCollection):
        for nxt in graph.objects(view, HYDRA.nextPage):
            return str(nxt)
    return None


def make_name(text: str | None) -> str | None:
    """Fold text into a CKAN name (2–100 chars of a-z 0-9 - _), or None if too short.

    Vietnamese diacritics are removed and đ becomes d: ``"Dân số"`` → ``"dan-so"``.
    """
    if not text:
        return None
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9_-]+", "-", folded)
    slug = re.sub(r"-{2,}", "-", slug).strip("-_")[:100].rstrip("-_")
    return slug if len(slug) >= 2 else None


def package_from_graph(graph: Graph, ds: Node) -> dict[str, Any]:
    """Map one ``dcat:Dataset`` node to a CKAN package dict (name not yet de-duplicated)."""
    uri = str(ds) if isinstance(ds, URIRef) else None
    identifier = _value(graph, ds, DCT.identifier)
    titles, notes = _texts(graph, ds, DCT.title), _texts(graph, ds, DCT.description)
    title = _pick(titles) or identifier or uri or ""
    pkg: dict[str, Any] = {
        "name": _name_for(graph, ds, identifier, title, uri),
        "title": title,
        "notes": _pick(notes) or "",
        "title_translated": {k: v for k, v in titles.items() if k},
        "notes_translated": {k: v for k, v in notes.items() if k},
        "url": _value(graph, ds, DCAT.landingPage) or "",
        "version": _value(graph, ds, DCAT.version) or _value(graph, ds, OWL.versionInfo) or "",
        "tags": [{"name": t} for t in _keywords(graph, ds)],
        "theme": _codes(graph, ds, DCAT.theme, THEME_BASE),
        "language": _languages(graph, ds),
        "resources": _resources(graph, ds),
    }
    frequency = _codes(graph, ds, DCT.accrualPeriodicity, FREQUENCY_BASE)
    if frequency:
        pkg["update_frequency"] = frequency[0]
    access = _codes(graph, ds, DCT.accessRights, ACCESS_RIGHT_BASE)
    if access and access[0] in ACCESS_LEVELS:
        pkg["access_level"] = ACCESS_LEVELS[access[0]]
    pkg.update(_people(graph, ds))
    pkg.update(_temporal(graph, ds))
    extras: dict[str, str] = {"dcat_identifier": identifier or uri or pkg["name"]}
    if uri:
        extras["dcat_uri"] = uri
    pkg.update(_spatial(graph, ds, extras))
    _license(graph, ds, pkg, extras)
    for prop, key in ((DCT.issued, "dcat_issued"), (DCT.modified, "dcat_modified")):
        moment = _moment(graph, ds, prop)
        if moment:
            extras[key] = moment
    for publisher in _objects(graph, ds, DCT.publisher):
        if _value(graph, publisher, FOAF.name):
            extras["dcat_publisher_name"] = _value(graph, publisher, FOAF.name) or ""
        if isinstance(publisher, URIRef):
            extras["dcat_publisher_uri"] = str(publisher)
        break
    pkg["extras"] = [{"key": k, "value": v} for k, v in sorted(extras.items())]
    return pkg


def _name_for(graph: Graph, ds: Node, identifier: str | None, title: str, uri: str | None) -> str:
    """Pick the most meaningful name: identifier, ADMS notation, title, URI, hash."""
    ident_tail = identifier
    if identifier and ("://" in identifier or identifier.startswith("urn:")):
        ident_tail = re.split(r"[/#:]", identifier.rstrip("/#"))[-1]
    candidates = [] if ident_tail and _UUID_RE.match(ident_tail) else [ident_tail]
    for adms in _objects(graph, ds, ADMS.identifier):
        notation = _value(graph, adms, SKOS.notation)
        if notation and _NAME_RE.match(notation):
            candidates.append(notation)
    candidates += [title, ident_tail, uri.rstrip("/").rsplit("/", 1)[-1] if uri else None]
    for candidate in candidates:
        name = make_name(candidate)
        if name:
            return name
    digest = hashlib.sha256((uri or identifier or title).encode("utf-8")).hexdigest()
    return f"dataset-{digest[:12]}"


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        suffix = f"-{n}"
        candidate = name[: 100 - len(suffix)] + suffix
    used.add(candidate)
    return candidate


def _sort_key(pkg: dict[str, Any]) -> tuple[str, str]:
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    return (extras.get("dcat_identifier", ""), pkg["name"])


def _resources(graph: Graph, ds: Node) -> list[dict[str, Any]]:
    dists = list(_objects(graph, ds, DCAT.distribution))
    resources = [_resource(graph, d) for d in dists]
    keyed = sorted(zip(dists, resources, strict=True), key=lambda p: _resource_key(p[0], p[1]))
    return [r for _, r in keyed]


def _resource_key(dist: Node, res: dict[str, Any]) -> tuple[str, str, str]:
    return (res.get("created") or "", res.get("name") or "", str(dist))


def _resource(graph: Graph, dist: Node) -> dict[str, Any]:
    mimetype = _media_type(graph, dist)
    res: dict[str, Any] = {
        "name": _pick(_texts(graph, dist, DCT.title)) or "",
        "description": _pick(_texts(graph, dist, DCT.description)) or "",
        "url": _value(graph, dist, DCAT.downloadURL) or _value(graph, dist, DCAT.accessURL) or "",
        "format": _format(graph, dist) or MEDIA_TYPE_FORMATS.get(mimetype or "", ""),
    }
    if mimetype:
        res["mimetype"] = mimetype
    size = _value(graph, dist, DCAT.byteSize)
    if size:
        with contextlib.suppress(ValueError):
            res["size"] = int(float(size))
    checksum = _checksum(graph, dist)
    if checksum:
        res["hash"] = checksum
    for prop, key in ((DCT.issued, "created"), (DCT.modified, "last_modified")):
        moment = _moment(graph, dist, prop)
        if moment:
            res[key] = moment
    return res


def _format(graph: Graph, dist: Node) -> str | None:
    for fmt in _objects(graph, dist, DCT["format"]):
        if isinstance(fmt, URIRef):
            code = uri_code(FILE_TYPE_BASE, str(fmt))
            if code:
                return format_name(code)
            label = _value(graph, fmt, RDFS.label) or _value(graph, fmt, SKOS.prefLabel)
            return label or str(fmt).rstrip("/").rsplit("/", 1)[-1].upper()
        if isinstance(fmt, Lit):
            return _nfc(str(fmt))
        label = _value(graph, fmt, RDFS.label) or _value(graph, fmt, RDF.value)
        if label:
            return label
    return None


def _media_type(graph: Graph, dist: Node) -> str | None:
    for node in _objects(graph, dist, DCAT.mediaType):
        text = str(node)
        for prefix in (IANA_MEDIA_BASE, IANA_MEDIA_BASE.replace("https:", "http:", 1)):
            text = text.removeprefix(prefix)
        if text.count("/") == 1:
            return text.lower()
    return None


def _checksum(graph: Graph, dist: Node) -> str | None:
    for node in _objects(graph, dist, SPDX.checksum):
        algorithm = _value(graph, node, SPDX.algorithm) or ""
        digest = _value(graph, node, SPDX.checksumValue)
        if digest and algorithm.startswith(_CHECKSUM_PREFIX):
            return f"{algorithm.removeprefix(_CHECKSUM_PREFIX).lower()}:{digest.lower()}"
    return None


def _license(graph: Graph, ds: Node, pkg: dict[str, Any], extras: dict[str, str]) -> None:
    """Set ``license_id`` from the dataset's or its distributions' ``dct:license``."""
    nodes = list(_objects(graph, ds, DCT.license))
    for dist in _objects(graph, ds, DCAT.distribution):
        nodes += _objects(graph, dist, DCT.license)
    unknown = None
    for node in nodes:
        if isinstance(node, URIRef):
            license_id = license_id_for(str(node))
            if license_id:
                pkg["license_id"] = license_id
                return
            unknown = unknown or str(node)
    if unknown:
        extras["dcat_license"] = unknown


def _people(graph: Graph, ds: Node) -> dict[str, str]:
    people: dict[str, str] = {}
    for contact in _objects(graph, ds, DCAT.contactPoint):
        name = _value(graph, contact, VCARD.fn) or _value(
            graph, contact, VCARD["organization-name"]
        )
        email = _value(graph, contact, VCARD.hasEmail)
        if name:
            people["maintainer"] = name
        if email:
            people["maintainer_email"] = _strip_mailto(email)
        break
    for creator in _objects(graph, ds, DCT.creator):
        name, email = _value(graph, creator, FOAF.name), _value(graph, creator, FOAF.mbox)
        if name:
            people["author"] = name
        if email:
            people["author_email"] = _strip_mailto(email)
        break
    return people


def _temporal(graph: Graph, ds: Node) -> dict[str, str]:
    for period in _objects(graph, ds, DCT.temporal):
        start = _date(graph, period, (DCAT.startDate, SCHEMA.startDate))
        end = _date(graph, period, (DCAT.endDate, SCHEMA.endDate))
        if start or end:
            return {"temporal_start": start or "", "temporal_end": end or ""}
    return {}


def _spatial(graph: Graph, ds: Node, extras: dict[str, str]) -> dict[str, str]:
    for location in _objects(graph, ds, DCT.spatial):
        out: dict[str, str] = {}
        for prop in (LOCN.geometry, DCAT.bbox, DCAT.centroid):
            for geom in _objects(graph, location, prop):
                if isinstance(geom, Lit) and (
                    geom.datatype == GSP.geoJSONLiteral or str(geom).lstrip().startswith("{")
                ):
                    out["spatial"] = str(geom).strip()
                    break
            if "spatial" in out:
                break
        label = _pick(_texts(graph, location, SKOS.prefLabel)) or _pick(
            _texts(graph, location, RDFS.label)
        )
        if label:
            out["spatial_label"] = label
        if isinstance(location, URIRef):
            extras["dcat_spatial_uri"] = str(location)
        if out:
            return out
    return {}


def _keywords(graph: Graph, ds: Node) -> list[str]:
    tags: list[str] = []
    by_language = _texts_all(graph, ds, DCAT.keyword)
    for lang in sorted(by_language):
        for text in by_language[lang]:
            tag = re.sub(r"[^\w .-]+", " ", text, flags=re.UNICODE)
            tag = " ".join(tag.split())[:100].strip()
            if len(tag) >= 2 and tag not in tags:
                tags.append(tag)
    return tags


def _languages(graph: Graph, ds: Node) -> list[str]:
    codes: list[str] = []
    for node in _objects(graph, ds, DCT.language):
        code = uri_code(LANGUAGE_BASE, str(node)) if isinstance(node, URIRef) else None
        lang = LANGUAGE_CODES.get(code or "") if code else None
        if lang is None and isinstance(node, Lit) and re.fullmatch(r"[A-Za-z]{2}", str(node)):
            lang = str(node).lower()
        if lang and lang not in codes:
            codes.append(lang)
    return codes


def _codes(graph: Graph, subject: Node, prop: URIRef, base: str) -> list[str]:
    codes = {
        uri_code(base, str(o)) for o in _objects(graph, subject, prop) if isinstance(o, URIRef)
    }
    return sorted(c for c in codes if c)


def _objects(graph: Graph, subject: Node, prop: URIRef) -> list[Node]:
    return sorted(graph.objects(subject, prop), key=str)


def _value(graph: Graph, subject: Node, prop: URIRef) -> str | None:
    for obj in _objects(graph, subject, prop):
        if isinstance(obj, URIRef | Lit):
            return _nfc(str(obj))
    return None


def _texts_all(graph: Graph, subject: Node, prop: URIRef) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for obj in _objects(graph, subject, prop):
        if isinstance(obj, Lit) and str(obj).strip():
            out.setdefault((obj.language or "").lower(), []).append(_nfc(str(obj)))
    return out


def _texts(graph: Graph, subject: Node, prop: URIRef) -> dict[str, str]:
    return {lang: values[0] for lang, values in _texts_all(graph, subject, prop).items()}


def _pick(texts: dict[str, str]) -> str | None:
    for lang in PREFERRED_LANGUAGES:
        if lang in texts:
            return texts[lang]
    return next(iter(sorted(texts.items())), (None, None))[1]


def _moment(graph: Graph, subject: Node, prop: URIRef) -> str | None:
    for obj in _objects(graph, subject, prop):
        if isinstance(obj, Lit):
            value = obj.toPython()
            if isinstance(value, datetime | date):
                return value.isoformat()
            return _nfc(str(obj)) or None
    return None


def _date(graph: Graph, subject: Node, props: Iterable[URIRef]) -> str | None:
    for prop in props:
        for obj in _objects(graph, subject, prop):
            text = str(obj).strip()[:10]
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                continue
    return None


def _strip_mailto(email: str) -> str:
    return email[7:] if email.lower().startswith("mailto:") else email


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


__all__ = [
    "fetch",
    "make_name",
    "next_page_url",
    "package_from_graph",
    "packages_from_graph",
    "parse_catalog",
    "read_graph",
]
