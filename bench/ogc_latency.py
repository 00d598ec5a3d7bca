"""p50/p95 of OGC API items and MVT tiles over HTTP, the four cases of
``bench_national.http_latencies``, on any data dir built from the national set.

For measuring the OGC and tile code on its own, without the 10 minutes of a full national
fusion: grid collections are sampled only among the layers fused in that data dir (a
subset fused for the purpose is enough when it holds the big layers), point layers among
every point layer of the catalogue. Same places (``_land_points``), same seeded choices.

    python bench/ogc_latency.py DATA_DIR ADMIN_DIR [--budget 45] [--url URL]

``--url`` measures an already running ``vntwin serve`` (e.g. under py-spy) instead of
starting one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_national as bn
import national_data as nd


@contextlib.contextmanager
def _server(data_dir: Path, admin_dir: Path, url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from vntwin.testing import make_settings, server_process

    with server_process(make_settings(data_dir, None, admin_cache_dir=admin_dir)) as started:
        yield started


def main() -> None:
    """Print one JSON object: per case n, p50, p95, max (ms), and the load average."""
    import httpx

    from vntwin.twin.store import TwinStore

    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("admin_dir", type=Path)
    parser.add_argument("--budget", type=float, default=45)
    parser.add_argument("--url")
    args = parser.parse_args()
    specs = nd.plan(False)
    national = nd.NationalSet(specs, args.data_dir.parent, args.data_dir, args.admin_dir, {})
    with TwinStore(args.data_dir / "twin.duckdb").read() as con:
        fused = {row[0] for row in con.execute("SELECT layer FROM layers").fetchall()}
    grid_layers = [s.name for s in specs if s.name in fused]
    vector = [s.name for s in specs if s.kind == "point"]
    places = bn._land_points(national, 301, nd.SEED)
    out: dict[str, Any] = {"grid_layers": len(grid_layers), "point_layers": len(vector)}
    with _server(args.data_dir, args.admin_dir, args.url) as url, \
            httpx.Client(base_url=url, timeout=600) as client:
        client.get("/ogc/collections").raise_for_status()
        for name, fn in bn.ogc_cases(client, grid_layers, vector).items():
            times = bn.sample(fn, places, budget_s=args.budget, min_n=3)
            out[name] = {"n": len(times),
                         **{f"p{q}": round(bn.percentile(times, q) * 1000, 1) for q in (50, 95)},
                         "max": round(max(times) * 1000, 1)}
            print(name, out[name], file=sys.stderr, flush=True)
    out["loadavg"] = os.getloadavg()
    out["at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
