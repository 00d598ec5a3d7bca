"""The twin store: one DuckDB file with the grid, the fused values and the layer registry.

Everything downstream of fusion is relational on the integer H3 id (DESIGN.md, Storage).
Tables:

- ``cells(h3, lat, lon, province_code, commune_code)``: the territory's grid;
- ``cell_series(h3, series, value, valid_time)``: the long table of every fused value,
  each row naming its series, a (layer, variable) pair, by a small integer;
- ``series(series, layer, variable)``: what each series id stands for;
- ``cell_values(h3, layer, variable, value, valid_time)``: a view joining the two, what
  every reader queries (DESIGN.md calls it ``values``, an SQL keyword, hence the prefix);
- ``variables(layer, variable, kind, unit, canonical, weight)``: how each variable
  aggregates over an area (see ``VariableInfo``);
- ``layers(layer, dataset_id, dataset_name, resource_id, fingerprint, kind, res,
  fused_at, modelled, rows)``: what was fused from which dataset version, so re-fusing
  skips unchanged layers.

DuckDB allows one writing process: ``vntwin fuse`` writes, the server opens the file
read-only per request and answers "being updated" while a fusion holds it.

Why integer series rather than the layer and variable names in each row: writing 215 M
values of the national set spent about 70 % of its time turning dictionary-coded names
back into strings and compressing them again (DuckDB stores a VARCHAR column with its
own dictionary); an INTEGER column is written 3–4 times faster, scanned as fast, and the
view costs a lookup by cell about half a millisecond. Series ids of one layer are
consecutive after a rebuild or a compaction, so a layer's rows of a bucket are one run.

Layout of ``cell_series`` (what makes lookups by cell fast): each layer's rows are inserted
sorted by cell, and :meth:`TwinStore.compact` rewrites the table clustered by the cell's
coarse ancestor (``bucket_shift``: resolution ``res - 4``, ~1,800 km² at res 8), then by
layer and cell. DuckDB keeps a min/max zone map per row group, so a query for one cell or
one administrative unit reads the few row groups of its buckets instead of the whole table,
and a query for one layer in a bounding box reads only that layer's slices of the buckets
in the box. Rows appended since the last compaction (re-fused layers) are sorted runs of
their own; ``vntwin fuse`` compacts again once they make up ``COMPACT_FRACTION`` of the
table. A fusion of many layers at once writes them in this layout directly
(:mod:`vntwin.twin.bulk`), without a compaction. A store written before this layout has
no ``meta.layout``: it is read as it is (correct, only slower) and rewritten by the next
fusion (or by ``compact()``). A store written before series ids holds ``cell_values`` as
a table: readers query it as they query the view, and the first writing connection
converts it, clustered (``_convert_named_values``). A compaction or a conversion is one
transaction: readers see the old table or the new one, never a mix.
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
        h3 UBIGINT NOT NULL, series INTEGER NOT NULL, value DOUBLE NOT NULL,
        valid_time TIMESTAMPTZ)"""
VALUES_VIEW = """CREATE VIEW IF NOT EXISTS cell_values AS
    SELECT v.h3, s.layer, s.variable, v.value, v.valid_time
    FROM cell_series v JOIN series s USING (series)"""
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cells (
        h3 UBIGINT PRIMARY KEY, lat DOUBLE, lon DOUBLE,
        province_code VARCHAR, commune_code VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS series (
        series INTEGER NOT NULL, layer VARCHAR NOT NULL, variable VARCHAR NOT NULL)""",
    _VALUES_DDL.format(name="cell_series"),
    VALUES_VIEW,
    """CREATE TABLE IF NOT EXISTS variables (
        layer VARCHAR NOT NULL, variable VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        unit VARCHAR, canonical VARCHAR, weight VARCHAR, PRIMARY KEY (layer, variable))""",
    """CREATE TABLE IF NOT EXISTS layers (
        layer VARCHAR PRIMARY KEY, dataset_id VARCHAR, dataset_name VARCHAR,
        resource_id VARCHAR, fingerprint VARCHAR, kind VARCHAR, res INTEGER,
        fused_at TIMESTAMPTZ, modelled BOOLEAN DEFAULT false, rows BIGINT, notes VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    # each cell's hexagon, as ``gridcells.GridCells`` holds it (vertex offsets from the
    # centre, lon/lat pairs, padded), so that a server need not compute them
    """CREATE TABLE IF NOT EXISTS cell_rings (
        h3 UBIGINT NOT NULL, vertices TINYINT NOT NULL, ring FLOAT[20] NOT NULL)""",
)
CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
LAYOUT = "clustered-v2"  # meta.layout once cell_series is clustered (module docstring)
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
    of the area: sum over the cells divided by the number of cells), ``share`` (a
    category's share of the ``weight`` variable, e.g. road type by ``length_m``: like
    ``intensive`` but over the weight of every cell of the area, since cells where the
    category is absent store no row, not a 0), ``min``/``max``.
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


