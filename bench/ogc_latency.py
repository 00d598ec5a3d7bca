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
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_national as bn
import national_data as nd
import numpy as np


def _cases(client: Any, grid_layers: list[str], vector: list[str]) -> dict[str, Any]:
    from vntwin.twin.tiles import tile_bounds

    rng = random.Random(nd.SEED)

    def tile_of(lat: float, lon: float, z: int) -> tuple[int, int, int]:
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
        assert tile_bounds(z, x, y)
        return z, x, y

    def get(path: str) -> None:
        response = client.get(path)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")

    def bbox(lat: float, lon: float, half: float) -> str:
        return f"{lon - half},{lat - half},{lon + half},{lat + half}"

    return {
        "OGC items, grid layer (bbox ~2 km, limit 10)": lambda p: get(
            f"/ogc/collections/grid-{rng.choice(grid_layers)}/items?limit=10"
            f"&bbox={bbox(*p, 0.01)}"),
        "OGC items, point layer as ingested (bbox ~2 km, limit 10)": lambda p: get(
            f"/ogc/collections/{rng.choice(vector)}/items?limit=10&bbox={bbox(*p, 0.01)}"),
        "MVT tile, grid layer (z10)": lambda p: get(
            "/ogc/collections/grid-{}/tiles/{}/{}/{}.mvt".format(
                rng.choice(grid_layers), *tile_of(*p, 10))),
        "MVT tile, point layer as ingested (z12)": lambda p: get(
            "/ogc/collections/{}/tiles/{}/{}/{}.mvt".format(
                rng.choice(vector), *tile_of(*p, 12))),
    }


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
        for name, fn in _cases(client, grid_layers, vector).items():
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
