"""DCAT-AP 3: publishing the catalogue as RDF, and harvesting other catalogues.

``serialize`` writes, ``harvest`` reads (through ``read``, which parses untrusted RDF
safely, and ``fetch``, which downloads it safely); ``vocab`` and ``uris`` are the
tables and URIs both sides share.
"""

from vntwin.dcat.fetch import fetch
from vntwin.dcat.harvest import next_page_url, packages_from_graph, parse_catalog
from vntwin.dcat.read import read_graph
from vntwin.dcat.serialize import catalog_graph, dataset_graph, serialize

__all__ = [
    "catalog_graph",
    "dataset_graph",
    "fetch",
    "next_page_url",
    "packages_from_graph",
    "parse_catalog",
    "read_graph",
    "serialize",
]
