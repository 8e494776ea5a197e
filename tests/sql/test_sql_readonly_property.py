"""Property test of the two read-only layers, each on its own.

10,000 generated statements mix writes, DDL, the known bypasses (data-modifying CTEs, SELECT INTO,
locking clauses, ATTACH, PRAGMA writes, COPY, INSTALL/LOAD, SET, side-effect functions), comments,
case and whitespace tricks and multi-statement strings.

(a) The statement guard alone refuses every one with a one-line message naming what it refused.
(b) The connection alone (``Database.execute`` called directly, no guard) changes none of three
    real databases (SQLite, DuckDB, PostgreSQL): row counts, row checksums and the files in the
    databases' directory are compared before and after. Every statement kind is covered there
    too, on a sample per database, because a round trip per statement costs milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlcoder_cli.db import open_database
from sqlcoder_cli.errors import SqlcoderError, UnsafeSQLError
from sqlcoder_cli.sql.guard import check_read_only

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")
DIALECTS = ("sqlite", "duckdb", "postgres")

#: (statement template, what the refusal must name); {f} is a file path in the databases' folder
WRITES: list[tuple[str, str]] = [
    ("DELETE FROM t", "DELETE"),
    ("DELETE FROM t WHERE id > 2", "DELETE"),
    ("UPDATE t SET name = 'x'", "UPDATE"),
    ("INSERT INTO t (id, name) VALUES (99, 'z')", "INSERT"),
    ("INSERT INTO t SELECT id + 100, name FROM t", "INSERT"),
    ("REPLACE INTO t VALUES (1, 'r')", "refused"),
    ("MERGE INTO t USING t AS s ON t.id = s.id WHEN MATCHED THEN DELETE", "refused"),
    ("TRUNCATE TABLE t", "TRUNCATE"),
    ("CREATE TABLE evil (a INT)", "CREATE"),
    ("CREATE TABLE evil AS SELECT * FROM t", "CREATE"),
    ("CREATE VIEW v_evil AS SELECT 1 AS a", "CREATE"),
    ("CREATE INDEX ix_evil ON t (name)", "CREATE"),
    ("DROP TABLE t", "DROP"),
    ("DROP TABLE IF EXISTS t", "DROP"),
    ("ALTER TABLE t ADD COLUMN evil INT", "ALTER"),
    ("ALTER TABLE t RENAME TO t2", "ALTER"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE"),
    ("WITH u AS (UPDATE t SET name = 'x' RETURNING id) SELECT * FROM u", "UPDATE"),
    ("WITH i AS (INSERT INTO t VALUES (98, 'y') RETURNING id) SELECT * FROM i", "INSERT"),
    ("SELECT * INTO evil FROM t", "INTO"),
    ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
    ("SELECT * FROM t FOR SHARE", "FOR UPDATE"),
    ("ATTACH '{f}' AS x", "ATTACH"),
    ("ATTACH DATABASE '{f}' AS x", "ATTACH"),
    ("PRAGMA query_only = OFF", "PRAGMA"),
    ("PRAGMA writable_schema = 1", "PRAGMA"),
    ("PRAGMA journal_mode = DELETE", "PRAGMA"),
    ("PRAGMA user_version = 7", "PRAGMA"),
    ("COPY t TO '{f}'", "COPY"),
    ("COPY t FROM '{f}'", "COPY"),
    ("COPY (SELECT * FROM t) TO '{f}'", "COPY"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("SET search_path = evil", "SET"),
    ("SET threads = 1", "SET"),
    ("SET default_transaction_read_only = off", "SET"),
    ("SELECT load_extension('{f}')", "load_extension"),
    ("SELECT writefile('{f}', 'x')", "writefile"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ("SELECT lo_import('/etc/passwd')", "lo_import"),
    ("SELECT dblink_exec('dbname=postgres', 'DROP TABLE t')", "dblink_exec"),
    ("SELECT pg_terminate_backend(pg_backend_pid())", "pg_terminate_backend"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config"),
    ("SELECT nextval('s')", "nextval"),
    ("SELECT * FROM read_csv('{f}')", "read_csv"),
    ("SELECT * FROM '{f}'", "file"),
    ("SELECT * FROM query('DELETE FROM t')", "query"),
    ("SELECT id FROM t WHERE id IN (SELECT pg_read_file('/etc/passwd'))", "pg_read_file"),
    ("VACUUM", "refused"),
    ("BEGIN", "refused"),
    ("COMMIT", "refused"),
    ("GRANT ALL ON t TO public", "GRANT"),
    ("DETACH x", "refused"),
    ("EXPLAIN ANALYZE DELETE FROM t", "refused"),
    ("CALL do_things()", "refused"),
    ("DO $$ BEGIN DELETE FROM t; END $$", "refused"),
    ("CHECKPOINT", "refused"),
    ("EXPORT DATABASE '{f}'", "refused"),
]
HARMLESS = ["SELECT 1", "SELECT id, name FROM t ORDER BY id", "SELECT COUNT(*) FROM t", "VALUES (1)"]
NOISE = ["", " ", "\n", "\t", "  \n\t ", "/* x */ ", "/* DELETE */", "-- c\n", "/* multi\nline */\n", "--\n"]
SEPARATORS = [";", "; ", ";\n", " ;\n-- next\n", ";/* */", ";;"]


def _case_trick(text: str, flips: list[bool]) -> str:
    """Flip letter case outside quotes (inside, it would change a file name or string)."""
    out, quote = [], False
    for i, ch in enumerate(text):
        if ch == "'":
            quote = not quote
        out.append(ch.swapcase() if not quote and flips[i % len(flips)] else ch)
    return "".join(out)


@st.composite
def statements(draw: st.DrawFn, folder: str = "/tmp/sqlcoder-property") -> tuple[str, str, str]:
    """(sql, dialect, needle): a harmful statement, disguised, alone or among harmless ones."""
    template, needle = draw(st.sampled_from(WRITES))
    bad = template.format(f=f"{folder}/evil-{draw(st.integers(0, 9))}.db")
    if draw(st.booleans()):
        bad = _case_trick(bad, draw(st.lists(st.booleans(), min_size=1, max_size=7)))
    if draw(st.booleans()):
        bad = bad.replace(" ", draw(st.sampled_from(["  ", "\n", "\t", " /**/ ", "\n-- x\n"])))
    bad = draw(st.sampled_from(NOISE)) + bad + draw(st.sampled_from(["", ";", " ", "\n", " -- tail"]))
    dialect = draw(st.sampled_from(DIALECTS))
    shape = draw(st.sampled_from(["alone", "before", "after", "between"]))
    if shape == "alone":
        return bad, dialect, needle
    sep = draw(st.sampled_from(SEPARATORS))
    good = draw(st.sampled_from(HARMLESS))
    parts = {"before": [good, bad], "after": [bad, good], "between": [good, bad, good]}[shape]
    # a trailing "-- comment" can swallow the rest: then the bad statement is alone after all
    return sep.join(p.rstrip(";") for p in parts), dialect, needle + "|one statement"


# --- (a) the guard alone, on all 10,000 ------------------------------------------------------------


@settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(statements())
def test_guard_alone_refuses_every_write(case: tuple[str, str, str]) -> None:
    sql, dialect, needle = case
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only(sql, dialect)
    message = str(info.value)
    assert message.startswith("refused: ") and "\n" not in message and len(message) < 200, message
    # it names what it refused (a case-tricked keyword may stop parsing: then it says so)
    named = any(n.lower() in message.lower() for n in needle.split("|"))
    assert named or "does not parse" in message, (sql, message)


# --- (b) the connection alone, on each real database -----------------------------------------------


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _sqlite_state(path: Path) -> Any:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
        rows = conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()
    return schema, rows, version


def _duckdb_state(path: Path) -> Any:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        rows = conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()
    return tables, rows


def _pg_dsn() -> str:
    assert PG_URL
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _pg_state(schema: str) -> Any:
    import psycopg

    with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'"
            " AND n.nspname NOT LIKE 'pg_toast_temp%' ORDER BY 1, 2"
        ).fetchall()
        rows = conn.execute(f"SELECT id, name FROM {schema}.t ORDER BY id").fetchall()
        seq = conn.execute(f"SELECT last_value, is_called FROM {schema}.s").fetchone()
        settings_ = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'"
        ).fetchone()
    return tables, rows, seq, settings_


@pytest.fixture
def three_databases(tmp_path: Path):
    """The same table t(id, name) with 5 rows in SQLite, DuckDB and (if available) PostgreSQL."""
    import duckdb

    folder = tmp_path / "dbs"
    folder.mkdir()
    lite = folder / "p.db"
    with sqlite3.connect(lite) as conn:
        conn.executescript(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e');"
        )
    duck = folder / "p.duckdb"
    with duckdb.connect(str(duck)) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR)")
        conn.execute("INSERT INTO t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')")
    pg_schema = None
    if PG_URL:
        import psycopg

        pg_schema = f"sqlcoder_prop_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {pg_schema}")
            conn.execute(f"CREATE TABLE {pg_schema}.t (id INTEGER PRIMARY KEY, name TEXT)")
            conn.execute(f"INSERT INTO {pg_schema}.t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')")
            conn.execute(f"CREATE SEQUENCE {pg_schema}.s")
    elif os.environ.get("CI"):
        pytest.fail("SQLCODER_TEST_PG_URL is not set (CI must provide it)")
    yield folder, lite, duck, pg_schema
    if pg_schema:
        import psycopg

        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {pg_schema} CASCADE")


def _state(folder: Path, lite: Path, duck: Path, pg_schema: str | None) -> Any:
    return _files(folder), _sqlite_state(lite), _duckdb_state(duck), _pg_state(pg_schema) if pg_schema else None


def test_connection_alone_changes_nothing(three_databases: Any) -> None:
    folder, lite, duck, pg_schema = three_databases
    dbs = [open_database(str(lite)), open_database(str(duck))]
    if pg_schema:
        assert PG_URL
        sep = "&" if "?" in PG_URL else "?"
        dbs.append(open_database(f"{PG_URL}{sep}options=-csearch_path%3D{pg_schema}"))
    before = _state(folder, lite, duck, pg_schema)
    outcomes = {"refused": 0, "ran": 0}

    # every template once, undisguised, on every database
    for template, _needle in WRITES:
        sql = template.format(f=f"{folder}/evil.db")
        for db in dbs:
            try:
                db.execute(sql)
                outcomes["ran"] += 1
            except SqlcoderError:
                outcomes["refused"] += 1

    # then a hypothesis sample of disguised and multi-statement strings
    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(statements(folder=str(folder)))
    def run(case: tuple[str, str, str]) -> None:
        for db in dbs:
            try:
                db.execute(case[0])
                outcomes["ran"] += 1
            except SqlcoderError:
                outcomes["refused"] += 1

    run()
    for db in dbs:
        assert db.execute("SELECT COUNT(*) FROM t").rows == [(5,)]
        db.close()
    after = _state(folder, lite, duck, pg_schema)
    assert after == before
    assert outcomes["refused"] > outcomes["ran"]  # most are refused outright; the rest change nothing
