from __future__ import annotations

import time
from pathlib import Path

import pytest

from vntwin.datastore import datastore_search_sql, load_resource
from vntwin.datastore import sql as sql_module
from vntwin.errors import NotAuthorized, NotFound, SearchQueryError

SECRET = "99999999-8888-7777-6666-555555555555"


@pytest.fixture
def secret(store: Path, tmp_path: Path) -> str:
    """A second resource the caller may not read."""
    source = tmp_path / "secret.csv"
    source.write_text("mật khẩu\nhunter2\n", encoding="utf-8")
    load_resource(store, SECRET, source, "csv")
    return SECRET


def run(store: Path, sql: str, allowed, *, time_limit_s: float = 10, row_limit: int = 100):
    return datastore_search_sql(store, sql, allowed_resource_ids=allowed,
                                time_limit_s=time_limit_s, row_limit=row_limit)


def test_select_by_quoted_resource_id(store, provinces):
    result = run(store, f'SELECT "Tỉnh", "Dân số" FROM "{provinces}" WHERE "Mã" = \'48\'',
                 {provinces})
    assert result["records"] == [{"Tỉnh": "Đà Nẵng", "Dân số": 1245000}]
    assert result["fields"] == [{"id": "Tỉnh", "type": "text"}, {"id": "Dân số", "type": "int"}]
    assert result["records_truncated"] is False
    assert result["sql"].startswith("SELECT")


def test_with_select_and_values(store, provinces):
    sql = (f'WITH lon AS (SELECT * FROM "{provinces}" WHERE "Dân số" > 2000000) '
           'SELECT count(*) AS n, min("Ngày") AS d FROM lon')
    assert run(store, sql, lambda rid: rid == provinces)["records"] == [
        {"n": 3, "d": "2024-01-01"}]
    assert run(store, "VALUES (1, 'a')", set())["records"] == [{"col0": 1, "col1": "a"}]


def test_join_of_two_allowed_resources(store, provinces, secret):
    sql = f'SELECT count(*) AS n FROM "{provinces}", "{secret}"'
    assert run(store, sql, {provinces, secret})["records"] == [{"n": 6}]


def test_row_limit_truncates(store, provinces):
    result = run(store, f'SELECT _id FROM "{provinces}" ORDER BY _id', {provinces}, row_limit=4)
    assert [record["_id"] for record in result["records"]] == [1, 2, 3, 4]
    assert result["records_truncated"] is True
    result = run(store, f'SELECT _id FROM "{provinces}"', {provinces}, row_limit=6)
    assert len(result["records"]) == 6
    assert result["records_truncated"] is False


def test_row_limit_on_a_huge_result_does_not_compute_it_all(store):
    started = time.monotonic()
    result = run(store, "SELECT * FROM range(1000000000)", set(), row_limit=10, time_limit_s=20)
    assert len(result["records"]) == 10
    assert result["records_truncated"] is True
    assert time.monotonic() - started < 10


def test_time_limit_interrupts_a_long_query(store, provinces):
    sql = ("SELECT count(*) FROM range(100000000) a, range(100000000) b "
           "WHERE a.range + b.range = 7")
    started = time.monotonic()
    with pytest.raises(SearchQueryError, match="time limit"):
        run(store, sql, set(), time_limit_s=1)
    assert time.monotonic() - started < 4


def test_resource_not_allowed(store, provinces, secret):
    with pytest.raises(NotAuthorized, match=SECRET):
        run(store, f'SELECT * FROM "{secret}"', {provinces})
    with pytest.raises(NotAuthorized):
        run(store, f'SELECT * FROM "{provinces}" WHERE _id IN (SELECT 1 FROM "{secret}")',
            lambda rid: rid == provinces)
    with pytest.raises(NotAuthorized):
        run(store, f'WITH x AS (SELECT * FROM "{secret}") SELECT * FROM x', {provinces})


def test_resource_not_loaded(store, provinces):
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(NotFound, match=missing):
        run(store, f'SELECT * FROM "{missing}"', {provinces, missing})