def new_series(con: duckdb.DuckDBPyConnection, layer: str, variables: list[str]
               ) -> np.ndarray:
    """Fresh consecutive series ids for ``variables`` of ``layer`` (in that order),
    registered in ``series``; the caller has removed the layer's old ones.
    """
    row = con.execute("SELECT coalesce(max(series) + 1, 0) FROM series").fetchone()
    first = int(row[0]) if row else 0
    ids = np.arange(first, first + len(variables), dtype=np.int32)
    if variables:
        con.executemany("INSERT INTO series VALUES (?, ?, ?)",
                        [[int(i), layer, v] for i, v in zip(ids, variables, strict=True)])
    return ids


def delete_layer_values(con: duckdb.DuckDBPyConnection, layer: str) -> None:
    """Remove a layer's values and series, inside the caller's transaction. The ids go
    in as literals with their range: DuckDB skips row groups by zone map on constants.
    """
    ids = [int(r[0]) for r in con.execute("SELECT series FROM series WHERE layer = ?",
                                          [layer]).fetchall()]
    if not ids:
        return
    listed = ", ".join(map(str, ids))
    con.execute(f"DELETE FROM cell_series WHERE series BETWEEN {min(ids)} AND {max(ids)} "
                f"AND series IN ({listed})")
    con.execute("DELETE FROM series WHERE layer = ?", [layer])


def swap_layer_values(con: duckdb.DuckDBPyConnection, layer: str, table: pa.Table) -> int:
    """Replace a layer's values with ``table`` (``h3``, ``variable`` dictionary-coded in
    one chunk, ``value``, ``valid_time``), inside the caller's transaction; returns rows.
    """
    delete_layer_values(con, layer)
    variable = table.column("variable").combine_chunks()
    if not pa.types.is_dictionary(variable.type):
        variable = variable.dictionary_encode()
    ids = new_series(con, layer, [str(v) for v in variable.dictionary.to_pylist()])
    codes = variable.indices.to_numpy(zero_copy_only=False)
    incoming = pa.table({"h3": table.column("h3"),
                         "series": ids[codes] if len(codes) else np.zeros(0, np.int32),
                         "value": table.column("value"),
                         "valid_time": table.column("valid_time")})
    con.register("incoming", incoming)
    con.execute("INSERT INTO cell_series SELECT * FROM incoming")
    con.unregister("incoming")
    add_appended(con, incoming.num_rows)
    return incoming.num_rows


