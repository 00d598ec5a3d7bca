"""Each measure column's canonical variable, from the twin's schema matching (cached per
table for the run, since ``ranges`` and ``variables`` both need it).
"""

from __future__ import annotations

from typing import Any

from vntwin.quality.base import Context
from vntwin.quality.tables import Table
from vntwin.twin.matching import Mapping, match_columns


def mappings(ctx: Context, table: Table) -> dict[str, Mapping]:
    """Column name -> mapping, for the table's measure columns."""
    cache: dict[str, dict[str, Mapping]] = ctx.facts.setdefault("_mappings", {})
    if table.rel not in cache:
        measures = table.of_role("measure")
        if not measures:
            cache[table.rel] = {}
        else:
            names = [c.name for c in measures]
            sql = ", ".join(c.sql for c in measures)
            rows = table.con.execute(f"SELECT {sql} FROM {table.rel} LIMIT 500").fetchall()
            samples: dict[str, list[Any]] = {n: [r[i] for r in rows]
                                             for i, n in enumerate(names)}
            cache[table.rel] = {m.column: m for m in match_columns(names, samples)}
    return cache[table.rel]
