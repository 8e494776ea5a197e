from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from sqlcoder_cli.errors import SQLGenerationError, UnsafeSQLError
from sqlcoder_cli.sql import check_read_only

ALLOWED = [
    ("SELECT 1", "sqlite"),
    ("select a, b from t where c > 1 order by a limit 5", "sqlite"),
    ("WITH x AS (SELECT a FROM t) SELECT * FROM x JOIN u ON x.a = u.a", "postgres"),
    ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n FROM c", "sqlite"),
    ("SELECT a FROM t UNION SELECT a FROM u", "postgres"),
    ("SELECT a FROM t INTERSECT SELECT a FROM u", "duckdb"),
    ("SELECT a FROM t EXCEPT SELECT a FROM u", "sqlite"),
    ("SELECT a, ROW_NUMBER() OVER (PARTITION BY b ORDER BY c) FROM t", "postgres"),
    ("SELECT * FROM t WHERE a IN (SELECT a FROM u WHERE u.b = t.b)", "postgres"),
    ("VALUES (1, 'a'), (2, 'b')", "postgres"),
    ("(SELECT 1)", "postgres"),
    ("SELECT name FROM customers WHERE name ILIKE '%delete from%'", "postgres"),
    ("SELECT COUNT(*) FILTER (WHERE x > 1) FROM t", "postgres"),
    ("SELECT DATE_TRUNC('month', d), EXTRACT(YEAR FROM d) FROM t", "postgres"),
    ("SELECT \"update\" FROM \"insert\"", "sqlite"),
    ("SELECT pg_sleep(0.1)", "postgres"),
    ("SELECT strftime('%Y', d), julianday(d) FROM t", "sqlite"),
    ("FROM t SELECT a", "duckdb"),
    ("SELECT 1;", "sqlite"),
]


@pytest.mark.parametrize(("sql", "dialect"), ALLOWED)
def test_allowed(sql: str, dialect: str) -> None:
    tree = check_read_only(sql, dialect)
    assert isinstance(tree, exp.Expression)


