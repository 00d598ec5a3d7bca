"""Timing of the fusion kernels at resolution 8, each against a GeoPandas baseline where
one is practical (not collected by pytest; run ``python tests/twin/fuse/bench_kernels.py``).

- 1M random points over Vietnam's bounding box (``fuse_points``);
- 20k Voronoi polygons tiling a 4° × 4° box in the south (``fuse_polygons`` with an
  extensive, an intensive and a categorical column) vs ``geopandas.overlay`` with the
  hexagon grid in the same equal-area CRS, results compared;
- 50k line segments (``fuse_lines``) vs shapely intersection lengths per hexagon;
- a 1 km raster over 4° × 4° (``fuse_raster``: index build, then one raster);
- numba's first compile, without and with its on-disk cache (``cache=True``).

Timings are the best of ``REPEAT`` warm runs; the baselines run once.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

from vntwin.twin.fuse import (
    EQUAL_AREA_CRS,
    HexGrid,
    RasterCellIndex,
    fuse_lines,
    fuse_points,
    fuse_polygons,
    fuse_raster,
)
from vntwin.twin.fuse.lines import line_pairs

# The tests' GeoPandas reference implementation is the baseline; it lives with the tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "twin" / "fuse"))
_reference = importlib.import_module("fuse_reference")
compare = _reference.compare
intersect_lengths = _reference.intersect_lengths
overlay_polygons = _reference.overlay_polygons
voronoi_tiles = _reference.voronoi_tiles

RES = 8
REPEAT = 3
VIETNAM = (102.1, 8.4, 109.5, 23.4)
REGION = (104.0, 10.0, 108.0, 14.0)
SEED = 20261124


def _best(fn: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _once(fn: Callable[[], Any]) -> tuple[float, Any]:
    return _best(fn, 1)


def bench_points() -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED)
    n = 1_000_000
    gdf = gpd.GeoDataFrame({"v": rng.uniform(0, 100, n)}, crs=4326, geometry=shapely.points(
        rng.uniform(VIETNAM[0], VIETNAM[2], n), rng.uniform(VIETNAM[1], VIETNAM[3], n)))
    t, out = _best(lambda: fuse_points(gdf, RES, numeric=["v"]))
    return [{"case": "1M points", "ours_s": t, "rows": len(out)}]


def bench_polygons() -> list[dict[str, Any]]:
    gdf = voronoi_tiles(20_000, REGION, SEED)
    spec = dict(extensive=["pop"], intensive=["density"], categorical=["landuse"])
    t_ours, ours = _best(lambda: fuse_polygons(gdf, RES, **spec))
    boxes = gdf.to_crs(EQUAL_AREA_CRS).bounds.to_numpy()
    t_grid, grid = _best(lambda: HexGrid.covering(boxes, RES))
    t_with, _ = _best(lambda: fuse_polygons(gdf, RES, grid=grid, **spec))
    t_base, ref = _once(lambda: overlay_polygons(gdf, grid.cells, **spec))
    diff = compare(ours, ref, rtol=1e-6, atol=1e-9)
    return [
        {"case": "20k polygons, end to end (grid built)", "ours_s": t_ours, "base_s": t_base,
         "ratio": t_base / t_ours, "max_rel_diff": diff, "rows": len(ours)},
        {"case": "20k polygons, territory grid given", "ours_s": t_with, "base_s": t_base,
         "ratio": t_base / t_with},
        {"case": f"  (grid of {len(grid):,} cells built in)", "ours_s": t_grid},
    ]


def bench_lines() -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED)
    n = 50_000
    start = np.c_[rng.uniform(*REGION[0::2], n), rng.uniform(*REGION[1::2], n)]
    step = rng.normal(0, 0.01, (n, 2))  # about 1 km
    gdf = gpd.GeoDataFrame(geometry=shapely.linestrings(np.stack([start, start + step], 1)),
                           crs=4326)
    t_ours, out = _best(lambda: fuse_lines(gdf, RES))
    lp = line_pairs(gdf.geometry.values, RES, geodesic=False)
    t_base, ref = _once(lambda: intersect_lengths(gdf, np.unique(lp.grid.cells[lp.cell_row])))
    ours = pd.Series(lp.length).groupby(lp.grid.cells[lp.cell_row]).sum()
    ours, ref = ours.align(ref, fill_value=0.0)
    diff = float((np.abs(ours - ref) / np.maximum(ref, 1e-9)).max())
    return [{"case": "50k line segments", "ours_s": t_ours, "base_s": t_base,
             "ratio": t_base / t_ours, "max_rel_diff": diff, "rows": len(out)}]


def bench_raster(tmp: Path) -> list[dict[str, Any]]:
    step = 1 / 120
    w = h = int(4 / step)
    data = np.random.default_rng(SEED).uniform(0, 100, (1, h, w))
    path = tmp / "r.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1,
                       dtype="float64", crs="EPSG:4326",
                       transform=from_origin(REGION[0], REGION[3], step, step)) as dst:
        dst.write(data)
    with rasterio.open(path) as src:
        t_index, index = _best(lambda: RasterCellIndex.build(src.transform, src.crs,
                                                              src.shape, RES), 1)
    t_one, out = _best(lambda: fuse_raster(path, RES, index=index))
    return [{"case": f"1 km raster {w}x{h}: index build", "ours_s": t_index},
            {"case": "  then per raster (4 stats)", "ours_s": t_one, "rows": len(out)}]


_COMPILE = (
    "import time; t = time.perf_counter(); import geopandas as gpd, shapely;"
    "from vntwin.twin.fuse import fuse_polygons, fuse_lines;"
    "g = gpd.GeoDataFrame({'v': [1.0]}, geometry=[shapely.box(105, 21, 105.01, 21.01)], crs=4326);"
    "fuse_polygons(g, 8, extensive=['v']); fuse_lines(g.set_geometry(g.boundary), 8);"
    "print(time.perf_counter() - t)"
)


def bench_compile() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("numba first call, empty cache", "numba first call, cached"):
            out = subprocess.run([sys.executable, "-c", _COMPILE], env=env, check=True,
                                 capture_output=True, text=True)
            rows.append({"case": label, "ours_s": float(out.stdout.split()[-1])})
    return rows


def _markdown(table: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    header = "| case | " + " | ".join(table.columns) + " |"
    rule = "|---|" + "---:|" * len(table.columns)
    rows = [f"| {idx} | " + " | ".join(cell(v) for v in row) + " |"
            for idx, row in zip(table.index, table.to_numpy(), strict=True)]
    return "\n".join([header, rule, *rows])


def run(workdir: Path) -> str:
    """The kernels' section of BENCHMARKS.md (``make bench``)."""
    fuse_polygons(voronoi_tiles(20, REGION, 1), RES, extensive=["pop"])
    rows = bench_compile() + bench_points() + bench_polygons() + bench_lines()
    rows += bench_raster(workdir)
    table = pd.DataFrame(rows).set_index("case").astype(object).fillna("")
    return (
        f"## Twin fusion kernels (`bench/bench_fuse.py`)\n\n"
        f"Resolution {RES}, exact area/length weights (numba hexagon clipping), against the "
        f"straightforward GeoPandas baseline in the same run (`overlay` with the hexagon grid "
        f"for polygons, shapely intersections for lines). Inputs are synthetic (fixed seed). "
        f"Goal for polygons: >= 10x the overlay baseline, same numbers to 1e-6.\n\n"
        f"{_markdown(table)}\n\n"
        f"The issue's full 300-layer benchmark is the National twin section "
        f"(`bench/bench_national.py`).\n")


def main() -> None:
    """Run every case and print one table."""
    # compile (or load) the kernels before timing anything
    fuse_polygons(voronoi_tiles(20, REGION, 1), RES, extensive=["pop"])
    rows = bench_compile() + bench_points() + bench_polygons() + bench_lines()
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_raster(Path(tmp))
    table = pd.DataFrame(rows).set_index("case")
    with pd.option_context("display.width", 140, "display.float_format", "{:.3g}".format):
        print(f"fusion kernels at resolution {RES} (threads: "
              f"{os.environ.get('NUMBA_NUM_THREADS', os.cpu_count())})")
        print(table.astype(object).fillna("").to_string())


if __name__ == "__main__":
    main()
