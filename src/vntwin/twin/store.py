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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from vntwin.errors import VntwinError

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cells (
        h3 UBIGINT PRIMARY KEY, lat DOUBLE, lon DOUBLE,
        province_code VARCHAR, commune_code VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS cell_values (
        h3 UBIGINT NOT NULL, layer VARCHAR NOT NULL, variable VARCHAR NOT NULL,
        value DOUBLE NOT NULL, valid_time TIMESTAMPTZ)""",
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


class TwinStore:
    """The twin's DuckDB file in the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection; each caller wraps its own change in a transaction."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), config=dict(CONFIG))
        except duckdb.IOException as exc:
            raise TwinBusy(f"the twin is being updated by another process ({exc})") from None
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
        """Swap one layer's values atomically; other layers are untouched."""
        frame = values.copy()
        if "valid_time" not in frame:
            frame["valid_time"] = pd.NaT
        frame["layer"] = record.layer
        frame = frame[["h3", "layer", "variable", "value", "valid_time"]]
        with self.write() as con:
            con.execute("BEGIN")
            try:
                con.execute("DELETE FROM cell_values WHERE layer = ?", [record.layer])
                con.execute("DELETE FROM variables WHERE layer = ?", [record.layer])
                con.register("incoming", frame)
                con.execute("INSERT INTO cell_values SELECT h3::UBIGINT, layer, variable, "
                            "value, valid_time::TIMESTAMPTZ FROM incoming")
                con.unregister("incoming")
                for variable, info in kinds.items():
                    con.execute("INSERT INTO variables VALUES (?, ?, ?, ?, ?, ?)",
                                [record.layer, variable, info.kind, info.unit, info.canonical,
                                 info.weight])
                con.execute(
                    "INSERT OR REPLACE INTO layers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [record.layer, record.dataset_id, record.dataset_name, record.resource_id,
                     record.fingerprint, record.kind, record.res, datetime.now(UTC),
                     record.modelled, len(frame), record.notes])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return len(frame)

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
