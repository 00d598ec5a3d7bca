from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from vntwin.twin.fuse import FUSERS, Fuser, FusionError, fuse_layer, spread_table
from vntwin.twin.layer import Layer


def _unit_cells() -> pd.DataFrame:
    a = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(21.03, 105.85, 8), 2)]
    b = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(10.78, 106.70, 8), 1)]
    return pd.DataFrame({"h3": np.array(a + b, np.uint64),
                         "unit_code": ["01"] * len(a) + ["79"] * len(b),
                         "pop_w": [0.0] * len(a) + list(range(1, len(b) + 1))})


def test_spread_by_area_conserves_and_copies_intensive():
    uc = _unit_cells()
    vals = pd.DataFrame({"unit_code": ["01", "79", "99"], "pop": [1900.0, 700.0, 5.0],
                         "rate": [0.1, 0.2, 0.3], "name": ["Hà Nội", "HCM", "x"]})
    out = spread_table(vals, uc, extensive=["pop"])
    pop = out[out.variable == "pop"].set_index("h3").value
    assert pop.sum() == pytest.approx(2600.0, rel=1e-12)  # unit 99 has no cells
    a_cells = uc.h3[uc.unit_code == "01"]
    assert pop.loc[a_cells].sum() == pytest.approx(1900.0, rel=1e-12)
    assert pop.loc[a_cells].std() / pop.loc[a_cells].mean() < 1e-3  # near equal-area cells
    rate = out[out.variable == "rate"].set_index("h3").value
    assert (rate.loc[a_cells] == 0.1).all() and len(rate) == len(uc)
    assert "name" not in set(out.variable)


def test_spread_by_weight_with_zero_weight_unit_falls_back_to_area():
    uc = _unit_cells()
    vals = pd.DataFrame({"unit_code": [1, 79], "pop": [1900.0, 700.0]})
    uc["unit_code"] = uc.unit_code.str.lstrip("0")
    out = spread_table(vals, uc, extensive=["pop"], weight="pop_w").set_index("h3").value
    b = uc[uc.unit_code == "79"]
    np.testing.assert_allclose(out.loc[b.h3], 700.0 * b.pop_w / b.pop_w.sum())
    assert out.sum() == pytest.approx(2600.0, rel=1e-12)


def test_spread_errors():
    uc = _unit_cells()
    with pytest.raises(FusionError, match="more than once"):
        spread_table(pd.DataFrame({"unit_code": ["01", "01"], "v": [1, 2]}), uc,
                     extensive=["v"])
    with pytest.raises(FusionError, match="not numeric"):
        spread_table(pd.DataFrame({"unit_code": ["01"], "v": ["a"]}), uc, extensive=["v"])
    with pytest.raises(FusionError, match="unit_code"):
        spread_table(pd.DataFrame({"code": ["01"]}), uc, extensive=[])


def test_fuse_layer_dispatches_every_kind(tmp_path):
    box = shapely.box(105.80, 21.00, 105.82, 21.02)
    pts = gpd.GeoDataFrame({"n": [1.0, 2.0]}, crs=4326,
                           geometry=shapely.points([105.81, 105.811], [21.01, 21.011]))
    lines = gpd.GeoDataFrame({"kind": ["road"]}, crs=4326, geometry=[box.exterior])
    polys = gpd.GeoDataFrame({"pop": [10.0], "lu": ["rice"]}, geometry=[box], crs=4326)
    tif = tmp_path / "r.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(105.8, 21.02, 0.005, 0.005)) as d:
        d.write(np.ones((1, 4, 4), "float32"))
    uc = _unit_cells()
    table = pd.DataFrame({"ma_tinh": ["01"], "pop": [50.0]})
    cases = {
        "point": (Layer("p", "point", frame=pts), {}, {"count", "n_sum", "n_mean"}),
        "line": (Layer("l", "line", frame=lines), {"categorical": ["kind"]},
                 {"length_m", "kind=road"}),
        "polygon": (Layer("g", "polygon", frame=polys),
                    {"extensive": ["pop"], "categorical": ["lu"]}, {"coverage", "pop", "lu=rice"}),
        "raster": (Layer("r", "raster", raster_path=tif), {},
                   {"band1_mean", "band1_sum", "band1_min", "band1_max"}),
        "table": (Layer("t", "table", frame=table, place_column="ma_tinh"),
                  {"extensive": ["pop"], "unit_cells": uc}, {"pop"}),
    }
    matched = table.assign(unit_code=["01"], ma_tinh=["Hà Nội"])  # codes matched upstream
    cases["matched"] = (Layer("t2", "table", frame=matched, place_column="ma_tinh"),
                        {"extensive": ["pop"], "unit_cells": uc}, {"pop"})
    for layer, kwargs, variables in cases.values():
        out = fuse_layer(layer, 8, **kwargs)
        assert set(out.variable) == variables, layer.kind
        assert list(out.columns) == ["h3", "variable", "value"]
        assert out.h3.dtype == np.uint64


def test_unknown_kind_and_plugins(monkeypatch):
    with pytest.raises(FusionError, match="no fusion rule for kind 'mesh'"):
        fuse_layer(Layer("m", "mesh", frame=None), 8)  # type: ignore[arg-type]

    class Constant(Fuser):
        kind = "mesh"

        def fuse(self, layer, res, spec):
            return pd.DataFrame({"h3": np.array([1], np.uint64), "variable": ["one"],
                                 "value": [1.0]})

    monkeypatch.setitem(FUSERS, "mesh", Constant())
    assert fuse_layer(Layer("m", "mesh"), 8).value.tolist() == [1.0]  # type: ignore[arg-type]
    with pytest.raises(FusionError, match="needs unit_cells"):
        fuse_layer(Layer("t", "table", frame=pd.DataFrame({"unit_code": ["01"]})), 8)
