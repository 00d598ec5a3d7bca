"""Load a tabular file into the datastore: one DuckDB file per resource.

``<store_dir>/<resource_id>.duckdb`` holds a table ``data`` whose first column ``_id``
numbers the rows 1..n in file order, like CKAN's. Unlike CKAN's DataPusher/XLoader,
column types come from the whole file, so a value on row 50,000 cannot fail a load that
guessed from the first rows. The table is built in a temporary directory inside
``store_dir`` and renamed into place only when complete: a failed load leaves nothing.

>>> fields = load_resource(Path("store"), "3f1c", Path("dan_so.csv"), "CSV")  # doctest: +SKIP
>>> fields[:2]  # doctest: +SKIP
[{'id': '_id', 'type': 'int'}, {'id': 'Tỉnh', 'type': 'text'}]
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from vntwin.datastore.csvfile import CsvLayout, describe_csv_error, read_csv_sql, sniff_layout
from vntwin.datastore.encoding import to_utf8
from vntwin.datastore.files import TABLE, is_resource_id, quote_ident, resource_file
from vntwin.datastore.names import clean_names
from vntwin.datastore.sources import geojson_source, json_error, parquet_source
from vntwin.datastore.types import ckan_type, storage_conversion
from vntwin.datastore.xlsx import xlsx_to_csv
from vntwin.duckdb_spatial import load_spatial
from vntwin.errors import ValidationError

Progress = Callable[[int, int], None]
"""``progress(done, total)``, in bytes of the input file, called from the loading thread."""

FORMATS = {
    "csv": "csv", "text/csv": "csv", "txt": "csv",
    "tsv": "tsv", "tab": "tsv", "text/tab-separated-values": "tsv",
    "xlsx": "xlsx",
    "parquet": "parquet", "geoparquet": "parquet",
    "geojson": "geojson", "application/geo+json": "geojson",
}
"""Accepted ``fmt`` values (lower case) and the loader each one uses."""

_LOAD_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_POLL_S = 0.5
_DATA_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)
"""DuckDB errors that mean "this file is malformed"; others (I/O, memory) propagate."""


def load_resource(store_dir: Path, resource_id: str, path: Path, fmt: str,
                  progress: Progress | None = None) -> list[dict[str, str]]:
    """Load ``path`` (CSV/TSV, XLSX, Parquet or GeoJSON) as the resource's datastore table.

    Returns CKAN's field list, ``_id`` first. Replaces an earlier load of the resource.
    Raises ValidationError for an unknown format or a malformed file (naming the line).
    """
    target = resource_file(Path(store_dir), resource_id)
    kind = FORMATS.get(fmt.strip().lower().lstrip("."))
    if kind is None:
        known = ", ".join(sorted({key.upper() for key in FORMATS if "/" not in key}))
        raise ValidationError({"format": [f"cannot load format {fmt!r}; use one of {known}"]})
    path = Path(path)
    if not path.is_file():
        raise ValidationError({"file": [f"no such file: {path.name}"]})
    target.parent.mkdir(parents=True, exist_ok=True)
    total = path.stat().st_size
    report = _Reporter(progress, total)
    report(0)
    with tempfile.TemporaryDirectory(prefix=f".load-{resource_id}-", dir=target.parent) as tmp:
        work = Path(tmp)
        database = work / "data.duckdb"
        con = duckdb.connect(str(database), config=dict(_LOAD_CONFIG))
        try:
            names = _LOADERS[kind](con, path, work, report)
            fields = _finish_table(con, clean_names(names))
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(database, target)
    report(total)
    return fields


def delete_resource(store_dir: Path, resource_id: str) -> bool:
    """Remove the resource's datastore table; False if it was not loaded."""
    if not is_loaded(store_dir, resource_id):
        return False
    with contextlib.suppress(FileNotFoundError):
        resource_file(Path(store_dir), resource_id).unlink()
        return True
    return False


def is_loaded(store_dir: Path, resource_id: str) -> bool:
    """Whether the resource has a datastore table."""
    return is_resource_id(resource_id) and (Path(store_dir) / f"{resource_id}.duckdb").is_file()


class _Reporter:
    """Calls ``progress`` with bytes done, never going backwards."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, -1

    def __call__(self, done: int) -> None:
        done = min(max(done, self.done), self.total)
        if self.progress is not None and done != self.done:
            self.done = done
            self.progress(done, self.total)

    def share(self, first: float, last: float) -> Callable[[float], None]:
        """Return a callback for one step spanning ``first``..``last`` (fractions) of the work."""
        return lambda fraction: self(int(self.total * (first + (last - first) * fraction)))


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path, work: Path, report: _Reporter,
              delimiter: str | None = None) -> list[str]:
    source = to_utf8(path, work)
    layout = sniff_layout(source.path, delimiter)
    try:
        _create_table(con, f"SELECT * FROM {read_csv_sql(source.path, layout)}",
                      report.share(0.0, 0.95))
    except _DATA_ERRORS as error:
        raise _csv_failure(con, source.path, layout, error) from None
    return layout.header


def _csv_failure(con: duckdb.DuckDBPyConnection, path: Path, layout: CsvLayout,
                 error: Exception) -> ValidationError:
    """Name the malformed line: DuckDB's sniffer does not, a plain VARCHAR read does."""
    problem = describe_csv_error(str(error))
    if problem is None:
        try:
            con.execute(f"SELECT count(*) FROM {read_csv_sql(path, layout, all_varchar=True)}")
        except _DATA_ERRORS as second:
            problem = describe_csv_error(str(second))
    if problem is None:
        problem = f"could not read the CSV file: {str(error).strip().splitlines()[0]}"
    return ValidationError({"file": [problem]})


