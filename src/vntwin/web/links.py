"""Where the dataset page points for a file or a quality report.

A public dataset links the canonical API address: it works for anyone without signing
in, and it is the address other sites and harvesters cite. A non-public one links the
page's own read-only route instead, which takes the session cookie (a link click never
sends the API's ``Authorization`` header) and applies the same access check: the
resource file route, the scenario result route, or the quality report routes. One place
decides this, so the page never mixes the two.
"""

from __future__ import annotations

from typing import Any

from vntwin.web.context import Page


def _public(pkg: dict[str, Any]) -> bool:
    return pkg.get("access_level") == "public"


def resource_link(p: Page, pkg: dict[str, Any], res: dict[str, Any]) -> str | None:
    """The address of a resource's data for this page's visitor (None: nothing to link).

    Non-public: an uploaded file through ``web_resource_file``; a stored scenario
    result's difference layer (a link to the token-only API, computed on request) through
    ``web_scenario_difference``; any other link as it is (it is someone else's site).
    """
    if _public(pkg):
        return res.get("url") or None
    if res.get("url_type") == "upload":
        return p.url("web_resource_file", name=pkg["name"], resource_id=res["id"])
    if res.get("scenario_layer") == "difference":
        return p.url("web_scenario_difference", dataset=pkg["name"])
    return res.get("url") or None


def quality_links(p: Page, pkg: dict[str, Any]) -> dict[str, str]:
    """``html``, ``csv`` and ``json``: the dataset's quality report in each form."""
    if _public(pkg):
        return {"html": p.url("quality_report_html", dataset=pkg["name"]),
                "csv": p.url("quality_report_csv", dataset=pkg["name"]),
                "json": p.url("quality_show", dataset=pkg["name"])}
    return {"html": p.url("web_quality_report_html", name=pkg["name"]),
            "csv": p.url("web_quality_report_csv", name=pkg["name"]),
            "json": p.url("web_quality_json", name=pkg["name"])}
