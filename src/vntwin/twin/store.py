"""The twin store: one DuckDB file with the grid, the fused values and the layer registry.

Everything downstream of fusion is relational on the integer H3 id (DESIGN.md, Storage).
Tables:

- ``cells(h3, lat, lon, province_code, commune_code)``: the territory's grid;
- ``cell_values(h3, layer, variable, value, valid_time)``: the long table of every fused
  value (DESIGN.md calls it ``values``, an SQL keyword, hence the prefix);
- ``variables(layer, variable, kind, unit, canonical, weight)``: how each variable
  aggregates over an area (see ``VariableInfo``);
- ``layers(layer, dataset_id, dataset_name, resource_id, fingerprint, kind, res,
  fused_at, modelled, rows)``: what was fused from which dataset version, so re-fusing
  skips unchanged layers.

DuckDB allows one writing process: ``vntwin fuse`` writes, the server opens the file
read-only per request and answers "being updated" while a fusion holds it.

Layout of ``cell_values`` (what makes lookups by cell fast): each layer's rows are inserted
sorted by cell, and :meth:`TwinStore.compact` rewrites the table clustered by the cell's
coarse ancestor (``bucket_shift``: resolution ``res - 4``, ~1,800 km² at res 8), then by
layer and cell. DuckDB keeps a min/max zone map per row group, so a query for one cell or
one administrative unit reads the few row groups of its buckets instead of the whole table,
and a query for one layer in a bounding box reads only that layer's slices of the buckets
in the box. Rows appended since the last compaction (re-fused layers) are sorted runs of
their own; ``vntwin fuse`` compacts again once they make up ``COMPACT_FRACTION`` of the
table. A fusion of many layers at once writes them in this layout directly
(:mod:`vntwin.twin.bulk`), without a compaction. A store written before this layout has
no ``meta.layout``: it is read as it is
(correct, only slower) and rewritten by the next fusion (or by ``compact()``). A
compaction is one transaction: readers see the old table or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from vntwin.errors import VntwinError
from vntwin.twin import readers

_VALUES_DDL = """CREATE TABLE IF NOT EXISTS {name} (
        h3 UBIGINT NOT NULL, layer VARCHAR NOT NULL, variable VARCHAR NOT NULL,
        value DOUBLE NOT NULL, valid_time TIMESTAMPTZ)"""
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cells (
        h3 UBIGINT PRIMARY KEY, lat DOUBLE, lon DOUBLE,
        province_code VARCHAR, commune_code VARCHAR)""",
    _VALUES_DDL.format(name="cell_values"),
    """CREATE TABLE IF NOT EXISTS variables (
        layer VARCHAR NOT NULL, variable VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        unit VARCHAR, canonical VARCHAR, weight VARCHAR, PRIMARY KEY (layer, variable))""",
    """CREATE TABLE IF NOT EXISTS layers (
        layer VARCHAR PRIMARY KEY, dataset_id VARCHAR, dataset_name VARCHAR,
        resource_id VARCHAR, fingerprint VARCHAR, kind VARCHAR, res INTEGER,
        fused_at TIMESTAMPTZ, modelled BOOLEAN DEFAULT false, rows BIGINT, notes VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
)
CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
LAYOUT = "clustered-v1"  # meta.layout once cell_values is clustered (module docstring)
COMPACT_FRACTION = 0.2  # compact when rows appended since the last compaction pass this share
BUCKET_LEVELS = 4  # clustering key: the cell's ancestor this many resolutions up
COMPACT_MEMORY = "2GB"  # DuckDB's memory limit while compacting; the sort spills beyond it


def bucket_shift(res: int) -> int:
    """Right shift of an H3 cell id (resolution ``res``) that leaves its ancestor at
    ``res - BUCKET_LEVELS``: the id holds 3 bits per resolution digit below the base cell,
    and unused digits are all ones, so ``h3 >> shift`` is the same for every descendant of
    one ancestor and ordered like the ancestors' ids.
    """
    return 3 * (15 - max(res - BUCKET_LEVELS, 0))


def _arrow_values(values: pd.DataFrame) -> pa.Table:
    """The fused values as Arrow columns, without per-row Python objects."""
    n = len(values)
    if "valid_time" in values:
        times = pa.array(pd.to_datetime(values["valid_time"], utc=True),
                         type=pa.timestamp("us", tz="UTC"))
    else:
        times = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    variable = pa.array(values["variable"], from_pandas=True)  # zero-copy if Arrow-backed
    if pa.types.is_dictionary(variable.type):
        variable = variable.cast(pa.string())
    cells = values["h3"].to_numpy(dtype=np.uint64, copy=False)
    table = pa.table({
        "h3": pa.array(cells),
        "variable": variable.dictionary_encode(),
        "value": pa.array(values["value"].to_numpy(dtype=np.float64, copy=False)),
        "valid_time": times})
    order = np.argsort(cells, kind="stable")  # one sorted run (module docstring)
    return table.take(pa.array(order))


class TwinBusy(VntwinError):
    """The twin file is held by a running fusion; try again when it finishes."""


class TwinMissing(VntwinError):
    """No twin has been built in this data dir yet (run ``vntwin fuse``)."""


@dataclass(frozen=True)
class VariableInfo:
    """How a fused variable aggregates over several cells.

    ``kind``: ``extensive`` (sum: people, lengths, counts), ``intensive`` (mean weighted by
    the same layer's ``weight`` variable in each cell, e.g. ``coverage`` for polygon
    attributes or ``count`` for point means; unweighted when None), ``fraction`` (share
    of the area: sum over the cells divided by the number of cells), ``min``/``max``.
    """

    kind: str
    unit: str | None = None
    canonical: str | None = None
    weight: str | None = None


@dataclass(frozen=True)
class LayerRecord:
    """One fused layer as the registry knows it."""

    layer: str
    dataset_id: str
    dataset_name: str
    resource_id: str
    fingerprint: str
    kind: str
    res: int
    modelled: bool = False
    notes: str = ""


def add_appended(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Count ``rows`` more values appended since the last compaction (``meta``)."""
    con.execute("INSERT OR REPLACE INTO meta SELECT 'appended_rows', (coalesce(("
                "SELECT value::BIGINT FROM meta WHERE key = 'appended_rows'), 0) + ?)::VARCHAR",
                [rows])