BAD = [
    ("DELETE FROM t", "sqlite", "DELETE"),
    ("delete from t where 1=1", "postgres", "DELETE"),
    ("UPDATE t SET a = 1", "postgres", "UPDATE"),
    ("INSERT INTO t VALUES (1)", "sqlite", "INSERT"),
    ("INSERT INTO t SELECT * FROM u", "postgres", "INSERT"),
    ("REPLACE INTO t VALUES (1)", "sqlite", None),
    ("MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE", "postgres", None),
    ("TRUNCATE TABLE t", "postgres", "TRUNCATE"),
    ("CREATE TABLE x (a INT)", "sqlite", "CREATE"),
    ("CREATE TABLE x AS SELECT * FROM t", "postgres", "CREATE"),
    ("CREATE VIEW v AS SELECT 1", "duckdb", "CREATE"),
    ("DROP TABLE t", "sqlite", "DROP"),
    ("ALTER TABLE t ADD COLUMN b INT", "postgres", "ALTER"),
    ("SeLeCt 1; DrOp TaBlE x", "sqlite", "one statement"),
    ("SELECT 1;\nDELETE FROM t", "postgres", "one statement"),
    ("/* harmless */ DELETE FROM t", "sqlite", "DELETE"),
    ("-- just a comment\nDROP TABLE t", "postgres", "DROP"),
    ("  \n\t DELETE\nFROM\tt  ", "sqlite", "DELETE"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "postgres", "DELETE"),
    ("WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u", "postgres", "UPDATE"),
    ("WITH i AS (INSERT INTO t VALUES (1) RETURNING a) SELECT * FROM i", "postgres", "INSERT"),
    ("SELECT * INTO newt FROM t", "postgres", "INTO"),
    ("SELECT * FROM t FOR UPDATE", "postgres", "FOR UPDATE"),
    ("SELECT * FROM t FOR SHARE", "postgres", "FOR UPDATE"),
    ("PRAGMA writable_schema=1", "sqlite", "PRAGMA"),
    ("PRAGMA table_info(t)", "sqlite", "PRAGMA"),
    ("ATTACH 'x.db' AS x", "sqlite", "ATTACH"),
    ("ATTACH DATABASE '/tmp/x.db' AS x", "sqlite", "ATTACH"),
    ("DETACH x", "sqlite", None),
    ("COPY t TO '/tmp/x'", "postgres", "COPY"),
    ("COPY t FROM '/etc/passwd'", "duckdb", "COPY"),
    ("SELECT load_extension('x')", "sqlite", "load_extension"),
    ("SELECT LOAD_EXTENSION('evil.so')", "sqlite", "load_extension"),
    ("SELECT writefile('/tmp/x', 'y')", "sqlite", "writefile"),
    ("SELECT pg_read_file('/etc/passwd')", "postgres", "pg_read_file"),
    ("SELECT pg_catalog.pg_read_file('/etc/passwd')", "postgres", "pg_read_file"),
    ("SELECT * FROM pg_ls_dir('.')", "postgres", "pg_ls_dir"),
    ("SELECT lo_import('/etc/passwd')", "postgres", "lo_import"),
    ("SELECT dblink_exec('x', 'DROP TABLE t')", "postgres", "dblink_exec"),
    ("SELECT pg_terminate_backend(1)", "postgres", "pg_terminate_backend"),
    ("SELECT set_config('search_path', 'x', false)", "postgres", "set_config"),
    ("SELECT * FROM read_csv('/etc/passwd')", "duckdb", "read_csv"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "duckdb", "read_csv"),
    ("SELECT * FROM read_parquet('s3://b/x.parquet')", "duckdb", "read_parquet"),
    ("SELECT * FROM read_text('/etc/passwd')", "duckdb", "read_text"),
    ("SELECT * FROM glob('/*')", "duckdb", "glob"),
    ("SELECT * FROM '/etc/passwd'", "duckdb", "file"),
    ("SELECT * FROM \"data.csv\"", "duckdb", "data.csv"),
    ("SELECT * FROM query('DROP TABLE t')", "duckdb", "query"),
    ("SELECT a FROM t WHERE a IN (SELECT pg_read_file('/etc/passwd'))", "postgres", "pg_read_file"),
    ("INSTALL httpfs", "duckdb", "INSTALL"),
    ("LOAD httpfs", "duckdb", "LOAD"),
    ("SET search_path = x", "postgres", "SET"),
    ("SET threads = 1", "duckdb", "SET"),
    ("VACUUM", "sqlite", None),
    ("BEGIN", "postgres", None),
    ("GRANT ALL ON t TO bob", "postgres", "GRANT"),
    ("EXPLAIN ANALYZE DELETE FROM t", "postgres", None),
    ("CALL do_things()", "postgres", None),
    ("DO $$ BEGIN DELETE FROM t; END $$", "postgres", None),
    ("garbage blah", "postgres", None),
    ("SELECT FROM WHERE (((", "sqlite", None),
    ("SELECT 'unterminated", "sqlite", None),
    ("CHECKPOINT", "duckdb", None),
    ("", "sqlite", None),
    (";", "sqlite", None),
]


@pytest.mark.parametrize(("sql", "dialect", "needle"), BAD)
def test_refused(sql: str, dialect: str, needle: str | None) -> None:
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only(sql, dialect)
    message = str(info.value)
    assert isinstance(info.value, SQLGenerationError)
    assert message.startswith("refused:") and "\n" not in message
    if needle:
        assert needle.lower() in message.lower()


def test_delete_message_wording() -> None:
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only("DELETE FROM t", "sqlite")
    assert str(info.value) == "refused: DELETE statements can change data; only SELECT queries run"


_BAD_SQL = [(b[0], b[1]) for b in BAD if b[0].strip(" ;")]
_GOOD_SQL = [a[0].rstrip(";") for a in ALLOWED if a[1] != "duckdb"]


@st.composite
def _mixed(draw: st.DrawFn) -> tuple[str, str]:
    """A harmful statement hidden among harmless ones, with case, comment and whitespace noise."""
    bad, dialect = draw(st.sampled_from(_BAD_SQL))
    good = draw(st.lists(st.sampled_from(_GOOD_SQL), max_size=2))
    if draw(st.booleans()):
        bad = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in bad) if "'" not in bad else bad
    noise = draw(st.sampled_from(["", " ", "\n", "/* x */ ", "-- c\n", "\t"]))
    parts = [*good, noise + bad] if draw(st.booleans()) else [noise + bad, *good]
    sep = draw(st.sampled_from([";", "; ", ";\n", " ;\n-- next\n"]))
    return sep.join(parts), dialect


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mixed())
def test_hypothesis_mixed_statements_refused(case: tuple[str, str]) -> None:
    sql, dialect = case
    with pytest.raises(UnsafeSQLError):
        check_read_only(sql, dialect)
