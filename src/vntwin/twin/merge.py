"""Merging twins built separately (two provinces, a transport and a land twin) into one.

The inputs are never changed: the merge writes a new twin file. Cells, layers and values
are the union of the inputs. Where two twins hold a different value for the same cell,
layer, variable and time, the declared policy picks one — ``priority`` (the order the
twins are given in, first wins) or ``newest`` (the layer fused most recently, then
priority) — and the conflict goes into the report with every candidate value. Equal values
(within ``rel_tol``) are not conflicts. Grids must share one H3 resolution: values at
different resolutions do not describe the same places.

All of it runs as SQL inside DuckDB over the attached inputs, so twins larger than memory
merge too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from vntwin.errors import ValidationError
from vntwin.twin import readers
from vntwin.twin.store import CONFIG, SCHEMA, TwinStore, append_values

Policy = Literal["priority", "newest"]
MERGED_PREFIX = "merged:"  # fingerprint of a layer that came from another twin


@dataclass
class MergeReport:
    """What a merge did, and every conflict it resolved."""

    out: str
    policy: str
    inputs: list[str]
    res: int
    cells: int = 0
    layers: int = 0
    values: int = 0
    conflicts: int = 0
    unit_disagreements: int = 0
    conflict_rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The report without the conflict rows (they go to the CSV)."""
        return {k: v for k, v in self.__dict__.items() if k != "conflict_rows"}


def _resolution(path: Path) -> int:
    store = TwinStore(path)
    res = store.resolution()
    if res is None:
        raise ValidationError({"twins": [f"{path}: not a twin (no grid)"]})
    return res


def merge_twins(inputs: list[Path], out: Path, *, policy: Policy = "priority",
                rel_tol: float = 1e-9, report_csv: Path | None = None) -> MergeReport:
    """Merge ``inputs`` (highest priority first) into a new twin file ``out``."""
    if len(inputs) < 2:
        raise ValidationError({"twins": ["give two twins or more to merge"]})
    if policy not in ("priority", "newest"):
        raise ValidationError({"policy": [f"unknown policy {policy!r}: priority or newest"]})
    paths = [Path(p).resolve() for p in inputs]
    for p in paths:
        if not p.exists():
            raise ValidationError({"twins": [f"{p}: no such file"]})
    if Path(out).resolve() in paths:
        raise ValidationError({"out": ["the merged twin must be a new file, not an input"]})
    resolutions = {str(p): _resolution(p) for p in paths}
    if len(set(resolutions.values())) > 1:
        raise ValidationError({"twins": ["twins at different H3 resolutions cannot merge: "
                                         + ", ".join(f"{k} is {v}" for k, v in
                                                     resolutions.items())]})
    res = next(iter(resolutions.values()))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.merging")
    tmp.unlink(missing_ok=True)
    report = MergeReport(str(out), policy, [str(p) for p in paths], res)
    con = duckdb.connect(str(tmp), config=dict(CONFIG))
    try:
        for statement in SCHEMA:
            con.execute(statement)
        for i, p in enumerate(paths):
            readers.release(Path(p))  # one process cannot hold a file in two instances
            con.execute(f"ATTACH '{_quote(p)}' AS t{i} (READ_ONLY)")
        _merge(con, len(paths), policy, rel_tol, report)
        con.execute("INSERT INTO meta VALUES ('res', ?), ('merged_from', ?), ('merged_at', ?)",
                    [str(res), json.dumps(report.inputs), datetime.now(UTC).isoformat()])
        # the oldest rule that gave the inputs' cells to units (store.grid_version)
        con.execute("INSERT INTO meta SELECT 'grid_version', min(coalesce(v, '1')) FROM ("
                    + " UNION ALL ".join(f"SELECT (SELECT value FROM t{i}.meta WHERE key = "
                                         "'grid_version') AS v" for i in range(len(paths)))
                    + ")")
        rows = con.execute("SELECT * FROM conflicts ORDER BY layer, variable, h3, valid_time"
                           ).to_arrow_table().to_pandas()
        report.conflict_rows = rows.to_dict("records")
        if report_csv is not None:
            rows.to_csv(report_csv, index=False)
        for i in range(len(paths)):
            con.execute(f"DETACH t{i}")
        con.execute("DROP TABLE conflicts")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    try:
        TwinStore(tmp).compact()  # cluster cell_values for lookups by cell (store.py)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with readers.announced_write(out):  # readers of an older twin at ``out`` let go
        os.replace(tmp, out)
    return report


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _union(n: int, table: str, columns: str) -> str:
    return " UNION ALL ".join(f"SELECT {i} AS src, {columns} FROM t{i}.{table}"
                              for i in range(n))