def values_ddl(name: str) -> str:
    """``CREATE TABLE`` of a table with ``cell_values``'s columns."""
    return _VALUES_DDL.format(name=name)


def insert_layer_rows(con: duckdb.DuckDBPyConnection, record: LayerRecord,
                      kinds: dict[str, VariableInfo], rows: int) -> None:
    """Register one layer's variables and its ``layers`` row (replacing earlier ones),
    inside the caller's transaction, once its values are in ``cell_values``.
    """
    con.execute("DELETE FROM variables WHERE layer = ?", [record.layer])
    if kinds:
        con.executemany("INSERT INTO variables VALUES (?, ?, ?, ?, ?, ?)",
                        [[record.layer, variable, info.kind, info.unit, info.canonical,
                          info.weight] for variable, info in kinds.items()])
    con.execute(
        "INSERT OR REPLACE INTO layers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [record.layer, record.dataset_id, record.dataset_name, record.resource_id,
         record.fingerprint, record.kind, record.res, datetime.now(UTC),
         record.modelled, rows, record.notes])


def _needs_compaction(con: duckdb.DuckDBPyConnection) -> bool:
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    total = con.execute("SELECT count(*) FROM cell_values").fetchone()
    rows = int(total[0]) if total else 0
    if rows == 0:
        return False
    if meta.get("layout") != LAYOUT:
        return True
    return int(meta.get("appended_rows") or 0) > COMPACT_FRACTION * rows


