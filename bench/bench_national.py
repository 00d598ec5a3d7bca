"""The issue's national benchmark: 300 SYNTHETIC layers over Vietnam fused into one twin.

What it measures, in one run (``--quick``: 30 smaller layers, a smoke run):

1. Generation of the layer set (``national_data.py``: 150 point, 60 polygon of which 10
   cover the whole land, 30 line layers, 60 rasters at 1 km; fixed seed; cached under
   ``bench/work/cache/`` and reported separately).
2. Fusion of every layer at resolution 8 into one twin store through the code path of
   ``vntwin fuse`` (``fuse_catalog`` on a catalogue in which each layer is a dataset),
   run as a subprocess (``national_fuse.py``) so its wall time and peak RSS (VmHWM) are
   the fusion's alone. Goals: <= 120 s on 2 cores, <= 8 GB.
3. On a 10-layer subset, the same kernels against the straightforward GeoPandas
   baseline: ``overlay`` with the hexagon grid for polygons (from ``bench_fuse``), ``sjoin``
   for points, clipped lengths for lines; the numbers must agree to 1e-6 relative.
   Goal: >= 10x on polygon layers.
4. Re-fusion after one layer changed (goal <= 15 s), point queries over all layers
   (``query.at_point``, goal p95 <= 20 ms), and OGC items and MVT tiles through the HTTP
   API of a ``vntwin serve`` process (goal p95 <= 50 ms).

The numbers are pessimistic when other work shares the machine's cores (see the load
average in the header).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).parent))

import bench_fuse
import national_data as nd
from bench_fuse import intersect_lengths, overlay_polygons
from common import loadavg, percentile, quick, table, verdict

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

hexagons = bench_fuse._reference.hexagons  # the kernels' GeoPandas reference, shared
HERE = Path(__file__).resolve().parent
CACHE = HERE / "work" / "cache"
GOAL_FUSE_S = 120
GOAL_PEAK_GB = 8
GOAL_RATIO = 10
GOAL_REFUSE_S = 15
GOAL_QUERY_MS = 20
GOAL_HTTP_MS = 50
RTOL = 1e-6
POINT_NUMERIC = ["so_luong", "gia_tri"]
POLY_SPEC = {"extensive": ["dan_so"], "intensive": ["mat_do"], "categorical": ["loai_dat"]}


def _log(message: str) -> None:
    print(f"[national] {message}", flush=True)


# -- fusion in a subprocess ------------------------------------------------------------------
def _fuse(data_dir: Path, admin_dir: Path, out: Path, *, force: bool = False) -> dict[str, Any]:
    """Run ``national_fuse.py`` (``fuse_catalog``) in its own process."""
    cmd = [sys.executable, str(HERE / "national_fuse.py"), str(data_dir), str(admin_dir),
           str(out), *(["--force"] if force else [])]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - started
    if proc.returncode != 0 and not out.exists():
        raise RuntimeError(f"fusion failed ({proc.returncode}): {proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result["process_seconds"] = wall
    if result["failed"]:
        _log(f"layers failed: {result['failed']}")
    return result


def _warm_numba(grid: HexGrid, workdir: Path) -> float:
    """Compile (or load from numba's on-disk cache) every kernel the fusion uses, with
    the argument types it uses, so the measured run does not include first compilation.
    """
    started = time.perf_counter()
    lon, lat = 105.85 + np.arange(3) * 0.01, np.full(3, 21.03)
    pts = gpd.GeoDataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]}, crs=4326,
                           geometry=shapely.points(lon, lat))
    fuse_points(pts, nd.RES, numeric=["a"], categorical=["c"], grid=grid)
    polys = pts.assign(geometry=shapely.buffer(pts.geometry.values, 0.004))
    fuse_polygons(polys, nd.RES, extensive=["a"], intensive=["a"], categorical=["c"], grid=grid)
    lines = pts.assign(geometry=shapely.linestrings(np.stack([np.c_[lon, lat],
                                                              np.c_[lon + 0.02, lat]], 1)))
    fuse_lines(lines, nd.RES, categorical=["c"], grid=grid)
    import rasterio
    from rasterio.transform import from_origin

    path = workdir / "warm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(105.8, 21.06, nd.PIXEL,
                                                             nd.PIXEL)) as dst:
        dst.write(np.ones((1, 4, 4), np.float32))
    fuse_raster(path, nd.RES, grid=grid)
    return time.perf_counter() - started


# -- baseline on a subset --------------------------------------------------------------------
def _subset(specs: list[nd.LayerSpec], quick_run: bool) -> list[nd.LayerSpec]:
    """10 layers (quick: 5): polygons (a whole-land map in the full run), points and lines
    of small, middle and large size."""
    def pick(kind: str, style: str | None, where: Sequence[float]) -> list[nd.LayerSpec]:
        pool = sorted((s for s in specs if s.kind == kind and style in (None, s.style)),
                      key=lambda s: (s.size, s.name))
        chosen = [pool[min(int(q * (len(pool) - 1)), len(pool) - 1)] for q in where]
        return list(dict.fromkeys(chosen))

    if quick_run:
        return (pick("polygon", "regional", [1]) + pick("polygon", "scattered", [1])
                + pick("point", None, [0.5]) + pick("line", None, [0, 1]))
    polys = (pick("polygon", "landuse", [0]) + pick("polygon", "regional", [0, 0.5])
             + pick("polygon", "scattered", [0.5]))
    sizes = [0, 0.5, 0.8]
    return polys + pick("point", None, sizes) + pick("line", None, sizes)


def _cells_near(grid: HexGrid, gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The grid's cells whose bounding box meets a feature's bounding box: a superset of
    the cells the layer touches, handed to the baseline for free so that it does not
    build the hexagons of the whole territory (which makes its times a lower bound).
    """
    boxes = gdf.geometry.to_crs(EQUAL_AREA_CRS).bounds.to_numpy()
    _, rows = grid.candidates(boxes)
    return grid.cells[np.unique(rows)]


def sjoin_points(gdf: gpd.GeoDataFrame, cells: np.ndarray,
                 numeric: Sequence[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Count, sum and mean per hexagon with ``geopandas.sjoin`` (the straightforward way);
    also each point's hexagon."""
    hexes = hexagons(cells)
    joined = gpd.sjoin(gdf[[*numeric, "geometry"]], hexes, predicate="within", how="inner")
    groups = joined.groupby("h3")
    out = [pd.DataFrame({"h3": groups.size().index, "variable": "count",
                         "value": groups.size().to_numpy(float)})]
    for col in numeric:
        total, mean = groups[col].sum(), groups[col].mean()
        out += [pd.DataFrame({"h3": total.index, "variable": f"{col}_sum", "value": total.values}),
                pd.DataFrame({"h3": mean.index, "variable": f"{col}_mean", "value": mean.values})]
    return pd.concat(out, ignore_index=True), joined["h3"]


def agreement(ours: pd.DataFrame, ref: pd.DataFrame, atol: float = 1e-9,
              skip: np.ndarray | None = None) -> tuple[float, int, int]:
    """(largest relative difference, rows differing by more than 1e-6, rows) of two long
    frames (a missing row counts as 0), leaving out the cells in ``skip``; the same test
    as the kernels' ``compare``."""
    a = ours.assign(h3=ours.h3.astype(np.uint64)).set_index(["h3", "variable"]).value
    b = ref.assign(h3=ref.h3.astype(np.uint64)).set_index(["h3", "variable"]).value
    a, b = a.align(b, fill_value=0.0)
    if skip is not None and len(skip):
        keep = ~np.isin(a.index.get_level_values(0).to_numpy(np.uint64), skip)
        a, b = a[keep], b[keep]
    scale = np.maximum(np.abs(a.to_numpy()), np.abs(b.to_numpy()))
    diff = np.abs(a.to_numpy() - b.to_numpy())
    big = scale > atol
    worst = float((diff[big] / scale[big]).max()) if big.any() else 0.0
    return worst, int((diff > RTOL * scale + atol).sum()), len(a)


def invalid_in_plane(gdf: gpd.GeoDataFrame, grid: HexGrid) -> tuple[int, np.ndarray]:
    """Polygons valid in lon/lat that self-intersect once projected (slivers along a
    clipped boundary), and the cells near them. Their area is ill-defined: GEOS takes
    the signed shoelace area, the kernel the positive pieces (``polygons.py``), so the
    two may differ in these cells only.
    """
    plane = gdf.geometry.to_crs(EQUAL_AREA_CRS)
    bad = ~shapely.is_valid(plane.to_numpy())
    if not bad.any():
        return 0, np.zeros(0, np.uint64)
    _, rows = grid.candidates(plane[bad].bounds.to_numpy())
    return int(bad.sum()), grid.cells[np.unique(rows)]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def baseline(national: nd.NationalSet, grid: HexGrid, quick_run: bool) -> list[dict[str, Any]]:
    """Our kernels (on the territory grid, as the fusion runs them) against GeoPandas."""
    rows = []
    for spec in _subset(national.specs, quick_run):
        gdf = gpd.read_parquet(national.path(spec))
        cells = _cells_near(grid, gdf)
        row: dict[str, Any] = {"layer": spec.name, "kind": spec.kind, "style": spec.style,
                               "features": len(gdf), "cells": len(cells), "note": ""}
        if spec.kind == "polygon":
            row["ours_s"], ours = _timed(lambda g=gdf: fuse_polygons(g, nd.RES, grid=grid,
                                                                      **POLY_SPEC))
            row["base_s"], ref = _timed(lambda g=gdf, c=cells: overlay_polygons(g, c,
                                                                                 **POLY_SPEC))
            row["max_rel"], row["bad"], row["rows"] = agreement(ours, ref)
            n_bad, near = invalid_in_plane(gdf, grid)
            if n_bad:
                worst, off, rows_ok = agreement(ours, ref, skip=near)
                row["note"] = (f"{n_bad} polygon(s) self-intersect once projected (valid in "
                               f"lon/lat): outside their {len(near)} nearby cells, max rel "
                               f"diff {worst:.1e}, {off} of {rows_ok:,} rows off")
                row["bad_elsewhere"] = off
        elif spec.kind == "point":
            row["ours_s"], ours = _timed(lambda g=gdf: fuse_points(
                g, nd.RES, numeric=POINT_NUMERIC, grid=grid))
            row["base_s"], (ref, assigned) = _timed(lambda g=gdf, c=cells: sjoin_points(
                g, c, POINT_NUMERIC))
            row["max_rel"], row["bad"], row["rows"] = agreement(ours, ref)
            row["note"] = _point_note(gdf, assigned, grid)
        else:
            row["ours_s"], _ = _timed(lambda g=gdf: fuse_lines(g, nd.RES, categorical=[
                "loai_duong"], grid=grid))
            row["base_s"], ref = _timed(lambda g=gdf, c=cells: intersect_lengths(g, c))
            # lengths compared in the plane, as the baseline measures them (fusion itself
            # rescales each segment to its geodesic length)
            lp = line_pairs(gdf.geometry.values, nd.RES, grid, geodesic=False)
            mine = pd.Series(lp.length).groupby(grid.cells[lp.cell_row]).sum()
            as_frame = [pd.DataFrame({"h3": s.index.to_numpy(np.uint64), "variable": "length",
                                      "value": s.to_numpy()}) for s in (mine, ref)]
            row["max_rel"], row["bad"], row["rows"] = agreement(*as_frame)
        row["ratio"] = row["base_s"] / row["ours_s"]
        rows.append(row)
        _log(f"  baseline {spec.name}: ours {row['ours_s']:.2f} s, GeoPandas "
             f"{row['base_s']:.2f} s, max rel diff {row['max_rel']:.1e}")
    return rows


def _point_note(gdf: gpd.GeoDataFrame, assigned: pd.Series, grid: HexGrid) -> str:
    """Where sjoin and H3 put a point in different cells, how close it is to the edge
    (H3 edges are great-circle arcs, the baseline's hexagons straight in lon/lat)."""
    import h3ronpy.vector as h3v

    geoms = gdf.geometry.values
    mine = np.asarray(h3v.coordinates_to_cells(shapely.get_y(geoms), shapely.get_x(geoms),
                                               nd.RES)).astype(np.uint64)
    theirs = np.zeros(len(gdf), np.uint64)
    theirs[assigned.index.to_numpy()] = assigned.to_numpy(np.uint64)
    inside = grid.index_of(mine) >= 0
    differ = np.flatnonzero(inside & (mine != theirs))
    if len(differ) == 0:
        return "every point in the same cell"
    hexes = hexagons(mine[differ]).geometry.values
    metres = shapely.distance(geoms[differ], shapely.boundary(hexes)) * nd.KM_PER_DEG * 1000
    return (f"{len(differ)} of {len(gdf):,} points in another cell, all within "
            f"{metres.max() * 1000:.1f} mm of an edge")


# -- queries ---------------------------------------------------------------------------------
def sample(fn: Callable[[Any], Any], inputs: Sequence[Any], *, budget_s: float,
           min_n: int = 5) -> list[float]:
    """Time ``fn`` on the inputs in turn until they run out or the budget is spent: at
    least ``min_n`` calls (for a p95 on slow endpoints), unless even those would take
    more than twice the budget (then as many as fit, at least one).
    """
    times: list[float] = []
    started = time.perf_counter()
    for item in inputs:
        spent = time.perf_counter() - started
        if times and (spent > 2 * budget_s or (len(times) >= min_n and spent > budget_s)):
            break
        t = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t)
    return times


def _land_points(national: nd.NationalSet, n: int, seed: int) -> list[tuple[float, float]]:
    from vntwin.twin.admin import AdminUnits

    cells = AdminUnits.load(national.admin_dir).cells(nd.RES)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(cells), n)
    lat = cells["lat"].to_numpy()[pick] + rng.uniform(-0.002, 0.002, n)
    lon = cells["lon"].to_numpy()[pick] + rng.uniform(-0.002, 0.002, n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


def point_queries(data_dir: Path, places: list[tuple[float, float]],
                  budget_s: float) -> dict[str, Any]:
    from vntwin.twin.query import at_point
    from vntwin.twin.store import TwinStore

    store = TwinStore(data_dir / "twin.duckdb")
    at_point(store, *places[0])  # first open: file cache, not a query
    layers: list[int] = []

    def one(place: tuple[float, float]) -> None:
        layers.append(len(at_point(store, *place)["layers"]))

    times = sample(one, places[1:], budget_s=budget_s, min_n=20)
    return {"times": times, "layers_mean": float(np.mean(layers)) if layers else 0.0}


def ogc_cases(client: Any, grid_layers: list[str], vector: list[str]) -> dict[str, Any]:
    """The four timed requests, each a function of a place; same seeded layer choices
    in every run (also used by ``ogc_latency.py``).
    """
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


def _load_remark() -> str:
    """Whether other work shared the cores (the 1-minute load average above the cores
    this bench's own processes use)."""
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        return "; other work shared the cores, so the timings are pessimistic"
    return " (a quiet machine)"


def http_latencies(data_dir: Path, admin_dir: Path, national: nd.NationalSet,
                   places: list[tuple[float, float]], budget_s: float,
                   min_n: int) -> dict[str, Any]:
    """p95 of OGC items and MVT tiles from a ``vntwin serve`` process on the data dir."""
    import httpx

    from vntwin.testing import make_settings, server_process
    from vntwin.twin import readers

    vector = [s.name for s in national.specs if s.kind == "point"]
    grid_layers = [s.name for s in national.specs]
    out: dict[str, Any] = {}
    settings = make_settings(data_dir, None, admin_cache_dir=admin_dir)
    # steady state: the re-fusion just wrote the twin, and for ``readers.LINGER_S`` after
    # a write every request opens the file itself (15-30 ms more) so that a fusion
    # writing layer by layer keeps its lock; wait for that to lapse
    waited = time.perf_counter()
    while readers.writer_active(data_dir / "twin.duckdb"):
        time.sleep(0.1)
    out["linger_wait_s"] = time.perf_counter() - waited
    with server_process(settings) as url, httpx.Client(base_url=url, timeout=600) as client:
        started = time.perf_counter()
        listing = client.get("/ogc/collections")
        listing.raise_for_status()
        out["collections_s"] = time.perf_counter() - started
        out["collections_n"] = len(listing.json()["collections"])

        cases = ogc_cases(client, grid_layers, vector)
        for name, fn in cases.items():
            out[name] = sample(fn, places, budget_s=budget_s, min_n=min_n)
            _log(f"  {name}: {len(out[name])} requests, p50 "
                 f"{percentile(out[name], 50) * 1000:.0f} ms")
    return out


def diagnose(data_dir: Path, admin_dir: Path, national: nd.NationalSet,
             grid: HexGrid) -> list[tuple[str, float]]:
    """Single timings that explain the slow parts (seconds)."""
    import rasterio

    from vntwin.catalog.service import Catalog
    from vntwin.testing import make_settings
    from vntwin.twin import features
    from vntwin.twin.store import TwinStore

    out = []
    cat = Catalog(make_settings(data_dir, None, admin_cache_dir=admin_dir))
    try:
        seconds, cols = _timed(lambda: features.collections(cat, TwinStore(
            data_dir / "twin.duckdb")))
        out.append((f"`features.collections()` ({len(cols)} collections, first call in "
                    "this process: every file's Parquet footer, then cached by hash)",
                    seconds))
    finally:
        cat.close()
    spec = next(s for s in national.specs if s.kind == "raster")
    with rasterio.open(national.path(spec)) as src:
        seconds, index = _timed(lambda: RasterCellIndex.build(src.transform, src.crs,
                                                              src.shape, nd.RES, grid))
    out.append(("`RasterCellIndex.build` for the national 1 km raster grid (built once "
                "per raster grid in a fusion run: `raster.shared_index`)", seconds))
    seconds, _ = _timed(lambda: fuse_raster(national.path(spec), nd.RES, index=index))
    out.append(("`fuse_raster` of one raster with that index passed in", seconds))
    return out


# -- re-fusion -------------------------------------------------------------------------------
def change_layer(data_dir: Path, admin_dir: Path, national: nd.NationalSet,
                 spec: nd.LayerSpec, workdir: Path) -> None:
    """A new version of one layer's file, stored as ``vntwin ingest`` replaces a layer
    (same resource, new content)."""
    from vntwin.catalog import packages, resources
    from vntwin.catalog.resources import store_file
    from vntwin.catalog.service import Catalog
    from vntwin.catalog.users import SYSTEM
    from vntwin.testing import make_settings

    if spec.kind == "raster":
        import rasterio

        path = workdir / f"{spec.name}.v2.tif"
        with rasterio.open(national.path(spec)) as src:
            profile, data = src.profile, src.read(1)
        data = np.where(data == profile["nodata"], data, data * 1.1).astype(np.float32)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
    else:
        frame = gpd.read_parquet(national.path(spec))
        column = {"point": "so_luong", "polygon": "dan_so"}.get(spec.kind)
        if column:
            frame[column] = frame[column] * 2
        else:
            frame = frame.iloc[: len(frame) - len(frame) // 10]
        path = workdir / f"{spec.name}.v2.parquet"
        nd._write_vector(frame, path)
    cat = Catalog(make_settings(data_dir, None, admin_cache_dir=admin_dir))
    try:
        resource = packages.show(cat, SYSTEM, spec.name)["resources"][0]
        resources.update(cat, SYSTEM, {"id": resource["id"]}, store_file(cat, path, path.name),
                         patch=True)
    finally:
        cat.close()


def _median(specs: list[nd.LayerSpec], kind: str, style: str | None = None) -> nd.LayerSpec:
    pool = sorted((s for s in specs if s.kind == kind and style in (None, s.style)),
                  key=lambda s: (s.size, s.name))
    return pool[len(pool) // 2]


# -- the report ------------------------------------------------------------------------------
def _store_stats(data_dir: Path) -> dict[str, Any]:
    from vntwin.twin.store import TwinStore

    with TwinStore(data_dir / "twin.duckdb").read() as con:
        rows = con.execute("SELECT l.kind, count(DISTINCT v.layer), count(*) FROM cell_values v "
                           "JOIN layers l USING (layer) GROUP BY l.kind").fetchall()
        cells = con.execute("SELECT count(*) FROM cells").fetchone()
    return {"by_kind": {k: {"layers": n, "rows": r} for k, n, r in rows},
            "cells": cells[0] if cells else 0,
            "bytes": (data_dir / "twin.duckdb").stat().st_size}


def _ms(times: Sequence[float], p: float) -> float:
    return percentile(times, p) * 1000 if times else float("nan")


def run(workdir: Path) -> str:
    """The national benchmark's section of BENCHMARKS.md."""
    quick_run = quick()
    started = time.perf_counter()
    _log(f"{'quick' if quick_run else 'full'} set; cache {CACHE}")
    national = nd.ensure(CACHE, quick_run, log=_log)
    man = national.manifest
    admin_dir = national.admin_dir
    data_dir = nd.working_copy(national, workdir / "data")

    from vntwin.twin.admin import AdminUnits

    territory = AdminUnits.load(admin_dir).cells(nd.RES)
    grid = HexGrid.from_cells(territory["h3"].to_numpy(), nd.RES)
    warm_s = _warm_numba(grid, workdir)

    _log("fusing every layer (subprocess) ...")
    fusion = _fuse(data_dir, admin_dir, workdir / "fuse.json")
    _log(f"  fused {len(fusion['fused'])} layers in {fusion['fuse_seconds']:.1f} s, peak "
         f"{fusion['peak_rss_mib']:.0f} MiB")
    stored = _store_stats(data_dir)

    _log("GeoPandas baseline on a subset ...")
    base = baseline(national, grid, quick_run)

    places = _land_points(national, 301, nd.SEED)
    _log("point queries ...")
    queries = point_queries(data_dir, places, budget_s=15 if quick_run else 60)

    _log("re-fusion of changed layers ...")
    refuse = []
    changed = [_median(national.specs, "point")]
    if not quick_run:
        changed += [_median(national.specs, "raster"),
                    max((s for s in national.specs if s.style == "landuse"),
                        key=lambda s: s.size)]
    for spec in changed:
        change_layer(data_dir, admin_dir, national, spec, workdir)
        result = _fuse(data_dir, admin_dir, workdir / f"refuse-{spec.name}.json")
        refuse.append((spec, result))
        _log(f"  {spec.name}: {result['fuse_seconds']:.1f} s in fuse_catalog, "
             f"{result['process_seconds']:.1f} s process")

    _log("HTTP API ...")
    http = http_latencies(data_dir, admin_dir, national, places,
                          budget_s=15 if quick_run else 45, min_n=3)
    http["diagnosis"] = diagnose(data_dir, admin_dir, national, grid)
    return _markdown(quick_run, national, man, warm_s, fusion, stored, base, queries, refuse,
                     http, time.perf_counter() - started)


def _markdown(quick_run: bool, national: nd.NationalSet, man: dict[str, Any], warm_s: float,
              fusion: dict[str, Any], stored: dict[str, Any], base: list[dict[str, Any]],
              queries: dict[str, Any], refuse: list[tuple[nd.LayerSpec, dict[str, Any]]],
              http: dict[str, Any], seconds: float) -> str:
    n_layers = len(national.specs)
    kinds = ["point", "polygon", "line", "raster"]
    by_kind_gen = man["by_kind"]
    fuse_s = fusion["fuse_seconds"]
    peak_gb = fusion["peak_rss_mib"] * 1024**2 / 1e9
    poly = [r for r in base if r["kind"] == "polygon"]
    poly_ratio = sum(r["base_s"] for r in poly) / sum(r["ours_s"] for r in poly)
    agree = all(r.get("bad_elsewhere", r["bad"]) == 0 for r in base if r["kind"] != "point")
    slivers = sum(1 for r in base if "bad_elsewhere" in r)
    typical_spec, typical = refuse[0]
    q = queries["times"]
    http_cases = [k for k in http if k.startswith(("OGC", "MVT"))]
    total = f"{seconds:.0f} s"
    http_p95 = {k: _ms(http[k], 95) for k in http_cases}
    cores = len(os.sched_getaffinity(0))

    summary = [
        ("Layers fused (SYNTHETIC)", f"{len(fusion['fused'])} of {n_layers}",
         f"{n_layers}", verdict(len(fusion["fused"]) == n_layers)),
        ("Fusion wall time, all layers, res 8", f"{fuse_s:.0f} s", f"<= {GOAL_FUSE_S} s",
         verdict(fuse_s <= GOAL_FUSE_S)),
        ("Fusion peak memory (VmHWM of the process + its workers' peaks)", f"{peak_gb:.2f} GB",
         f"<= {GOAL_PEAK_GB} GB", verdict(peak_gb <= GOAL_PEAK_GB)),
        ("Polygon layers vs GeoPandas overlay (subset total)", f"{poly_ratio:.1f}x",
         f">= {GOAL_RATIO}x", verdict(poly_ratio >= GOAL_RATIO)),
        ("Same numbers, polygons and lines (1e-6 relative)",
         ("yes" if agree else "**no**") + (
             f" (except near polygons invalid once projected, in {slivers} layer(s): see "
             "the baseline table)" if slivers else ""), "yes", verdict(agree)),
        (f"Re-fusion of one changed layer ({typical_spec.name}, "
         f"{typical_spec.size:,} points)", f"{typical['fuse_seconds']:.1f} s",
         f"<= {GOAL_REFUSE_S} s", verdict(typical["fuse_seconds"] <= GOAL_REFUSE_S)),
        (f"Point query p95 over {n_layers} layers (`at_point`, n={len(q)})",
         f"{_ms(q, 95):.0f} ms", f"<= {GOAL_QUERY_MS} ms",
         verdict(_ms(q, 95) <= GOAL_QUERY_MS)),
    ]
    for k in http_cases:
        summary.append((f"{k} p95 (HTTP, n={len(http[k])})", f"{http_p95[k]:.0f} ms",
                        f"<= {GOAL_HTTP_MS} ms", verdict(http_p95[k] <= GOAL_HTTP_MS)))

    gen_rows = []
    for kind in kinds:
        g = by_kind_gen.get(kind, {})
        unit = {"point": "points", "polygon": "polygons", "line": "lines",
                "raster": "pixels"}[kind]
        sizes = [s.size for s in national.specs if s.kind == kind]
        span = (f"{min(sizes):,}–{max(sizes):,} {'segments' if kind == 'line' else unit}"
                if kind != "raster" else "30″ (~1 km) pixels")
        gen_rows.append([kind, int(g.get("layers", 0)), span, f"{int(g.get('features', 0)):,} "
                         f"{unit}", f"{g.get('bytes', 0) / 1e6:,.0f} MB",
                         float(g.get("seconds", 0.0))])

    phases = fusion["phases"]
    layer_s = fusion["layer_seconds"]
    fuse_rows = []
    for kind in kinds:
        ph = phases.get(kind, {})
        times = [s for name, s in layer_s.items() if fusion["kinds"].get(name) == kind]
        info = stored["by_kind"].get(kind, {})
        fuse_rows.append([kind, len(times), float(sum(times)),
                          float(max(times)) if times else float("nan"),
                          float(ph.get("read", 0)), float(ph.get("plan", 0)),
                          float(ph.get("fuse", 0)), float(ph.get("spill", 0)),
                          float(ph.get("store", 0)), int(info.get("rows", 0))])
    n_values = sum(v["rows"] for v in stored["by_kind"].values())
    bulk_s = float(fusion.get("bulk_seconds", 0.0))

    base_rows = [[r["layer"], f"{r['kind']} ({r['style']})", int(r["features"]), int(r["cells"]),
                  float(r["ours_s"]), float(r["base_s"]), float(r["ratio"]),
                  f"{r['max_rel']:.1e}", f"{r['bad']} of {r['rows']:,}", r["note"]]
                 for r in base]
    refuse_rows = [[spec.name, f"{spec.kind} ({spec.style}), {spec.size:,}" if spec.size
                    else f"{spec.kind} ({spec.style})",
                    f"{len(r['fused'])} fused, {r['skipped']} skipped",
                    float(r["fuse_seconds"]), float(r["process_seconds"])]
                   for spec, r in refuse]
    http_rows = [[k, len(http[k]), _ms(http[k], 50), _ms(http[k], 95), _ms(http[k], 100)]
                 for k in http_cases]

    cmd = "python bench/run.py --only national" + (" --quick" if quick_run else "")
    lines = [
        f"## National twin: {n_layers} SYNTHETIC layers fused at resolution 8 "
        f"(`bench/bench_national.py`)",
        "",
        f"**All layers are SYNTHETIC** (fixed seed {nd.SEED}, `bench/national_data.py`) "
        f"over Vietnam's real territory: the {stored['cells']:,} H3 cells of the land, the "
        "2025 provinces and communes. " + (
            "**Quick mode**: a scaled-down set of 30 layers, for smoke tests; the issue's "
            "goals are for the full 300-layer set." if quick_run else
            "The issue's mix: 150 point, 60 polygon (10 covering the whole land), 30 line "
            "layers and 60 rasters."),
        f"Machine: {cores} cores, {_ram_gb():.0f} GB RAM, load average {loadavg()} at the "
        f"end{_load_remark()}. Command: `{cmd}` ({total} in all).",
        "",
        table(["measure", "value", "goal", "met?"], summary),
        "",
        f"### Generated set ({'from the cache' if man.get('cached') else 'generated now'})",
        "",
        table(["kind", "layers", "sizes", "in all", "files", "generation s"], gen_rows),
        "",
        f"Generated once and cached under `bench/work/cache/` (generation "
        f"{sum(float(g.get('seconds', 0)) for g in by_kind_gen.values()):.0f} s, "
        f"registration as {n_layers} catalogue datasets {man['register_seconds']:.0f} s, "
        f"administrative units {man['admin_seconds']:.0f} s); each run works on a copy.",
        "",
        "### Fusion (`fuse_catalog`, the code path of `vntwin fuse`, in its own process)",
        "",
        f"Wall time {fuse_s:.1f} s in `fuse_catalog` ({fusion['process_seconds']:.1f} s for "
        f"the whole process, {fusion['cpu_seconds']:.0f} s CPU with the workers), "
        f"{fusion.get('workers', 0)} worker processes; peak RSS "
        f"{fusion['peak_rss_mib']:,.0f} MiB (main process "
        f"{fusion.get('main_peak_rss_mib', fusion['peak_rss_mib']):,.0f} MiB + each worker at "
        f"most {fusion.get('worker_peak_rss_mib', 0):,.0f} MiB); territory grid "
        f"{float(fusion.get('grid_seconds', 0)):.1f} s; bulk write of the spilled values "
        f"into the store (`twin.bulk`: a staging table written chunk by chunk, clustered "
        f"by cell as written, then swapped in) "
        f"{bulk_s:.1f} s ({n_values / bulk_s if bulk_s else 0:,.0f} values/s); "
        f"compaction (`TwinStore.compact`) "
        f"{float(fusion.get('compact_seconds', 0)):.1f} s; polygons repaired with "
        f"`make_valid` {sum(fusion.get('repaired', {}).values()):,}. Numba kernels warmed "
        f"beforehand ({warm_s:.1f} s; a first run on an empty numba cache compiles for "
        f"about 20–30 s more). Twin store: {stored['bytes'] / 1e9:.2f} GB, "
        f"{n_values:,} values. Per kind (seconds summed over layers, measured in the "
        f"worker processes, which run at once, so they add up to more than the wall time; "
        f"phases: read "
        f"the file, plan the columns, run the kernel, spill the sorted values to disk, or "
        f"write the store for a layer swapped in alone):",
        "",
        table(["kind", "layers", "total s", "slowest layer s", "read", "plan", "fuse", "spill",
               "store", "values stored"], fuse_rows),
        "",
        f"### Against the GeoPandas baseline ({len(base)}-layer subset, same grid)",
        "",
        "Ours: the fusion kernels on the territory grid, as the fusion runs them. Baseline: "
        "`geopandas.overlay` of the layer with the hexagons (equal-area CRS; "
        "`fuse_reference.overlay_polygons`, shared with `bench_fuse.py`) for polygons, "
        "`geopandas.sjoin` (within) for points, shapely intersection lengths for lines "
        "(compared in the plane; the fusion then rescales to geodesic lengths). The "
        "baseline is given, for free, the hexagons of the cells whose bounding box meets a "
        "feature's (a superset of the cells touched), so its times are a lower bound. "
        "Points: H3 edges are great-circle arcs, the baseline's hexagons straight in "
        "lon/lat, so a point within millimetres of an edge can fall in the neighbour.",
        "",
        table(["layer", "kind", "features", "cells", "ours s", "GeoPandas s", "ratio",
               "max rel diff", "rows off by > 1e-6", "note"], base_rows),
        "",
        "### Re-fusion after one layer changed (new file version, as `vntwin ingest` "
        "stores it)",
        "",
        table(["layer", "kind, size", "run", "fuse_catalog s", "process s"], refuse_rows),
        "",
        "### Queries",
        "",
        table(["query", "n", "p50 ms", "p95 ms", "max ms"],
              [[f"`at_point` (Python, {queries['layers_mean']:.0f} layers with a value on "
                "average)", len(q), _ms(q, 50), _ms(q, 95), _ms(q, 100)], *http_rows]),
        "",
        f"The first `/ogc/collections` listing ({http['collections_n']} collections) took "
        f"{http['collections_s']:.1f} s. HTTP requests go to a `vntwin serve` process on "
        "the bench data dir; items and tiles for random places on land and random layers. "
        f"They start once the re-fusion's writer flag has lapsed (waited "
        f"{http.get('linger_wait_s', 0):.1f} s): for `readers.LINGER_S` (5 s) after a "
        "write, the server opens the twin file for each request instead of sharing one "
        "instance (so that a fusion writing layer by layer keeps its lock), which costs "
        "15–30 ms a request (grid items on this data: 40–60 ms each in the seconds "
        "after a write, 6–12 ms once shared).",
        "",
        "### Where the time goes (single timings, same run)",
        "",
        table(["what", "seconds"], [[label, float(v)] for label, v in http["diagnosis"]]),
        "",
    ]
    return "\n".join(lines)


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return float("nan")
