"""Specs: the model, the published schema, line numbers in errors, the spec hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vntwin.scenarios.loader import SpecError, load_text
from vntwin.scenarios.service import examples
from vntwin.scenarios.spec import json_schema

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"

GOOD = """\
name: thu
title: Thử
# a comment
indicators:
  - id: a
    type: accessibility
    facility_type: clinic
    distance_km: 3
"""


def test_published_schema_is_current():
    written = json.loads((EXAMPLES / "schema.json").read_text(encoding="utf-8"))
    assert written == json_schema(), "run `vntwin scenario schema --output " \
                                     "examples/scenarios/schema.json`"


def test_examples_parse():
    found = examples(EXAMPLES)
    assert len(found) >= 5
    assert all("error" not in e for e in found), found


def _issues(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(SpecError) as info:
        load_text(text, "s.yaml")
    return [(i.line, i.path and ".".join(map(str, i.path)), i.message) for i in info.value.issues]


def test_errors_point_at_the_line():
    text = GOOD.replace("    distance_km: 3\n", "    distance_km: -3\n    colour: red\n")
    issues = _issues(text)
    assert (8, "indicators.0.distance_km", "Input should be greater than 0") in issues
    assert (9, "indicators.0.colour", "unknown key (not in the spec schema)") in issues


def test_edit_errors_inside_unions_and_areas():
    text = GOOD + """\
edits:
  - type: scale
    variable: population
    area: {provinces: ["01"], communes: ["00004"]}
    factor: 2
  - type: teleport
"""
    issues = _issues(text)
    lines = {line: message for line, _, message in issues}
    assert "exactly one of provinces, communes or geometry" in lines[12]
    assert "teleport" in lines[14] or "does not match" in lines[14]


def test_yaml_syntax_and_duplicate_keys():
    issues = _issues("name: a\ntitle: [unclosed\n")
    assert issues[0][0] is not None and "not valid YAML" in issues[0][2]
    issues = _issues(GOOD + "name: again\n")
    assert issues == [(9, "name", "key given twice")]


def test_json_spec_has_lines_too():
    issues = _issues('{\n "name": "x",\n "title": "t",\n "indicators": [\n  {"id": "a", '
                     '"type": "coverage", "radius_km": "far"}\n ]\n}\n')
    assert issues[0][0] == 5 and "radius_km" in issues[0][1]


def test_polygon_checked_in_the_model():
    text = GOOD + """\
edits:
  - type: land_use
    area: {geometry: {type: Polygon, coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}
    set: {population: 0}
"""
    assert any("self-intersecting" in m for _, _, m in _issues(text))


def test_hash_ignores_layout_not_meaning():
    a = load_text(GOOD).spec.spec_hash()
    b = load_text(GOOD.replace("# a comment\n", "")
                  .replace("name: thu\ntitle: Thử\n", "title: Thử\nname: thu\n")).spec.spec_hash()
    c = load_text(GOOD.replace("distance_km: 3", "distance_km: 4")).spec.spec_hash()
    assert a == b != c


def test_ids_unique():
    text = GOOD + """\
  - id: a
    type: coverage
"""
    assert any("used twice" in m for _, _, m in _issues(text))
