"""Writing many fused layers into the twin store at once, already clustered.

Fusing layer by layer and appending each as a sorted run leaves ``cell_series`` ordered by
layer, so a lookup by cell must be followed by :meth:`TwinStore.compact`, a sort of the
whole table inside DuckDB (on the national set of 300 layers: 215 M rows, 200 s, as long
as writing them). A fusion of many layers instead *spills* each layer's values, sorted by
cell, to an Arrow IPC file beside the store, cut at fixed cell-bucket boundaries
(:class:`SpillPlan`: one record batch per chunk of buckets). Once every layer is fused,
:meth:`BulkLoad.commit` reads chunk by chunk the same batch of every layer, orders those
rows by bucket (a radix sort of small integers; each layer's rows are already sorted by
cell) and inserts them: the table comes out in the clustered layout of ``compact`` —
bucket, layer, cell — with each value written into DuckDB once and no sort of the table.

Spilling also lets the kernels run in worker processes (``build.fuse_catalog``): a worker
writes its layer's spill file and hands back only the layer's description.

Crash safety: readers see the old twin or the new one, never a mix (a rebuild swaps a
staging table in, in one transaction; otherwise each layer is swapped in on its own
transaction, as before); the spill directory is temporary and removed whatever happens,
and one left by a fusion that was killed (SIGKILL, power loss) is removed by the next.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from vntwin.twin.store import (
    COMPACT_MEMORY,
    LAYOUT,
    VALUES_VIEW,
    LayerRecord,
    TwinStore,
    VariableInfo,
    bucket_shift,
    insert_layer_rows,
    swap_layer_values,
    values_ddl,
)

CHUNK_CELLS = 8_000  # territory cells per spill chunk (~4 M values of 300 layers at res 8)
TIME = pa.timestamp("us", tz="UTC")
ROW_GROUP = 122_880  # DuckDB's rows per row group
STAGING = "cell_series__bulk"  # the new table while a rebuild writes it (BulkLoad.commit)


@dataclass(frozen=True)
class SpillPlan:
    """Where the spill files are cut: ``edges[i]`` is the smallest cell id of chunk ``i``
    (a bucket boundary, so that a bucket never straddles two chunks); chunk 0 starts at 0.
    """

    res: int
    edges: np.ndarray  # uint64, increasing, edges[0] == 0
    buckets: np.ndarray  # uint64: the territory's buckets (h3 >> bucket_shift), sorted

    @classmethod
    def for_cells(cls, cells: np.ndarray, res: int, chunk_cells: int = CHUNK_CELLS
                  ) -> SpillPlan:
        """Chunks of whole buckets holding about ``chunk_cells`` of the territory's cells."""
        shift = np.uint64(bucket_shift(res))
        buckets, counts = np.unique(np.asarray(cells, np.uint64) >> shift, return_counts=True)
        edges = [np.uint64(0)]
        filled = 0
        for bucket, count in zip(buckets.tolist(), counts.tolist(), strict=True):
            if filled >= chunk_cells:
                edges.append(np.uint64(bucket) << shift)
                filled = 0
            filled += count
        return cls(res, np.asarray(edges, np.uint64), buckets)

    @property
    def chunks(self) -> int:
        """How many record batches every spill file has."""
        return len(self.edges)


@dataclass(frozen=True)
class Spilled:
    """One layer's fused values in a spill file, and how they are described."""

    name: str
    path: Path
    variables: list[str]  # the spill's variable codes index this list
    rows: int
    timed: bool  # has a valid_time column