class TwinStore:
    """The twin's DuckDB file in the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection; each caller wraps its own change in a transaction."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with readers.announced_write(self.path):
            try:
                con = readers.connect_for_write(self.path, dict(CONFIG))
            except duckdb.IOException as exc:
                raise TwinBusy(f"the twin is being updated by another process ({exc})"
                               ) from None
            try:
                for statement in SCHEMA:
                    con.execute(statement)
                yield con
            finally:
                con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection; fails clearly if the twin is missing or busy."""
        if not self.path.exists():
            raise TwinMissing("no twin has been built yet: run `vntwin fuse`")
        try:
            shared = readers.acquire(self.path, dict(CONFIG))
        except duckdb.IOException as exc:
            raise TwinBusy(f"the twin is being updated; try again shortly ({exc})") from None
        if shared is not None:  # the process's open instance: a cursor costs ~0.3 ms
            cursor = shared.con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
                readers.give_back(shared)
            return
        try:
            con = duckdb.connect(str(self.path), read_only=True, config=dict(CONFIG))
        except duckdb.IOException as exc:
            raise TwinBusy(f"the twin is being updated; try again shortly ({exc})") from None
        try:
            yield con
        finally:
            con.close()

    # -- grid ----------------------------------------------------------------------------
    def set_grid(self, cells: pd.DataFrame, res: int) -> None:
        """Replace the grid (after a change of resolution or of the units)."""
        with self.write() as con:
            con.execute("BEGIN")
            con.execute("DELETE FROM cells")
            con.register("incoming", cells[["h3", "lat", "lon", "province_code",
                                            "commune_code"]])
            con.execute("INSERT INTO cells SELECT * FROM incoming")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('res', ?)", [str(res)])
            con.execute("COMMIT")

    def resolution(self) -> int | None:
        """The grid's H3 resolution, or None before the first build."""
        if not self.path.exists():
            return None
        with self.read() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
        return int(row[0]) if row else None

    # -- layers --------------------------------------------------------------------------
    def fingerprints(self) -> dict[str, str]:
        """Layer -> fingerprint of what was fused, to skip unchanged layers."""
        if not self.path.exists():
            return {}
        with self.read() as con:
            return dict(con.execute("SELECT layer, fingerprint FROM layers").fetchall())

    def replace_layer(self, record: LayerRecord, values: pd.DataFrame,
                      kinds: dict[str, VariableInfo]) -> int:
        """Swap one layer's values atomically; other layers are untouched.

        The values go in as Arrow columns, sorted by cell in NumPy (one sorted run: see the
        module docstring; DuckDB keeps the insertion order); a layer not fused before has
        no rows to delete, so the delete (a scan of the layer column) is skipped.
        """
        incoming = _arrow_values(values)
        with self.write() as con:
            con.execute("BEGIN")
            try:
                known = con.execute("SELECT count(*) FROM layers WHERE layer = ?",
                                    [record.layer]).fetchone()
                if known and known[0]:
                    con.execute("DELETE FROM cell_values WHERE layer = ?", [record.layer])
                con.register("incoming", incoming)
                con.execute("INSERT INTO cell_values SELECT h3, ?::VARCHAR, variable::VARCHAR, "
                            "value, valid_time FROM incoming", [record.layer])
                con.unregister("incoming")
                add_appended(con, incoming.num_rows)
                insert_layer_rows(con, record, kinds, incoming.num_rows)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return incoming.num_rows

    def needs_compaction(self) -> bool:
        """True when ``cell_values`` is not clustered (an older store, or a merged one) or
        rows appended since the last compaction pass ``COMPACT_FRACTION`` of it.
        """
        if not self.path.exists():
            return False
        with self.read() as con:
            return _needs_compaction(con)

    def compact(self, *, force: bool = False) -> bool:
        """Rewrite ``cell_values`` clustered by cell bucket, layer and cell (see the module
        docstring); returns whether it did. One transaction: the new table replaces the
        old one only once complete. Costs one sort of the table; the file keeps the freed
        blocks for later writes.
        """
        with self.write() as con:
            if not force and not _needs_compaction(con):
                return False
            row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
            shift = bucket_shift(int(row[0]) if row else 8)
            con.execute(f"SET memory_limit = '{COMPACT_MEMORY}'")
            con.execute("BEGIN")
            try:
                con.execute("DROP TABLE IF EXISTS cell_values__compact")
                con.execute(_VALUES_DDL.format(name="cell_values__compact"))
                con.execute("INSERT INTO cell_values__compact SELECT * FROM cell_values "
                            f"ORDER BY h3 >> {shift}, layer, h3, variable, valid_time")
                con.execute("DROP TABLE cell_values")
                con.execute("ALTER TABLE cell_values__compact RENAME TO cell_values")
                con.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?), "
                            "('appended_rows', '0')", [LAYOUT])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("CHECKPOINT")
        return True

    def drop_layers(self, keep: set[str]) -> list[str]:
        """Remove layers whose dataset is gone; returns the removed names. Layers merged
        in from another twin (:mod:`vntwin.twin.merge`) have no dataset here and stay.
        """
        if not self.path.exists():
            return []
        with self.write() as con:
            names = [r[0] for r in con.execute(
                "SELECT layer FROM layers WHERE NOT starts_with(coalesce(fingerprint, ''), "
                "'merged:')").fetchall()]
            gone = [n for n in names if n not in keep]
            con.execute("BEGIN")
            for name in gone:
                for table in ("cell_values", "variables", "layers"):
                    con.execute(f"DELETE FROM {table} WHERE layer = ?", [name])
            con.execute("COMMIT")
        return gone

    def layers(self) -> list[dict[str, Any]]:
        """Every fused layer with its variables."""
        with self.read() as con:
            rows = con.execute(
                "SELECT l.layer, l.dataset_name, l.kind, l.res, l.fused_at, l.modelled, "
                "l.rows, l.notes, list(struct_pack(name := v.variable, kind := v.kind, "
                "unit := v.unit, canonical := v.canonical) ORDER BY v.variable) "
                "FROM layers l LEFT JOIN variables v USING (layer) "
                "GROUP BY ALL ORDER BY l.layer").fetchall()
        return [{"layer": r[0], "dataset": r[1], "kind": r[2], "res": r[3],
                 "fused_at": r[4].isoformat() if r[4] else None, "modelled": r[5],
                 "rows": r[6], "notes": r[7], "variables": [v for v in r[8] if v["name"]]}
                for r in rows]
