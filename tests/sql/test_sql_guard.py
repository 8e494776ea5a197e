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
    ("SELECT random(), now(), clock_timestamp(), gen_random_uuid()", "postgres"),
    ("SELECT * FROM generate_series(1, 3) AS g(n)", "postgres"),
    ("SELECT (t.x).a, t.a FROM t", "postgres"),
    ("PRAGMA table_info(t)", "sqlite"),
    ("PRAGMA main.table_info(t)", "sqlite"),
    ("PRAGMA user_version", "sqlite"),
    ("SELECT * FROM pragma_table_info('t')", "sqlite"),
    ("SELECT name FROM pragma_index_list('t')", "sqlite"),
    ("SELECT * FROM json_each('[1, 2]')", "sqlite"),
    ("PRAGMA table_info('t')", "duckdb"),
    ("PRAGMA show_tables", "duckdb"),
    ("SELECT * FROM pragma_table_info('t')", "duckdb"),
    ("SELECT * FROM range(3), unnest([1, 2]) AS u(x)", "duckdb"),
    ("SELECT unnest([1, 2]), list_sum([1, 2]), random()", "duckdb"),
    ("SELECT strftime('%Y', d), julianday(d) FROM t", "sqlite"),
    ("FROM t SELECT a", "duckdb"),
    ("SELECT 1;", "sqlite"),
]


@pytest.mark.parametrize(("sql", "dialect"), ALLOWED)
def test_allowed(sql: str, dialect: str, catalogue_for) -> None:
    tree = check_read_only(sql, dialect, functions=catalogue_for(dialect))
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
    ("PRAGMA user_version = 7", "sqlite", "PRAGMA user_version"),
    ("PRAGMA cache_size(100)", "sqlite", "PRAGMA cache_size"),
    ("PRAGMA journal_mode", "sqlite", "PRAGMA journal_mode"),
    ("PRAGMA threads = 4", "duckdb", "PRAGMA threads"),
    ("PRAGMA enable_profiling", "duckdb", "PRAGMA enable_profiling"),
    ("PRAGMA table_info(t)", "postgres", None),
    ("SELECT pg_sleep(60)", "postgres", "pg_sleep"),
    ("SELECT pg_create_physical_replication_slot('s', true)", "postgres", "pg_create_physical_replication_slot"),
    ("SELECT pg_drop_replication_slot('s')", "postgres", "pg_drop_replication_slot"),
    ("SELECT pg_stat_reset()", "postgres", "pg_stat_reset"),
    ("SELECT query_to_xml_and_xmlschema('SELECT pg_read_file(''/etc/passwd'') AS f', true, true, '')", "postgres", "query_to_xml_and_xmlschema"),
    ("SELECT * FROM ts_stat('SELECT to_tsvector(x) FROM t')", "postgres", "ts_stat"),
    ("SELECT query_to_xmlschema('SELECT 1', true, true, '')", "postgres", "query_to_xmlschema"),
    ("SELECT cursor_to_xml('c', 1, true, true, '')", "postgres", "cursor_to_xml"),
    ("SELECT ts_rewrite('a'::tsquery, 'SELECT x, y FROM t')", "postgres", "ts_rewrite"),
    ("SELECT ('/etc/passwd'::text).pg_read_file", "postgres", "pg_read_file"),
    ("SELECT t.nextval FROM t", "postgres", "nextval"),
    ("SELECT 1 LIMIT length(pg_stat_reset()::text)", "postgres", "pg_stat_reset"),
    ("SELECT * FROM (VALUES (nextval('s'))) AS v(x)", "postgres", "nextval"),
    ("SELECT \"nextval\"('s')", "postgres", "nextval"),
    ("SELECT no_such_function(1)", "postgres", "not a function this database knows"),
    ("SELECT * FROM read_duckdb('x.db')", "duckdb", "read_duckdb"),
    ("SELECT * FROM read_json_objects_auto('x.json')", "duckdb", "read_json_objects_auto"),
    ("SELECT * FROM parquet_full_metadata('x.parquet')", "duckdb", "parquet_full_metadata"),
    ("SELECT * FROM parquet_bloom_probe('x.parquet', 'a', 1)", "duckdb", "parquet_bloom_probe"),
    ("SELECT * FROM json_execute_serialized_sql('x')", "duckdb", "json_execute_serialized_sql"),
    ("SELECT 's'.nextval()", "duckdb", "nextval"),
    ("SELECT setseed(0.5)", "duckdb", "setseed"),
    ("SELECT fts3_tokenizer('x')", "sqlite", "fts3_tokenizer"),
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
def test_refused(sql: str, dialect: str, needle: str | None, catalogue_for) -> None:
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only(sql, dialect, functions=catalogue_for(dialect))
    message = str(info.value)
    assert isinstance(info.value, SQLGenerationError)
    assert message.startswith("refused:") and "\n" not in message
    if needle:
        assert needle.lower() in message.lower()


def test_delete_message_wording() -> None:
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only("DELETE FROM t", "sqlite")
    assert str(info.value) == "refused: DELETE statements can change data; only SELECT queries run"


#: without a database the guard checks only the statement's shape: these need no catalogue
_BAD_SQL = [(b[0], b[1]) for b in BAD if b[0].strip(" ;") and b[1] != "postgres" or b[2] in ("DELETE", "UPDATE", "INSERT", "INTO", "COPY", "SET", "GRANT")]
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
@given(case=_mixed())
def test_hypothesis_mixed_statements_refused(case: tuple[str, str], catalogue_for) -> None:
    sql, dialect = case
    with pytest.raises(UnsafeSQLError):
        check_read_only(sql, dialect, functions=catalogue_for(dialect))


def test_too_deep_nesting_is_refused_not_a_crash(catalogue_for) -> None:
    """~50 nested parentheses overflow Python's recursion in the parser: refused, exit code 4."""
    sql = "SELECT " + "(" * 60 + "1" + ")" * 60
    with pytest.raises(UnsafeSQLError, match="nests too deeply") as info:
        check_read_only(sql, "sqlite", functions=catalogue_for("sqlite"))
    assert info.value.exit_code == 4


def test_without_a_catalogue_only_the_shape_is_checked() -> None:
    """SQL not yet in the database's dialect is checked for its shape; its calls wait for the
    catalogue (the pipeline checks the translated SQL again with it)."""
    check_read_only("SELECT some_function_of_another_dialect(x) FROM t", "postgres")
    with pytest.raises(UnsafeSQLError):
        check_read_only("DELETE FROM t", "postgres")
