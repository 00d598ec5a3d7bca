"""Vector tiles: the numpy encoder against DuckDB spatial's ST_AsMVT on the same features,
both read back by GDAL's MVT driver; the spec's rules checked on the raw protobuf."""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from vntwin.catalog.users import SYSTEM
from vntwin.twin import features, mvt, tiles
from vntwin.twin.build import fuse_catalog, twin_store
from vntwin.twin.ingest_catalog import ingest_file
from vntwin.twin.store import append_values

PLACES = Path(__file__).parents[1] / "ingest" / "fixtures" / "places_vn.geojson"


def _read(data: bytes, layer: str) -> gpd.GeoDataFrame:
    """A tile decoded by GDAL's MVT driver (geometries in tile units, clipped to the tile
    and its buffer as the driver does by default)."""
    path = Path(tempfile.mkdtemp()) / "tile.mvt"
    path.write_bytes(data)
    return pyogrio.read_dataframe(f"MVT:{path}", layer=layer)


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        shift += 7
        i += 1
        if byte < 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Protobuf fields of a message: (field number, varint or bytes)."""
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        if key & 7 == 0:
            value, i = _varint(data, i)
            out.append((key >> 3, value))
        elif key & 7 == 1:
            out.append((key >> 3, data[i:i + 8]))
            i += 8
        else:
            size, i = _varint(data, i)
            out.append((key >> 3, data[i:i + size]))
            i += size
    return out


def _rings(tile: bytes) -> list[list[tuple[int, int]]]:
    """Every polygon feature's rings in tile units, decoded from the commands."""
    (layer,) = [v for f, v in _fields(tile) if f == 3]
    assert isinstance(layer, bytes)
    out = []
    for number, feature in _fields(layer):
        if number != 2:
            continue
        assert isinstance(feature, bytes)
        (geometry,) = [v for f, v in _fields(feature) if f == 4]
        assert isinstance(geometry, bytes)
        ints, i = [], 0
        while i < len(geometry):
            value, i = _varint(geometry, i)
            ints.append(value)
        x = y = 0
        ring: list[tuple[int, int]] = []
        j = 0
        while j < len(ints):
            command, count = ints[j] & 7, ints[j] >> 3
            j += 1
            if command == 7:
                out.append(ring)
                ring = []
                continue
            for _ in range(count):
                dx, dy = ints[j], ints[j + 1]
                j += 2
                x += (dx >> 1) ^ -(dx & 1)
                y += (dy >> 1) ^ -(dy & 1)
                ring.append((x, y))
    return out


def _has_features(tile: bytes) -> bool:
    return any(number == 2 for _, layer in _fields(tile) if isinstance(layer, bytes)
               for number, _ in _fields(layer))


