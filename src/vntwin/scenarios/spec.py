"""The scenario spec: what a planner writes (YAML or JSON), as pydantic models.

A scenario is an overlay on a base twin: a list of **edits** (scale a variable in an
area, add/move/remove facilities, change land use, add network towers), optional
**optimisations** (choose k new sites by maximal covering or p-median) and the
**indicators** to report (accessibility, coverage, per-capita ratios, exposure, custom
SQL). Edits never touch the base twin; every indicator is computed on the base and on
the scenario, nationally and per province and commune.

The models check everything that can be checked without the twin (types, ranges, one
of several fields); :mod:`vntwin.scenarios.check` checks the rest against the twin
(variables, unit codes, polygons inside the territory, facility ids) before any work.
The JSON Schema (``ScenarioSpec.model_json_schema()``) is published at
``/scenarios/schema.json`` and in ``examples/scenarios/schema.json``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Annotated, Any, Literal

import shapely.geometry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPEC_VERSION = 1
ENGINE_VERSION = "1"
"""Bumped when the engine's results change for the same spec: stored results are reused
only for the same spec hash, twin version and engine version.
"""

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$",
                            description="lower-case letters, digits, - and _ (≤ 60)")]
FacilityType = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$",
                                    description="facility type, e.g. clinic, school, tower")]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Km = Annotated[float, Field(gt=0, le=2000)]


class _Model(BaseModel):
    """Strict models: an unknown key is an error (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_Model):
    """Where an edit or indicator applies: province codes, commune codes or a polygon
    (GeoJSON ``Polygon``/``MultiPolygon`` in EPSG:4326). Cells belong to the area when
    their centre does.
    """

    provinces: list[Annotated[str, Field(pattern=r"^\d{1,2}$")]] | None = None
    communes: list[Annotated[str, Field(pattern=r"^\d{5}$")]] | None = None
    geometry: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Area:
        given = [k for k in ("provinces", "communes", "geometry") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of provinces, communes or geometry")
        return self

    @field_validator("geometry")
    @classmethod
    def _polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if value.get("type") == "Feature":
            value = value.get("geometry") or {}
        if value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("geometry must be a GeoJSON Polygon or MultiPolygon")
        try:
            shape = shapely.geometry.shape(value)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"not a valid GeoJSON polygon: {exc}") from None
        if shape.is_empty or not shape.is_valid or shape.area == 0:
            raise ValueError("the polygon is empty, self-intersecting or has no area")
        minx, miny, maxx, maxy = shape.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise ValueError("coordinates must be longitude, latitude in EPSG:4326")
        return value

    def label(self) -> str:
        """Short description for summaries."""
        if self.provinces:
            return "provinces " + ", ".join(self.provinces)
        if self.communes:
            return "communes " + ", ".join(self.communes[:5]) + \
                ("…" if len(self.communes) > 5 else "")
        return "polygon"


class FacilityPoint(_Model):
    """One facility: a point with a type and a capacity (beds, pupils, users)."""

    id: Annotated[str, Field(min_length=1, max_length=100)]
    type: FacilityType
    lat: Lat
    lon: Lon
    capacity: Annotated[float, Field(ge=0)] = 1.0
    radius_km: Km | None = None
    name: str | None = None


