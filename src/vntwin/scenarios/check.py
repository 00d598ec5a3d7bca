"""Checking a spec against the twin, and gathering its inputs, before any work starts.

Every problem is collected (not just the first) and reported at its spec line: unknown
variables and unit codes, polygons or points outside the territory, ``k`` larger than
the candidates, facility ids that do not exist, contradictions (moving or removing a
facility removed earlier, adding an id twice) and cycles (moving a variable into its own
area, or back and forth between two areas). What passes is a :class:`Prepared`
scenario: the spec plus the facilities and candidate sites read from the catalogue, and
the key its result is stored under.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vntwin.catalog.auth import Actor
from vntwin.catalog.service import Catalog
from vntwin.scenarios import sqlexpr
from vntwin.scenarios.base import EXTENSIVE_KINDS, BaseTwin, UnknownVariable
from vntwin.scenarios.inputs import (
    FACILITY_COLUMNS,
    InputError,
    PointReader,
    column,
    empty_facilities,
    filter_rows,
)
from vntwin.scenarios.loader import Issue, LoadedSpec, PathKey, SpecError
from vntwin.scenarios.spec import (
    Accessibility,
    AddFacilities,
    AddTowers,
    Area,
    Candidates,
    Coverage,
    Custom,
    Exposure,
    LandUse,
    MoveFacility,
    PerCapita,
    RemoveFacilities,
    ScaleEdit,
)

SPECIAL_COLUMNS = ("cells",)
MAX_CANDIDATES = 20_000
FACILITY_PREFIXES = ("facilities_", "capacity_")


@dataclass
class Prepared:
    """A checked scenario with everything it reads, ready to run in any process."""

    loaded: LoadedSpec
    twin_version: str
    facilities: pd.DataFrame
    candidates: dict[str, pd.DataFrame]
    inputs: dict[str, str] = field(default_factory=dict)  # what was read -> sha256
    notes: list[str] = field(default_factory=list)

    @functools.cached_property
    def key(self) -> str:
        """What the result depends on: spec, twin version and input files."""
        text = json.dumps([self.loaded.spec.spec_hash(), self.twin_version,
                           sorted(self.inputs.items())])
        return hashlib.sha256(text.encode()).hexdigest()


class _Checker:
    def __init__(self, base: BaseTwin, loaded: LoadedSpec, reader: PointReader | None) -> None:
        self.base = base
        self.loaded = loaded
        self.reader = reader
        self.issues: list[Issue] = []
        self.inputs: dict[str, str] = {}
        self.notes: list[str] = []

    def fail(self, path: PathKey, message: str) -> None:
        self.issues.append(self.loaded.issue(path, message))

    def variable(self, path: PathKey, name: str, *, extensive: bool = False) -> None:
        try:
            ref = self.base.resolve(name, extensive=extensive)
        except UnknownVariable as exc:
            self.fail(path, exc.message)
            return
        if extensive and not ref.extensive:
            self.fail(path, f"{ref.key} is {ref.kind}, not a quantity that can be moved "
                            "or counted (people, jobs, area)")

    def area(self, path: PathKey, area: Area | None) -> np.ndarray | None:
        if area is None:
            return None
        for key, finder in (("provinces", self.base.province_index),
                            ("communes", self.base.commune_index)):
            for i, code in enumerate(getattr(area, key) or []):
                if finder(code) < 0:
                    self.fail((*path, key, i), f"unknown {key[:-1]} code {code!r} (no cell "
                                               "of the twin has it)")
        mask = self.base.area_mask(area)
        if area.geometry is not None and not mask.any():
            self.fail((*path, "geometry"), "the polygon lies outside the territory (no cell "
                                           "centre of the twin inside it)")
        return mask

    def points_inside(self, path: PathKey, lat: list[float], lon: list[float],
                      what: str, *, indexed: bool = True) -> None:
        where = self.base.locate(lat, lon)
        for i in np.flatnonzero(where < 0):
            self.fail((*path, int(i)) if indexed else path,
                      f"{what} at {lat[i]:.5f}, {lon[i]:.5f} is outside the territory")

    # -- facilities ------------------------------------------------------------------------
    def facilities(self) -> pd.DataFrame:
        frames = [empty_facilities()]
        for i, source in enumerate(self.loaded.spec.facilities):
            path: PathKey = ("facilities", i)
            if source.points is not None:
                rows = [p.model_dump() | {"type": source.type, "origin": "spec"}
                        for p in source.points]
                for j, p in enumerate(source.points):
                    if p.type != source.type:
                        self.fail((*path, "points", j, "type"),
                                  f"type {p.type!r} differs from the source's {source.type!r}")
                self.points_inside((*path, "points"), [p.lat for p in source.points],
                                   [p.lon for p in source.points], "facility")
                frames.append(pd.DataFrame(rows))
                continue
            if self.reader is None:
                self.fail(path, "layers and datasets need the catalogue")
                continue
            try:
                table = (self.reader.layer(source.layer) if source.layer
                         else self.reader.dataset(str(source.dataset), source.resource))
                rows_frame = filter_rows(table.frame, source.where, table.label)
                ids = column(rows_frame, source.id_column, table.label)
                names = column(rows_frame, source.name_column, table.label)
                caps = column(rows_frame, source.capacity_column, table.label)
            except InputError as exc:
                self.fail((*path, "layer" if source.layer else "dataset"), exc.message)
                continue
            except Exception as exc:  # a reader's error on a bad file
                self.fail((*path, "dataset"), str(getattr(exc, "message", exc)))
                continue
            self.inputs[table.label] = table.sha256
            frame = pd.DataFrame({
                "id": ids.astype(str).to_numpy() if ids is not None
                else [f"{source.type}-{n}" for n in range(1, len(rows_frame) + 1)],
                "type": source.type,
                "lat": rows_frame["__lat"].to_numpy(), "lon": rows_frame["__lon"].to_numpy(),
                "capacity": pd.to_numeric(caps, errors="coerce").fillna(0).to_numpy()
                if caps is not None else source.capacity,
                "radius_km": source.radius_km,
                "name": names.astype(str).to_numpy() if names is not None else None,
                "origin": table.label})
            inside = self.base.locate(frame["lat"], frame["lon"]) >= 0
            if not inside.all():
                self.notes.append(f"facilities[{i}]: {int((~inside).sum())} of {len(frame)} "
                                  f"points of {table.label} lie outside the territory and are "
                                  "left out")
            if frame.empty or not inside.any():
                self.fail(path, f"no {source.type} point left in {table.label} (check where)")
            frames.append(frame[inside])
        out = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
        out = out[FACILITY_COLUMNS]
        dup = out["id"][out["id"].duplicated()].unique()
        if len(dup):
            self.fail(("facilities",), f"facility ids used twice: {', '.join(map(str, dup[:5]))}"
                                       " (set id_column, or give unique ids)")
        return out

    # -- edits -----------------------------------------------------------------------------
    def edits(self, facilities: pd.DataFrame) -> dict[str, set[str]]:
        """Replays the edits on the set of facility ids; returns the facility types known
        after them (type -> ids).
        """
        alive = dict(zip(facilities["id"], facilities["type"], strict=True))
        removed: dict[str, int] = {}
        moves: list[tuple[int, str, np.ndarray, np.ndarray]] = []
        for i, edit in enumerate(self.loaded.spec.edits):
            path: PathKey = ("edits", i)
            if isinstance(edit, ScaleEdit):
                self.variable((*path, "variable"), edit.variable)
                self.area((*path, "area"), edit.area)
            elif isinstance(edit, AddFacilities | AddTowers):
                if isinstance(edit, AddFacilities):
                    key = "facilities"
                    items = [(f.id, f.type, f.lat, f.lon) for f in edit.facilities]
                else:
                    key = "towers"
                    items = [(t.id, edit.tower_type, t.lat, t.lon) for t in edit.towers]
                self.points_inside((*path, key), [p[2] for p in items],
                                   [p[3] for p in items], "facility")
                for j, (fid, kind, _, _) in enumerate(items):
                    if fid in alive:
                        self.fail((*path, key, j, "id"), f"facility {fid!r} already exists")
                    alive[fid] = kind
                    removed.pop(fid, None)
            elif isinstance(edit, MoveFacility):
                self._exists(path, edit.id, alive, removed, "move")
                self.points_inside((*path, "lat"), [edit.lat], [edit.lon], "new place",
                                   indexed=False)
            elif isinstance(edit, RemoveFacilities):
                if edit.ids:
                    for j, fid in enumerate(edit.ids):
                        if self._exists((*path, "ids", j), fid, alive, removed, "remove"):
                            del alive[fid]
                            removed[fid] = i
                else:
                    self.area((*path, "area"), edit.area)
                    if edit.facility_type not in alive.values():
                        self.fail((*path, "facility_type"),
                                  f"no facility of type {edit.facility_type!r} to remove")
            elif isinstance(edit, LandUse):
                source = self.area((*path, "area"), edit.area)
                for name in edit.set:
                    self.variable((*path, "set", name), name)
                for j, move in enumerate(edit.move):
                    self.variable((*path, "move", j, "variable"), move.variable, extensive=True)
                    target = self.area((*path, "move", j, "to"), move.to)
                    if source is not None and target is not None:
                        if (source & target).any():
                            self.fail((*path, "move", j, "to"),
                                      "cycle: the destination overlaps the area moved from")
                        moves.append((i, move.variable, source, target))
        for a, (i, var, src, dst) in enumerate(moves):
            for j, var2, src2, dst2 in moves[a + 1:]:
                if var == var2 and (src & dst2).any() and (dst & src2).any():
                    self.fail(("edits", j), f"cycle: edits[{i}] and edits[{j}] move {var} "
                                            "back and forth between the same areas; give "
                                            "one net move")
        types: dict[str, set[str]] = {}
        for fid, kind in alive.items():
            types.setdefault(kind, set()).add(fid)
        return types

    def _exists(self, path: PathKey, fid: str, alive: dict[str, str],
                removed: dict[str, int], verb: str) -> bool:
        if fid in alive:
            return True
        if fid in removed:
            self.fail(path, f"contradiction: facility {fid!r} was removed by "
                            f"edits[{removed[fid]}], it cannot {verb} again"
                      if verb == "remove" else
                      f"contradiction: facility {fid!r} was removed by edits[{removed[fid]}]")
        else:
            self.fail(path, f"no facility with id {fid!r} (existing or added earlier)")
        return False

    # -- optimisation ----------------------------------------------------------------------
    def candidates(self, i: int, cand: Candidates, k: int) -> pd.DataFrame | None:
        path: PathKey = ("optimise", i, "candidates")
        frame: pd.DataFrame | None = None
        if cand.points is not None:
            self.points_inside((*path, "points"), [p.lat for p in cand.points],
                               [p.lon for p in cand.points], "candidate")
            frame = pd.DataFrame([p.model_dump() for p in cand.points])
        elif cand.layer is not None:
            if self.reader is None:
                self.fail((*path, "layer"), "layers need the catalogue")
                return None
            try:
                table = self.reader.layer(cand.layer)
                rows = filter_rows(table.frame, cand.where, table.label)
                ids = column(rows, cand.id_column, table.label)
            except InputError as exc:
                self.fail((*path, "layer"), exc.message)
                return None
            self.inputs[table.label] = table.sha256
            frame = pd.DataFrame({
                "id": ids.astype(str).to_numpy() if ids is not None
                else [f"{cand.layer}-{n}" for n in range(1, len(rows) + 1)],
                "lat": rows["__lat"].to_numpy(), "lon": rows["__lon"].to_numpy()})
            frame = frame[self.base.locate(frame["lat"], frame["lon"]) >= 0]
        else:
            name = cand.variable or self.loaded.spec.population
            try:
                ref = self.base.resolve(name, extensive=True)
            except UnknownVariable as exc:
                self.fail((*path, "variable"), exc.message)
                return None
            mask = self.area((*path, "area"), cand.area)
            values = np.nan_to_num(self.base.values(ref))
            pick = np.flatnonzero((values > 0) & (mask if mask is not None else True))
            order = pick[np.lexsort((self.base.h3[pick], -values[pick]))]
            if cand.top:
                order = order[: cand.top]
            frame = pd.DataFrame({"id": [format(int(c), "x") for c in self.base.h3[order]],
                                  "lat": self.base.lat[order], "lon": self.base.lon[order]})
        if frame is not None:
            if frame["id"].duplicated().any():
                self.fail(path, "candidate ids are not unique (set id_column)")
            if len(frame) < k:
                self.fail(("optimise", i, "k"), f"k = {k} is larger than the {len(frame)} "
                                                "candidate sites")
            if len(frame) > MAX_CANDIDATES:
                self.fail(path, f"{len(frame):,} candidate sites: at most {MAX_CANDIDATES:,} "
                                "(use top, where or a smaller area)")
        return frame

    # -- indicators ------------------------------------------------------------------------
    def indicators(self, types: dict[str, set[str]], opt_types: set[str]) -> None:
        known = set(types) | opt_types
        for i, ind in enumerate(self.loaded.spec.indicators):
            path: PathKey = ("indicators", i)
            if isinstance(ind, Custom) and ind.area is not None:
                self.fail((*path, "area"), "custom indicators take no area: filter in the "
                                           "expression (FILTER (WHERE ...))")
            else:
                self.area((*path, "area"), ind.area)
            if isinstance(ind, Accessibility | Coverage) or (
                    isinstance(ind, PerCapita) and ind.facility_type):
                ftype = ind.facility_type
                if ftype not in known:
                    self.fail((*path, "facility_type"),
                              f"no facility of type {ftype!r} in the base, the edits or the "
                              f"optimisations (types: {', '.join(sorted(known)) or 'none'})")
            if isinstance(ind, PerCapita) and ind.variable:
                self.variable((*path, "variable"), ind.variable)
            if isinstance(ind, Exposure):
                hz = ind.hazard
                if hz.area is not None:
                    self.area((*path, "hazard", "area"), hz.area)
                elif hz.layer is not None and hz.layer not in self.base.layer_names():
                    self.fail((*path, "hazard", "layer"), f"no fused layer {hz.layer!r}")
                else:
                    name = hz.variable or "coverage"
                    self.variable((*path, "hazard", "variable" if hz.variable else "layer"),
                                  f"{hz.layer}:{name}" if hz.layer else name)
            if isinstance(ind, Custom):
                self.custom(path, ind.expression)

    def custom(self, path: PathKey, expression: str) -> None:
        try:
            parsed = sqlexpr.parse(expression)
        except sqlexpr.UnsafeExpression as exc:
            self.fail((*path, "expression"), exc.message)
            return
        for name in parsed.columns:
            if name in SPECIAL_COLUMNS or name.startswith(FACILITY_PREFIXES):
                continue
            self.variable((*path, "expression"), name)
        try:
            sqlexpr.dry_run(parsed)
        except sqlexpr.UnsafeExpression as exc:
            self.fail((*path, "expression"), exc.message)


def prepare(base: BaseTwin, loaded: LoadedSpec, cat: Catalog | None = None,
            actor: Actor | None = None, reader: PointReader | None = None) -> Prepared:
    """Check a spec against the twin and read its inputs; :class:`SpecError` otherwise."""
    if reader is None and cat is not None and actor is not None:
        reader = PointReader(cat, actor)
    spec = loaded.spec
    checker = _Checker(base, loaded, reader)
    pin = spec.base.twin_version
    if pin and not base.version.startswith(pin):
        checker.fail(("base", "twin_version"),
                     f"the twin changed: it is version {base.version}, the spec pins {pin}")
    checker.variable(("population",), spec.population, extensive=True)
    table = base.variables
    same = table[(table["canonical"] == spec.population) & (table["variable"] != spec.population)
                 & table["kind"].isin(EXTENSIVE_KINDS)]
    if len(same) > 1 and not checker.issues and ":" not in spec.population:
        chosen = base.resolve(spec.population, extensive=True)
        checker.notes.append(f"population: {chosen.key}, the layer with values on the most "
                             f"cells of {len(same)} holding {spec.population!r} (name one as "
                             "layer:variable to choose)")
    facilities = checker.facilities()
    types = checker.edits(facilities)
    candidates: dict[str, pd.DataFrame] = {}
    for i, opt in enumerate(spec.optimise):
        frame = checker.candidates(i, opt.candidates, opt.k)
        checker.area(("optimise", i, "area"), opt.area)
        if frame is not None:
            candidates[opt.id] = frame.reset_index(drop=True)
    checker.indicators(types, {o.facility_type for o in spec.optimise})
    if checker.issues:
        raise SpecError(checker.issues)
    return Prepared(loaded, base.version, facilities.reset_index(drop=True), candidates,
                    checker.inputs, checker.notes)


def prepare_many(base: BaseTwin, loaded: list[LoadedSpec], cat: Catalog | None = None,
                 actor: Actor | None = None) -> list[Prepared]:
    """Every spec of a batch checked; one :class:`SpecError` with all the issues."""
    reader = PointReader(cat, actor) if cat is not None and actor is not None else None
    out: list[Prepared] = []
    issues: list[Issue] = []
    for item in loaded:
        try:
            out.append(prepare(base, item, reader=reader))
        except SpecError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SpecError(issues)
    return out

