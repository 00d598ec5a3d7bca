"""Bad specs are refused against the twin, before any work, at their spec line."""

from __future__ import annotations

import pytest

from vntwin.scenarios.base import BaseTwin
from vntwin.scenarios.check import prepare
from vntwin.scenarios.loader import SpecError, load_text

HEAD = """\
name: t
title: t
facilities:
  - type: clinic
    points:
      - {id: hn, type: clinic, lat: 21.0245, lon: 105.84117}
"""
INDICATORS = """\
indicators:
  - {id: a, type: accessibility, facility_type: clinic, distance_km: 3}
"""


def _issues(store, body: str) -> list[tuple[int | None, str]]:
    base = BaseTwin.load(store)
    with pytest.raises(SpecError) as info:
        prepare(base, load_text(HEAD + body, "spec.yaml"))
    return [(i.line, i.message) for i in info.value.issues]


def test_good_spec_passes(small_twin):
    base = BaseTwin.load(small_twin)
    prepared = prepare(base, load_text(HEAD + INDICATORS))
    assert prepared.twin_version == base.version and len(prepared.facilities) == 1


def test_unknown_variable_and_unit(small_twin):
    issues = _issues(small_twin, """\
edits:
  - {type: scale, variable: populaton, area: {provinces: ["01"]}, factor: 2}
  - type: scale
    variable: population
    area: {communes: ["99999"]}
    factor: 2
""" + INDICATORS)
    assert (8, "unknown variable 'populaton' (did you mean population?)") in issues
    assert any(line == 11 and "unknown commune code '99999'" in m for line, m in issues)


def test_polygon_and_points_outside_the_territory(small_twin):
    issues = _issues(small_twin, """\
edits:
  - type: land_use
    area: {geometry: {type: Polygon, coordinates: [[[110, 10], [111, 10], [111, 11], [110, 10]]]}}
    set: {population: 0}
  - type: add_facilities
    facilities:
      - {id: sea, type: clinic, lat: 10.5, lon: 110.5}
""" + INDICATORS)
    assert any(line == 9 and "outside the territory" in m for line, m in issues)
    assert any(line == 13 and "outside the territory" in m for line, m in issues)


def test_k_larger_than_candidates(small_twin):
    issues = _issues(small_twin, """\
optimise:
  - id: o
    type: maximal_covering
    facility_type: clinic
    k: 5
    radius_km: 3
    candidates:
      points:
        - {id: a, lat: 21.0, lon: 105.8}
        - {id: b, lat: 21.1, lon: 105.9}
""" + INDICATORS)
    assert (11, "k = 5 is larger than the 2 candidate sites") in issues


def test_contradictions_and_cycles(small_twin):
    issues = _issues(small_twin, """\
edits:
  - {type: remove_facilities, ids: [hn]}
  - {type: move_facility, id: hn, lat: 21.0, lon: 105.8}
  - {type: remove_facilities, ids: [hn, nowhere]}
  - type: land_use
    area: {provinces: ["01"]}
    move: [{variable: population, share: 0.1, to: {provinces: ["24"]}}]
  - type: land_use
    area: {provinces: ["24"]}
    move: [{variable: population, share: 0.1, to: {provinces: ["01"]}}]
  - type: land_use
    area: {provinces: ["33"]}
    move: [{variable: population, share: 0.1, to: {provinces: ["33"]}}]
""" + INDICATORS)
    def at(line: int, text: str) -> bool:
        return any(n == line and text in m for n, m in issues)

    assert at(9, "contradiction: facility 'hn' was removed by edits[0]")
    assert at(10, "cannot remove again")
    assert at(10, "no facility with id 'nowhere'")
    assert at(14, "cycle: edits[3] and edits[4]")
    assert at(19, "cycle: the destination overlaps")


def test_indicator_checks(small_twin):
    issues = _issues(small_twin, """\
indicators:
  - {id: a, type: accessibility, facility_type: clinc, distance_km: 3}
  - {id: b, type: custom, expression: "sum(population) + (SELECT 1)"}
  - {id: c, type: custom, expression: "sum(nothing_here)"}
  - {id: d, type: exposure, hazard: {layer: lu-lut}}
""")
    messages = dict(issues)  # one issue per line here
    assert "no facility of type 'clinc'" in messages[8]
    assert "subquery" in messages[9]
    assert "unknown variable 'nothing_here'" in messages[10]
    assert "no fused layer 'lu-lut'" in messages[11]


def test_pinned_twin_version(small_twin):
    base = BaseTwin.load(small_twin)
    ok = HEAD + f"base: {{twin_version: {base.version[:10]}}}\n" + INDICATORS
    assert prepare(base, load_text(ok)).twin_version == base.version
    issues = _issues(small_twin, "base: {twin_version: 0123456789abcdef}\n" + INDICATORS)
    assert issues[0][0] == 7 and "the twin changed" in issues[0][1]
