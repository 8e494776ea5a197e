"""Property test of the two read-only layers, each on its own, on real databases.

Generated statements mix writes, DDL, the known bypasses (data-modifying CTEs, SELECT INTO,
locking clauses, ATTACH, PRAGMA writes, COPY, INSTALL/LOAD, SET), comments, case and whitespace
tricks and multi-statement strings, and calls of every function the database's own catalogue
refuses, hidden wherever a call can go (LIMIT, VALUES, HAVING, CASE, a CTE, a subquery, FROM,
LATERAL, quoted, schema-qualified, PostgreSQL's attribute notation ``(x).f``, DuckDB's ``x.f()``).

(a) The statement guard alone, with each database's real catalogue, refuses 10,000 statements per
    database (SQLite, DuckDB, PostgreSQL) with a one-line message naming what it refused.
(b) The connection alone (``Database.execute`` called directly, no guard) changes none of three
    real databases (SQLite, DuckDB, PostgreSQL as a superuser): rows, schema, sequences,
    settings, files, and on the server replication slots, statistics resets, other sessions,
    advisory locks and large objects are compared before and after; the side-effect statements
    must be refused, not merely harmless. Every template runs on every database, plus a sample of
    the generated ones, because a round trip per statement costs milliseconds.
"""

from __future__ import annotations

import functools
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
#: generated statements per database for the guard (the issue asks for at least 10,000)
GUARD_EXAMPLES = 10_000

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
#: where a call can hide; {fn} is the function, {args} its arguments
CALL_SHAPES: dict[str, list[str]] = {
    "scalar": [
        "SELECT {fn}({args})",
        "SELECT id FROM t WHERE id IN (SELECT {fn}({args}))",
        "SELECT 1 LIMIT LENGTH(CAST({fn}({args}) AS TEXT))",
        "WITH c AS (SELECT {fn}({args}) AS x) SELECT x FROM c",
        "SELECT * FROM (VALUES ({fn}({args}))) AS v(x)",
        "SELECT COUNT(*) FROM t GROUP BY id HAVING {fn}({args}) IS NULL",
        'SELECT "{fn}"({args})',
        "SELECT CASE WHEN id > 0 THEN {fn}({args}) END FROM t",
        "SELECT id FROM t ORDER BY {fn}({args})",
    ],
    "table": ["SELECT * FROM {fn}({args})", "SELECT t.id FROM t JOIN {fn}({args}) AS f ON 1 = 1"],
    "postgres": [
        "SELECT pg_catalog.{fn}({args})",
        "SELECT ('x'::text).{fn}",
        "SELECT t.{fn} FROM t",
        "SELECT * FROM t, LATERAL {fn}({args}) AS f",
    ],
    "duckdb": ["SELECT 'x'.{fn}()"],
}
ARGS = ["", "'x'", "1", "'x', 1", "1, true, true, ''"]
#: names no catalogue knows: unknown functions are refused too
UNKNOWN = ["no_such_function", "evil_udf", "sys_exec"]
HARMLESS = ["SELECT 1", "SELECT id, name FROM t ORDER BY id", "SELECT COUNT(*) FROM t", "VALUES (1)"]
NOISE = ["", " ", "\n", "\t", "  \n\t ", "/* x */ ", "/* DELETE */", "-- c\n", "/* multi\nline */\n", "--\n"]
SEPARATORS = [";", "; ", ";\n", " ;\n-- next\n", ";/* */", ";;"]


