"""The licences a dataset may declare, in CKAN's ``license_list`` shape.

Open-definition conformance drives the *shared* quality dimension later, so it is data.
"""

from __future__ import annotations

from typing import Any

LICENSES: list[dict[str, Any]] = [
    {"id": "cc-by-4.0", "title": "Creative Commons Attribution 4.0",
     "url": "https://creativecommons.org/licenses/by/4.0/", "od_conformance": "approved"},
    {"id": "cc-by-sa-4.0", "title": "Creative Commons Attribution Share-Alike 4.0",
     "url": "https://creativecommons.org/licenses/by-sa/4.0/", "od_conformance": "approved"},
    {"id": "cc-zero", "title": "Creative Commons CCZero",
     "url": "https://creativecommons.org/publicdomain/zero/1.0/", "od_conformance": "approved"},
    {"id": "odc-odbl", "title": "Open Data Commons Open Database License (ODbL)",
     "url": "https://opendatacommons.org/licenses/odbl/1-0/", "od_conformance": "approved"},
    {"id": "odc-by", "title": "Open Data Commons Attribution License",
     "url": "https://opendatacommons.org/licenses/by/1-0/", "od_conformance": "approved"},
    {"id": "odc-pddl", "title": "Open Data Commons Public Domain Dedication and License (PDDL)",
     "url": "https://opendatacommons.org/licenses/pddl/1-0/", "od_conformance": "approved"},
    {"id": "other-pd", "title": "Other (Public Domain)", "url": "", "od_conformance": "approved"},
    {"id": "other-open", "title": "Other (Open)", "url": "", "od_conformance": "approved"},
    {"id": "other-at", "title": "Other (Attribution)", "url": "", "od_conformance": "approved"},
    {"id": "other-nc", "title": "Other (Non-Commercial)", "url": "",
     "od_conformance": "not reviewed"},
    {"id": "other-closed", "title": "Other (Not Open)", "url": "",
     "od_conformance": "not reviewed"},
    {"id": "notspecified", "title": "License not specified", "url": "",
     "od_conformance": "not reviewed"},
]

# Old CKAN ids that harvested catalogues still use.
ALIASES = {"cc-by": "cc-by-4.0", "cc-by-sa": "cc-by-sa-4.0", "cc0-1.0": "cc-zero"}

BY_ID = {lic["id"]: lic for lic in LICENSES}


def normalise_license_id(license_id: str) -> str:
    """Map an alias to its canonical id; unknown ids are returned unchanged."""
    return ALIASES.get(license_id, license_id)


def license_list() -> list[dict[str, Any]]:
    """CKAN's license_list result: each licence with ``is_okd_compliant`` spelled out."""
    return [
        {**lic, "is_okd_compliant": lic["od_conformance"] == "approved", "status": "active"}
        for lic in LICENSES
    ]