def _load_tsv(con: duckdb.DuckDBPyConnection, path: Path, work: Path,
              report: _Reporter) -> list[str]:
    return _load_csv(con, path, work, report, delimiter="\t")


def _load_xlsx(con: duckdb.DuckDBPyConnection, path: Path, work: Path,
               report: _Reporter) -> list[str]:
    sheet = work / "sheet.csv"
    to_bytes = report.share(0.0, 0.7)
    xlsx_to_csv(path, sheet, lambda row, rows: to_bytes(row / rows))
    layout = sniff_layout(sheet, ",")
    try:
        _create_table(con, f"SELECT * FROM {read_csv_sql(sheet, layout)}",
                      report.share(0.7, 0.95))
    except _DATA_ERRORS as error:
        raise _csv_failure(con, sheet, layout, error) from None
    return layout.header


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path, work: Path,
                  report: _Reporter) -> list[str]:
    select, names = parquet_source(con, path)
    try:
        _create_table(con, select, report.share(0.0, 0.95))
    except _DATA_ERRORS as error:
        message = str(error).strip().splitlines()[0]
        raise ValidationError({"file": [f"could not read the Parquet file: {message}"]}) \
            from None
    return names


def _load_geojson(con: duckdb.DuckDBPyConnection, path: Path, work: Path,
                  report: _Reporter) -> list[str]:
    source = to_utf8(path, work)
    select, names = geojson_source(con, source.path)
    try:
        _create_table(con, select, report.share(0.0, 0.95))
    except _DATA_ERRORS as error:
        raise json_error(error, source.path) from None
    return names


_LOADERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path, Path, _Reporter], list[str]]] = {
    "csv": _load_csv,
    "tsv": _load_tsv,
    "xlsx": _load_xlsx,
    "parquet": _load_parquet,
    "geojson": _load_geojson,
}


def _create_table(con: duckdb.DuckDBPyConnection, select: str,
                  progress: Callable[[float], None]) -> None:
    """``CREATE TABLE data`` with ``_id`` in file order, polling DuckDB's progress meanwhile."""
    sql = f"CREATE TABLE {TABLE} AS SELECT row_number() OVER () AS _id, * FROM ({select})"
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(sql)
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=run, name="datastore-load", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL_S)
            percent = con.query_progress()
            if percent >= 0:
                progress(percent / 100)
    except BaseException:
        con.interrupt()
        worker.join()
        raise
    if failure:
        raise failure[0]


def _finish_table(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[dict[str, str]]:
    """Convert columns CKAN has no type for, give them their names, return the fields."""
    types = con.table(TABLE).types[1:]
    if len(types) != len(names):
        raise ValidationError({"file": ["the header and the data disagree on the columns"]})
    geojson = any(str(kind).upper().startswith("GEOMETRY") for kind in types) and \
        load_spatial(con)
    for i, kind in enumerate(types):
        change = storage_conversion(kind, f"__c{i}", geojson)
        if change is not None:
            target, using = change
            con.execute(f"ALTER TABLE {TABLE} ALTER COLUMN __c{i} "
                        f"SET DATA TYPE {target} USING {using}")
    if any(name.casefold().startswith("__c") for name in names):
        for i in range(len(names)):
            con.execute(f"ALTER TABLE {TABLE} RENAME COLUMN __c{i} TO __vntwin_{i}")
        placeholders = [f"__vntwin_{i}" for i in range(len(names))]
    else:
        placeholders = [f"__c{i}" for i in range(len(names))]
    for placeholder, name in zip(placeholders, names, strict=True):
        con.execute(f"ALTER TABLE {TABLE} RENAME COLUMN {placeholder} TO {quote_ident(name)}")
    final = con.table(TABLE)
    return [{"id": "_id", "type": "int"}] + [
        {"id": name, "type": ckan_type(kind)}
        for name, kind in zip(final.columns[1:], final.types[1:], strict=True)]


def promote_resource(store_dir: Path, staging_id: str, resource_id: str) -> None:
    """Move a table loaded under ``staging_id`` to ``resource_id``, replacing any old one.

    Callers load under a staging id before their catalogue transaction and promote only
    after it commits, so a failed request never changes a resource's datastore table.
    """
    if not (is_resource_id(staging_id) and is_resource_id(resource_id)):
        raise ValueError("not a resource id")
    os.replace(Path(store_dir) / f"{staging_id}.duckdb", Path(store_dir) / f"{resource_id}.duckdb")