def _merge(con: duckdb.DuckDBPyConnection, n: int, policy: Policy, rel_tol: float,
           report: MergeReport) -> None:
    # the rank of each (input, layer): lower wins
    order = "src" if policy == "priority" else "fused_at DESC NULLS LAST, src"
    con.execute(f"""CREATE TEMP TABLE layer_rank AS
        SELECT src, layer, row_number() OVER (PARTITION BY layer ORDER BY {order}) AS rank
        FROM ({_union(n, 'layers', 'layer, fused_at')})""")
    # cells: the union; the higher-priority twin's unit codes win where they disagree
    con.execute(f"""INSERT INTO cells SELECT h3, lat, lon, province_code, commune_code FROM (
        SELECT *, row_number() OVER (PARTITION BY h3 ORDER BY src) AS k
        FROM ({_union(n, 'cells', '*')})) WHERE k = 1""")
    report.unit_disagreements = _count(con, f"""SELECT count(*) FROM (
        SELECT h3 FROM ({_union(n, 'cells', '*')}) GROUP BY h3
        HAVING count(DISTINCT coalesce(province_code, '') || '/' || coalesce(commune_code, ''))
               > 1)""")
    # layers and variables: the winning input's record; merged layers keep where they came from
    con.execute(f"""INSERT INTO layers SELECT l.layer, l.dataset_id, l.dataset_name,
            l.resource_id, '{MERGED_PREFIX}' || l.fingerprint, l.kind, l.res, l.fused_at,
            l.modelled, l.rows, l.notes
        FROM ({_union(n, 'layers', '*')}) l JOIN layer_rank r USING (src, layer)
        WHERE r.rank = 1""")
    con.execute(f"""INSERT INTO variables SELECT v.layer, v.variable, v.kind, v.unit,
            v.canonical, v.weight
        FROM ({_union(n, 'variables', '*')}) v JOIN layer_rank r USING (src, layer)
        QUALIFY row_number() OVER (PARTITION BY v.layer, v.variable ORDER BY r.rank) = 1""")
    # values: rank candidates per key, keep the first, list keys whose candidates differ
    con.execute(f"""CREATE TEMP TABLE candidates AS
        SELECT v.*, r.rank,
            row_number() OVER w AS pick, count(*) OVER w AS n,
            max(v.value) OVER w AS hi, min(v.value) OVER w AS lo
        FROM ({_union(n, 'cell_values', '*')}) v JOIN layer_rank r USING (src, layer)
        WINDOW w AS (PARTITION BY v.h3, v.layer, v.variable, v.valid_time ORDER BY r.rank
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)""")
    append_values(con, "SELECT h3, layer, variable, value, valid_time FROM candidates "
                  "WHERE pick = 1")
    con.execute("CREATE TEMP TABLE inputs (src INTEGER, twin VARCHAR)")
    con.executemany("INSERT INTO inputs VALUES (?, ?)", list(enumerate(report.inputs)))
    con.execute("""CREATE TABLE conflicts AS
        SELECT lower(printf('%x', c.h3)) AS h3, c.layer, c.variable, c.valid_time,
            first(i.twin ORDER BY c.rank) AS chosen_twin,
            first(c.value ORDER BY c.rank) AS chosen_value,
            string_agg(i.twin || ' = ' || c.value::VARCHAR, '; ' ORDER BY c.rank) AS candidates
        FROM candidates c JOIN inputs i USING (src)
        WHERE c.n > 1 AND c.hi - c.lo > ? * greatest(abs(c.hi), abs(c.lo), 1e-300)
        GROUP BY c.h3, c.layer, c.variable, c.valid_time""", [rel_tol])
    report.cells = _count(con, "SELECT count(*) FROM cells")
    report.layers = _count(con, "SELECT count(*) FROM layers")
    report.values = _count(con, "SELECT count(*) FROM cell_values")
    report.conflicts = _count(con, "SELECT count(*) FROM conflicts")
    con.execute("DROP TABLE candidates")
    con.execute("DROP TABLE layer_rank")
