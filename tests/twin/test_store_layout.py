"""The value store's layout: lookups by cell and by unit give the answers of a full scan,
whatever the physical order (sorted runs, compacted, old unclustered stores)."""

from __future__ import annotations

import duckdb
import h3
import numpy as np
import pandas as pd
import pytest

from vntwin.twin import query
from vntwin.twin.merge import merge_twins
from vntwin.twin.store import LAYOUT, LayerRecord, TwinStore, VariableInfo, bucket_shift

RES = 8
KINDS = {"v_sum": VariableInfo("extensive"), "v_mean": VariableInfo("intensive"),
         "v_max": VariableInfo("max")}


def _grid() -> pd.DataFrame:
    # two far-apart patches: cells of several res-4 buckets and two provinces
    cells = sorted({h3.str_to_int(c) for centre in ((21.03, 105.85), (10.78, 106.70))
                    for c in h3.grid_disk(h3.latlng_to_cell(*centre, RES), 12)})
    lat_lon = [h3.cell_to_latlng(h3.int_to_str(c)) for c in cells]
    return pd.DataFrame({"h3": np.array(cells, np.uint64),
                         "lat": [p[0] for p in lat_lon], "lon": [p[1] for p in lat_lon],
                         "province_code": ["01" if p[0] > 15 else "79" for p in lat_lon],
                         "commune_code": [f"{int(p[0] * 10) % 97:05d}" for p in lat_lon]})