class FacilitySource(_Model):
    """Existing facilities of one type: a point layer of the twin (optionally filtered),
    a dataset's resource, or points listed here.
    """

    type: FacilityType
    layer: str | None = Field(None, description="a fused point layer of the twin")
    dataset: str | None = Field(None, description="a dataset with a point resource")
    resource: str | None = Field(None, description="resource id or name in `dataset`")
    points: list[FacilityPoint] | None = None
    where: dict[str, str | float | list[str | float]] | None = Field(
        None, description="keep rows whose column equals the value (or one of the values)")
    id_column: str | None = None
    name_column: str | None = None
    capacity_column: str | None = None
    capacity: Annotated[float, Field(ge=0)] = 1.0
    radius_km: Km | None = None

    @model_validator(mode="after")
    def _one(self) -> FacilitySource:
        given = [k for k in ("layer", "dataset", "points") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of layer, dataset or points")
        if self.resource and not self.dataset:
            raise ValueError("resource needs dataset")
        return self


# -- edits ----------------------------------------------------------------------------------
class ScaleEdit(_Model):
    """Multiply a variable in an area (``factor: 1.15`` or ``percent: 15``)."""

    type: Literal["scale"]
    variable: str
    area: Area
    factor: Annotated[float, Field(ge=0)] | None = None
    percent: Annotated[float, Field(ge=-100)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ScaleEdit:
        if (self.factor is None) == (self.percent is None):
            raise ValueError("give exactly one of factor or percent")
        return self

    @property
    def multiplier(self) -> float:
        """The factor, from ``factor`` or ``percent``."""
        return self.factor if self.factor is not None else 1 + (self.percent or 0) / 100


class AddFacilities(_Model):
    """New facilities (points with a type and capacity)."""

    type: Literal["add_facilities"]
    facilities: Annotated[list[FacilityPoint], Field(min_length=1)]


class MoveFacility(_Model):
    """Move one facility (existing or added earlier) to a new place."""

    type: Literal["move_facility"]
    id: str
    lat: Lat
    lon: Lon


class RemoveFacilities(_Model):
    """Remove facilities by id, or every facility of a type inside an area."""

    type: Literal["remove_facilities"]
    ids: list[str] | None = None
    facility_type: FacilityType | None = None
    area: Area | None = None

    @model_validator(mode="after")
    def _what(self) -> RemoveFacilities:
        if bool(self.ids) == bool(self.facility_type):
            raise ValueError("give ids, or facility_type (with an optional area)")
        if self.area is not None and not self.facility_type:
            raise ValueError("area goes with facility_type")
        return self


class Move(_Model):
    """Move a share of an extensive variable from the edit's area to another area."""

    variable: str
    share: Annotated[float, Field(gt=0, le=1)]
    to: Area


class LandUse(_Model):
    """Land-use change in an area: set variables (value per cell) and/or move a share of
    extensive variables (people, jobs) to another area, spread by the destination's
    existing values (uniformly where it has none).
    """

    type: Literal["land_use"]
    area: Area
    set: dict[str, float] = Field(default_factory=dict)
    move: list[Move] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> LandUse:
        if not self.set and not self.move:
            raise ValueError("give set and/or move")
        return self


class Tower(_Model):
    """A network tower (or any service point) with a coverage radius."""

    id: Annotated[str, Field(min_length=1, max_length=100)]
    lat: Lat
    lon: Lon
    radius_km: Km
    capacity: Annotated[float, Field(ge=0)] = 1.0


class AddTowers(_Model):
    """New network infrastructure: towers covering a disc each."""

    type: Literal["add_towers"]
    tower_type: FacilityType = "tower"
    towers: Annotated[list[Tower], Field(min_length=1)]


Edit = Annotated[ScaleEdit | AddFacilities | MoveFacility | RemoveFacilities | LandUse
                 | AddTowers, Field(discriminator="type")]


# -- optimisation ---------------------------------------------------------------------------
class CandidatePoint(_Model):
    """A candidate site listed in the spec."""

    id: Annotated[str, Field(min_length=1, max_length=100)]
    lat: Lat
    lon: Lon


class Candidates(_Model):
    """Candidate sites: listed points, a point layer of the twin, or cell centres (the
    ``top`` cells by a variable, optionally inside an area).
    """

    points: list[CandidatePoint] | None = None
    layer: str | None = None
    where: dict[str, str | float | list[str | float]] | None = None
    id_column: str | None = None
    cells: bool = False
    variable: str | None = Field(None, description="ranks cells (default: population)")
    top: Annotated[int, Field(ge=1, le=200_000)] | None = None
    area: Area | None = None

    @model_validator(mode="after")
    def _one(self) -> Candidates:
        given = [k for k in ("points", "layer") if getattr(self, k) is not None]
        if self.cells:
            given.append("cells")
        if len(given) != 1:
            raise ValueError("give exactly one of points, layer or cells: true")
        if (self.top is not None or self.variable) and not self.cells:
            raise ValueError("top and variable go with cells: true")
        return self


class _Optimisation(_Model):
    id: Slug
    facility_type: FacilityType
    k: Annotated[int, Field(ge=1, le=10_000)]
    candidates: Candidates
    capacity: Annotated[float, Field(gt=0)] | None = Field(
        None, description="capacity of each new site (people served); none: unlimited")
    area: Area | None = Field(None, description="demand considered (default: national)")
    method: Literal["auto", "exact", "greedy"] = "auto"
    time_limit_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    count_existing: bool = Field(
        True, description="existing facilities of the type already serve people")


class MaximalCovering(_Optimisation):
    """Choose k sites maximising the population within ``radius_km`` of a site."""

    type: Literal["maximal_covering"]
    radius_km: Km


class PMedian(_Optimisation):
    """Choose k sites minimising the population-weighted distance to the nearest site."""

    type: Literal["p_median"]


Optimisation = Annotated[MaximalCovering | PMedian, Field(discriminator="type")]


# -- indicators ------------------------------------------------------------------------------
class _Indicator(_Model):
    id: Slug
    label: str | None = None
    area: Area | None = Field(None, description="count only the people in this area "
                                                "(default: everyone)")


class Accessibility(_Indicator):
    """Share and count of people within ``distance_km`` (straight line) of the nearest
    facility of a type; with ``travel_minutes``, also within that travel time over the
    twin's road layer (when the twin has one).
    """

    type: Literal["accessibility"]
    facility_type: FacilityType
    distance_km: Km
    travel_minutes: Annotated[float, Field(gt=0, le=1440)] | None = None


class Coverage(_Indicator):
    """People covered by towers or service areas of a type (each facility's own radius,
    or ``radius_km`` for all).
    """

    type: Literal["coverage"]
    facility_type: FacilityType = "tower"
    radius_km: Km | None = None


class PerCapita(_Indicator):
    """A numerator per ``per`` people by unit: facilities' capacity (e.g. hospital beds
    per 1,000 people), their count, or a twin variable.
    """

    type: Literal["per_capita"]
    facility_type: FacilityType | None = None
    attribute: Literal["capacity", "count"] = "capacity"
    variable: str | None = None
    per: Annotated[float, Field(gt=0)] = 1000.0

    @model_validator(mode="after")
    def _one(self) -> PerCapita:
        if (self.facility_type is None) == (self.variable is None):
            raise ValueError("give exactly one of facility_type or variable")
        return self


class Hazard(_Model):
    """A hazard zone: a twin layer (share of each cell covered, ``coverage``, or cells
    where ``variable`` ≥ ``min``) or an area drawn in the spec.
    """

    layer: str | None = None
    variable: str | None = None
    min: float | None = None
    area: Area | None = None

    @model_validator(mode="after")
    def _one(self) -> Hazard:
        if (self.layer is None and self.variable is None) == (self.area is None):
            raise ValueError("give a layer/variable, or an area")
        return self


class Exposure(_Indicator):
    """People inside a hazard zone (flood, landslide), area-weighted within cells."""

    type: Literal["exposure"]
    hazard: Hazard


class Custom(_Indicator):
    """An aggregate SQL expression over twin variables, evaluated per unit, e.g.
    ``sum(population) FILTER (WHERE elevation < 5) / sum(population)``.
    """

    type: Literal["custom"]
    expression: Annotated[str, Field(min_length=1, max_length=2000)]
    unit: str | None = None


Indicator = Annotated[Accessibility | Coverage | PerCapita | Exposure | Custom,
                      Field(discriminator="type")]


class Base(_Model):
    """The base twin: pin ``twin_version`` (or a prefix of it, ≥ 8 characters) to refuse
    running on a twin that changed since.
    """

    twin_version: Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$")] | None = None


class ScenarioSpec(_Model):
    """One planning scenario: a base twin, edits, optimisations and indicators."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"$id": "https://vntwin.example/scenario.json"})

    version: Literal[1] = 1
    name: Slug
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    base: Base = Field(default_factory=Base)
    population: str = Field("population", description="the twin variable counting people")
    facilities: list[FacilitySource] = Field(default_factory=list)
    edits: list[Edit] = Field(default_factory=list)
    optimise: list[Optimisation] = Field(default_factory=list)
    indicators: Annotated[list[Indicator], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> ScenarioSpec:
        for what, ids in (("indicators", [i.id for i in self.indicators]),
                          ("optimise", [o.id for o in self.optimise])):
            seen: set[str] = set()
            for value in ids:
                if value in seen:
                    raise ValueError(f"{what}: id {value!r} is used twice")
                seen.add(value)
        return self

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON of the validated spec: comments, key order and
        formatting do not change it; any change of meaning does.
        """
        return self._hash

    @functools.cached_property
    def _hash(self) -> str:  # the model is frozen: hash once
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
        return hashlib.sha256(f"{ENGINE_VERSION}\n{text}".encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a scenario spec."""
    schema = ScenarioSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vntwin planning scenario"
    return schema