def _area(ring: list[tuple[int, int]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1)
               in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def test_rings_follow_the_spec():
    """Exterior rings come out with positive area in tile units whatever their input
    winding; repeated and closing points are dropped; rings that round to nothing go."""
    square = [(10.2, 10.0), (10.2, 10.0), (110.0, 10.0), (110.0, 110.0), (10.0, 110.0),
              (10.2, 10.0)]
    backwards = square[::-1]
    tiny = [(500.1, 500.1), (500.2, 500.3), (500.3, 500.1)]  # one point once rounded
    rings = [square, backwards, tiny]
    xy = np.array(list(itertools.chain(*rings)))
    offsets = np.cumsum([0] + [len(r) for r in rings])
    data = mvt.encode_rings("t", xy[:, 0], xy[:, 1], offsets,
                            {"v": np.array([1.0, 2.0, 3.0])}, ids=np.array([7, 8, 9]))
    decoded = _rings(data)
    assert len(decoded) == 2
    for ring in decoded:
        assert len(ring) == 4 and len(set(ring)) == 4 and _area(ring) > 0
    frame = _read(data, "t")
    assert list(frame["mvt_id"]) == [7, 8] and list(frame["v"]) == [1.0, 2.0]
    assert frame.geometry.area.tolist() == [10000.0, 10000.0]


def test_points_match_duckdb_spatial():
    """Points, numbers, text and nulls: same features as ST_AsMVT gives."""
    z, (x, y) = 12, _tile_of(21.03, 105.85, 12)
    west, south, east, north = tiles.tile_bounds(z, x, y)
    rng = np.random.default_rng(3)
    n = 400
    lon, lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
    attrs = pd.DataFrame({"v": rng.normal(size=n),
                          "ten": [f"điểm {i % 13}" for i in range(n)]})
    attrs.loc[5, "v"] = np.nan
    attrs.loc[6, "ten"] = None
    ours = _read(mvt.encode_points("p", *mvt.to_tile(lon, lat, z, x, y),
                                   dict(attrs.items()), ids=np.arange(n)), "p")
    reference = attrs.copy()
    reference.insert(0, "wkb", shapely.to_wkb(shapely.points(lon, lat)))
    theirs = _read(tiles._encode(reference, "p", z, x, y), "p")
    assert len(ours) == len(theirs) == n
    assert list(ours["mvt_id"]) == list(range(n))
    pd.testing.assert_series_equal(ours["v"], theirs["v"])
    pd.testing.assert_series_equal(ours["ten"], theirs["ten"])
    gap = shapely.distance(ours.geometry.values, theirs.geometry.values)
    assert gap.max() <= 1.0


@pytest.fixture
def twin(cat, org, tmp_path):
    """Real places (scattered cells) and a polygon around Hà Nội (contiguous cells, cut
    by the tile edges) fused at resolution 7."""
    if not PLACES.exists():
        pytest.skip("ingest fixtures missing")
    ingest_file(cat, SYSTEM, PLACES, dataset="dia-danh", org=org["name"])
    zone = gpd.GeoDataFrame({"dan_so": [1000.0], "ten": ["vùng"]}, crs="EPSG:4326",
                            geometry=[shapely.box(105.6, 20.8, 106.1, 21.3)])
    path = tmp_path / "vung.geojson"
    zone.to_file(path, driver="GeoJSON")
    ingest_file(cat, SYSTEM, path, dataset="vung", org=org["name"])
    report = fuse_catalog(cat, res=7)
    assert report.failed == {} and len(report.fused) == 2, report
    return cat


def _reference_grid_tile(store, layer: str, z: int, x: int, y: int) -> bytes:
    """Every cell of the layer, its hexagon from h3 one by one, encoded by ST_AsMVT."""
    with store.read() as con:
        rows = con.execute("SELECT h3, variable, value FROM cell_values WHERE layer = ? "
                           "AND valid_time IS NULL", [layer]).df()
    wide = rows.pivot(index="h3", columns="variable", values="value")
    records = []
    for cell, values in wide.iterrows():
        text = h3.int_to_str(int(cell))
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(text)]
        records.append({"wkb": shapely.to_wkb(shapely.Polygon(ring)), "h3": text,
                        **{k: float(v) for k, v in values.items() if not np.isnan(v)}})
    return tiles._encode(pd.DataFrame.from_records(records), f"grid-{layer}", z, x, y)


def test_grid_tiles_match_a_straightforward_encoding(twin):
    """The same cells, values and hexagons (to a tile unit) as encoding every cell of the
    layer with ST_AsMVT, at a zoom with clipped hexagons, one with many coarse buckets
    and one where a cell is bigger than the tile."""
    store = twin_store(twin)
    for layer in store.layers():
        _compare_grid_tiles(twin, store, layer["layer"])


def _compare_grid_tiles(twin, store, layer: str) -> None:
    col = features.find(twin, store, f"grid-{layer}")
    with store.read() as con:
        lat, lon = con.execute("SELECT c.lat, c.lon FROM cell_values v JOIN cells c "
                               "USING (h3) WHERE v.layer = ? ORDER BY v.value DESC, v.h3 "
                               "LIMIT 1", [layer]).fetchone()
    compared = 0
    for z, (dlat, dlon) in itertools.product((6, 10, 14), ((0, 0), (0.2, 0.15))):
        x, y = _tile_of(lat + dlat, lon + dlon, z)
        data, reference = (tiles.grid_tile(store, col, z, x, y),
                           _reference_grid_tile(store, layer, z, x, y))
        if not _has_features(reference):  # ST_AsMVT can give a layer of no feature
            assert data == b"", (layer, z)
            continue
        compared += 1
        ours, theirs = (_read(data, col.id).set_index("h3"),
                        _read(reference, col.id).set_index("h3"))
        assert sorted(ours.index) == sorted(theirs.index), (layer, z)
        theirs = theirs.loc[ours.index]
        assert [h3.str_to_int(c) for c in ours.index] == ours["mvt_id"].tolist()
        columns = [c for c in theirs.columns if c not in ("geometry", "mvt_id")]
        pd.testing.assert_frame_equal(ours[columns], theirs[columns])
        gap = shapely.hausdorff_distance(ours.geometry.values, theirs.geometry.values)
        assert gap.max() <= 1.5, z
    assert compared >= 3


