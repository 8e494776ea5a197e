"""Each Postgres -> SQLite rewrite rule of ``transpile_sql``, run on a real SQLite database.

The expected values are what PostgreSQL returns for the same query (intervals, which SQLite has no
type for, come back as REAL days).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from sqlcoder_cli.sql.transpile import transpile_sql

SCHEMA = {
    "ev": {"id": "INTEGER", "d1": "DATE", "d2": "DATE", "t1": "TIMESTAMP", "t2": "TIMESTAMP", "n": "INTEGER",
           "name": "TEXT", "month": "TEXT"},
}
ROWS = [
    # id, d1, d2, t1, t2, n, name, month
    (1, "2024-01-31", "2024-01-01", "2024-01-01 10:00:00", "2024-01-02 12:30:00", 3, "AMZN", "March"),
    (2, "2024-03-01", "2024-02-28", "2024-02-28 00:00:00", "2024-02-28 00:00:30", 10, "aapl", "january"),
    (3, "2023-08-31", "2000-09-15", "2024-03-04 00:00:00", "2024-03-05 06:00:00", 0, "GOOGL.X", "Dec"),
]


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE ev (id INTEGER, d1 DATE, d2 DATE, t1 TIMESTAMP, t2 TIMESTAMP, n INTEGER, name TEXT, month TEXT)")
    c.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    yield c
    c.close()


def run(conn: sqlite3.Connection, pg: str, schema: Any = SCHEMA) -> list[tuple[Any, ...]]:
    sql = transpile_sql(pg, source="postgres", target="sqlite", schema=schema)
    return conn.execute(sql).fetchall()


def col(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [r[0] for r in rows]


def test_signature_default_keeps_old_behaviour(conn: sqlite3.Connection) -> None:
    # without a schema the column types are unknown: date - date is left to SQLite
    assert transpile_sql("SELECT d1 - d2 FROM ev", source="postgres", target="sqlite") == "SELECT d1 - d2 FROM ev"
    assert "JULIANDAY" in transpile_sql("SELECT d1 - d2 FROM ev", source="postgres", target="sqlite", schema=SCHEMA)


def test_date_minus_date_is_integer_days(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT d1 - d2 FROM ev ORDER BY id")) == [30, 2, 8385]
    assert col(run(conn, "SELECT CURRENT_DATE - d1 > 0 FROM ev ORDER BY id")) == [1, 1, 1]
    assert run(conn, "SELECT AVG(d1 - d2) FROM ev") == [(pytest.approx((30 + 2 + 8385) / 3),)]
    # the types come through CTEs, subqueries and aggregates
    pg = "WITH x AS (SELECT MAX(d1) AS last_d, MIN(d2) AS first_d FROM ev) SELECT last_d - first_d FROM x"
    assert run(conn, pg) == [(8568,)]
    assert col(run(conn, "SELECT s.a - s.b FROM (SELECT e.d1 AS a, e.d2 AS b FROM ev AS e) AS s ORDER BY 1")) == [2, 30, 8385]


def test_timestamp_differences_are_days_and_extract_reads_them(conn: sqlite3.Connection) -> None:
    days = col(run(conn, "SELECT t2 - t1 FROM ev ORDER BY id"))
    assert days == [pytest.approx(1 + 2.5 / 24), pytest.approx(30 / 86400), pytest.approx(1.25)]
    assert col(run(conn, "SELECT EXTRACT(EPOCH FROM t2 - t1) FROM ev ORDER BY id")) == [
        pytest.approx(95400), pytest.approx(30), pytest.approx(108000)]
    assert col(run(conn, "SELECT DATE_PART('day', t2 - t1) FROM ev ORDER BY id")) == [1, 0, 1]
    assert col(run(conn, "SELECT EXTRACT(HOUR FROM (t2 - t1)) FROM ev ORDER BY id")) == [2, 0, 6]
    assert col(run(conn, "SELECT EXTRACT(MINUTE FROM t2 - t1) FROM ev ORDER BY id")) == [30, 0, 0]
    assert col(run(conn, "SELECT EXTRACT(SECOND FROM t2 - t1) FROM ev ORDER BY id")) == [0, 30, 0]
    # a timestamp minus a date: the date is that day's midnight
    assert col(run(conn, "SELECT t1 - d2 FROM ev ORDER BY id")) == [
        pytest.approx(10 / 24), pytest.approx(0), pytest.approx(8571)]


def test_interval_comparisons_and_arithmetic(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT id FROM ev WHERE t2 - t1 > INTERVAL '1 day' ORDER BY id")) == [1, 3]
    assert col(run(conn, "SELECT id FROM ev WHERE t2 - t1 < '1 minute'::interval")) == [2]
    assert col(run(conn, "SELECT EXTRACT(EPOCH FROM t2 - t1 - INTERVAL '30 seconds') FROM ev WHERE id = 2")) == [0]


def test_date_plus_integer_is_a_date(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT d1 + 1 FROM ev ORDER BY id")) == ["2024-02-01", "2024-03-02", "2023-09-01"]
    assert col(run(conn, "SELECT d1 - 31 FROM ev WHERE id = 2")) == ["2024-01-30"]
    assert col(run(conn, "SELECT 2 + d2 FROM ev WHERE id = 2")) == ["2024-03-01"]
    assert col(run(conn, "SELECT d2 - n FROM ev ORDER BY id")) == ["2023-12-29", "2024-02-18", "2000-09-15"]
    assert col(run(conn, "SELECT d2 + n FROM ev WHERE id = 1")) == ["2024-01-04"]


def test_month_intervals_clamp_to_the_month_end_as_postgres_does(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT d1 + INTERVAL '1 month' FROM ev ORDER BY id")) == [
        "2024-02-29", "2024-04-01", "2023-09-30"]
    assert col(run(conn, "SELECT d1 - INTERVAL '6 months' FROM ev WHERE id = 3")) == ["2023-02-28"]
    assert col(run(conn, "SELECT d1 + INTERVAL '1 year' FROM ev WHERE id = 1")) == ["2025-01-31"]
    assert col(run(conn, "SELECT '2024-01-31 10:00:00'::timestamp + INTERVAL '1 month 2 hours'")) == [
        "2024-02-29 12:00:00"]
    # a date plus whole days stays a date; with hours it becomes a timestamp
    assert col(run(conn, "SELECT d2 + INTERVAL '2 weeks', d2 + INTERVAL '36 hours' FROM ev WHERE id = 1")) == [
        "2024-01-15"]
    assert run(conn, "SELECT d2 + INTERVAL '36 hours' FROM ev WHERE id = 1") == [("2024-01-02 12:00:00",)]
    assert run(conn, "SELECT t1 - INTERVAL '1 millisecond' FROM ev WHERE id = 2") == [("2024-02-27 23:59:59",)]


def test_date_compared_with_timestamp_is_midnight(conn: sqlite3.Connection) -> None:
    # '2024-02-28' as text sorts before '2024-02-28 00:00:00'; Postgres says they are equal
    assert col(run(conn, "SELECT id FROM ev WHERE t1 = d2 + INTERVAL '0 days'")) == [2]
    assert col(run(conn, "SELECT id FROM ev WHERE t1 <= d2 ORDER BY id")) == [2]
    assert col(run(conn, "SELECT id FROM ev WHERE t1 BETWEEN d2 AND d2 + INTERVAL '1 day' ORDER BY id")) == [1, 2]
    # a DATE column against a midnight bound computed from a date keeps its boundary rows
    pg = "SELECT id FROM ev WHERE d1 >= DATE_TRUNC('month', '2024-03-15'::date) - INTERVAL '1 week'"
    assert col(run(conn, pg + " ORDER BY id")) == [2]
    pg = "SELECT id FROM ev WHERE d1 >= DATE_TRUNC('month', '2024-03-15'::date) ORDER BY id"
    assert col(run(conn, pg)) == [2]


def test_age_years_and_months(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT EXTRACT(YEAR FROM AGE(d1, d2)) FROM ev ORDER BY id")) == [0, 0, 22]
    assert col(run(conn, "SELECT EXTRACT(MONTH FROM AGE(d1, d2)) FROM ev ORDER BY id")) == [0, 0, 11]
    assert col(run(conn, "SELECT EXTRACT(YEAR FROM AGE('2024-09-15'::date, d2)) FROM ev WHERE id = 3")) == [24]
    assert col(run(conn, "SELECT EXTRACT(YEAR FROM AGE('2024-09-14'::date, d2)) FROM ev WHERE id = 3")) == [23]
    assert run(conn, "SELECT EXTRACT(YEAR FROM AGE(d2)) >= 24 FROM ev WHERE id = 3") == [(1,)]


def test_to_date_and_to_timestamp_formats(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT EXTRACT(MONTH FROM TO_DATE(month, 'Month')) FROM ev ORDER BY id")) == [3, 1, 12]
    assert col(run(conn, "SELECT name FROM ev ORDER BY TO_DATE(month, 'Month')")) == ["aapl", "AMZN", "GOOGL.X"]
    assert run(conn, "SELECT TO_DATE('2024-05-06', 'YYYY-MM-DD'), TO_DATE('20240506', 'YYYYMMDD')") == [
        ("2024-05-06", "2024-05-06")]
    assert run(conn, "SELECT TO_TIMESTAMP('2024-05-06 07:08:09', 'YYYY-MM-DD HH24:MI:SS')") == [("2024-05-06 07:08:09",)]
    assert run(conn, "SELECT TO_TIMESTAMP(0)") == [("1970-01-01 00:00:00",)]


def test_simple_regular_expressions_become_glob(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT id FROM ev WHERE name ~ '(AMZN|AAPL|GOOGL)' ORDER BY id")) == [1, 3]
    assert col(run(conn, "SELECT id FROM ev WHERE name ~* 'aapl|amzn' ORDER BY id")) == [1, 2]
    assert col(run(conn, "SELECT id FROM ev WHERE name ~ '^GOOGL\\.X$'")) == [3]
    assert col(run(conn, "SELECT id FROM ev WHERE name ~ '^A.*N$'")) == [1]
    assert col(run(conn, "SELECT id FROM ev WHERE name !~ 'A' ORDER BY id")) == [2, 3]
    # anything richer is left as REGEXP (SQLite needs an extension for it)
    assert "REGEXP" in transpile_sql("SELECT 1 FROM ev WHERE name ~ '[0-9]+'", source="postgres", target="sqlite")


def test_generate_series_becomes_a_recursive_cte(conn: sqlite3.Connection) -> None:
    assert col(run(conn, "SELECT n FROM generate_series(1, 5, 2) AS n")) == [1, 3, 5]
    assert col(run(conn, "SELECT g.d FROM generate_series('2024-01-31'::date, '2024-04-30'::date,"
                         " INTERVAL '1 month') AS g(d)")) == ["2024-01-31", "2024-02-29", "2024-03-29", "2024-04-29"]
    pg = ("SELECT generate_series(DATE_TRUNC('month', MIN(d2)), DATE_TRUNC('month', MAX(d1)), '1 month'::interval)::date"
          " AS m FROM ev WHERE id < 3")
    assert col(run(conn, pg)) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    pg = ("WITH r AS (SELECT generate_series(1, 3) AS k) SELECT r.k, COUNT(e.id) FROM r LEFT JOIN ev AS e"
          " ON e.id = r.k GROUP BY r.k ORDER BY r.k")
    assert run(conn, pg) == [(1, 1), (2, 1), (3, 1)]


def test_schema_forms_and_case(conn: sqlite3.Connection) -> None:
    nested = {"main": {"EV": {"D1": "date", "D2": "Date"}}}
    assert col(run(conn, "SELECT E.D1 - E.D2 FROM Ev AS E ORDER BY 1", schema=nested)) == [2, 30, 8385]
    # unknown tables and columns leave the expression alone rather than guess
    assert transpile_sql("SELECT a - b FROM other", source="postgres", target="sqlite", schema=SCHEMA) == (
        "SELECT a - b FROM other")


def test_duckdb_output_is_untouched_by_the_schema() -> None:
    pg = "SELECT d1 - d2, t2 - t1 FROM ev"
    assert transpile_sql(pg, source="postgres", target="duckdb", schema=SCHEMA) == transpile_sql(
        pg, source="postgres", target="duckdb")
