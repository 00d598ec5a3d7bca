"""The URIs vntwin mints in its DCAT-AP output, built in one place.

The HTTP routes (``/catalog.ttl``, ``/dataset/{id}.jsonld``) and the serializer must
agree on these, so both call the functions here instead of formatting strings.
"""

from __future__ import annotations

from urllib.parse import quote


def _base(site_url: str) -> str:
    return site_url.rstrip("/")


def catalog_uri(site_url: str) -> str:
    """URI of the catalogue itself: ``{site_url}/catalog``."""
    return f"{_base(site_url)}/catalog"


def catalog_page_url(site_url: str, page: int, ext: str = "ttl") -> str:
    """URL of one page of the catalogue document: ``{site_url}/catalog.{ext}?page=N``."""
    return f"{_base(site_url)}/catalog.{ext}?page={int(page)}"


def dataset_uri(site_url: str, dataset_id: str) -> str:
    """URI of a dataset: ``{site_url}/dataset/{id}``."""
    return f"{_base(site_url)}/dataset/{quote(dataset_id, safe='')}"


def distribution_uri(site_url: str, dataset_id: str, resource_id: str) -> str:
    """URI of a distribution: ``{site_url}/dataset/{id}/resource/{rid}``."""
    return f"{dataset_uri(site_url, dataset_id)}/resource/{quote(resource_id, safe='')}"


def organization_uri(site_url: str, name: str) -> str:
    """URI of a publishing organisation: ``{site_url}/organization/{name}``."""
    return f"{_base(site_url)}/organization/{quote(name, safe='')}"


def dataset_page_url(site_url: str, name: str) -> str:
    """Human-readable page of a dataset, the default ``dcat:landingPage``."""
    return f"{_base(site_url)}/dataset/{quote(name, safe='')}"