@functools.lru_cache(maxsize=None)
def _pick(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``st.sampled_from`` built once per list: building strategies per example costs more than
    checking the statement (hypothesis validates each new one)."""
    return st.sampled_from(options)


BOOL = st.booleans()
#: which letters flip case: bit i of the mask for letter i (mod 7), one draw instead of seven
FLIPS = st.integers(1, (1 << 7) - 1)
DIGIT = st.integers(0, 9)
SPACES = ("  ", "\n", "\t", " /**/ ", "\n-- x\n")
TAILS = ("", ";", " ", "\n", " -- tail")


def _case_trick(text: str, mask: int) -> str:
    """Flip letter case outside quotes (inside, it would change a file name or string)."""
    out, quote = [], False
    for i, ch in enumerate(text):
        if ch == "'":
            quote = not quote
        out.append(ch.swapcase() if not quote and mask >> (i % 7) & 1 else ch)
    return "".join(out)


@st.composite
def statements(draw: st.DrawFn, folder: str = "/tmp/sqlcoder-property", dialect: str | None = None) -> tuple[str, str, str]:
    """(sql, dialect, needle): a harmful statement, disguised, alone or among harmless ones."""
    template, needle = draw(_pick(tuple(WRITES)))
    bad = template.format(f=f"{folder}/evil-{draw(DIGIT)}.db")
    if draw(BOOL):
        bad = _case_trick(bad, draw(FLIPS))
    if draw(BOOL):
        bad = bad.replace(" ", draw(_pick(SPACES)))
    bad = draw(_pick(tuple(NOISE))) + bad + draw(_pick(TAILS))
    dialect = dialect or draw(_pick(DIALECTS))
    shape = draw(_pick(("alone", "before", "after", "between")))
    if shape == "alone":
        return bad, dialect, needle
    sep = draw(_pick(tuple(SEPARATORS)))
    good = draw(_pick(tuple(HARMLESS)))
    parts = {"before": [good, bad], "after": [bad, good], "between": [good, bad, good]}[shape]
    # a trailing "-- comment" can swallow the rest: then the bad statement is alone after all
    return sep.join(p.rstrip(";") for p in parts), dialect, needle + "|one statement"


def refused_names(catalogue: Any) -> tuple[list[str], list[str]]:
    """(names a query may not call, names that may not be read from in FROM), per the catalogue."""
    scalar = sorted(catalogue.known - catalogue.allowed - catalogue.table_functions) + UNKNOWN
    table = sorted(catalogue.known - catalogue.table_functions) + UNKNOWN
    return scalar, table


def function_calls(dialect: str, catalogue: Any) -> st.SearchStrategy[tuple[str, str]]:
    """(sql, needle): a call of a refused function, hidden somewhere in a query.

    The name lists are sampled by strategies built once (a thousand names each for DuckDB):
    building them per example would cost more than checking the statement.
    """
    scalar, table = refused_names(catalogue)
    named = [n for n in scalar if n not in UNKNOWN]  # attribute notation needs a real function
    by_kind = {"scalar": st.sampled_from(scalar), "table": st.sampled_from(table), "attribute": st.sampled_from(named)}
    kinds = ["scalar", "table", dialect] if dialect in CALL_SHAPES else ["scalar", "table"]

    @st.composite
    def call(draw: st.DrawFn) -> tuple[str, str]:
        kind = draw(_pick(tuple(kinds)))
        shape = draw(_pick(tuple(CALL_SHAPES[kind])))
        # attribute notation ``(x).f`` names a column unless a function f exists: unknown names
        # are the database's error there, not a call
        pool = "table" if kind == "table" else "attribute" if "{args}" not in shape and "()" not in shape else "scalar"
        fn = draw(by_kind[pool])
        return shape.format(fn=fn, args=draw(_pick(tuple(ARGS)))), fn

    return call()


def statements_for(dialect: str, catalogue: Any) -> st.SearchStrategy[tuple[str, str]]:
    """(sql, needle): a write or a refused call in ``dialect``, disguised, alone or among harmless ones."""
    calls = function_calls(dialect, catalogue)
    writes = statements(dialect=dialect)

    @st.composite
    def statement(draw: st.DrawFn) -> tuple[str, str]:
        if draw(BOOL):
            sql, _, needle = draw(writes)
            return sql, needle
        return _disguised(draw, *draw(calls))

    return statement()


def _disguised(draw: st.DrawFn, bad: str, needle: str) -> tuple[str, str]:
    if draw(BOOL):
        bad = _case_trick(bad, draw(FLIPS))
    bad = draw(_pick(tuple(NOISE))) + bad + draw(_pick(TAILS))
    if draw(BOOL):
        return bad, needle
    good = draw(_pick(tuple(HARMLESS)))
    return draw(_pick(tuple(SEPARATORS))).join([good, bad.rstrip(";")]), needle + "|one statement"


# --- (a) the guard alone, 10,000 statements per database -------------------------------------------


def _assert_refused_naming(sql: str, dialect: str, needle: str, catalogue: Any) -> None:
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only(sql, dialect, functions=catalogue)
    message = str(info.value)
    assert message.startswith("refused: ") and "\n" not in message and len(message) < 240, message
    # it names what it refused (a case-tricked keyword may stop parsing: then it says so)
    named = any(n.lower() in message.lower() for n in needle.split("|"))
    assert named or "does not parse" in message, (sql, message)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_guard_alone_refuses_every_write_and_call(dialect: str, catalogue_for: Any) -> None:
    catalogue = catalogue_for(dialect)

    @settings(max_examples=GUARD_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=statements_for(dialect, catalogue))
    def run(case: tuple[str, str]) -> None:
        _assert_refused_naming(case[0], dialect, case[1], catalogue)

    run()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_guard_refuses_every_refused_function_by_name(dialect: str, catalogue_for: Any) -> None:
    """Not a sample: every function the real catalogue refuses, called plainly and in FROM."""
    catalogue = catalogue_for(dialect)
    scalar, table = refused_names(catalogue)
    assert len(scalar) > len(UNKNOWN)  # the catalogue does refuse something
    for fn in scalar:
        _assert_refused_naming(f"SELECT {fn}('x')", dialect, fn, catalogue)
    for fn in table:
        _assert_refused_naming(f"SELECT * FROM {fn}('x')", dialect, fn, catalogue)


# --- (b) the connection alone, on each real database -----------------------------------------------


#: statements with effects outside the data (server state, files, other sessions): the connection
#: alone must *refuse* each of these on its database, not just leave the data alone.
#: {f}: a file in the databases' folder; {pid}: another session's backend; {schema}: the test schema
SIDE_EFFECTS: dict[str, list[str]] = {
    "sqlite": [
        "SELECT load_extension('{f}')",
        "SELECT fts3_tokenizer('simple')",
        "ATTACH '{f}' AS x",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = DELETE",
        "VACUUM INTO '{f}'",
    ],
    "duckdb": [
        "SELECT * FROM read_csv('{f}')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_duckdb('{f}')",
        "SELECT * FROM read_json_objects_auto('{f}')",
        "SELECT * FROM parquet_full_metadata('{f}')",
        "SELECT * FROM glob('/*')",
        "SELECT nextval('s')",
        "SELECT 's'.nextval()",
        "SELECT setseed(0.5)",
        "EXPORT DATABASE '{f}.export'",
        "COPY t TO '{f}.csv'",
        "INSTALL httpfs",
        "ATTACH ':memory:' AS m",
        "CHECKPOINT",
        "SET threads = 1",
        "PRAGMA enable_profiling",
    ],
    "postgres": [
        "SET TRANSACTION READ WRITE; DELETE FROM t; COMMIT",
        "COMMIT; DELETE FROM t",
        "SELECT 1; SELECT pg_stat_reset()",
        "SELECT pg_create_physical_replication_slot('sqlcoder_evil', true)",
        "SELECT pg_drop_replication_slot('sqlcoder_keep')",
        "SELECT pg_stat_reset()",
        "SELECT pg_terminate_backend({pid})",
        "SELECT pg_cancel_backend({pid})",
        "SELECT ({pid}).pg_terminate_backend",
        "SELECT query_to_xml('SELECT pg_terminate_backend({pid})', true, true, '')",
        "SELECT query_to_xml_and_xmlschema('SELECT pg_read_file(''/etc/hostname'') AS f', true, true, '')",
        "SELECT * FROM ts_stat('SELECT pg_stat_reset()::text::tsvector')",
        "SELECT pg_advisory_lock(4242)",
        "SELECT lo_create(4242)",
        "SELECT lo_import('/etc/hostname')",
        "SELECT set_config('work_mem', '1MB', false)",
        "SELECT set_config('role', 'postgres', false), pg_stat_reset()",
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT ('/etc/hostname'::text).pg_read_file",
        "SELECT nextval('{schema}.s')",
        "SELECT setval('{schema}.s', 100)",
        "SELECT 1 LIMIT length(pg_stat_reset()::text)",
        "SELECT * FROM (VALUES (pg_stat_reset())) AS v(x)",
        "SELECT pg_notify('sqlcoder', 'x')",
        "SELECT pg_switch_wal()",
        "SELECT pg_reload_conf()",
        "SELECT pg_sleep(30)",
        "SET default_transaction_read_only = off",
        "SET ROLE NONE",
        "RESET ALL",
        "DISCARD ALL",
        "LOCK TABLE t",
        "LISTEN sqlcoder",
        "PREPARE p AS DELETE FROM t",
    ],
}


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
        for p in sorted(folder.rglob("*"))
    }
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
        seq = conn.execute("SELECT sequence_name, start_value FROM duckdb_sequences() ORDER BY 1").fetchall()
    return tables, rows, seq


def _pg_dsn() -> str:
    assert PG_URL
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


def _pg_state(schema: str) -> Any:
    """Everything the side effects above could change on the server, as an admin sees it."""
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
            "SELECT name, setting FROM pg_settings WHERE name IN ('default_transaction_read_only', 'work_mem') ORDER BY 1"
        ).fetchall()
        slots = conn.execute("SELECT slot_name FROM pg_replication_slots ORDER BY 1").fetchall()
        stats_reset = conn.execute(
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        advisory = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        large_objects = conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()
    return tables, rows, seq, settings_, slots, stats_reset, advisory, large_objects


@pytest.fixture
def three_databases(tmp_path: Path):
    """The same table t(id, name) with 5 rows and a sequence s in SQLite, DuckDB and PostgreSQL
    (connected as the superuser the CI server has), plus a PostgreSQL bystander session and a
    replication slot that must both survive."""
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
        conn.execute("CREATE SEQUENCE s")
    pg_schema, bystander = None, None
    if PG_URL:
        import psycopg

        pg_schema = f"sqlcoder_prop_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {pg_schema}")
            conn.execute(f"CREATE TABLE {pg_schema}.t (id INTEGER PRIMARY KEY, name TEXT)")
            conn.execute(f"INSERT INTO {pg_schema}.t VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')")
            conn.execute(f"CREATE SEQUENCE {pg_schema}.s")
            conn.execute("SELECT pg_create_physical_replication_slot('sqlcoder_keep')")
            conn.execute("SELECT pg_stat_reset()")  # a known stats_reset time to compare with
        bystander = psycopg.connect(_pg_dsn(), autocommit=True)
    elif os.environ.get("CI"):
        pytest.fail("SQLCODER_TEST_PG_URL is not set (CI must provide it)")
    yield folder, lite, duck, pg_schema, bystander
    if pg_schema:
        import psycopg

        bystander.close()
        with psycopg.connect(_pg_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {pg_schema} CASCADE")
            for slot in ("sqlcoder_keep", "sqlcoder_evil"):  # never leave a slot that holds WAL
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                )
            conn.execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid = 4242")


def _state(folder: Path, lite: Path, duck: Path, pg_schema: str | None) -> Any:
    return _files(folder), _sqlite_state(lite), _duckdb_state(duck), _pg_state(pg_schema) if pg_schema else None


def test_connection_alone_changes_nothing(three_databases: Any) -> None:
    folder, lite, duck, pg_schema, bystander = three_databases
    dbs = {"sqlite": open_database(str(lite)), "duckdb": open_database(str(duck))}
    pid = 0
    if pg_schema:
        assert PG_URL
        sep = "&" if "?" in PG_URL else "?"
        dbs["postgres"] = open_database(f"{PG_URL}{sep}options=-csearch_path%3D{pg_schema}")
        assert dbs["postgres"].privileges().superuser  # the most privileged role there is
        pid = bystander.info.backend_pid
    before = _state(folder, lite, duck, pg_schema)
    outcomes = {"refused": 0, "ran": 0}
    evil = f"{folder}/evil.db"

    # every side effect on its own database: refused, each one
    for dialect, db in dbs.items():
        for template in SIDE_EFFECTS[dialect]:
            sql = template.format(f=evil, pid=pid, schema=pg_schema)
            with pytest.raises(SqlcoderError):
                db.execute(sql)
                pytest.fail(f"{dialect}: the connection ran {sql!r}")

    # every write template once, undisguised, on every database
    for template, _needle in WRITES:
        sql = template.format(f=evil)
        for db in dbs.values():
            try:
                db.execute(sql)
                outcomes["ran"] += 1
            except SqlcoderError:
                outcomes["refused"] += 1

    # then a hypothesis sample of disguised and multi-statement strings
    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(statements(folder=str(folder)))
    def run(case: tuple[str, str, str]) -> None:
        for db in dbs.values():
            try:
                db.execute(case[0])
                outcomes["ran"] += 1
            except SqlcoderError:
                outcomes["refused"] += 1

    run()
    for db in dbs.values():
        assert db.execute("SELECT COUNT(*) FROM t").rows == [(5,)]
    if pg_schema:
        assert dbs["postgres"].execute("SELECT current_setting('work_mem')").rows == [("4MB",)]
        assert bystander.execute("SELECT 1").fetchone() == (1,)  # the other session is alive
    # the server as seen while our sessions still live (a temporary slot or lock would show here),
    # then everything once they are closed (DuckDB admits no second connection before)
    during = _pg_state(pg_schema) if pg_schema else None
    for db in dbs.values():
        db.close()
    after = _state(folder, lite, duck, pg_schema)
    assert during == before[3]
    assert after == before
    assert outcomes["refused"] > outcomes["ran"]  # most are refused outright; the rest change nothing
