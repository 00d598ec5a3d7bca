"""package_search's result: the index's hits turned into CKAN's response shape."""

from __future__ import annotations

from typing import Any

from vntwin.catalog import packages
from vntwin.catalog.auth import Actor
from vntwin.catalog.search import SearchParams
from vntwin.catalog.service import Catalog


def package_search(cat: Catalog, actor: Actor, params: SearchParams) -> dict[str, Any]:
    """Search visible datasets; returns count, results, facets, search_facets and sort."""
    found = cat.index.search(actor, params)
    results = packages.show_many(cat, actor, found["ids"])
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for fname, items in found["facets"].items():
        shown = [(cat.index.display_name(fname, value), count) for value, count in items]
        facets[fname] = {name: count for (name, _), count in shown}
        search_facets[fname] = {
            "title": fname,
            "items": [{"name": name, "display_name": display, "count": count}
                      for (name, display), count in shown],
        }
    return {"count": found["count"], "results": results, "facets": facets,
            "search_facets": search_facets, "sort": params.sort}
