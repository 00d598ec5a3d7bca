"""Run ``fuse_catalog`` (what ``vntwin fuse`` runs) on a data dir in this process and
write what it took as JSON: the 300-layer benchmark starts it as a subprocess so that
its wall time and peak memory are the fusion's alone.

    python bench/national_fuse.py DATA_DIR ADMIN_DIR OUT.json [--force]

The phases of each layer (read the file, plan the columns, fuse, spill or write the
store) come from ``FuseReport.phases`` (timed where they run, in worker processes too;
summed over layers, so with a pool they add up to more than the wall time); the bulk
write is ``FuseReport.bulk_seconds``; the grid and the compaction are timed here. Peak
memory: this process's VmHWM plus, when a pool ran, the workers' (each worker's peak
counted as the largest one's: an upper bound of the sum).
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

import vntwin.twin.build as build  # noqa: E402
from vntwin.catalog.service import Catalog  # noqa: E402
from vntwin.testing import make_settings  # noqa: E402
from vntwin.twin.store import TwinStore  # noqa: E402

GRID = {"seconds": 0.0}  # the territory grid (AdminUnits) and writing it
COMPACT = {"seconds": 0.0}  # TwinStore.compact at the end of fuse_catalog


def _timed(into: dict[str, float], fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into["seconds"] += time.perf_counter() - started
    return wrapper


def _instrument() -> None:
    TwinStore.compact = _timed(COMPACT, TwinStore.compact)  # type: ignore[method-assign]
    build._grid = _timed(GRID, build._grid)  # type: ignore[assignment]
    TwinStore.set_grid = _timed(GRID, TwinStore.set_grid)  # type: ignore[method-assign]


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("admin_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    imported = time.perf_counter() - STARTED
    _instrument()
    opened = time.perf_counter()
    cat = Catalog(make_settings(args.data_dir, None, admin_cache_dir=args.admin_dir))
    open_seconds = time.perf_counter() - opened
    kinds: dict[str, str] = {}

    def progress(name: str, number: int, total: int) -> None:
        if number % 50 == 0 or number == total:
            print(f"    fusing {number}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        report = build.fuse_catalog(cat, 8, force=args.force, progress=progress)
        from vntwin.twin.layers import layer_sources

        kinds = {s.name: s.kind for s in layer_sources(cat)}
    finally:
        cat.close()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    args.out.write_text(json.dumps({
        "fuse_seconds": seconds, "import_seconds": imported, "open_seconds": open_seconds,
        "before_exit_seconds": time.perf_counter() - STARTED,
        "fused": report.fused, "skipped": len(report.skipped), "failed": report.failed,
        "removed": report.removed, "layer_seconds": report.seconds, "kinds": kinds,
        "repaired": report.repaired, "compacted": report.compacted,
        "compact_seconds": COMPACT["seconds"], "grid_seconds": GRID["seconds"],
        "bulk_seconds": report.bulk_seconds, "workers": report.workers,
        "phases": {k: dict(v) for k, v in report.phases.items()},
        "main_peak_rss_mib": _hwm_mib(), "worker_peak_rss_mib": report.worker_peak_mib,
        "peak_rss_mib": _hwm_mib() + report.workers * report.worker_peak_mib,
        "cpu_seconds": usage.ru_utime + usage.ru_stime + children.ru_utime
        + children.ru_stime,
    }, indent=1))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
