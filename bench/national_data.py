"""The SYNTHETIC national layer set of the 300-layer benchmark (``bench_national.py``).

Everything here is generated (fixed seed) over Vietnam's real territory: the H3 cells of
the land (``AdminUnits.cells(8)``) say where points and lines go, the 2025 province
polygons clip the land-use tilings, the commune centroids and areas make points cluster
like real ones. Nothing pretends to be real data: every dataset is titled and tagged
"SYNTHETIC".

Layers, by kind (the issue's mix; ``quick`` is a scaled-down set of 30):

- points (150): 10k–1M points, log-uniform sizes; 70 % clustered around communes
  (gaussian, spread ~ the commune's size, weights lognormal per layer), 30 % uniform over
  the land cells; an extensive count, an intensive value, a category on a third of them;
- polygons (60): 10 land-use maps covering the whole land (Voronoi tilings of random land
  seeds clipped to the provinces, 1k–50k polygons), 25 regional tilings of 1–4 adjacent
  provinces, 25 layers of small scattered polygons (buildings, ponds: 15 m–1.5 km, some
  with a hole); each with an extensive, an intensive and a categorical column;
- lines (30): 10k–200k segments of random-walk polylines (roads, rivers) from land
  points, with a road-type category;
- rasters (60): float32 GeoTIFFs at 30 arc-seconds (~1 km) over the territory's bounding
  box (islands included), smooth fields; two thirds with nodata over the sea.

Files are written as ingest writes them (GeoParquet: zstd, WKB, bbox covering; GeoTIFF)
into a cache dir, then registered in a catalogue data dir exactly as ``vntwin ingest``
registers layers (one public dataset per layer, a resource with the ``twin_*`` extras).
Both are cached under ``bench/work/cache/`` and reused while the plan is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

from vntwin.twin.admin import AdminUnits

GENERATOR_VERSION = 2  # bump when the generated data changes: caches are rebuilt
# 2: vector files written by vntwin.ingest.write.write_geoparquet (Hilbert order, small
#    row groups), as ingest now stores them
SEED = 20261124
RES = 8
PIXEL = 1 / 120  # 30 arc-seconds, the usual "1 km" grid (SRTM30, WorldPop)
LANDUSE = np.array(["lua", "rung", "do_thi", "mat_nuoc", "cay_lau_nam", "cay_hang_nam",
                    "dat_trong", "cong_nghiep"])
ROADS = np.array(["quoc_lo", "tinh_lo", "huyen_lo", "duong_xa", "duong_do_thi"])
POI = np.array(["truong_hoc", "tram_y_te", "cho", "uy_ban", "buu_dien", "nha_van_hoa"])
KM_PER_DEG = 111.32


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the plan: ``size`` is points, polygons (seeds for tilings) or
    segments; ``style`` the generator variant."""

    name: str
    kind: str  # point, polygon, line, raster
    size: int
    style: str
    seed: int


