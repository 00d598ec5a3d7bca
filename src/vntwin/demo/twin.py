"""The demo twin: the demo catalogue's spatial files as twin layers, fused.

Only real data: GeoNames places (with population where GeoNames has it), the 2025
commune centroids and the 2025 province table, all already resources of the demo
datasets, and one layer modelled from them (population per cell, marked "modelled":
see :mod:`vntwin.demo.population`). Re-running skips what is done (ingest by dataset,
fusion by fingerprint).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from vntwin.catalog import packages, resources
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.errors import NotFound
from vntwin.twin.build import fuse_catalog
from vntwin.twin.ingest_catalog import ingest_file
from vntwin.twin.mappings import MAPPING_EXTRA

# dataset name -> the demo file that becomes its twin layer
LAYERS = {
    "dia-danh-viet-nam-geonames": "dia-danh-geonames.geojson",
    "don-vi-hanh-chinh-cap-xa-2025": "xa-2025.geojson",
    "don-vi-hanh-chinh-cap-tinh-2025": "tinh-2025.csv",
}


POPULATION_DATASET = "dan-so-mo-hinh"


def _population_metadata(summary: dict[str, Any]) -> dict[str, Any]:
    from vntwin.demo.datasets import REFERENCE_ORG
    from vntwin.demo.population import METHOD_EN, METHOD_VI
    from vntwin.demo.sources import GEONAMES_PACKAGE, version

    share = summary["people_per_rural_commune"]
    facts_vi = (f"Tổng {summary['national_total']:,} người; {summary['places_used']} địa danh "
                f"dùng, {summary['places_inside_larger']} bỏ vì nằm trong địa danh lớn hơn; "
                f"{summary['rural_communes']:,} xã, phường nhận {share:,} "
                f"người mỗi đơn vị; {summary['cells']:,} ô H3 độ phân giải {summary['res']}.")
    facts_en = (f"{summary['national_total']:,} people in all; {summary['places_used']} places "
                f"used, {summary['places_inside_larger']} dropped inside larger ones; "
                f"{summary['rural_communes']:,} communes get {share:,} "
                f"people each; {summary['cells']:,} H3 cells at resolution {summary['res']}.")
    return {
        "name": POPULATION_DATASET, "owner_org": REFERENCE_ORG,
        "title": "Dân số theo ô lưới H3 (mô hình)",
        "title_translated": {"vi": "Dân số theo ô lưới H3 (mô hình)",
                             "en": "Population per H3 cell (modelled)"},
        "notes_translated": {"vi": f"{METHOD_VI}\n\n{facts_vi}",
                             "en": f"{METHOD_EN}\n\n{facts_en}"},
        "license_id": "cc-by-4.0",
        "author": f"vntwin model from GeoNames ({GEONAMES_PACKAGE} "
                  f"{version(GEONAMES_PACKAGE)}) and vietnamadminunits",
        "theme": ["SOCI", "REGI"], "update_frequency": "IRREG", "access_level": "public",
        "spatial_label": "Việt Nam",
        "tags": ["dân số", "mô hình", "lưới H3"],
        "extras": {"modelled": "true", "model_method": METHOD_EN, "demo": "true",
                   "demo_kind": "modelled-population",
                   **{f"model_{k}": str(v) for k, v in summary.items()}},
    }


def ensure_population_layer(cat: Catalog, console: Console | None = None) -> bool:
    """Model the population layer once (about 5 s) unless the dataset exists."""
    try:
        packages.show(cat, SYSTEM, POPULATION_DATASET)
        return False
    except NotFound:
        pass
    from vntwin.demo.population import (
        METHOD_EN,
        geonames_places,
        model_population,
        national_total,
        write_population_layer,
    )
    from vntwin.demo.sources import Sources
    from vntwin.twin.admin import AdminUnits

    admin = AdminUnits.load(cat.settings.admin_dir)
    frame, summary = model_population(admin, cat.settings.h3_resolution,
                                      geonames_places(Sources().geonames_vn), national_total())
    packages.create(cat, SYSTEM, _population_metadata(summary))
    with tempfile.TemporaryDirectory(prefix="vntwin-population-") as tmp:
        path = write_population_layer(frame, Path(tmp) / "dan-so-mo-hinh.parquet")
        ingest_file(cat, SYSTEM, path, dataset=POPULATION_DATASET, keep_original=False)
    pkg = packages.show(cat, SYSTEM, POPULATION_DATASET)
    for res in pkg["resources"]:
        if res.get("twin_layer"):
            # the model's output is people, by construction: no need to guess the column
            mapping = {"population": {"variable_id": "population", "by": "vntwin demo model",
                                      "at": pkg["metadata_created"]}}
            resources.update(cat, SYSTEM, {"id": res["id"], "twin_modelled": "true",
                                           "twin_notes": METHOD_EN,
                                           MAPPING_EXTRA: json.dumps(mapping)}, None, patch=True)
    if console:
        console.print(f"twin layer modelled: population on {summary['cells']:,} cells")
    return True


def build_demo_twin(cat: Catalog, console: Console | None = None) -> str:
    """Ingest the demo layers that are not yet twin layers, then fuse what changed."""
    ingested = []
    if ensure_population_layer(cat, console):
        ingested.append(POPULATION_DATASET)
    for dataset, filename in LAYERS.items():
        pkg = packages.show(cat, SYSTEM, dataset)
        if any(r.get("twin_layer") for r in pkg["resources"]):
            continue
        source = next((r for r in pkg["resources"] if r.get("url", "").endswith(filename)
                       or r.get("name") == filename), None)
        if source is None or not source.get("hash"):
            continue
        path = cat.uploads.path_for(source["hash"].removeprefix("sha256:"))
        ingest_file(cat, SYSTEM, path, dataset=dataset, filename=filename,
                    keep_original=False)
        ingested.append(dataset)
        if console:
            console.print(f"twin layer from {filename}")
    report = fuse_catalog(cat, progress=(lambda name, n, total: console.print(
        f"fusing {n}/{total} {name}")) if console else None)
    failed = "; ".join(f"{k}: {v}" for k, v in report.failed.items())
    return (f"Twin at H3 resolution {report.res}: {len(ingested)} layers ingested, "
            f"{len(report.fused)} fused, {len(report.skipped)} unchanged"
            + (f"; failed: {failed}" if failed else "") + ".")
