"""Straightforward GeoPandas/shapely references for the fusion kernels, and sample
layers shaped like real ones."""

from __future__ import annotations

import geopandas as gpd
import h3ronpy.vector as h3v
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from vntwin.twin.fuse import EQUAL_AREA_CRS


def hexagons(cells: np.ndarray) -> gpd.GeoDataFrame:
    """The cells as WGS84 hexagons (a column ``h3``)."""
    wkb = pa.array(h3v.cells_to_wkb_polygons(pa.array(np.asarray(cells, np.uint64))))
    geoms = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame({"h3": np.asarray(cells, np.uint64)}, geometry=geoms, crs=4326)


def overlay_polygons(gdf: gpd.GeoDataFrame, cells: np.ndarray, *, extensive=(),
                     intensive=(), categorical=()) -> pd.DataFrame:
    """The long frame computed with ``geopandas.overlay`` in the equal-area CRS."""
    hexes = hexagons(cells).to_crs(EQUAL_AREA_CRS)
    hexes["cell_area"] = hexes.area
    polys = gdf.to_crs(EQUAL_AREA_CRS)
    polys["poly_area"] = polys.area
    cols = list(dict.fromkeys([*extensive, *intensive, *categorical, "poly_area"]))
    pieces = gpd.overlay(polys[[*cols, "geometry"]], hexes, how="intersection",
                         keep_geom_type=True)
    pieces["a"] = pieces.area
    pieces = pieces[pieces.a > 0]
    out = []
    g = pieces.groupby("h3")
    cov = (g.a.sum() / g.cell_area.first()).clip(upper=1.0)
    out.append(pd.DataFrame({"h3": cov.index, "variable": "coverage", "value": cov.values}))
    for col in extensive:
        p = pieces[pieces[col].notna()]
        s = (p[col] * p.a / p.poly_area).groupby(p.h3).sum()
        out.append(pd.DataFrame({"h3": s.index, "variable": col, "value": s.values}))
    for col in intensive:
        p = pieces[pieces[col].notna()]
        s = (p[col] * p.a).groupby(p.h3).sum() / p.a.groupby(p.h3).sum()
        out.append(pd.DataFrame({"h3": s.index, "variable": col, "value": s.values}))
    for col in categorical:
        p = pieces[pieces[col].notna()]
        s = p.groupby(["h3", col]).a.sum() / p.groupby("h3").a.sum()
        s = s.reset_index()
        out.append(pd.DataFrame({"h3": s.h3, "variable": [f"{col}={v}" for v in s[col]],
                                 "value": s.a}))
    return pd.concat(out, ignore_index=True)


def intersect_lengths(gdf: gpd.GeoDataFrame, cells: np.ndarray) -> pd.Series:
    """Planar length (equal-area CRS) of the lines in each cell, by shapely intersection."""
    hexes = hexagons(cells).to_crs(EQUAL_AREA_CRS)
    lines = gdf.to_crs(EQUAL_AREA_CRS).geometry.values
    tree = shapely.STRtree(lines)
    hex_i, line_i = tree.query(hexes.geometry.values, predicate="intersects")
    length = shapely.length(shapely.intersection(hexes.geometry.values[hex_i], lines[line_i]))
    return pd.Series(length).groupby(hexes.h3.values[hex_i]).sum()


def voronoi_tiles(n: int, box: tuple[float, float, float, float], seed: int) -> gpd.GeoDataFrame:
    """``n`` Voronoi polygons of random points, clipped to ``box``, tiling it exactly,
    with a count (extensive), a density (intensive) and a land-use class."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(box[0], box[2], n)
    y = rng.uniform(box[1], box[3], n)
    frame = shapely.box(*box)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(np.c_[x, y]),
                                                       extend_to=frame))
    tiles = shapely.intersection(cells, frame)
    classes = np.array(["rice", "forest", "urban", "water", "orchard"])
    return gpd.GeoDataFrame({
        "pop": rng.integers(0, 5000, len(tiles)).astype(float),
        "density": rng.uniform(0, 100, len(tiles)),
        "landuse": classes[rng.integers(0, len(classes), len(tiles))],
    }, geometry=tiles, crs=4326)


def compare(ours: pd.DataFrame, ref: pd.DataFrame, rtol: float = 1e-6,
            atol: float = 1e-9) -> float:
    """Assert the two long frames agree (a missing row counts as 0); returns the largest
    relative difference over rows above ``atol``."""
    a = ours.set_index(["h3", "variable"]).value
    b = ref.assign(h3=ref.h3.astype(np.uint64)).set_index(["h3", "variable"]).value
    a, b = a.align(b, fill_value=0.0)
    scale = np.maximum(np.abs(a.values), np.abs(b.values))
    diff = np.abs(a.values - b.values)
    bad = diff > rtol * scale + atol
    assert not bad.any(), pd.DataFrame({"ours": a[bad], "ref": b[bad]}).head(10)
    big = scale > atol
    return float((diff[big] / scale[big]).max()) if big.any() else 0.0