def _layer(rng: np.random.Generator, cells: np.ndarray, timed: bool) -> pd.DataFrame:
    some = rng.choice(cells, size=len(cells) // 2, replace=False)
    parts = []
    for variable in KINDS:
        part = pd.DataFrame({"h3": some, "variable": variable,
                             "value": rng.normal(100, 30, len(some)).round(3)})
        if timed:
            part = pd.concat([part.assign(valid_time=pd.Timestamp("2026-01-01", tz="UTC")),
                              part.assign(valid_time=pd.Timestamp("2026-03-01", tz="UTC"),
                                          value=part["value"] + 1)])
        parts.append(part)
    return pd.concat(parts).sample(frac=1.0, random_state=int(rng.integers(1 << 30)))


@pytest.fixture
def filled(tmp_path):
    rng = np.random.default_rng(7)
    grid = _grid()
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(grid, RES)
    layers = {}
    for i in range(6):
        layers[f"l{i}"] = _layer(rng, grid["h3"].to_numpy(), timed=i == 5)
        store.replace_layer(LayerRecord(f"l{i}", "d", "d", "r", f"f{i}", "polygon", RES),
                            layers[f"l{i}"], KINDS)
    return store, grid, layers, rng


def _expected_cell(layers: dict[str, pd.DataFrame], cell: int) -> dict[tuple[str, str], float]:
    """The answer of a full scan: each variable's latest value in the cell."""
    out = {}
    for name, frame in layers.items():
        here = frame[frame["h3"] == cell]
        if "valid_time" in here:
            here = here.sort_values("valid_time").groupby("variable").tail(1)
        out.update({(name, v): float(x) for v, x in zip(here["variable"], here["value"],
                                                        strict=True)})
    return out


def _answer(store: TwinStore, cell: int) -> dict[tuple[str, str], float]:
    found = query.at_cell(store, cell)["layers"]
    return {(layer, v): d["value"] for layer, vs in found.items() for v, d in vs.items()}


def _check_cells(store, grid, layers, rng) -> None:
    for cell in rng.choice(grid["h3"].to_numpy(), 25, replace=False):
        assert _answer(store, int(cell)) == pytest.approx(_expected_cell(layers, int(cell)))


def _units(store: TwinStore) -> dict[tuple[str, str, str], float]:
    """Every unit's aggregates, flat (sums may differ in the last bit with the order)."""
    out = {}
    for code in ("01", "79"):
        found = query.in_unit(store, code)
        out.update({(code, layer, v): d["value"] for layer, vs in found["layers"].items()
                    for v, d in vs.items()})
        out[(code, "", "cells")] = found["cells"]
    return out


def _physical_buckets(store: TwinStore) -> np.ndarray:
    with store.read() as con:
        rows = con.execute("SELECT h3 FROM cell_series ORDER BY rowid").fetchnumpy()["h3"]
    return np.asarray(rows, np.uint64) >> np.uint64(bucket_shift(RES))


def test_lookups_match_a_full_scan_before_and_after_compaction(filled):
    store, grid, layers, rng = filled
    assert store.needs_compaction()  # a first fusion: unclustered
    _check_cells(store, grid, layers, rng)
    units_before = _units(store)
    assert store.compact()
    assert not store.needs_compaction() and not store.compact()
    buckets = _physical_buckets(store)
    assert (np.diff(buckets.astype(np.int64)) >= 0).all()  # clustered by bucket
    assert len(np.unique(buckets)) > 1
    _check_cells(store, grid, layers, rng)
    assert _units(store) == pytest.approx(units_before, rel=1e-12)


def test_refused_layer_appends_a_sorted_run_and_answers_stay_right(filled):
    store, grid, layers, rng = filled
    store.compact()
    layers["l2"] = _layer(rng, grid["h3"].to_numpy(), timed=False)
    store.replace_layer(LayerRecord("l2", "d", "d", "r", "f2b", "polygon", RES), layers["l2"],
                        KINDS)
    with store.read() as con:
        tail = con.execute("SELECT v.h3 FROM cell_series v JOIN series s USING (series) "
                           "WHERE s.layer = 'l2' ORDER BY v.rowid").fetchnumpy()["h3"]
        count = con.execute("SELECT count(*) FROM cell_values").fetchone()[0]
    assert (np.diff(np.asarray(tail, np.uint64).astype(np.float64)) >= 0).all()
    assert count == sum(len(f) for f in layers.values())
    assert not store.needs_compaction()  # one layer of six: under COMPACT_FRACTION
    _check_cells(store, grid, layers, rng)
    for i in (0, 1):  # re-fuse two more: the appended rows pass the threshold
        store.replace_layer(LayerRecord(f"l{i}", "d", "d", "r", f"f{i}b", "polygon", RES),
                            layers[f"l{i}"], KINDS)
    assert store.needs_compaction()


def test_store_of_the_old_layout_is_read_and_rewritten(tmp_path):
    """A store written before series ids and before the clustered layout: ``cell_values``
    a table of names, rows in any order, no meta.layout. Read as it is; the first
    writer converts it."""
    rng = np.random.default_rng(3)
    grid = _grid()
    path = tmp_path / "twin.duckdb"
    layers = {f"l{i}": _layer(rng, grid["h3"].to_numpy(), timed=False) for i in range(3)}
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE cells (h3 UBIGINT PRIMARY KEY, lat DOUBLE, lon DOUBLE,
                   province_code VARCHAR, commune_code VARCHAR)""")
    con.execute("""CREATE TABLE cell_values (h3 UBIGINT NOT NULL, layer VARCHAR NOT NULL,
                   variable VARCHAR NOT NULL, value DOUBLE NOT NULL, valid_time TIMESTAMPTZ)""")
    con.execute("""CREATE TABLE variables (layer VARCHAR NOT NULL, variable VARCHAR NOT NULL,
                   kind VARCHAR NOT NULL, unit VARCHAR, canonical VARCHAR, weight VARCHAR,
                   PRIMARY KEY (layer, variable))""")
    con.execute("""CREATE TABLE layers (layer VARCHAR PRIMARY KEY, dataset_id VARCHAR,
                   dataset_name VARCHAR, resource_id VARCHAR, fingerprint VARCHAR,
                   kind VARCHAR, res INTEGER, fused_at TIMESTAMPTZ,
                   modelled BOOLEAN DEFAULT false, rows BIGINT, notes VARCHAR)""")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.register("grid", grid)
    con.execute("INSERT INTO cells SELECT h3, lat, lon, province_code, commune_code FROM grid")
    con.execute("INSERT INTO meta VALUES ('res', ?)", [str(RES)])
    for name, frame in layers.items():
        shuffled = frame.sample(frac=1, random_state=1).assign(layer=name)
        con.register("incoming", shuffled)
        con.execute("INSERT INTO cell_values SELECT h3::UBIGINT, layer, variable, value, "
                    "NULL FROM incoming")
        con.unregister("incoming")
        con.execute("INSERT INTO layers (layer, fingerprint, res) VALUES (?, 'f', ?)",
                    [name, RES])
        for variable, info in KINDS.items():
            con.execute("INSERT INTO variables VALUES (?, ?, ?, NULL, NULL, NULL)",
                        [name, variable, info.kind])
    con.close()
    store = TwinStore(path)
    _check_cells(store, grid, layers, rng)  # read transparently
    units_before = _units(store)
    assert store.needs_compaction()
    store.compact()  # its writing connection converts the store first
    with store.read() as con:
        layout = con.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()[0]
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema."
                                 "tables WHERE starts_with(table_name, 'cell_')").fetchall())
        series = con.execute("SELECT layer, list(series ORDER BY series) FROM series "
                             "GROUP BY layer ORDER BY layer").fetchall()
    assert layout == LAYOUT and not store.needs_compaction()
    assert kinds == {"cell_series": "BASE TABLE", "cell_values": "VIEW", "cell_rings": "BASE TABLE"}
    ids = [i for _, layer_ids in series for i in layer_ids]
    assert ids == list(range(len(ids)))  # numbered by layer, then variable
    assert [layer for layer, _ in series] == sorted(layers)
    buckets = _physical_buckets(store)
    assert (np.diff(buckets.astype(np.int64)) >= 0).all()
    _check_cells(store, grid, layers, rng)
    assert _units(store) == pytest.approx(units_before, rel=1e-12)


def test_arrow_backed_and_categorical_variables(tmp_path):
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(_grid(), RES)
    cells = _grid()["h3"].to_numpy()[:3]
    for dtype in ("category", "str", object):
        frame = pd.DataFrame({"h3": cells, "variable": pd.Series(["a", "b", "a"], dtype=dtype),
                              "value": [1.0, 2.0, 3.0]})
        assert store.replace_layer(LayerRecord("x", "d", "d", "r", "f", "point", RES), frame,
                                   {"a": VariableInfo("extensive"),
                                    "b": VariableInfo("extensive")}) == 3
        with store.read() as con:
            rows = con.execute("SELECT h3, variable, value, valid_time FROM cell_values "
                               "ORDER BY h3").fetchall()
        assert rows == sorted(zip(cells.tolist(), ["a", "b", "a"], [1.0, 2.0, 3.0],
                                  [None] * 3, strict=True))


def test_merged_twin_is_compacted(filled, tmp_path):
    store, grid, layers, rng = filled
    other = TwinStore(tmp_path / "other.duckdb")
    other.set_grid(grid, RES)
    layers["z"] = _layer(rng, grid["h3"].to_numpy(), timed=False)
    other.replace_layer(LayerRecord("z", "d", "d", "r", "fz", "point", RES), layers["z"],
                        KINDS)
    merge_twins([store.path, other.path], tmp_path / "merged.duckdb")
    merged = TwinStore(tmp_path / "merged.duckdb")
    assert not merged.needs_compaction()
    assert (np.diff(_physical_buckets(merged).astype(np.int64)) >= 0).all()
    _check_cells(merged, grid, layers, rng)


@pytest.mark.parametrize("as_of", [None, "2026-02-01T00:00:00+00:00"])
def test_one_cell_answer_is_the_one_cell_area_aggregate(filled, as_of):
    """``at_cell`` reads one cell's rows and aggregates them in Python: it must agree with
    the SQL aggregate over an area of that one cell, weights of 0 and times included."""
    store, grid, _, rng = filled
    cells = grid["h3"].to_numpy()
    cover = pd.DataFrame({"h3": cells, "variable": "coverage",
                          "value": rng.choice([0.0, 0.25, 1.0], len(cells))})
    dens = pd.DataFrame({"h3": cells, "variable": "density",
                         "value": rng.normal(50, 10, len(cells))})
    store.replace_layer(LayerRecord("w", "d", "d", "r", "fw", "polygon", RES),
                        pd.concat([cover, dens]),
                        {"coverage": VariableInfo("fraction"),
                         "density": VariableInfo("intensive", weight="coverage")})
    when = query._as_of(as_of)
    with store.read() as con:
        for cell in rng.choice(cells, 40, replace=False):
            _, expected = query._run(con, "SELECT ?::UBIGINT AS h3", [int(cell)], when)
            assert query.at_cell(store, int(cell), as_of)["layers"] == expected
    zero = int(cover.loc[cover["value"] == 0, "h3"].iloc[0])
    assert query.at_cell(store, zero)["layers"]["w"]["density"]["value"] is None
