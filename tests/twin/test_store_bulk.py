"""The bulk load (``twin.bulk``): many layers written at once come out clustered and give
the same answers as layers swapped in one by one; a partial bulk load leaves the other
layers alone; a failed one leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_store_layout import KINDS, RES, _check_cells, _grid, _layer, _units

from vntwin.twin.bulk import BulkLoad, SpillPlan, spill_values
from vntwin.twin.store import LAYOUT, LayerRecord, TwinStore, bucket_shift


def _record(name: str, fingerprint: str = "f") -> LayerRecord:
    return LayerRecord(name, "d", "d", "r", fingerprint, "polygon", RES)


def _bulk(store: TwinStore, grid: pd.DataFrame, layers: dict[str, pd.DataFrame],
          chunk_cells: int = 1) -> int:
    plan = SpillPlan.for_cells(grid["h3"].to_numpy(), RES, chunk_cells=chunk_cells)
    assert plan.chunks >= 2  # one chunk per bucket: the test grid spans several
    with BulkLoad(store, plan) as load:
        for i, (name, frame) in enumerate(layers.items()):
            load.add(spill_values(frame, name, load.spill_path(i), plan), _record(name),
                     KINDS)
        rows = load.commit()
        spill_dir = load.directory
    assert not spill_dir.exists()
    return rows


def _physical(store: TwinStore) -> pd.DataFrame:
    with store.read() as con:
        return con.execute("SELECT v.h3, s.layer FROM cell_series v JOIN series s "
                           "USING (series) ORDER BY v.rowid").fetchdf()


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    grid = _grid()
    layers = {f"l{i}": _layer(rng, grid["h3"].to_numpy(), timed=i == 3) for i in range(5)}
    return grid, layers, rng


def test_first_bulk_load_is_clustered_and_answers_like_one_by_one(tmp_path, data):
    grid, layers, rng = data
    bulk = TwinStore(tmp_path / "bulk.duckdb")
    bulk.set_grid(grid, RES)
    assert _bulk(bulk, grid, layers) == sum(len(f) for f in layers.values())
    assert not bulk.needs_compaction()
    with bulk.read() as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        rows = dict(con.execute("SELECT layer, rows FROM layers").fetchall())
    assert meta["layout"] == LAYOUT and meta["appended_rows"] == "0"
    assert rows == {name: len(frame) for name, frame in layers.items()}
    # physical order: bucket, then layer, then cell (what compact() gives)
    order = _physical(bulk)
    key = pd.DataFrame({"b": order["h3"].to_numpy(np.uint64) >> np.uint64(bucket_shift(RES)),
                        "l": order["layer"], "h": order["h3"].to_numpy(np.uint64)})
    assert key.equals(key.sort_values(["b", "l", "h"], kind="stable").reset_index(drop=True))
    one_by_one = TwinStore(tmp_path / "single.duckdb")
    one_by_one.set_grid(grid, RES)
    for name, frame in layers.items():
        one_by_one.replace_layer(_record(name), frame, KINDS)
    _check_cells(bulk, grid, layers, rng)
    assert _units(bulk) == pytest.approx(_units(one_by_one), rel=1e-12)


def test_partial_bulk_load_replaces_only_its_layers(tmp_path, data):
    grid, layers, rng = data
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(grid, RES)
    _bulk(store, grid, layers)
    changed = {name: _layer(rng, grid["h3"].to_numpy(), timed=False) for name in ("l1", "l4")}
    assert _bulk(store, grid, changed) == sum(len(f) for f in changed.values())
    layers.update(changed)
    with store.read() as con:
        count = con.execute("SELECT count(*) FROM cell_values").fetchone()[0]
        appended = con.execute("SELECT value FROM meta WHERE key = 'appended_rows'"
                               ).fetchone()[0]
    assert count == sum(len(f) for f in layers.values())
    assert int(appended) == sum(len(f) for f in changed.values())
    assert store.needs_compaction()  # two layers of five re-fused: past COMPACT_FRACTION
    _check_cells(store, grid, layers, rng)
    assert store.compact()
    _check_cells(store, grid, layers, rng)


@pytest.mark.parametrize("rebuild", [True, False])
def test_failed_bulk_load_changes_nothing(tmp_path, data, monkeypatch, rebuild):
    grid, layers, rng = data
    store = TwinStore(tmp_path / "twin.duckdb")
    store.set_grid(grid, RES)
    _bulk(store, grid, layers)
    before = _units(store)
    calls = []

    def broken(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # fail midway: after the first chunk or layer went in
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    method = "_chunk" if rebuild else "_layer_table"
    original = getattr(BulkLoad, method)
    monkeypatch.setattr(BulkLoad, method, broken)
    again = ({name: layers["l1"] for name in layers} if rebuild
             else {"l0": layers["l1"], "l2": layers["l1"], "new": layers["l2"]})
    with pytest.raises(RuntimeError, match="disk full"):
        _bulk(store, grid, again)
    if rebuild:  # nothing changed, and the staging table is gone
        assert _units(store) == pytest.approx(before, rel=1e-12)  # sums in another order
        assert {r["layer"] for r in store.layers()} == set(layers)
        with store.read() as con:
            tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()"
                                                ).fetchall()}
        assert "cell_series__bulk" not in tables
    else:  # the first layer was swapped in whole, the others not at all
        layers["l0"] = layers["l1"]
        assert {r["layer"] for r in store.layers()} == set(layers)
    _check_cells(store, grid, layers, rng)


def test_spill_directory_of_a_killed_fusion_is_removed_by_the_next(tmp_path):
    """A fusion killed with SIGKILL cannot clean up: the next bulk load removes its spill
    directory (named with the dead process's id), and leaves a live process's alone."""
    store = TwinStore(tmp_path / "twin.duckdb")
    grid = _grid()
    store.set_grid(grid, RES)
    prefix = f".{store.path.name}.spill-"
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    orphan = tmp_path / f"{prefix}{killed.pid}-abc123"
    orphan.mkdir()
    (orphan / "00000.arrow").write_bytes(b"x" * 1000)
    live = tmp_path / f"{prefix}{os.getpid()}-def456"  # this process: still running
    live.mkdir()
    unrelated = tmp_path / f"{prefix}notapid"
    unrelated.mkdir()
    _bulk(store, grid, {"l0": _layer(np.random.default_rng(5), grid["h3"].to_numpy(),
                                     timed=False)})
    assert not orphan.exists()
    assert live.exists() and unrelated.exists()
