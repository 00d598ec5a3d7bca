"""Benchmark: load a 1 GiB CSV into the datastore, against CKAN DataPusher's limit.

``run(workdir)`` writes a ~1 GiB CSV (integers, floats, Vietnamese text, dates, booleans),
times ``load_resource`` on it, and times a plain Python ``csv.reader`` pass over the first
100 MiB as an in-run baseline for a row-by-row loader. Returns a Markdown section.

    python bench/bench_datastore.py [workdir]
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from vntwin.datastore import datastore_search, load_resource

TARGET_BYTES = 1 << 30
GOAL_S = 60.0
DATAPUSHER_MAX_BYTES = 10_485_760  # DataPusher's MAX_CONTENT_LENGTH default
BASELINE_BYTES = 100 << 20

_ROWS_SQL = """
SELECT i AS ma_so,
       round(random() * 1e6, 3) AS gia_tri,
       (['Hà Nội', 'Thành phố Hồ Chí Minh', 'Đà Nẵng', 'Hải Phòng', 'Cần Thơ',
         'Thừa Thiên Huế', 'Quảng Ninh', 'Bà Rịa – Vũng Tàu'])[1 + (i % 8)::INT] AS tinh,
       'Phường ' || (i % 997)::VARCHAR || ' – dân số ước tính năm '
           || (2000 + i % 25)::VARCHAR AS mo_ta,
       DATE '2000-01-01' + (i % 9000)::INT AS ngay,
       (i % 3 = 0) AS co_cang,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7) % 100000 END AS so_ho
FROM range({rows}) AS t(i)
"""


def generate(path: Path, target_bytes: int = TARGET_BYTES) -> int:
    """Write a CSV of about ``target_bytes`` with DuckDB; return its number of rows."""
    with duckdb.connect() as con:
        probe = path.with_suffix(".probe.csv")
        con.execute(f"COPY ({_ROWS_SQL.format(rows=100_000)}) TO '{probe}' (HEADER)")
        per_row = probe.stat().st_size / 100_000
        probe.unlink()
        rows = math.ceil(target_bytes / per_row)
        con.execute(f"COPY ({_ROWS_SQL.format(rows=rows)}) TO '{path}' (HEADER)")
    return rows


def python_csv_rate(path: Path, limit: int = BASELINE_BYTES) -> float:
    """Bytes per second of decoding and a bare ``csv.reader`` loop over ``limit`` bytes."""
    with path.open("rb") as file:
        data = file.read(limit)
    data = data[: data.rfind(b"\n") + 1]
    started = time.perf_counter()
    cells = 0
    for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        cells += len(row)
    return len(data) / (time.perf_counter() - started)


def run(workdir: Path) -> str:
    """Generate, load and time; return the Markdown section for the benchmark report."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "bench_datastore.csv"
    store = workdir / "bench_datastore_store"
    try:
        started = time.perf_counter()
        rows = generate(source)
        generated_s = time.perf_counter() - started
        size = source.stat().st_size
        started = time.perf_counter()
        fields = load_resource(store, "bench-1gib", source, "CSV")
        load_s = time.perf_counter() - started
        loaded = datastore_search(store, "bench-1gib", limit=0)["total"]
        started = time.perf_counter()
        found = datastore_search(store, "bench-1gib", q="vung tau", limit=10)["total"]
        search_s = time.perf_counter() - started
        python_rate = python_csv_rate(source)
    finally:
        source.unlink(missing_ok=True)
        shutil.rmtree(store, ignore_errors=True)
    megabytes = size / 1e6
    types = ", ".join(f"{field['id']} {field['type']}" for field in fields[1:])
    return "\n".join([
        "## Datastore load of a 1 GiB CSV",
        "",
        f"A generated CSV of {size / 2**30:.2f} GiB ({megabytes:,.0f} MB, {rows:,} rows, "
        f"{len(fields) - 1} columns: {types}; Vietnamese text) loaded with `load_resource` "
        "into a DuckDB file, column types taken from the whole file.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| file size | {megabytes:,.0f} MB |",
        f"| rows | {rows:,} written, {loaded:,} loaded |",
        f"| load time | {load_s:.1f} s |",
        f"| throughput | {megabytes / load_s:,.0f} MB/s |",
        f"| goal | ≤ {GOAL_S:.0f} s — {'met' if load_s <= GOAL_S else 'NOT met'} |",
        f"| `datastore_search(q=\"vung tau\")`, 10 records + total ({found:,} hits) "
        f"| {search_s:.2f} s |",
        f"| baseline: CKAN DataPusher | refuses files over {DATAPUSHER_MAX_BYTES >> 20} MiB "
        f"(`MAX_CONTENT_LENGTH` = {DATAPUSHER_MAX_BYTES:,} bytes): this file is "
        f"{size / DATAPUSHER_MAX_BYTES:,.0f}× that |",
        f"| baseline: bare Python `csv.reader` loop (first {BASELINE_BYTES >> 20} MiB, same run) "
        f"| {python_rate / 1e6:,.0f} MB/s → ≥ {size / python_rate:,.0f} s for this file "
        "before any typing or inserting |",
        "",
        f"(Generating the file took {generated_s:.1f} s.)",
        "",
    ])


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vntwin-"))
    print(run(target))
