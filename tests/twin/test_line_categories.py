"""A line layer's category shares aggregate as length-weighted means, not as metres.

The line kernel stores ``{col}={value}`` as the category's share of each cell's line
length; summing those over an area (as for ``length_m``) would give a number of cells,
not a share, and averaging them over the cells that have the category only would leave
out the cells where its share is 0 (they have no row). The area's share is the
category's length over all line length there.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from vntwin.catalog.users import SYSTEM
from vntwin.twin import query
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.ingest_catalog import ingest_file

LAYER = "duong"  # a file named like its dataset gives a layer of that name


@pytest.fixture
def roads(tmp_path: Path) -> gpd.GeoDataFrame:
    """40 short roads in central Hanoi, two kinds of unequal lengths (more than
    ``kinds.MAX_CATEGORIES`` rows, so the text column is taken as a category)."""
    rng = np.random.default_rng(3)
    lon = rng.uniform(105.78, 105.88, 40)
    lat = rng.uniform(20.98, 21.06, 40)
    step = rng.uniform(0.002, 0.02, 40)
    lines = [shapely.LineString([(x, y), (x + s, y + s / 2), (x + 2 * s, y)])
             for x, y, s in zip(lon, lat, step, strict=True)]
    loai = ["quoc lo" if i % 3 == 0 else "tinh lo" for i in range(40)]
    return gpd.GeoDataFrame({"loai": loai}, geometry=lines, crs=4326)


def test_line_category_shares_are_length_weighted(cat, org, roads, tmp_path):
    path = tmp_path / "duong.geojson"
    roads.to_file(path)
    ingest_file(cat, SYSTEM, path, dataset="duong", org=org["name"], title="Đường")
    report = fuse_catalog(cat, res=8)
    assert report.failed == {} and report.fused == [LAYER], report
    store = twin_store(cat)
    geod = Geod(ellps="WGS84")
    length = np.array([geod.geometry_length(g) for g in roads.geometry])
    national = roads.loai.to_numpy() == "quoc lo"

    # the bounding box holds every line: totals equal the lines' own lengths
    box = query.in_bbox(store, 105.6, 20.8, 106.1, 21.3)["layers"][LAYER]
    assert box["loai=quoc lo"]["kind"] == "share" and box["loai=quoc lo"]["unit"] == "1"
    assert box["length_m"]["kind"] == "extensive" and box["length_m"]["unit"] == "m"
    assert box["length_m"]["value"] == pytest.approx(length.sum(), rel=1e-5)
    assert box["loai=quoc lo"]["value"] == pytest.approx(
        length[national].sum() / length.sum(), rel=1e-5)
    assert box["loai=quoc lo"]["value"] + box["loai=tinh lo"]["value"] == pytest.approx(1)

    # a unit: the same share, computed directly from the stored cells of Hà Nội
    unit = query.in_unit(store, "01")["layers"][LAYER]
    with store.read() as con:
        cells = con.execute(
            "SELECT l.value, s.value FROM cell_values l JOIN cells c USING (h3) "
            "LEFT JOIN cell_values s ON s.h3 = l.h3 AND s.layer = l.layer "
            "AND s.variable = 'loai=quoc lo' "
            "WHERE l.layer = ? AND l.variable = 'length_m' AND c.province_code = '01'",
            [LAYER]).fetchall()
    total = np.array([c[0] for c in cells])
    share = np.array([c[1] or 0.0 for c in cells])
    assert unit["length_m"]["value"] == pytest.approx(total.sum(), rel=1e-9)
    assert unit["loai=quoc lo"]["value"] == pytest.approx(
        (share * total).sum() / total.sum(), rel=1e-9)
    assert 0 < unit["loai=quoc lo"]["value"] < 1


def test_category_shares_of_every_vector_kind_are_shares():
    """Points, lines and polygons store categories as shares of the cell's count, length
    and covered area: each aggregates as a ``share`` of that weight."""
    from vntwin.twin.kinds import ColumnPlan, variable_kinds
    from vntwin.twin.layer import Layer

    weights = {"point": "count", "line": "length_m", "polygon": "coverage"}
    for kind, weight in weights.items():
        layer = Layer(name="x", kind=kind)  # type: ignore[arg-type]
        info = variable_kinds(layer, ColumnPlan(categorical=["loai"]), ["loai=a_sum"])
        assert (info["loai=a_sum"].kind, info["loai=a_sum"].unit,
                info["loai=a_sum"].weight) == ("share", "1", weight), kind


def test_a_column_matched_to_a_categorical_variable_is_a_category():
    """``loai_dat`` (land-use class) with 3 codes over 20 parcels: few rows, yet the
    vocabulary says it is categorical; 47 national codes keep the 29 most common and
    merge the rest into "khác", so shares still add up to one."""
    from vntwin.twin.fuse import fuse_layer
    from vntwin.twin.kinds import MAX_CATEGORIES, OTHER_CATEGORY, keep_top_categories, plan_columns
    from vntwin.twin.layer import Layer

    boxes = [shapely.box(105.80 + 0.01 * i, 21.0, 105.81 + 0.01 * i, 21.01) for i in range(20)]
    few = gpd.GeoDataFrame({"loai_dat": ["LUC", "ONT", "RSX", "LUC"] * 5}, geometry=boxes,
                           crs=4326)
    plan = plan_columns(Layer(name="dat", kind="polygon", frame=few), {})
    assert plan.categorical == ["loai_dat"] and plan.canonical["loai_dat"] == "land_use_class"

    codes = [f"C{i:02d}" for i in range(47)]
    rng = np.random.default_rng(5)
    many = gpd.GeoDataFrame(
        {"loai_dat": [codes[min(int(rng.exponential(8)), 46)] for _ in range(300)]},
        geometry=[shapely.box(105.80 + 0.002 * (i % 20), 21.0 + 0.002 * (i // 20),
                              105.802 + 0.002 * (i % 20), 21.002 + 0.002 * (i // 20))
                  for i in range(300)], crs=4326)
    layer = Layer(name="dat", kind="polygon", frame=many)
    plan = plan_columns(layer, {})
    kept = keep_top_categories(layer, plan)
    classes = set(kept.frame["loai_dat"])
    assert len(classes) == MAX_CATEGORIES and OTHER_CATEGORY in classes
    values = fuse_layer(kept, 8, categorical=plan.categorical)
    shares = values[values["variable"].str.startswith("loai_dat=")]
    assert shares["variable"].nunique() == MAX_CATEGORIES
    assert np.allclose(shares.groupby("h3")["value"].sum(), 1.0)
