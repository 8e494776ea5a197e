from __future__ import annotations

from pathlib import Path

import pytest

from sqlcoder_cli.db import open_database
from sqlcoder_cli.errors import SQLGenerationError
from sqlcoder_cli.sql import check_read_only, sqlglot_dialect_for, transpile_sql
from sqlcoder_cli.sql.transpile import BACKEND_TO_SQLGLOT, DEFAULT_DIALECT

POSTGRES_QUERIES = [
    "SELECT first_name, city FROM customers WHERE city ILIKE '%YORK%' ORDER BY customer_id LIMIT 3",
    "SELECT DATE_TRUNC('month', order_date::date) AS month, COUNT(*) FROM orders GROUP BY 1 ORDER BY 1",
    "SELECT DATE_TRUNC('week', o.order_date) AS wk, DATE_TRUNC('quarter', o.order_date) AS q,"
    " DATE_TRUNC('year', o.order_date) AS y FROM orders AS o ORDER BY o.order_id LIMIT 5",
    "SELECT EXTRACT(YEAR FROM order_date) AS y, EXTRACT(MONTH FROM order_date) AS m, COUNT(*)"
    " FROM orders GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT DATE_PART('quarter', order_date::date) AS q, COUNT(*) FROM orders GROUP BY 1 ORDER BY 1",
    "SELECT unit_price::int AS p, name::text FROM products ORDER BY product_id LIMIT 5",
    "SELECT COUNT(*) FROM orders WHERE order_date >= NOW() - INTERVAL '30 days'",
    "SELECT COUNT(*) FROM orders WHERE order_date::date < CURRENT_DATE - INTERVAL '1 month'",
    "SELECT order_id FROM orders WHERE order_date + INTERVAL '2 weeks' > '2025-06-20' ORDER BY 1",
    "SELECT CAST(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS FLOAT) / NULLIF(COUNT(*), 0)"
    " FROM orders",
    "SELECT c.country, COUNT(DISTINCT o.order_id) FROM customers AS c JOIN orders AS o"
    " ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY 2 DESC NULLS LAST",
]


@pytest.mark.parametrize("pg", POSTGRES_QUERIES)
def test_postgres_to_sqlite_runs_on_demo(pg: str) -> None:
    sql = transpile_sql(pg, source="postgres", target="sqlite")
    assert "::" not in sql and "ILIKE" not in sql.upper() and "INTERVAL" not in sql.upper()
    assert "DATE_TRUNC" not in sql.upper() and "EXTRACT" not in sql.upper()
    check_read_only(sql, "sqlite")
    with open_database("demo") as db:
        result = db.execute(sql)
    assert result.columns


@pytest.mark.parametrize("pg", POSTGRES_QUERIES)
def test_postgres_to_duckdb_runs(pg: str, demo_duckdb: Path) -> None:
    sql = transpile_sql(pg, source="postgres", target="duckdb")
    check_read_only(sql, "duckdb")
    with open_database(str(demo_duckdb)) as db:
        result = db.execute(sql)
    assert result.columns


def test_sqlite_and_duckdb_agree_on_date_functions(demo_duckdb: Path) -> None:
    pg = (
        "SELECT DATE_TRUNC('month', order_date::date) AS m, EXTRACT(YEAR FROM order_date::date) AS y,"
        " COUNT(*) AS n FROM orders GROUP BY 1, 2 ORDER BY 1"
    )
    with open_database("demo") as lite, open_database(str(demo_duckdb)) as duck:
        a = lite.execute(transpile_sql(pg, source="postgres", target="sqlite"), limit=None).rows
        b = duck.execute(transpile_sql(pg, source="postgres", target="duckdb"), limit=None).rows
    assert [(str(m)[:10], int(y), n) for m, y, n in a] == [(str(m)[:10], int(y), n) for m, y, n in b]
    assert len(a) == 30  # Jan 2023 .. Jun 2025


def test_week_trunc_is_monday() -> None:
    with open_database("demo") as db:
        sql = transpile_sql("SELECT DATE_TRUNC('week', '2023-01-04'::date)", source="postgres", target="sqlite")
        assert db.execute(sql).rows[0][0] == "2023-01-02"
        sql = transpile_sql("SELECT DATE_TRUNC('quarter', '2023-05-19'::date)", source="postgres", target="sqlite")
        assert db.execute(sql).rows[0][0] == "2023-04-01"


def test_identity_when_same_dialect() -> None:
    text = "SELECT  a ,b FROM t WHERE x ILIKE 'y'"
    assert transpile_sql(f"  {text} ;\n", source="postgres", target="postgres") == text


def test_parse_failure_is_generation_error() -> None:
    with pytest.raises(SQLGenerationError) as info:
        transpile_sql("SELECT (1 FROM", source="postgres", target="sqlite")
    assert "\n" not in str(info.value) and info.value.sql == "SELECT (1 FROM"
    with pytest.raises(SQLGenerationError, match="no SQL"):
        transpile_sql("  ;", source="postgres", target="sqlite")


@pytest.mark.parametrize(
    ("backend", "dialect"),
    [
        ("sqlite", "sqlite"),
        ("duckdb", "duckdb"),
        ("postgresql", "postgres"),
        ("postgresql+psycopg", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("mssql", "tsql"),
        ("oracle", "oracle"),
        ("snowflake", "snowflake"),
        ("bigquery", "bigquery"),
        ("redshift", "redshift"),
        ("trino", "trino"),
        ("awsathena", "athena"),
        ("clickhouse", "clickhouse"),
        ("databricks", "databricks"),
        ("hive", "hive"),
        ("teradata", "teradata"),
        ("dremio", "dremio"),  # not in the table, but sqlglot knows it
        ("firebird", DEFAULT_DIALECT),  # unknown everywhere
    ],
)
def test_dialect_mapping(backend: str, dialect: str) -> None:
    assert sqlglot_dialect_for(backend) == dialect


def test_every_mapped_dialect_exists() -> None:
    from sqlglot.dialects.dialect import Dialect

    for name in BACKEND_TO_SQLGLOT.values():
        assert name in Dialect.classes, name


def test_sqlite_answers_with_postgres_or_mysql_dates_are_repaired() -> None:
    # a model asked for SQLite writes INTERVAL / DATE_SUB anyway; SQLite would say 'syntax error'
    with open_database("demo") as db:
        for sql, expected in [
            ("SELECT DATE_SUB('2024-03-10', INTERVAL 1 WEEK)", "2024-03-03"),
            ("SELECT DATE('2024-03-10') - INTERVAL 14 DAY", "2024-02-25"),
            ("SELECT DATE_TRUNC('month', DATE('2024-03-10')) - INTERVAL '1 month'", "2024-02-01"),
        ]:
            repaired = transpile_sql(sql, source="sqlite", target="sqlite")
            assert transpile_sql(sql, source="sqlite", target="sqlite", mend_dates=False) == sql
            assert "INTERVAL" not in repaired.upper()
            assert str(db.execute(repaired).rows[0][0])[:10] == expected, repaired


def test_plain_sqlite_is_left_alone_even_with_the_word_interval() -> None:
    sql = "SELECT strftime('%Y', created_at) FROM t WHERE note = 'interval' LIMIT 3"
    assert transpile_sql(sql, source="sqlite", target="sqlite") in (sql, sql.replace("strftime", "STRFTIME"))
    assert transpile_sql("SELECT date('now','-7 day')", source="sqlite", target="sqlite") == "SELECT date('now','-7 day')"