def _log_sizes(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    """``n`` log-uniform sizes in [lo, hi], the two ends included."""
    sizes = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    if n >= 2:
        sizes[0], sizes[1] = hi, lo
    return [int(round(s, -2)) if s >= 1000 else int(s) for s in sizes]


def plan(quick: bool) -> list[LayerSpec]:
    """The layer list: 150 points, 60 polygons, 30 lines, 60 rasters (quick: 18/6/3/3)."""
    rng = np.random.default_rng(SEED)
    specs: list[LayerSpec] = []

    def add(kind: str, sizes: list[int], style: str) -> None:
        for size in sizes:
            number = sum(s.kind == kind for s in specs) + 1
            specs.append(LayerSpec(f"synth-{kind}-{number:03d}", kind, size, style,
                                   int(rng.integers(2**31))))

    if quick:
        add("point", _log_sizes(rng, 18, 10_000, 100_000), "poi")
        add("polygon", [1_000, 3_000], "landuse")
        add("polygon", _log_sizes(rng, 2, 1_000, 5_000), "regional")
        add("polygon", _log_sizes(rng, 2, 1_000, 5_000), "scattered")
        add("line", _log_sizes(rng, 3, 10_000, 30_000), "roads")
        add("raster", [0] * 3, "field")
    else:
        add("point", _log_sizes(rng, 150, 10_000, 1_000_000), "poi")
        add("polygon", [int(round(s, -2)) for s in np.geomspace(1_000, 47_000, 10)], "landuse")
        add("polygon", _log_sizes(rng, 25, 1_000, 50_000), "regional")
        add("polygon", _log_sizes(rng, 25, 1_000, 50_000), "scattered")
        add("line", _log_sizes(rng, 30, 10_000, 200_000), "roads")
        add("raster", [0] * 60, "field")
    return specs


def plan_key(specs: list[LayerSpec]) -> str:
    """What the cached files depend on."""
    text = json.dumps([GENERATOR_VERSION, RES, [asdict(s) for s in specs]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- the territory ---------------------------------------------------------------------------
class Land:
    """Where land is: the territory's H3 cells, the communes and the provinces."""

    def __init__(self, admin: AdminUnits) -> None:
        cells = admin.cells(RES)
        self.cell_lat = cells["lat"].to_numpy()
        self.cell_lon = cells["lon"].to_numpy()
        self.cell_province = cells["province_code"].to_numpy()
        com = admin.communes
        self.com_lat = com["lat"].to_numpy(float)
        self.com_lon = com["lon"].to_numpy(float)
        area = com["area_km2"].fillna(com["polygon_area_km2"]).to_numpy(float)
        area = np.where(np.isfinite(area), area, np.nanmedian(area))
        self.com_km = np.sqrt(area.clip(0.5, None))
        prov = admin.provinces
        self.province_codes = prov["code"].to_numpy()
        self.province_geoms = prov.geometry.to_numpy()
        cent = shapely.centroid(self.province_geoms)
        self.province_xy = np.c_[shapely.get_x(cent), shapely.get_y(cent)]
        west, south, east, north = prov.total_bounds
        # snapped outwards to the pixel grid
        self.bounds = (np.floor(west / PIXEL) * PIXEL, np.floor(south / PIXEL) * PIXEL,
                       np.ceil(east / PIXEL) * PIXEL, np.ceil(north / PIXEL) * PIXEL)

    def points(self, n: int, rng: np.random.Generator, clustered: float = 0.7,
               cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points (lon, lat): a share around communes, the rest uniform over land
        cells (of ``cells`` rows when given, and then all uniform)."""
        if cells is not None:
            clustered = 0.0
        nc = int(rng.binomial(n, clustered))
        weight = rng.lognormal(0.0, 1.2, len(self.com_lat))
        com = rng.choice(len(self.com_lat), nc, p=weight / weight.sum())
        spread = self.com_km[com] / 2.5 / KM_PER_DEG
        lat_c = self.com_lat[com] + rng.normal(0, 1, nc) * spread
        lon_c = self.com_lon[com] + rng.normal(0, 1, nc) * spread / np.cos(np.radians(lat_c))
        pool = np.arange(len(self.cell_lat)) if cells is None else cells
        pick = pool[rng.integers(0, len(pool), n - nc)]
        lat_u = self.cell_lat[pick] + rng.uniform(-0.004, 0.004, n - nc)
        lon_u = self.cell_lon[pick] + rng.uniform(-0.0045, 0.0045, n - nc)
        lon, lat = np.r_[lon_c, lon_u], np.r_[lat_c, lat_u]
        order = rng.permutation(n)
        return lon[order], lat[order]

    def near_provinces(self, rng: np.random.Generator) -> np.ndarray:
        """1–4 neighbouring provinces (rows), for a regional layer."""
        first = rng.integers(len(self.province_codes))
        dist = np.hypot(*(self.province_xy - self.province_xy[first]).T)
        return np.argsort(dist)[: rng.integers(1, 5)]


# -- generators ------------------------------------------------------------------------------
def _points(land: Land, spec: LayerSpec, rng: np.random.Generator) -> gpd.GeoDataFrame:
    lon, lat = land.points(spec.size, rng)
    n = spec.size
    data: dict[str, Any] = {
        "so_luong": rng.poisson(rng.uniform(1, 50), n).astype(np.int64),
        "gia_tri": rng.lognormal(rng.uniform(0, 4), 0.8, n),
    }
    if rng.random() < 1 / 3:
        data["loai"] = POI[rng.integers(0, len(POI), n)]
    return gpd.GeoDataFrame(data, geometry=shapely.points(lon, lat), crs=4326)


def _tiling(land: Land, n: int, rng: np.random.Generator,
            provinces: np.ndarray | None) -> np.ndarray:
    """Voronoi cells of ``n`` random land seeds, clipped to the provinces (all, or the
    given rows): a tiling of that land, pieces on province boundaries kept apart."""
    rows = np.arange(len(land.province_codes)) if provinces is None else provinces
    codes = land.province_codes[rows]
    cells = np.flatnonzero(np.isin(land.cell_province, codes))
    lon, lat = land.points(n, rng, cells=cells)
    geoms = land.province_geoms[rows]
    frame = shapely.box(*shapely.total_bounds(geoms)).buffer(0.1)
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(np.c_[lon, lat]),
                                                     extend_to=frame))
    tree = shapely.STRtree(vor)
    pieces = []
    for geom in geoms:
        shapely.prepare(geom)
        idx = tree.query(geom, predicate="intersects")
        inside = shapely.contains_properly(geom, vor[idx])
        pieces.append(vor[idx[inside]])
        cut = shapely.intersection(vor[idx[~inside]], geom)
        cut = np.array([_polygonal(g) for g in cut], dtype=object)
        pieces.append(cut[~shapely.is_empty(cut)])
    return np.concatenate(pieces)


def _polygonal(geom: Any) -> Any:
    """The polygonal part of an intersection (lines and points of contact dropped)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _star_polygons(lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray,
                   rng: np.random.Generator, holes: bool) -> np.ndarray:
    """Irregular star-shaped octagons (always valid), optionally with a hole."""
    n, k = len(lon), 8
    angle = 2 * np.pi * (np.arange(k) + rng.uniform(-0.3, 0.3, (n, k))) / k
    r = radius_m[:, None] * rng.uniform(0.6, 1.3, (n, k)) / 1000 / KM_PER_DEG
    x = lon[:, None] + r * np.cos(angle) / np.cos(np.radians(lat))[:, None]
    y = lat[:, None] + r * np.sin(angle)
    ring = np.stack([np.c_[x, x[:, :1]], np.c_[y, y[:, :1]]], axis=-1)
    if not holes:
        return shapely.polygons(ring)
    inner = np.stack([lon[:, None] + (ring[..., 0] - lon[:, None]) * 0.3,
                      lat[:, None] + (ring[..., 1] - lat[:, None]) * 0.3], axis=-1)[:, ::-1]
    return shapely.polygons(ring, holes=shapely.linearrings(inner)[:, None])


def _polygons(land: Land, spec: LayerSpec, rng: np.random.Generator) -> gpd.GeoDataFrame:
    if spec.style == "landuse":
        geoms = _tiling(land, spec.size, rng, None)
    elif spec.style == "regional":
        geoms = _tiling(land, spec.size, rng, land.near_provinces(rng))
    else:
        lon, lat = land.points(spec.size, rng, clustered=0.8)
        radius = rng.lognormal(np.log(80), 0.8, spec.size).clip(15, 1500)
        hole = rng.random(spec.size) < 0.15
        geoms = np.empty(spec.size, dtype=object)
        geoms[~hole] = _star_polygons(lon[~hole], lat[~hole], radius[~hole], rng, False)
        geoms[hole] = _star_polygons(lon[hole], lat[hole], radius[hole], rng, True)
    n = len(geoms)
    return gpd.GeoDataFrame({
        "dan_so": rng.poisson(rng.uniform(10, 2000), n).astype(float),
        "mat_do": rng.lognormal(2, 1, n),
        "loai_dat": LANDUSE[rng.integers(0, len(LANDUSE), n)],
    }, geometry=geoms, crs=4326)


def _lines(land: Land, spec: LayerSpec, rng: np.random.Generator) -> gpd.GeoDataFrame:
    segs = []
    total = 0
    while total < spec.size:  # segments per polyline, until the layer has its segments
        m = rng.integers(2, 26, 10_000)
        segs.append(m)
        total += int(m.sum())
    per_line = np.concatenate(segs)
    per_line = per_line[: np.searchsorted(np.cumsum(per_line), spec.size) + 1]
    per_line[-1] -= int(per_line.sum()) - spec.size
    per_line = per_line[per_line > 0]
    nl, ns = len(per_line), int(per_line.sum())
    lon0, lat0 = land.points(nl, rng)
    line_of_seg = np.repeat(np.arange(nl), per_line)
    step = rng.lognormal(np.log(250), 0.6, ns) / 1000 / KM_PER_DEG
    turn = rng.normal(0, 0.35, ns)
    turn[np.r_[0, np.cumsum(per_line)[:-1]]] = rng.uniform(0, 2 * np.pi, nl)
    heading = _cumsum_by_group(turn, per_line)
    dlat = step * np.sin(heading)
    dlon = step * np.cos(heading) / np.cos(np.radians(lat0[line_of_seg]))
    lat = lat0[line_of_seg] + _cumsum_by_group(dlat, per_line)
    lon = lon0[line_of_seg] + _cumsum_by_group(dlon, per_line)
    # vertices: each line's start, then the end of each of its segments
    first = np.r_[0, np.cumsum(per_line + 1)[:-1]]
    vx = np.empty(ns + nl)
    vy = np.empty(ns + nl)
    is_first = np.zeros(ns + nl, bool)
    is_first[first] = True
    vx[first], vy[first] = lon0, lat0
    vx[~is_first], vy[~is_first] = lon, lat
    geoms = shapely.linestrings(vx, vy, indices=np.repeat(np.arange(nl), per_line + 1))
    return gpd.GeoDataFrame({"loai_duong": ROADS[rng.integers(0, len(ROADS), nl)]},
                            geometry=geoms, crs=4326)


def _cumsum_by_group(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Running sums restarting at each group of ``sizes`` consecutive values."""
    total = np.cumsum(values)
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    before = np.r_[0.0, total][start]
    return total - np.repeat(before, sizes)


def _raster(land: Land, spec: LayerSpec, rng: np.random.Generator, mask: np.ndarray,
            path: Path) -> dict[str, Any]:
    west, south, east, north = land.bounds
    h, w = mask.shape
    x = west + (np.arange(w) + 0.5) * PIXEL
    y = north - (np.arange(h) + 0.5) * PIXEL
    field = np.zeros((h, w), np.float32)
    for _ in range(12):  # separable gaussian bumps: cheap smooth fields
        cx, cy = rng.uniform(west, east), rng.uniform(south, north)
        sx, sy = rng.uniform(0.2, 2.5, 2)
        gx = np.exp(-0.5 * ((x - cx) / sx) ** 2).astype(np.float32)
        gy = np.exp(-0.5 * ((y - cy) / sy) ** 2).astype(np.float32)
        field += np.float32(rng.uniform(5, 100)) * np.outer(gy, gx)
    field += np.float32(rng.uniform(-1, 1)) * ((y - south) / (north - south))[:, None].astype(
        np.float32) * 20
    field += rng.normal(0, 0.5, (h, w)).astype(np.float32)
    nodata = -9999.0
    masked = rng.random() < 2 / 3
    if masked:
        field[~mask] = nodata
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=nodata,
                       transform=from_origin(west, north, PIXEL, PIXEL), compress="deflate",
                       predictor=3, tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(field, 1)
        dst.set_band_description(1, "gia_tri")
    return {"masked": masked}


def land_mask(land: Land) -> np.ndarray:
    """Pixels touching a province (the rasters' valid area when they have nodata)."""
    west, south, east, north = land.bounds
    w, h = round((east - west) / PIXEL), round((north - south) / PIXEL)
    return rasterio.features.rasterize(
        [(g, 1) for g in land.province_geoms], out_shape=(h, w),
        transform=from_origin(west, north, PIXEL, PIXEL), all_touched=True,
        dtype="uint8").astype(bool)


# -- files and catalogue ---------------------------------------------------------------------
@dataclass
class NationalSet:
    """The generated set: its files, the registered data dir, and what it took."""

    specs: list[LayerSpec]
    root: Path
    data_dir: Path
    admin_dir: Path
    manifest: dict[str, Any]

    def path(self, spec: LayerSpec) -> Path:
        """The generated file of a layer."""
        return self.root / "files" / f"{spec.name}{'.tif' if spec.kind == 'raster' else '.parquet'}"


DECLARED = {  # how each kind's columns fuse, declared as a data owner would
    "point": {"twin_extensive": "so_luong", "twin_intensive": "gia_tri",
              "twin_categorical": "loai"},
    "polygon": {"twin_extensive": "dan_so", "twin_intensive": "mat_do",
                "twin_categorical": "loai_dat"},
    "line": {"twin_categorical": "loai_duong"},
    "raster": {},
}


def _write_vector(frame: gpd.GeoDataFrame, path: Path) -> None:
    # as vntwin ingest writes a layer: what the twin reads after ingest
    from vntwin.ingest.write import write_geoparquet

    tmp = path.with_suffix(".tmp")
    write_geoparquet(frame, tmp)
    os.replace(tmp, path)


def generate(root: Path, specs: list[LayerSpec], admin: AdminUnits,
             log: Any = print) -> dict[str, Any]:
    """Write every layer's file under ``root/files``; returns counts and seconds per kind."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    land = Land(admin)
    mask = land_mask(land)
    stats: dict[str, dict[str, float]] = {}
    layers: dict[str, dict[str, Any]] = {}
    for number, spec in enumerate(specs, 1):
        started = time.perf_counter()
        rng = np.random.default_rng(spec.seed)
        target = files / f"{spec.name}{'.tif' if spec.kind == 'raster' else '.parquet'}"
        info: dict[str, Any] = {"kind": spec.kind, "style": spec.style}
        if spec.kind == "raster":
            tmp = target.with_suffix(".tmp.tif")
            info.update(_raster(land, spec, rng, mask, tmp))
            os.replace(tmp, target)
            info["features"] = int(mask.size)
        else:
            make = {"point": _points, "polygon": _polygons, "line": _lines}[spec.kind]
            frame = make(land, spec, rng)
            _write_vector(frame, target)
            info["features"] = len(frame)
            if spec.kind == "line":
                info["segments"] = int(shapely.get_num_coordinates(frame.geometry.values).sum()
                                       - len(frame))
        info["bytes"] = target.stat().st_size
        layers[spec.name] = info
        s = stats.setdefault(spec.kind, {"layers": 0, "features": 0, "bytes": 0, "seconds": 0.0})
        s["layers"] += 1
        s["features"] += info["features"]
        s["bytes"] += info["bytes"]
        s["seconds"] += time.perf_counter() - started
        if number % 25 == 0 or number == len(specs):
            log(f"  generated {number}/{len(specs)} layers")
    return {"layers": layers, "by_kind": stats}


def register(data_dir: Path, admin_dir: Path, specs: list[LayerSpec], files: Path) -> float:
    """A catalogue in ``data_dir`` with one public dataset per layer, its file a resource
    carrying the ``twin_*`` extras ``vntwin ingest`` writes; returns the seconds taken."""
    from vntwin.catalog import groups, packages, resources
    from vntwin.catalog.resources import store_file
    from vntwin.catalog.service import Catalog
    from vntwin.catalog.users import SYSTEM
    from vntwin.testing import make_settings
    from vntwin.twin.ingest_catalog import LAYER_FORMATS, VECTOR_FORMAT

    started = time.perf_counter()
    cat = Catalog(make_settings(data_dir, None, admin_cache_dir=admin_dir))
    try:
        groups.group_create(cat, SYSTEM, {"name": "synthetic-bench",
                                          "title": "SYNTHETIC — dữ liệu sinh cho benchmark"},
                            organization=True)
        for spec in specs:
            path = files / f"{spec.name}{'.tif' if spec.kind == 'raster' else '.parquet'}"
            fmt, mimetype, _ = LAYER_FORMATS.get(spec.kind, VECTOR_FORMAT)
            pkg = packages.create(cat, SYSTEM, {
                "name": spec.name, "owner_org": "synthetic-bench",
                "title": f"SYNTHETIC {spec.kind} layer {spec.name} (benchmark, not real data)",
                "notes": "SYNTHETIC: generated with a fixed seed by bench/national_data.py over "
                         "Vietnam's territory for the 300-layer fusion benchmark. Not real data.",
                "tags": ["synthetic", "benchmark"], "access_level": "public"})
            extras = {"twin_layer": spec.name, "twin_kind": spec.kind,
                      "twin_report": "SYNTHETIC benchmark layer",
                      **DECLARED[spec.kind]}
            if spec.kind == "point" and not _has_column(path, "loai"):
                extras.pop("twin_categorical")
            resources.create(cat, SYSTEM, {"package_id": pkg["id"], "format": fmt,
                                           "mimetype": mimetype,
                                           "name": f"{spec.name} ({spec.kind})", **extras},
                             store_file(cat, path, path.name))
    finally:
        cat.close()
    return time.perf_counter() - started


def _has_column(path: Path, column: str) -> bool:
    import pyarrow.parquet as pq

    return column in pq.read_schema(path).names


def ensure(cache: Path, quick: bool, log: Any = print) -> NationalSet:
    """The generated, registered set for this plan, from the cache or built now."""
    specs = plan(quick)
    admin_dir = cache / "admin"
    root = cache / f"national-{'quick' if quick else 'full'}-{plan_key(specs)}"
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        manifest["cached"] = True
        return NationalSet(specs, root, root / "data", admin_dir, manifest)
    for old in cache.glob(f"national-{'quick' if quick else 'full'}-*"):
        shutil.rmtree(old, ignore_errors=True)  # an earlier plan's files
    started = time.perf_counter()
    admin = AdminUnits.load(admin_dir)
    admin.cells(RES)
    admin_seconds = time.perf_counter() - started
    log(f"  generating {len(specs)} SYNTHETIC layers in {root} ...")
    generated = generate(root, specs, admin, log)
    log("  registering them in a catalogue ...")
    register_seconds = register(root / "data", admin_dir, specs, root / "files")
    manifest = {**generated, "admin_seconds": admin_seconds,
                "register_seconds": register_seconds,
                "total_seconds": time.perf_counter() - started, "seed": SEED,
                "generator_version": GENERATOR_VERSION}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    manifest["cached"] = False
    return NationalSet(specs, root, root / "data", admin_dir, manifest)


def working_copy(national: NationalSet, target: Path) -> Path:
    """A private data dir for one run: the catalogue copied, the immutable uploads
    hard-linked (so the cached set is never changed by a run)."""
    def link(src: str, dst: str) -> None:
        if "/uploads/" in src:
            try:
                os.link(src, dst)
                return
            except OSError:
                pass
        shutil.copy2(src, dst)

    shutil.copytree(national.data_dir, target, copy_function=link)
    return target
