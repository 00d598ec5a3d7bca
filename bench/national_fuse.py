"""Run ``fuse_catalog`` (what ``vntwin fuse`` runs) on a data dir in this process and
write what it took as JSON: the 300-layer benchmark starts it as a subprocess so that
its wall time and peak memory are the fusion's alone.

    python bench/national_fuse.py DATA_DIR ADMIN_DIR OUT.json [--force]

The phases of each layer (read the file, plan the columns, fuse, write the store) are
timed per layer kind by thin wrappers around the functions ``fuse_source`` calls; the
code path itself is unchanged.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

import vntwin.twin.build as build  # noqa: E402
import vntwin.twin.fuse as fuse  # noqa: E402
from vntwin.catalog.service import Catalog  # noqa: E402
from vntwin.testing import make_settings  # noqa: E402
from vntwin.twin.store import TwinStore  # noqa: E402

PHASES: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_current = {"kind": "setup"}
COMPACT = {"seconds": 0.0}  # TwinStore.compact at the end of fuse_catalog


def _timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[_current["kind"]][phase] += time.perf_counter() - started
    return wrapper


def _instrument() -> None:
    read = build.read_layer

    def read_layer(cat: Catalog, source: Any, **kwargs: Any) -> Any:
        _current["kind"] = source.kind
        return read(cat, source, **kwargs)

    build.read_layer = _timed("read", read_layer)  # type: ignore[assignment]
    build.plan_columns = _timed("plan", build.plan_columns)  # type: ignore[assignment]
    build.variable_kinds = _timed("plan", build.variable_kinds)  # type: ignore[assignment]
    fuse.fuse_layer = _timed("fuse", fuse.fuse_layer)  # type: ignore[assignment]
    TwinStore.replace_layer = _timed("store", TwinStore.replace_layer)  # type: ignore[method-assign]
    compact = TwinStore.compact

    def compact_timed(self: TwinStore, **kwargs: Any) -> bool:
        started = time.perf_counter()
        try:
            return compact(self, **kwargs)
        finally:
            COMPACT["seconds"] += time.perf_counter() - started

    TwinStore.compact = compact_timed  # type: ignore[method-assign]
    build._grid = _timed("grid", build._grid)  # type: ignore[assignment]
    TwinStore.set_grid = _timed("grid", TwinStore.set_grid)  # type: ignore[method-assign]


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
    args.out.write_text(json.dumps({
        "fuse_seconds": seconds, "import_seconds": imported, "open_seconds": open_seconds,
        "before_exit_seconds": time.perf_counter() - STARTED,
        "fused": report.fused, "skipped": len(report.skipped), "failed": report.failed,
        "removed": report.removed, "layer_seconds": report.seconds, "kinds": kinds,
        "repaired": report.repaired, "compacted": report.compacted,
        "compact_seconds": COMPACT["seconds"],
        "phases": {k: dict(v) for k, v in PHASES.items()},
        "peak_rss_mib": _hwm_mib(), "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }, indent=1))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
