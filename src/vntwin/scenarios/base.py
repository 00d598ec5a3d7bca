"""The base twin as arrays: cells, their units, and the variables a scenario reads.

Scenarios never write the twin. The base is read once per process into numpy arrays
aligned with the grid (cells sorted by H3 id) and shared, read-only, by every scenario
run in that process; edits copy only the arrays they change (see ``overlay``).

The **twin version** is a fingerprint of what the twin holds (resolution, grid, every
fused layer's own fingerprint): the same version means the same inputs, so a stored
result for the same spec can be reused, and a spec can pin it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from vntwin.errors import VntwinError
from vntwin.scenarios.geo import unit_xyz
from vntwin.scenarios.spec import Area
from vntwin.twin.grid import latlng_to_cells
from vntwin.twin.store import TwinStore

EXTENSIVE_KINDS = ("extensive", "count")


class UnknownVariable(VntwinError):
    """A spec names a variable the twin does not have (or names it ambiguously)."""


@dataclass(frozen=True)
class VarRef:
    """One fused variable of one layer."""

    layer: str
    variable: str
    kind: str
    unit: str | None = None
    canonical: str | None = None

    @property
    def key(self) -> str:
        """``layer:variable``, the unambiguous way to name it in a spec."""
        return f"{self.layer}:{self.variable}"

    @property
    def extensive(self) -> bool:
        """Sums over an area (people, counts, areas)."""
        return self.kind in EXTENSIVE_KINDS


def twin_version(store: TwinStore) -> str:
    """Fingerprint of the twin's content: resolution, grid and fused layers."""
    with store.read() as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        grid = con.execute("SELECT count(*), bit_xor(h3), "
                           "string_agg(DISTINCT commune_code, ',' ORDER BY commune_code) "
                           "FROM cells").fetchone()
        layers = con.execute("SELECT layer, fingerprint, rows FROM layers ORDER BY layer"
                             ).fetchall()
    grid_hash = hashlib.sha256(repr(grid).encode()).hexdigest()
    text = json.dumps([meta.get("res"), grid_hash, [list(r) for r in layers]], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


_CACHE: dict[tuple[str, str], BaseTwin] = {}
_CACHE_LOCK = threading.Lock()


class BaseTwin:
    """The grid and lazily loaded variables of one twin version (read-only arrays)."""

    def __init__(self, store: TwinStore, version: str, res: int, cells: pd.DataFrame,
                 variables: pd.DataFrame, names: dict[str, str] | None = None,
                 layer_kinds: dict[str, str] | None = None) -> None:
        self.store = store
        self.version = version
        self.res = res
        self.h3 = cells["h3"].to_numpy(dtype=np.uint64)
        self.lat = cells["lat"].to_numpy(dtype=np.float64)
        self.lon = cells["lon"].to_numpy(dtype=np.float64)
        prov = pd.Categorical(cells["province_code"].fillna(""))
        comm = pd.Categorical(cells["commune_code"].fillna(""))
        self.province_codes: list[str] = [str(c) for c in prov.categories]
        self.commune_codes: list[str] = [str(c) for c in comm.categories]
        self.province_idx = np.asarray(prov.codes, dtype=np.int32)
        self.commune_idx = np.asarray(comm.codes, dtype=np.int32)
        self.variables = variables
        self.names = names or {}
        self.layer_kinds = layer_kinds or {}
        self._values: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        for array in (self.h3, self.lat, self.lon, self.province_idx, self.commune_idx):
            array.flags.writeable = False

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def load(cls, store: TwinStore, admin_dir: Path | None = None) -> BaseTwin:
        """The base for the twin's current version (cached per process)."""
        version = twin_version(store)
        key = (str(store.path.resolve()), version)
        with _CACHE_LOCK:
            if key in _CACHE:
                return _CACHE[key]
        res = store.resolution()
        with store.read() as con:
            cells = con.execute("SELECT h3, lat, lon, province_code, commune_code FROM cells "
                                "ORDER BY h3").to_arrow_table().to_pandas()
            variables = con.execute("SELECT layer, variable, kind, unit, canonical, weight "
                                    "FROM variables ORDER BY layer, variable"
                                    ).to_arrow_table().to_pandas()
            kinds = dict(con.execute("SELECT layer, kind FROM layers").fetchall())
        if cells.empty or res is None:
            raise VntwinError("the twin has no grid yet: run `vntwin fuse`")
        base = cls(store, version, res, cells, variables, unit_names(admin_dir), kinds)
        with _CACHE_LOCK:
            _CACHE.clear()  # one version per process: an old one is never asked for again
            _CACHE[key] = base
        return base

    @property
    def n(self) -> int:
        """Number of cells."""
        return int(self.h3.size)

    # -- variables -------------------------------------------------------------------------
    def _ref(self, row: Any) -> VarRef:
        return VarRef(str(row.layer), str(row.variable), str(row.kind),
                      None if pd.isna(row.unit) else str(row.unit),
                      None if pd.isna(row.canonical) else str(row.canonical))

    def resolve(self, name: str, *, extensive: bool = False) -> VarRef:
        """The variable a spec means by ``name``.

        ``layer:variable`` names one exactly; a bare name matches a fused variable of that
        name, else the canonical vocabulary id (``population`` finds GeoNames'
        ``population_sum``), preferring extensive ones and, among layers holding the same
        vocabulary variable, the one with values on the most cells. Several layers with the
        same fused name → ambiguous: the error lists the qualified names to choose from.
        """
        table = self.variables
        if ":" in name:
            layer, variable = name.rsplit(":", 1)
            hit = table[(table["layer"] == layer) & (table["variable"] == variable)]
        else:
            hit = table[table["variable"] == name]
            if hit.empty:
                hit = table[table["canonical"] == name]
                if len(hit) > 1:
                    ext = hit[hit["kind"].isin(EXTENSIVE_KINDS)]
                    hit = ext if not ext.empty else hit
                if len(hit) > 1:  # the same vocabulary variable: the most complete layer
                    hit = self._most_cells(hit)
        if extensive and len(hit) > 1:
            ext = hit[hit["kind"].isin(EXTENSIVE_KINDS)]
            hit = ext if not ext.empty else hit
        if len(hit) == 1:
            return self._ref(next(hit.itertuples()))
        if len(hit) > 1:
            choices = ", ".join(f"{r.layer}:{r.variable}" for r in hit.itertuples())
            raise UnknownVariable(f"variable {name!r} is ambiguous: name one of {choices}")
        known = sorted(set(table["variable"]) | set(table["canonical"].dropna()))
        close = difflib.get_close_matches(name.rsplit(":", 1)[-1], known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        if table.empty:
            hint = " (the twin has no fused variables yet)"
        raise UnknownVariable(f"unknown variable {name!r}{hint}")

    def _most_cells(self, hit: pd.DataFrame) -> pd.DataFrame:
        """Of several layers holding the same vocabulary variable, the one with values on
        the most cells (a population grid over a list of towns); ties stay ambiguous.
        """
        counts = []
        with self.store.read() as con:
            for row in hit.itertuples():
                found = con.execute("SELECT count(DISTINCT h3) FROM cell_values WHERE layer = ? "
                                    "AND variable = ?", [row.layer, row.variable]).fetchone()
                counts.append(int(found[0]) if found else 0)
        best = max(counts)
        keep = [i for i, c in enumerate(counts) if c == best]
        return hit.iloc[keep]

    def layer_names(self) -> list[str]:
        """Fused layers holding variables."""
        return sorted(set(self.variables["layer"]))

    def values(self, ref: VarRef) -> np.ndarray:
        """The variable on every cell (latest value; 0 where an extensive variable has
        none, NaN for other kinds). Read-only; cached.
        """
        with self._lock:
            if ref.key in self._values:
                return self._values[ref.key]
        with self.store.read() as con:
            frame = con.execute(
                "SELECT h3, value, valid_time FROM cell_values WHERE layer = ? AND "
                "variable = ?", [ref.layer, ref.variable]).to_arrow_table().to_pandas()
        if frame["valid_time"].notna().any():  # time series: the latest value of each cell
            frame = frame.sort_values(["h3", "valid_time"], ascending=[True, False],
                                      na_position="last", kind="stable")
            frame = frame.drop_duplicates("h3", keep="first")
        fill = 0.0 if ref.extensive or ref.kind == "fraction" else np.nan
        out = np.full(self.n, fill, dtype=np.float64)
        if not frame.empty:
            idx = self.index_of(frame["h3"].to_numpy(dtype=np.uint64))
            ok = idx >= 0
            out[idx[ok]] = frame["value"].to_numpy(dtype=np.float64)[ok]
        out.flags.writeable = False
        with self._lock:
            self._values[ref.key] = out
        return out

    # -- places ----------------------------------------------------------------------------
    def index_of(self, cells: np.ndarray) -> np.ndarray:
        """Position of each cell id in the grid, -1 where it is not in the territory."""
        cells = np.asarray(cells, dtype=np.uint64)
        pos = np.searchsorted(self.h3, cells)
        pos = np.clip(pos, 0, max(self.n - 1, 0))
        found = (self.h3[pos] == cells) if self.n else np.zeros(cells.shape, bool)
        return np.where(found, pos, -1).astype(np.int64)

    def locate(self, lat: np.ndarray | list[float],
               lon: np.ndarray | list[float]) -> np.ndarray:
        """Grid position of each point, -1 outside the territory."""
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        if lat_a.size == 0:
            return np.empty(0, dtype=np.int64)
        return self.index_of(latlng_to_cells(lat_a, lon_a, self.res))

    @cached_property
    def xyz(self) -> np.ndarray:
        """Cell centres as unit vectors (for chord-distance KD-trees)."""
        return unit_xyz(self.lat, self.lon)

    @cached_property
    def tree(self) -> Any:
        """KD-tree over the cell centres (scipy ``cKDTree``)."""
        from scipy.spatial import cKDTree

        return cKDTree(self.xyz)

    def province_index(self, code: str) -> int:
        """Position of a province code, -1 when the twin has no cell there."""
        code = code.zfill(2)
        return self.province_codes.index(code) if code in self.province_codes else -1

    def commune_index(self, code: str) -> int:
        """Position of a commune code, -1 when the twin has no cell there."""
        return self.commune_codes.index(code) if code in self.commune_codes else -1

    def area_mask(self, area: Area) -> np.ndarray:
        """Cells whose centre is in the area."""
        if area.provinces:
            wanted = [self.province_index(c) for c in area.provinces]
            return np.isin(self.province_idx, [w for w in wanted if w >= 0])
        if area.communes:
            wanted = [self.commune_index(c) for c in area.communes]
            return np.isin(self.commune_idx, [w for w in wanted if w >= 0])
        shape = shapely.geometry.shape(area.geometry)
        minx, miny, maxx, maxy = shape.bounds
        box = (self.lon >= minx) & (self.lon <= maxx) & (self.lat >= miny) & (self.lat <= maxy)
        mask = np.zeros(self.n, dtype=bool)
        if box.any():
            shapely.prepare(shape)
            mask[box] = shapely.contains_xy(shape, self.lon[box], self.lat[box])
        return mask

    def unit_name(self, code: str) -> str | None:
        """Name of a province or commune (when the administrative units are cached)."""
        return self.names.get(code)


def unit_names(admin_dir: Path | None) -> dict[str, str]:
    """Names of the provinces and communes from the built administrative-unit cache
    (read only when present: building it is the twin's job, not the scenarios').
    """
    if admin_dir is None:
        return {}
    out: dict[str, str] = {}
    for file in ("admin_provinces.parquet", "admin_communes.parquet"):
        path = admin_dir / file
        if path.exists():
            frame = pd.read_parquet(path, columns=["code", "name"])
            out.update(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))
    return out