def append_values(con: duckdb.DuckDBPyConnection, select: str,
                  params: list[Any] | None = None) -> int:
    """Append the rows of ``select`` (columns ``h3, layer, variable, value, valid_time``)
    to ``cell_values``, with new series for pairs not seen before; for a caller that adds
    values beside a fusion's (tests, benchmarks, merged twins). Returns the rows added.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE appended AS {select}", params or [])
    con.execute("""INSERT INTO series
        SELECT (SELECT coalesce(max(series) + 1, 0) FROM series)
               + row_number() OVER (ORDER BY layer, variable) - 1, layer, variable
        FROM (SELECT DISTINCT layer, variable FROM appended
              EXCEPT SELECT layer, variable FROM series)""")
    con.execute("INSERT INTO cell_series SELECT a.h3, s.series, a.value, a.valid_time "
                "FROM appended a JOIN series s USING (layer, variable)")
    row = con.execute("SELECT count(*) FROM appended").fetchone()
    con.execute("DROP TABLE appended")
    rows = int(row[0]) if row else 0
    add_appended(con, rows)
    return rows


def _named_values_table(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a store of before series ids: ``cell_values`` is a table, not a view."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                      "current_database() AND table_name = 'cell_values'").fetchone()
    return bool(row and row[0])


def _rewrite_clustered(con: duckdb.DuckDBPyConnection, source: str, shift: int) -> None:
    """``cell_series`` and ``series`` rewritten from ``source`` (a relation with the
    columns of ``cell_values``), clustered, with series ids numbered by layer and
    variable; inside the caller's transaction. ``source`` must not read ``cell_series``
    itself: the caller copies it aside first.
    """
    con.execute(f"""CREATE OR REPLACE TEMP TABLE renumbered AS
        SELECT (row_number() OVER (ORDER BY layer, variable) - 1)::INTEGER AS series,
               layer, variable
        FROM (SELECT DISTINCT layer, variable FROM {source})""")
    con.execute("DROP TABLE IF EXISTS cell_series__compact")
    con.execute(_VALUES_DDL.format(name="cell_series__compact"))
    con.execute(f"""INSERT INTO cell_series__compact
        SELECT v.h3, r.series, v.value, v.valid_time
        FROM {source} v JOIN renumbered r USING (layer, variable)
        ORDER BY v.h3 >> {shift}, v.layer, v.h3, r.series, v.valid_time""")
    con.execute("DELETE FROM series")
    con.execute("INSERT INTO series SELECT * FROM renumbered")
    con.execute("DROP TABLE renumbered")


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


def _grid_shift(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
    return bucket_shift(int(row[0]) if row else 8)


def _convert_named_values(con: duckdb.DuckDBPyConnection) -> None:
    """A store of before series ids to the current layout, clustered, in one transaction
    (the cost of one compaction).
    """
    _swap_clustered(con, before=list(SCHEMA[:2]),  # cells, series
                    source="cell_values", after=["DROP TABLE cell_values"])


def _swap_clustered(con: duckdb.DuckDBPyConnection, before: list[str], source: str,
                    after: list[str]) -> None:
    """One transaction: ``before``, ``cell_series`` rewritten clustered from ``source``
    (``_rewrite_clustered``), ``after`` (dropping what ``source`` read), then the new
    table swapped in and the layout recorded.
    """
    con.execute(f"SET memory_limit = '{COMPACT_MEMORY}'")
    con.execute("BEGIN")
    try:
        for statement in before:
            con.execute(statement)
        _rewrite_clustered(con, source, _grid_shift(con))
        for statement in after:
            con.execute(statement)
        con.execute("ALTER TABLE cell_series__compact RENAME TO cell_series")
        con.execute(VALUES_VIEW)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?), "
                    "('appended_rows', '0')", [LAYOUT])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _needs_compaction(con: duckdb.DuckDBPyConnection) -> bool:
    if _named_values_table(con):
        return True
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    total = con.execute("SELECT count(*) FROM cell_series").fetchone()
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
                con.execute("SET enable_progress_bar = false")  # it would cut into rich's
                if _named_values_table(con):
                    _convert_named_values(con)
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
    def set_grid(self, cells: pd.DataFrame, res: int, version: int = 1) -> None:
        """Replace the grid (after a change of resolution or of the units: ``version``,
        the rule that gave cells to units, ``admin.CELLS_VERSION``), with every
        cell's hexagon (``gridcells.rings_table``: 1–2 s for the national grid, once,
        rather than in every server process that draws the grid).
        """
        from vntwin.twin.gridcells import rings_table  # gridcells reads this module

        rings = rings_table(cells["h3"].to_numpy(np.uint64), cells["lon"].to_numpy(float),
                            cells["lat"].to_numpy(float))
        with self.write() as con:
            con.execute("BEGIN")
            con.execute("DELETE FROM cells")
            con.execute("DELETE FROM cell_rings")
            con.register("incoming", cells[["h3", "lat", "lon", "province_code",
                                            "commune_code"]])
            con.execute("INSERT INTO cells SELECT * FROM incoming")
            con.unregister("incoming")
            con.register("incoming", rings)
            con.execute("INSERT INTO cell_rings SELECT * FROM incoming")
            con.unregister("incoming")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('res', ?), ('grid_version', ?)",
                        [str(res), str(version)])
            con.execute("COMMIT")

    def resolution(self) -> int | None:
        """The grid's H3 resolution, or None before the first build."""
        if not self.path.exists():
            return None
        with self.read() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'res'").fetchone()
        return int(row[0]) if row else None

    def grid_version(self) -> int | None:
        """The rule the grid's cells were given to units by (``set_grid``); 1 for a store
        written before it was recorded, None before the first build.
        """
        if not self.path.exists():
            return None
        with self.read() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'grid_version'").fetchone()
        return int(row[0]) if row else 1

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
        module docstring).
        """
        incoming = _arrow_values(values)
        with self.write() as con:
            con.execute("BEGIN")
            try:
                rows = swap_layer_values(con, record.layer, incoming)
                insert_layer_rows(con, record, kinds, rows)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return rows

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
            _swap_clustered(
                con, before=["ALTER TABLE cell_series RENAME TO cell_series__old",
                             "CREATE TEMP VIEW old_values AS SELECT v.h3, s.layer, "
                             "s.variable, v.value, v.valid_time FROM cell_series__old v "
                             "JOIN series s USING (series)"],
                source="old_values",
                after=["DROP VIEW old_values", "DROP TABLE cell_series__old"])
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
                delete_layer_values(con, name)
                for table in ("variables", "layers"):
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
