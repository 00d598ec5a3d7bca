"""OGC API – Features over twin layers, read by GDAL's OGC API driver (through pyogrio)."""

from __future__ import annotations

import sqlite3
import tempfile
from importlib.util import find_spec
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from vntwin.catalog import packages, resources
from vntwin.catalog.resources import StoredUpload
from vntwin.catalog.users import SYSTEM
from vntwin.testing import server_process


def _hanoi_communes() -> gpd.GeoDataFrame:
    """Real commune centroids of Hà Nội from the vietnamadminunits package."""
    spec = find_spec("vietnamadminunits")
    assert spec and spec.submodule_search_locations
    db = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT wardCode, ward, wardLat, wardLon FROM admin_units "
                           "WHERE provinceCode = '01' ORDER BY wardCode").fetchall()
    return gpd.GeoDataFrame({"ma_xa": [r[0] for r in rows], "ten": [r[1] for r in rows]},
                            geometry=[Point(r[3], r[2]) for r in rows], crs="EPSG:4326")


@pytest.fixture
def layer_dataset(cat, tmp_path, org):
    frame = _hanoi_communes()
    path = tmp_path / "xa.parquet"
    frame.to_parquet(path)
    with cat.uploads.writer() as w:
        w.write(path.read_bytes())
        sha, size, stored = w.commit()
    pkg = packages.create(cat, SYSTEM, {"name": "xa-ha-noi", "owner_org": org["name"]})
    resources.create(cat, SYSTEM, {"package_id": pkg["id"], "name": "xa", "format": "GeoParquet",
                                   "twin_layer": "xa", "twin_kind": "point"},
                     StoredUpload(sha, size, stored, "xa.parquet"))
    return frame


def test_landing_conformance_collections_items(client, layer_dataset):
    landing = client.get("/ogc").json()
    assert {link["rel"] for link in landing["links"]} >= {"self", "service-desc", "conformance",
                                                          "data"}
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        client.get("/ogc/conformance").json()["conformsTo"]
    cols = client.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in cols] == ["xa-ha-noi--xa"]
    r = client.get("/ogc/collections/xa-ha-noi--xa/items", params={"limit": 5})
    assert r.headers["content-type"] == "application/geo+json"
    page = r.json()
    assert page["numberMatched"] == len(layer_dataset) and page["numberReturned"] == 5
    assert any(link["rel"] == "next" for link in page["links"])
    assert page["features"][0]["properties"]["ten"] == layer_dataset["ten"].iloc[0]
    box = client.get("/ogc/collections/xa-ha-noi--xa/items",
                     params={"bbox": "105.84,21.02,105.86,21.04", "limit": 1000}).json()
    inside = layer_dataset.cx[105.84:105.86, 21.02:21.04]
    assert box["numberMatched"] == len(inside) > 0
    one = client.get("/ogc/collections/xa-ha-noi--xa/items/3").json()
    assert one["properties"]["ma_xa"] == layer_dataset["ma_xa"].iloc[3]
    assert client.get("/ogc/collections/nope/items").status_code == 404
    assert client.get("/ogc/collections/xa-ha-noi--xa/items",
                      params={"bbox": "1,2"}).status_code == 400
    assert client.get("/ogc/collections/xa-ha-noi--xa/items/999999").status_code == 404


def test_items_parameters_as_the_standard_defines_them(client, layer_dataset):
    """Six-number boxes (with heights) work, ``f=json`` and ``datetime`` are accepted, an
    unknown parameter (a typo) is a 400 naming it, not a silent full answer."""
    items = "/ogc/collections/xa-ha-noi--xa/items"
    four = client.get(items, params={"bbox": "105.84,21.02,105.86,21.04", "limit": 1000})
    six = client.get(items, params={"bbox": "105.84,21.02,0,105.86,21.04,100",
                                    "limit": 1000, "f": "json",
                                    "datetime": "2024-01-01T00:00:00Z"})
    assert six.status_code == 200 and six.json()["numberMatched"] == \
        four.json()["numberMatched"] > 0
    typo = client.get(items, params={"bbx": "105.84,21.02,105.86,21.04"})
    assert typo.status_code == 400 and "bbx" in typo.text
    assert client.get(items, params={"f": "html"}).status_code == 400
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    assert not any(c.endswith("/oas30") for c in conforms)  # the API is OpenAPI 3.1
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_gdal_ogc_api_driver_reads_a_collection(cat, layer_dataset):
    with server_process(cat.settings) as url:
        frame = pyogrio.read_dataframe(f"OAPIF:{url}/ogc", layer="xa-ha-noi--xa")
    assert len(frame) == len(layer_dataset)
    assert sorted(frame["ten"]) == sorted(layer_dataset["ten"])


def test_vector_tiles(client, layer_dataset):
    """Tiles decode (GDAL's MVT driver) to the features inside them."""
    x, y = _tile_of(21.03, 105.85, 12)
    r = client.get(f"/ogc/collections/xa-ha-noi--xa/tiles/12/{x}/{y}.mvt")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile")
    from vntwin.twin.tiles import tile_bounds

    west, south, east, north = tile_bounds(12, x, y)
    inside = layer_dataset.cx[west:east, south:north]
    path = Path(tempfile.mkdtemp()) / "t.mvt"
    path.write_bytes(r.content)
    decoded = pyogrio.read_dataframe(f"MVT:{path}", layer="xa-ha-noi--xa")
    assert sorted(decoded["ten"]) == sorted(inside["ten"]) and len(inside) > 0
    empty_x, empty_y = _tile_of(-40.0, -100.0, 12)
    assert client.get(f"/ogc/collections/xa-ha-noi--xa/tiles/12/{empty_x}/{empty_y}.mvt"
                      ).status_code == 204
    assert client.get("/ogc/collections/xa-ha-noi--xa/tiles/3/99/0.mvt").status_code == 400


