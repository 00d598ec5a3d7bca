"""Namespaces and code tables shared by the DCAT-AP writer and the harvester.

Both directions of the mapping live here, side by side, so the serializer and the
harvester cannot drift apart: every table has a forward (CKAN → URI) and a backward
(URI → CKAN) lookup built from the same data.
"""

from __future__ import annotations

import re

from rdflib import Namespace
from rdflib.namespace import FOAF, OWL, RDF, RDFS, SKOS, XSD

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
LOCN = Namespace("http://www.w3.org/ns/locn#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
SCHEMA = Namespace("http://schema.org/")

#: Prefixes bound on every graph we write; also the compact JSON-LD ``@context``.
PREFIXES: dict[str, str] = {
    "dcat": str(DCAT),
    "dct": str(DCT),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "adms": str(ADMS),
    "dcatap": str(DCATAP),
    "locn": str(LOCN),
    "skos": str(SKOS),
    "xsd": str(XSD),
    "hydra": str(HYDRA),
    "spdx": str(SPDX),
    "geosparql": str(GSP),
    "owl": str(OWL),
    "rdfs": str(RDFS),
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THEME_BASE = EU_AUTHORITY + "data-theme/"
THEME_SCHEME = EU_AUTHORITY + "data-theme"
FREQUENCY_BASE = EU_AUTHORITY + "frequency/"
ACCESS_RIGHT_BASE = EU_AUTHORITY + "access-right/"
FILE_TYPE_BASE = EU_AUTHORITY + "file-type/"
LANGUAGE_BASE = EU_AUTHORITY + "language/"
LICENCE_BASE = EU_AUTHORITY + "licence/"
IANA_MEDIA_BASE = "https://www.iana.org/assignments/media-types/"

#: Our access levels → EU access-right codes (and back).
ACCESS_RIGHTS: dict[str, str] = {
    "public": "PUBLIC",
    "agencies": "RESTRICTED",
    "restricted": "NON_PUBLIC",
}
ACCESS_LEVELS: dict[str, str] = {v: k for k, v in ACCESS_RIGHTS.items()}

#: ISO 639-1 codes used in CKAN dicts → EU language authority codes (ISO 639-2/B-like).
LANGUAGES: dict[str, str] = {
    "vi": "VIE",
    "en": "ENG",
    "fr": "FRA",
    "de": "DEU",
    "zh": "ZHO",
    "ja": "JPN",
    "ko": "KOR",
    "ru": "RUS",
    "es": "SPA",
    "km": "KHM",
    "lo": "LAO",
    "th": "THA",
}
LANGUAGE_CODES: dict[str, str] = {v: k for k, v in LANGUAGES.items()}

#: Canonical CKAN license id → licence URI. Aliases below map onto these ids.
LICENSES: dict[str, str] = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "cc-by-nc-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "odc-odbl": "https://opendatacommons.org/licenses/odbl/1-0/",
    "odc-by": "https://opendatacommons.org/licenses/by/1-0/",
    "odc-pddl": "https://opendatacommons.org/licenses/pddl/1-0/",
}
LICENSE_ALIASES: dict[str, str] = {
    "cc-by": "cc-by-4.0",
    "cc-by-sa": "cc-by-sa-4.0",
    "cc-nc": "cc-by-nc-4.0",
    "cc-zero": "cc0-1.0",
    "cc0": "cc0-1.0",
}
#: EU licence authority codes other catalogues use for the same licences.
_EU_LICENCES: dict[str, str] = {
    "CC_BY_4_0": "cc-by-4.0",
    "CC_BYSA_4_0": "cc-by-sa-4.0",
    "CC_BYNC_4_0": "cc-by-nc-4.0",
    "CC0": "cc0-1.0",
    "ODC_BL": "odc-odbl",
    "ODC_BY": "odc-by",
    "ODC_PDDL": "odc-pddl",
}

#: Display spelling of formats whose EU file-type code is an upper-cased form.
FORMAT_NAMES: dict[str, str] = {
    "GEOJSON": "GeoJSON",
    "GEOPARQUET": "GeoParquet",
    "PARQUET": "Parquet",
    "GEOPACKAGE": "GeoPackage",
    "GPKG": "GeoPackage",
}
#: Media types → format, for distributions that give only dcat:mediaType.
MEDIA_TYPE_FORMATS: dict[str, str] = {
    "text/csv": "CSV",
    "application/json": "JSON",
    "application/geo+json": "GeoJSON",
    "application/vnd.geo+json": "GeoJSON",
    "application/xml": "XML",
    "text/xml": "XML",
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.apache.parquet": "Parquet",
    "application/geopackage+sqlite3": "GeoPackage",
    "text/html": "HTML",
    "text/turtle": "RDF",
    "application/rdf+xml": "RDF",
    "application/ld+json": "JSON-LD",
}
#: File-type codes of formats whose CKAN spelling differs from the EU code.
_FILE_TYPE_CODES: dict[str, str] = {"JSON-LD": "JSON_LD", "GEOPACKAGE": "GPKG", "GPKG": "GPKG"}

CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")

_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def code_uri(base: str, code: str | None) -> str | None:
    """Return ``base + CODE`` for a plausible authority code, or None.

    Codes are upper-cased; anything that is not a short token is dropped rather than
    turned into a malformed URI.
    """
    if not code or not _CODE_RE.match(code.strip()):
        return None
    return base + code.strip().upper()


def uri_code(base: str, uri: str) -> str | None:
    """Return the code at the end of an authority URI under ``base``, or None."""
    for prefix in {base, base.replace("http://", "https://", 1)}:
        if uri.startswith(prefix):
            code = uri[len(prefix) :].strip("/")
            if code and "/" not in code:
                return code.upper()
    return None


def license_uri(license_id: str | None, license_url: str | None = None) -> str | None:
    """Return the licence URI for a CKAN license id.

    Known ids (and their CKAN aliases) map to the licence's canonical URI; ``other-*``
    and ``notspecified`` map to None; any other id falls back to ``license_url``.
    """
    if not license_id:
        return None
    lid = LICENSE_ALIASES.get(license_id, license_id)
    if lid in LICENSES:
        return LICENSES[lid]
    if lid.startswith("other-") or lid == "notspecified":
        return None
    return license_url or None


def _norm_license_uri(uri: str) -> str:
    u = uri.strip().lower()
    u = re.sub(r"^https?://(www\.)?", "", u)
    u = re.sub(r"/(legalcode(\.[a-z-]+)?|deed\.[a-z-]+)$", "", u)
    return u.rstrip("/")


_LICENSE_BY_URI: dict[str, str] = {_norm_license_uri(u): lid for lid, u in LICENSES.items()}
_LICENSE_BY_URI.update(
    {
        _norm_license_uri("http://www.opendefinition.org/licenses/cc-by"): "cc-by-4.0",
        _norm_license_uri("http://www.opendefinition.org/licenses/cc-by-sa"): "cc-by-sa-4.0",
        _norm_license_uri("http://www.opendefinition.org/licenses/cc-zero"): "cc0-1.0",
        _norm_license_uri("http://www.opendefinition.org/licenses/odc-odbl"): "odc-odbl",
        _norm_license_uri("http://www.opendefinition.org/licenses/odc-by"): "odc-by",
        _norm_license_uri("http://www.opendefinition.org/licenses/odc-pddl"): "odc-pddl",
        _norm_license_uri("https://opendatacommons.org/licenses/odbl/"): "odc-odbl",
    }
)


def license_id_for(uri: str) -> str | None:
    """Return our CKAN license id for a licence URI, or None when it is unknown."""
    code = uri_code(LICENCE_BASE, uri)
    if code is not None:
        return _EU_LICENCES.get(code)
    return _LICENSE_BY_URI.get(_norm_license_uri(uri))


def file_type_uri(fmt: str | None) -> str | None:
    """Return the EU file-type URI for a CKAN format name such as ``CSV`` or ``GeoJSON``."""
    if not fmt:
        return None
    key = fmt.strip().lstrip(".").upper()
    code = _FILE_TYPE_CODES.get(key, re.sub(r"[^A-Z0-9_]", "_", key))
    return code_uri(FILE_TYPE_BASE, code)


def format_name(code: str) -> str:
    """Return the CKAN spelling of an EU file-type code (``GEOJSON`` → ``GeoJSON``)."""
    code = code.upper()
    if code == "JSON_LD":
        return "JSON-LD"
    return FORMAT_NAMES.get(code, code)


__all__ = [
    "ACCESS_LEVELS",
    "ACCESS_RIGHTS",
    "ACCESS_RIGHT_BASE",
    "ADMS",
    "CHECKSUM_ALGORITHMS",
    "DCAT",
    "DCATAP",
    "DCT",
    "FILE_TYPE_BASE",
    "FOAF",
    "FREQUENCY_BASE",
    "GSP",
    "HYDRA",
    "IANA_MEDIA_BASE",
    "LANGUAGES",
    "LANGUAGE_BASE",
    "LANGUAGE_CODES",
    "LICENSES",
    "LOCN",
    "MEDIA_TYPE_FORMATS",
    "OWL",
    "PREFIXES",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SKOS",
    "SPDX",
    "THEME_BASE",
    "THEME_SCHEME",
    "VCARD",
    "XSD",
    "code_uri",
    "file_type_uri",
    "format_name",
    "license_id_for",
    "license_uri",
    "uri_code",
]
