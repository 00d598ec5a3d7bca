"""The demo twin: the demo catalogue's spatial files as twin layers, fused.

Only real data: GeoNames places (with population where GeoNames has it), the 2025
commune centroids and the 2025 province table, all already resources of the demo
datasets. Re-running skips what is done (ingest by dataset, fusion by fingerprint).
"""

from __future__ import annotations

from rich.console import Console

from vntwin.catalog import packages
from vntwin.catalog.service import Catalog
from vntwin.catalog.users import SYSTEM
from vntwin.twin.build import fuse_catalog
from vntwin.twin.ingest_catalog import ingest_file

# dataset name -> the demo file that becomes its twin layer
LAYERS = {
    "dia-danh-viet-nam-geonames": "dia-danh-geonames.geojson",
    "don-vi-hanh-chinh-cap-xa-2025": "xa-2025.geojson",
    "don-vi-hanh-chinh-cap-tinh-2025": "tinh-2025.csv",
}


def build_demo_twin(cat: Catalog, console: Console | None = None) -> str:
    """Ingest the demo layers that are not yet twin layers, then fuse what changed."""
    ingested = []
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