def test_unallowed_resource_cannot_be_reached_indirectly(store, provinces, secret):
    for sql in (f"SELECT * FROM query('SELECT * FROM \"{secret}\"')",
                f"SELECT * FROM query_table('{secret}')",
                "SELECT * FROM resource_1.main.data",
                f"SELECT * FROM '{store}/{secret}.duckdb'"):
        with pytest.raises(SearchQueryError):
            run(store, f'SELECT 1 FROM "{provinces}" UNION ALL SELECT 1 FROM ({sql})',
                {provinces})


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1) TO '{out}'",
    "ATTACH '{out}' AS x",
    "INSTALL spatial",
    "LOAD spatial",
    "PRAGMA version",
    "PRAGMA enable_external_access",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO x VALUES (1)",
    "EXPORT DATABASE '{out}'",
    "SELECT 1; SELECT 2",
    "SELECT 1; COPY (SELECT 1) TO '{out}'",
    "CALL pragma_version()",
    "DESCRIBE SELECT 1",
    "SHOW TABLES",
    "USE memory",
    "DETACH memory",
    "CHECKPOINT",
    "EXPLAIN SELECT 1",
    "UPDATE x SET a = 1",
    "",
    "-- just a comment",
    "SELEC 1",
])
def test_non_select_statements_are_rejected_before_running(store, tmp_path, monkeypatch, sql):
    def never(*args, **kwargs):
        raise AssertionError("the query reached a connection")

    monkeypatch.setattr(sql_module, "_sandbox", never)
    out = tmp_path / "out.csv"
    with pytest.raises(SearchQueryError):
        run(store, sql.format(out=out), set())
    assert not out.exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "SELECT * FROM read_json_auto('/etc/hostname')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT getenv('HOME')",
    "SELECT * FROM query('ATTACH ''/tmp/x.duckdb'' AS x')",
    "SELECT * FROM query('SET enable_external_access = true')",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM ST_Read('/etc/passwd')",
])
def test_file_and_extension_access_fails_inside_the_sandbox(store, provinces, sql):
    with pytest.raises(SearchQueryError):
        run(store, sql, {provinces})


def test_sandbox_settings_are_locked(store, provinces):
    con = sql_module._sandbox({provinces: store / f"{provinces}.duckdb"})
    try:
        row = con.execute("SELECT current_setting('enable_external_access'), "
                          "current_setting('lock_configuration'), "
                          "current_setting('autoload_known_extensions'), "
                          "current_setting('max_temp_directory_size')").fetchone()
    finally:
        con.close()
    assert row == (False, True, False, "0 bytes")


def test_referenced_tables_skip_ctes_and_qualified_names():
    tables = sql_module.referenced_tables(
        'WITH t AS (SELECT * FROM "a-1") SELECT * FROM t JOIN "b_2" USING (k), other.main.x '
        'WHERE k IN (SELECT k FROM "c3")')
    assert tables == {"a-1", "b_2", "c3"}


def test_sql_errors_are_search_query_errors(store, provinces):
    with pytest.raises(SearchQueryError):
        run(store, f'SELECT nope FROM "{provinces}"', {provinces})
    with pytest.raises(SearchQueryError):
        run(store, f'SELECT * FROM "{provinces}" WHERE', {provinces})
    with pytest.raises(NotFound, match="no_such_table"):
        run(store, "SELECT * FROM no_such_table", set())


@pytest.mark.parametrize("sql", [
    "SELECT * FROM duckdb_databases()",
    "SELECT path FROM duckdb_databases() WHERE 1=1",
    "SELECT * FROM pragma_database_list()",
    "SELECT current_setting('temp_directory')",
    "SELECT * FROM (SELECT * FROM duckdb_settings())",
])
def test_introspection_that_leaks_paths_is_refused(tmp_path, sql):
    with pytest.raises(SearchQueryError, match="not available"):
        datastore_search_sql(tmp_path, sql, allowed_resource_ids=set(), time_limit_s=5,
                             row_limit=10)
