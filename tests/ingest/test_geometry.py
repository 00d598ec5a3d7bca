"""Geometry checks: repair, rejection with row numbers, kinds, mixed layers split."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from ingest_helpers import FIXTURES

from vntwin.ingest import read_layers
from vntwin.ingest.geometry import check


def test_check_repairs_rejects_and_classifies():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    flat = shapely.Polygon([(0, 0), (0, 1), (0, 2), (0, 0)])
    collection = shapely.GeometryCollection([shapely.Point(1, 1), shapely.Point(2, 2)])
    mixed = shapely.GeometryCollection([shapely.Point(1, 1), shapely.LineString([(0, 0),
                                                                              (1, 1)])])
    values = [shapely.Point(105, 21), bowtie, flat, None, shapely.Polygon(), collection,
              mixed, shapely.Point(500000, 2300000), shapely.LineString([(0, 0), (0, 0)])]
    result = check(values)
    assert list(result.kinds) == ["point", "polygon", "", "", "", "point", "", "", ""]
    assert result.geometry[1].geom_type == "MultiPolygon" and result.geometry[1].is_valid
    assert result.geometry[5].geom_type == "MultiPoint"
    assert result.repaired == ["row 2: invalid geometry repaired with make_valid "
                               "(Self-intersection[0.5 0.5])"]
    rejected = "\n".join(result.rejected)
    for expected in ("row 3: invalid geometry that could not be repaired",
                     "row 4: no geometry", "row 5: empty geometry",
                     "row 7: a geometry collection mixing lines and points",
                     "row 8: coordinates outside longitude/latitude ranges",
                     "row 9: invalid geometry that could not be repaired"):
        assert expected in rejected


def test_mixed_layer_is_split_by_kind(tmp_path: Path):
    places = json.loads((FIXTURES / "places_vn.geojson").read_text(encoding="utf-8"))
    lines = json.loads((FIXTURES / "segments_hanoi_to_provinces.geojson").read_text("utf-8"))
    mixed = {"type": "FeatureCollection",
             "features": places["features"][:5] + lines["features"][:3]}
    path = tmp_path / "hon_hop.geojson"
    path.write_text(json.dumps(mixed), encoding="utf-8")
    layers = read_layers(path)
    assert [(layer.name, layer.kind, len(layer.frame)) for layer in layers] == [
        ("hon_hop_line", "line", 3), ("hon_hop_point", "point", 5)]
    assert "split into one layer per kind" in "\n".join(layers[0].report)
