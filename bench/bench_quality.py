"""Benchmark: the six-dimension quality score of a 10-million-row table.

``run(workdir)`` builds a datastore table of 10 M rows from the 3,321 real 2025 communes
(``vietnamadminunits``) repeated, with defects injected every so often (a bad code, a
swapped coordinate, mojibake, stray spaces, an outlier, a repeated row), and scores it in
a child process so its time and peak memory (VmHWM) are its own. Goal: at most 60 s and
4 GiB. Baseline in the same run: one DuckDB scan counting every column of the table.

    python bench/bench_quality.py [workdir]
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from common import hwm_mib, quick, table, verdict

ROWS = 10_000_000
GOAL_S = 60.0
GOAL_MIB = 4096.0
RESOURCE = "bench-quality-resource"


def build(path: Path, rows: int) -> None:
    """The table: communes repeated, with defects every few thousand rows."""
    from vntwin.twin.admin_build import package_dir

    db = package_dir() / "data" / "dataset.db"
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    units = src.execute("SELECT wardCode, ward, provinceCode, province, wardLat, wardLon, "
                        "wardAreaKm2 FROM admin_units ORDER BY wardCode").fetchall()
    src.close()
    with duckdb.connect(str(path)) as con:
        names = ["code", "name", "prov", "prov_name", "lat", "lon", "area"]
        frame = pa.table({"k": list(range(len(units))),
                          **{k: [u[j] for u in units] for j, k in enumerate(names)}})
        con.register("units_arrow", frame)
        con.execute("CREATE TABLE units AS SELECT * FROM units_arrow")
        n = len(units)
        con.execute(f"""
            CREATE TABLE data AS
            SELECT i + 1 AS _id,
                   CASE WHEN i % 100003 = 7 THEN '99999' ELSE u.code END AS commune_code,
                   CASE WHEN i % 50021 = 11 THEN ' ' || u.name
                        WHEN i % 70001 = 13 THEN 'PhÆ°á»\u009dng ' || u.name
                        ELSE u.name END AS commune_name,
                   u.prov AS province_code, u.prov_name AS province_name,
                   CASE WHEN i % 90001 = 17 THEN u.lon ELSE u.lat END AS latitude,
                   CASE WHEN i % 90001 = 17 THEN u.lat ELSE u.lon END AS longitude,
                   CASE WHEN i % 80021 = 19 THEN u.area * 100000 ELSE u.area END AS area_km2,
                   2015 + (i // {n}) % 11 AS nam,
                   (i // {n})::INTEGER AS dot
            FROM range({rows}) t(i) JOIN units u ON u.k = i % {n}
            ORDER BY i""")
        con.execute("INSERT INTO data SELECT (SELECT max(_id) FROM data) + 1, commune_code, "
                    "commune_name, province_code, province_name, latitude, longitude, "
                    "area_km2, nam, dot FROM data WHERE _id = 5")
        con.execute("DROP TABLE units")
        con.execute("CHECKPOINT")


def child(path: Path, admin_dir: Path) -> None:
    """Score the table and print seconds and peak memory as JSON (run in its own process)."""
    from vntwin.quality.rules import load_rules
    from vntwin.quality.scorer import score
    from vntwin.quality.tables import Tables
    from vntwin.twin.admin import AdminUnits

    admin = AdminUnits.load(admin_dir)
    admin.match(["48"], "province")  # the code lookup is built once per process
    now = datetime.now(UTC)
    pkg = {"id": "bench", "name": "bench-quality", "title": "Xã (10 triệu dòng)",
           "notes": "Bảng xã lặp lại để đo tốc độ", "license_id": "cc-by-4.0",
           "update_frequency": "ANNUAL", "spatial_label": "Việt Nam",
           "metadata_modified": now.isoformat(), "access_level": "public",
           "resources": [{"id": RESOURCE, "name": "xa.csv", "format": "CSV",
                          "datastore_active": True, "created": now.isoformat()}]}
    started = time.perf_counter()
    tables = Tables()
    tables.add_datastore(path, RESOURCE, "xa.csv")
    report = score(pkg, tables, load_rules(), now, lambda: admin)
    tables.close()
    seconds = time.perf_counter() - started
    findings = {d: sum(f["count"] for f in report[d]["findings"])
                for d in ("accurate", "sufficient", "clean", "live", "unified", "shared")}
    print(json.dumps({"seconds": seconds, "hwm_mib": hwm_mib(), "overall": report["overall"],
                      "scores": {d: report[d]["score"] for d in findings},
                      "findings": findings, "errors": report["errors"],
                      "timings": report["timings_s"]}))


def run(workdir: Path) -> str:
    rows = 200_000 if quick() else ROWS
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{RESOURCE}.duckdb"
    admin_dir = workdir / "admin"
    t0 = time.perf_counter()
    build(path, rows)
    built = time.perf_counter() - t0
    with duckdb.connect(str(path), read_only=True) as con:
        cols = [r[0] for r in con.execute("DESCRIBE data").fetchall()]
        t0 = time.perf_counter()
        con.execute("SELECT " + ", ".join(f'count("{c}")' for c in cols) + " FROM data")
        scan = time.perf_counter() - t0
    # warm the administrative units' cache outside the measured run
    subprocess.run([sys.executable, "-c", "from vntwin.twin.admin import AdminUnits; "
                    f"AdminUnits.load({str(admin_dir)!r})"], check=True)
    out = subprocess.run([sys.executable, __file__, "--child", str(path), str(admin_dir)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ok_time = result["seconds"] <= GOAL_S
    ok_mem = result["hwm_mib"] <= GOAL_MIB
    lines = [
        "## Quality score of a 10-million-row table", "",
        f"{rows + 1:,} rows (the 3,321 real 2025 communes repeated, defects injected); "
        f"table built in {built:.1f} s. Six dimensions, 25 checks, findings with row numbers.",
        "",
        table(["measure", "value", "goal", ""], [
            ["scoring time", f"{result['seconds']:.1f} s", f"≤ {GOAL_S:.0f} s",
             verdict(ok_time)],
            ["peak memory (VmHWM of the scoring process)", f"{result['hwm_mib']:.0f} MiB",
             f"≤ {GOAL_MIB:.0f} MiB", verdict(ok_mem)],
            ["baseline: one DuckDB scan counting every column", f"{scan:.2f} s", "", ""],
            ["scoring / baseline", f"{result['seconds'] / max(scan, 1e-9):.0f}×", "", ""],
        ]), "",
        "Scores: " + ", ".join(f"{d} {s}" for d, s in result["scores"].items())
        + f"; overall {result['overall']}.",
        "Failing units per dimension: " + ", ".join(f"{d} {n:,}"
                                                    for d, n in result["findings"].items())
        + ".",
    ]
    if result["errors"]:
        lines.append("Errors: " + "; ".join(result["errors"]))
    path.unlink(missing_ok=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        print(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())))
