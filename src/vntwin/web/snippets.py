"""Ready-to-copy API examples for a dataset: curl, Python ``ckanapi`` and the OGC API.

Each snippet is real and runnable against this site: the URLs come from the site URL and
the dataset's own resources, and private datasets get the token header they need.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from vntwin.twin.features import GRID_PREFIX


@dataclass(frozen=True)
class Snippet:
    """One example: an id for the page, a title (a msgid), the language and the code."""

    id: str
    title: str
    language: str
    code: str


def _curl(url: str, private: bool) -> str:
    auth = ' -H "Authorization: $VNTWIN_TOKEN"' if private else ""
    return f"curl -s{auth} {shlex.quote(url)}"


def dataset_snippets(site_url: str, pkg: dict[str, Any],
                     collections: list[str]) -> list[Snippet]:
    """The examples for one dataset; ``collections`` are its OGC collection ids."""
    name = pkg["name"]
    private = bool(pkg.get("private"))
    api = f"{site_url}/api/3/action"
    out = [Snippet("curl-show", "Metadata with curl", "shell",
                   _curl(f"{api}/package_show?id={quote(name)}", private))]
    table = next((r for r in pkg.get("resources", []) if r.get("datastore_active")), None)
    if table is not None:
        out.append(Snippet("curl-rows", "Table rows with curl", "shell",
                           _curl(f"{api}/datastore_search?resource_id={table['id']}&limit=5",
                                 private)))
    upload = next((r for r in pkg.get("resources", []) if r.get("url_type") == "upload"), None)
    if upload is not None:
        auth = ' -H "Authorization: $VNTWIN_TOKEN"' if private else ""
        out.append(Snippet("curl-download", "Download a file with curl", "shell",
                           f"curl -sL{auth} -O {shlex.quote(upload['url'])}"))
    key = ', apikey=os.environ["VNTWIN_TOKEN"]' if private else ""
    lines = ["import os" if private else "", "import ckanapi", "",
             f"site = ckanapi.RemoteCKAN({site_url!r}{key})",
             f"dataset = site.action.package_show(id={name!r})",
             'print(dataset["title"], [r["name"] for r in dataset["resources"]])']
    if table is not None:
        lines += [f"rows = site.action.datastore_search(resource_id={table['id']!r}, limit=5)",
                  'print(rows["records"])']
    out.append(Snippet("python", "Python (ckanapi)", "python",
                       "\n".join(line for i, line in enumerate(lines) if line or i > 0)))
    for collection in collections:
        items = f"{site_url}/ogc/collections/{quote(collection)}/items?limit=10"
        title = "OGC API – Features (grid)" if collection.startswith(GRID_PREFIX) \
            else "OGC API – Features"
        out.append(Snippet(f"ogc-{collection}", title, "shell",
                           f"{_curl(items, False)}\n"
                           f"# GDAL/QGIS: OAPIF:{site_url}/ogc {collection}"))
    return out