def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _store_layer(cat, frame: gpd.GeoDataFrame, path: Path, **options) -> StoredUpload:
    frame.to_parquet(path, index=False, **options)
    from vntwin.catalog.resources import store_file

    return store_file(cat, path, path.name)


def test_collections_read_footers_and_follow_a_new_version(cat, org, tmp_path):
    """The extent comes from the GeoParquet footer, cached by content hash: a new version
    of the layer (a new file) shows its own extent at once."""
    from vntwin.twin import features
    from vntwin.twin.build import twin_store

    frame = _hanoi_communes()
    upload = _store_layer(cat, frame, tmp_path / "v1.parquet", write_covering_bbox=True)
    pkg = packages.create(cat, SYSTEM, {"name": "xa-v", "owner_org": org["name"]})
    res = resources.create(cat, SYSTEM, {"package_id": pkg["id"], "name": "xa",
                                         "format": "GeoParquet", "twin_layer": "xa",
                                         "twin_kind": "point"}, upload)
    store = twin_store(cat)
    (first,) = features.collections(cat, store)
    assert first.bbox == pytest.approx(tuple(frame.total_bounds))
    moved = frame.set_geometry(frame.geometry.translate(0.5, 0.25))
    resources.update(cat, SYSTEM, {"id": res["id"]},
                     _store_layer(cat, moved, tmp_path / "v2.parquet"), patch=True)
    (second,) = features.collections(cat, store)
    assert second.bbox == pytest.approx(tuple(moved.total_bounds))
    assert features.find(cat, store, second.id).bbox == second.bbox
    page, matched = features.features_in(cat, second.source, tuple(moved.total_bounds), 5)
    assert matched == len(moved) and len(page) == 5


@pytest.mark.parametrize("covering", [True, False])
def test_features_in_reads_the_rows_of_a_box(cat, org, tmp_path, covering):
    """Rows found through the cached boxes (covering column, or computed) and read by row
    group are those a full read and an exact intersection give, ids and pages included."""
    import numpy as np
    import shapely

    from vntwin.twin import features
    from vntwin.twin.layers import layer_sources

    rng = np.random.default_rng(5)
    n = 3000
    x, y = rng.uniform(105, 106, n), rng.uniform(20, 21, n)
    lines = shapely.linestrings(np.stack([np.c_[x, y], np.c_[x + 0.05, y + 0.02]], 1))
    frame = gpd.GeoDataFrame({"k": np.arange(n), "ten": [f"f{i}" for i in range(n)]},
                             geometry=lines, crs="EPSG:4326")
    upload = _store_layer(cat, frame, tmp_path / "lines.parquet", row_group_size=400,
                          write_covering_bbox=covering)
    pkg = packages.create(cat, SYSTEM, {"name": "duong", "owner_org": org["name"]})
    resources.create(cat, SYSTEM, {"package_id": pkg["id"], "name": "d",
                                   "format": "GeoParquet", "twin_layer": "d",
                                   "twin_kind": "line"}, upload)
    (source,) = layer_sources(cat)
    for _ in range(5):
        w, s = rng.uniform(105, 105.9), rng.uniform(20, 20.9)
        box = (w, s, w + 0.08, s + 0.05)
        hit = np.flatnonzero(shapely.intersects(frame.geometry.values, shapely.box(*box)))
        page, matched = features.features_in(cat, source, box, 7, offset=3)
        assert matched == len(hit) and list(page.index) == list(hit[3:10])
        assert list(page["ten"]) == [f"f{i}" for i in hit[3:10]]
        assert shapely.equals(page.geometry.values, frame.geometry.values[hit[3:10]]).all()
    page, matched = features.features_in(cat, source, None, 5, offset=798)
    assert matched == n and list(page.index) == list(range(798, 803))
    assert list(page["k"]) == list(range(798, 803))


def test_find_reads_only_the_collection_dataset(cat, org, tmp_path):
    """A collection is found by its dataset's rows alone, also when the dataset's name
    holds "--" (a valid CKAN name) and among datasets whose names prefix each other."""
    from vntwin.errors import NotFound
    from vntwin.twin import features
    from vntwin.twin.build import twin_store

    frame = _hanoi_communes()
    for name, layer in (("xa--moi", "diem"), ("xa", "khac"), ("xa--moi--diem", "x"),
                        ("xa--moi--diem--x--y", "xa--moi--diem--x--y")):
        upload = _store_layer(cat, frame, tmp_path / f"{name}.parquet")
        pkg = packages.create(cat, SYSTEM, {"name": name, "owner_org": org["name"]})
        resources.create(cat, SYSTEM, {"package_id": pkg["id"], "name": layer,
                                       "format": "GeoParquet", "twin_layer": layer,
                                       "twin_kind": "point"}, upload)
    store = twin_store(cat)
    listed = {c.id: c.source for c in features.collections(cat, store)}
    assert sorted(listed) == ["xa--khac", "xa--moi--diem", "xa--moi--diem--x",
                              "xa--moi--diem--x--y"]
    for collection_id, source in listed.items():
        assert features.find(cat, store, collection_id).source == source
    with pytest.raises(NotFound):
        features.find(cat, store, "xa--moi--x")