def spill_values(values: pd.DataFrame, name: str, path: Path, plan: SpillPlan) -> Spilled:
    """Write one layer's long frame (``h3``, ``variable``, ``value``[, ``valid_time``])
    sorted by cell into ``path``, one record batch per chunk of ``plan``.
    """
    cells = values["h3"].to_numpy(dtype=np.uint64, copy=False)
    order = np.argsort(cells, kind="stable")
    cells = cells[order]
    variable = pa.array(values["variable"], from_pandas=True)
    if isinstance(variable, pa.ChunkedArray):  # frames stacked (one per valid_time)
        variable = variable.combine_chunks()
    if pa.types.is_dictionary(variable.type):
        variable = variable.cast(pa.string())
    encoded = variable.dictionary_encode()
    columns: dict[str, np.ndarray | pa.Array] = {
        "h3": cells,
        "variable": encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)[order],
        "value": values["value"].to_numpy(dtype=np.float64, copy=False)[order]}
    timed = "valid_time" in values and bool(values["valid_time"].notna().any())
    if timed:
        times = pa.array(pd.to_datetime(values["valid_time"], utc=True), type=TIME)
        columns["valid_time"] = times.take(pa.array(order))
    batch = pa.RecordBatch.from_pydict(columns)
    cuts = np.searchsorted(cells, plan.edges[1:], side="left").tolist()
    with ipc.new_file(str(path), batch.schema) as writer:
        for start, end in zip([0, *cuts], [*cuts, len(cells)], strict=True):
            writer.write_batch(batch.slice(start, end - start))
    return Spilled(name, path, [str(v) for v in encoded.dictionary.to_pylist()],
                   len(cells), timed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_orphan_spills(directory: Path, prefix: str) -> list[Path]:
    """Remove spill directories whose fusion process is gone (their name holds its pid);
    returns them. A live fusion's directory, or one not named so, is left alone.
    """
    removed = []
    for path in directory.glob(f"{prefix}*"):
        pid = path.name.removeprefix(prefix).partition("-")[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@dataclass
class _Pending:
    spilled: Spilled
    record: LayerRecord
    kinds: dict[str, VariableInfo]


@dataclass
class BulkLoad:
    """Spilled layers waiting to go into the store in one transaction (module docstring).

    Use as a context manager: the spill directory (beside the store) is removed on exit,
    committed or not.
    """

    store: TwinStore
    plan: SpillPlan
    directory: Path = field(init=False)
    pending: dict[str, _Pending] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.store.path.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{self.store.path.name}.spill-"
        remove_orphan_spills(self.store.path.parent, prefix)
        self.directory = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-",
                                               dir=self.store.path.parent))

    def __enter__(self) -> BulkLoad:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def spill_path(self, index: int) -> Path:
        """A fresh file name in the spill directory for the ``index``-th layer."""
        return self.directory / f"{index:05d}.arrow"

    def add(self, spilled: Spilled, record: LayerRecord,
            kinds: dict[str, VariableInfo]) -> None:
        """Queue one spilled layer (a later one of the same name replaces it)."""
        self.pending[record.layer] = _Pending(spilled, record, kinds)

    def _chunk(self, chunk: int, layers: list[_Pending], series: list[np.ndarray],
               shift: np.uint64) -> pa.Table | None:
        """Every queued layer's rows of one chunk, ordered by bucket, layer, cell;
        ``series[n]`` maps layer ``n``'s spilled variable codes to series ids.
        """
        parts: list[tuple[int, int, pa.RecordBatch]] = []
        for number, item in enumerate(layers):
            with pa.memory_map(str(item.spilled.path)) as source:
                batch = ipc.open_file(source).get_batch(chunk)
                if batch.num_rows:
                    parts.append((number, int(item.spilled.timed), batch))
        if not parts:
            return None
        cells = np.concatenate([b.column("h3").to_numpy() for _, _, b in parts])
        ids = np.concatenate([series[n][b.column("variable").to_numpy()]
                              for n, _, b in parts])
        value = np.concatenate([b.column("value").to_numpy() for _, _, b in parts])
        if any(timed for _, timed, _ in parts):
            times = pa.concat_arrays([
                b.column("valid_time") if timed else pa.nulls(b.num_rows, TIME)
                for _, timed, b in parts])
        else:
            times = pa.nulls(len(cells), TIME)
        # each bucket's rank among the territory's (a cell outside them shares the rank of
        # the next bucket: still ordered, by layer and cell), from the chunk's first; a
        # stable sort keeps the layer, then cell, order within a bucket, and numpy sorts
        # 16-bit integers by radix
        ranks = np.searchsorted(self.plan.buckets, cells >> shift)
        ranks -= ranks.min()
        order = np.argsort(ranks.astype(np.uint16) if ranks.max() < 1 << 16 else ranks,
                           kind="stable")
        table = pa.table({
            "h3": cells[order],
            "series": ids[order],
            "value": value[order],
            "valid_time": times.take(pa.array(order))})
        # in batches of a DuckDB row group: its scan of one big chunk runs on one thread
        return pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP))

    def _layer_table(self, item: _Pending) -> pa.Table:
        """One queued layer's rows (every chunk), sorted by cell."""
        with pa.memory_map(str(item.spilled.path)) as source:
            table = ipc.open_file(source).read_all()
        variable = pa.DictionaryArray.from_arrays(
            table.column("variable").combine_chunks(),
            pa.array(item.spilled.variables, pa.string()))
        times = (table.column("valid_time") if item.spilled.timed
                 else pa.nulls(table.num_rows, TIME))
        return pa.table({"h3": table.column("h3"), "variable": variable,
                         "value": table.column("value"), "valid_time": times})

    def commit(self) -> int:
        """Swap every queued layer's values in; returns the rows written.

        When the queued layers hold every row of the store (a first fusion, or a forced
        re-fusion of everything), ``cell_series`` is rebuilt: the chunks go into a staging
        table, one transaction each (one transaction for all would hold every row in
        memory until it commits: 9 GB for the national set), and one last transaction
        swaps the staging table and the layers' registry in, so that readers see the old
        twin or the new one. Otherwise each queued layer is swapped in on its own, as
        ``TwinStore.replace_layer`` does (its old rows deleted, its new ones appended as
        one sorted run, counted for the next ``compact``).
        """
        if not self.pending:
            return 0
        layers = [self.pending[name] for name in sorted(self.pending)]
        names = [item.record.layer for item in layers]
        with self.store.write() as con:
            con.execute(f"SET memory_limit = '{COMPACT_MEMORY}'")
            stored = con.execute("SELECT count(*) FROM cell_series").fetchone()
            replaced = con.execute(
                "SELECT coalesce(sum(rows), 0) FROM layers WHERE list_contains(?, layer)",
                [names]).fetchone()
            if (stored[0] if stored else 0) == (replaced[0] if replaced else 0):
                total = self._rebuild(con, layers)
            else:
                total = sum(self._swap_layer(con, item) for item in layers)
            con.execute("CHECKPOINT")
        self.pending.clear()
        return total

    def _rebuild(self, con: duckdb.DuckDBPyConnection, layers: list[_Pending]) -> int:
        """``cell_series`` from the queued layers alone, clustered (``commit``); each
        layer's series numbered consecutively, in the layers' order.
        """
        series: list[np.ndarray] = []
        names: list[tuple[int, str, str]] = []
        for item in layers:
            first = len(names)
            series.append(np.arange(first, first + len(item.spilled.variables),
                                    dtype=np.int32))
            names += [(first + i, item.record.layer, v)
                      for i, v in enumerate(item.spilled.variables)]
        shift = np.uint64(bucket_shift(self.plan.res))
        total = 0
        con.execute(f"DROP TABLE IF EXISTS {STAGING}")  # left by a run that crashed
        con.execute(values_ddl(STAGING))
        open_transaction = False
        try:
            for chunk in range(self.plan.chunks):
                table = self._chunk(chunk, layers, series, shift)
                if table is None:
                    continue
                con.execute("BEGIN")
                open_transaction = True
                con.register("incoming", table)
                con.execute(f"INSERT INTO {STAGING} SELECT * FROM incoming")
                con.unregister("incoming")
                con.execute("COMMIT")
                open_transaction = False
                total += table.num_rows
            con.execute("BEGIN")
            open_transaction = True
            con.execute("DROP VIEW cell_values")
            con.execute("DROP TABLE cell_series")
            con.execute(f"ALTER TABLE {STAGING} RENAME TO cell_series")
            con.execute(VALUES_VIEW)
            con.execute("DELETE FROM series")
            con.register("named", pa.table({
                "series": pa.array([n[0] for n in names], pa.int32()),
                "layer": [n[1] for n in names], "variable": [n[2] for n in names]}))
            con.execute("INSERT INTO series SELECT * FROM named")
            con.unregister("named")
            for item in layers:
                insert_layer_rows(con, item.record, item.kinds, item.spilled.rows)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?), "
                        "('appended_rows', '0')", [LAYOUT])
            con.execute("COMMIT")
        except BaseException:
            if open_transaction:
                con.execute("ROLLBACK")
            con.execute(f"DROP TABLE IF EXISTS {STAGING}")
            raise
        return total

    def _swap_layer(self, con: duckdb.DuckDBPyConnection, item: _Pending) -> int:
        """One queued layer in place of its old rows, in one transaction."""
        table = self._layer_table(item)
        con.execute("BEGIN")
        try:
            rows = swap_layer_values(con, item.record.layer, table)
            insert_layer_rows(con, item.record, item.kinds, rows)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return rows


__all__ = ["BulkLoad", "SpillPlan", "Spilled", "spill_values"]