def test_point_layer_tile_carries_feature_ids(cat, org, tmp_path):
    """A point layer's tile: the features in the tile, with their OGC feature ids."""
    from vntwin.catalog import packages, resources
    from vntwin.catalog.resources import store_file
    from vntwin.twin.layers import layer_sources

    rng = np.random.default_rng(8)
    n = 2000
    frame = gpd.GeoDataFrame({"k": np.arange(n), "ten": [f"f{i}" for i in range(n)]},
                             geometry=shapely.points(rng.uniform(105.7, 106.0, n),
                                                     rng.uniform(20.9, 21.2, n)),
                             crs="EPSG:4326")
    path = tmp_path / "pts.parquet"
    frame.to_parquet(path, write_covering_bbox=True, row_group_size=300)
    pkg = packages.create(cat, SYSTEM, {"name": "diem", "owner_org": org["name"]})
    resources.create(cat, SYSTEM, {"package_id": pkg["id"], "name": "d",
                                   "format": "GeoParquet", "twin_layer": "d",
                                   "twin_kind": "point"}, store_file(cat, path, path.name))
    (source,) = layer_sources(cat)
    col = features._collection(source, features._files.meta(
        cat.uploads.path_for(source.sha256), source.sha256))
    z, (x, y) = 12, _tile_of(21.03, 105.85, 12)
    decoded = _read(tiles.layer_tile(cat, col, z, x, y), col.id)
    west, south, east, north = tiles.tile_bounds(z, x, y)
    inside = frame.cx[west:east, south:north]
    assert len(inside) > 10
    assert sorted(decoded["mvt_id"]) == list(inside.index)
    assert (decoded.set_index("mvt_id").loc[inside.index, "ten"] == inside["ten"]).all()



_LATEST = ("(SELECT * FROM cell_values QUALIFY row_number() OVER (PARTITION BY h3, layer, "
           "variable ORDER BY valid_time DESC NULLS LAST) = 1) v")


def _reference_items(store, layer, bbox, limit, offset, cell=None):
    """The grid items as one SQL join of values and cells on their centres: each cell's
    latest value of each variable, timeless or time-stamped."""
    where, params = "v.layer = ?", [layer]
    if cell is not None:
        where += " AND v.h3 = ?"
        params.append(cell)
    if bbox is not None:
        where += " AND c.lon BETWEEN ? AND ? AND c.lat BETWEEN ? AND ?"
        params += [bbox[0], bbox[2], bbox[1], bbox[3]]
    with store.read() as con:
        matched = con.execute(f"SELECT count(DISTINCT v.h3) FROM {_LATEST} JOIN cells c "
                              f"USING (h3) WHERE {where}", params).fetchone()[0]
        rows = con.execute(
            f"SELECT v.h3, any_value(c.province_code), any_value(c.commune_code), "
            f"map(list(v.variable), list(v.value)) FROM {_LATEST} JOIN cells c "
            f"USING (h3) WHERE {where} GROUP BY v.h3 ORDER BY v.h3 LIMIT ? OFFSET ?",
            [*params, limit, offset]).fetchall()
    return [(h3.int_to_str(int(c)), p, m, dict(values)) for c, p, m, values in rows], matched


def test_grid_items_match_a_join_of_values_and_cells(twin):
    """Pages, counts, units and values as the SQL join gives them, with and without a
    box, for one cell, and with time-stamped values shown as each cell's latest."""
    store = twin_store(twin)
    with store.write() as con:  # a time-stamped value shows (the latest one)
        append_values(con, "SELECT h3, layer, 'later' AS variable, 1.0 AS value, "
                      "TIMESTAMPTZ '2030-01-01' AS valid_time FROM cell_values LIMIT 5")
    compared = later = 0
    for layer in [row["layer"] for row in store.layers()]:
        col = features.find(twin, store, f"grid-{layer}")
        with store.read() as con:
            some = con.execute("SELECT h3 FROM cell_values WHERE layer = ? ORDER BY h3 "
                               "LIMIT 1 OFFSET 3", [layer]).fetchone()[0]
        for bbox, limit, offset, cell in ((None, 7, 2, None), ((105.7, 20.9, 106.0, 21.2),
                                                              50, 0, None),
                                          ((105.7, 20.9, 106.0, 21.2), 5, 10, None),
                                          (None, 1, 0, some), ((0, 0, 1, 1), 1, 0, some),
                                          ((0, 0, 1, 1), 10, 0, None)):
            ours, matched = features.grid_items(store, col, bbox, limit, offset, cell)
            theirs, expected = _reference_items(store, layer, bbox, limit, offset, cell)
            assert matched == expected
            assert [(f["id"], f["properties"]["province_code"],
                     f["properties"]["commune_code"]) for f in ours] == \
                [(c, p, m) for c, p, m, _ in theirs]
            for feature, (cell_id, _, _, values) in zip(ours, theirs, strict=True):
                props = {k: v for k, v in feature["properties"].items()
                         if k not in ("h3", "province_code", "commune_code")}
                assert props == pytest.approx(values)
                later += "later" in props
                ring = feature["geometry"]["coordinates"][0]
                assert ring[0] == ring[-1] and len(ring) == 7
                assert shapely.Polygon(ring).contains(shapely.Point(
                    h3.cell_to_latlng(cell_id)[::-1]))
            compared += len(ours)
    assert compared > 40 and later > 0
