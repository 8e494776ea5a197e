"""SQLite-isms and Postgres-isms translated to MySQL run on a real MariaDB with the same answer.

Each query runs as written on a SQLite copy of the data (or its expected rows are given), then is
translated by ``transpile_sql``, passes the statement guard with the MySQL function list, and runs
through the read-only connection on MariaDB: the rows must match.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from testkit.mariadb import scratch_database, url_for

from sqlcoder_cli.db import Database, open_database
from sqlcoder_cli.sql.transpile import transpile_sql

pytestmark = pytest.mark.mariadb

DDL = (
    "CREATE TABLE customers (customer_id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, city VARCHAR(20))",
    "CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT NOT NULL, total INT, ordered_at DATE,"
    " FOREIGN KEY (customer_id) REFERENCES customers (customer_id))",
    "INSERT INTO customers VALUES (1, 'Ann', 'Oslo'), (2, 'Bo', 'Rome'), (3, 'Cy', NULL), (4, 'ann-marie', 'Oslo')",
    "INSERT INTO orders VALUES (10, 1, 550, '2024-01-05'), (11, 2, 725, '2024-02-10'), (12, 1, 300, '2024-02-11'),"
    " (13, 4, NULL, '2024-03-01')",
)

#: queries a model asked for SQLite writes; each must give SQLite's answer on MariaDB
SQLITE_QUERIES = [
    "SELECT name || ' from ' || IFNULL(city, '?') AS who FROM customers ORDER BY customer_id",
    "SELECT strftime('%Y-%m', ordered_at) AS month, SUM(total) AS spent FROM orders GROUP BY 1 ORDER BY 1",
    "SELECT strftime('%Y', ordered_at), strftime('%m', ordered_at), strftime('%d', ordered_at) FROM orders ORDER BY order_id",
    "SELECT iif(total > 500, 'big', 'small') AS size, substr(\"name\", 1, 2) AS short FROM orders"
    " JOIN customers USING (customer_id) ORDER BY order_id LIMIT 2 OFFSET 1",
    "SELECT CAST(total AS INTEGER), CAST(customer_id AS TEXT) FROM orders ORDER BY order_id",
    "SELECT name FROM customers WHERE name LIKE 'a%' ORDER BY name",
    "SELECT instr(name, 'n'), length(name), upper(substr(name, 1, 1)) || lower(substr(name, 2)) FROM customers ORDER BY 1, 2",
    "SELECT max(total, 400), min(customer_id, 2) FROM orders WHERE total IS NOT NULL ORDER BY order_id",
    "SELECT c.name, COUNT(o.order_id) AS n, COALESCE(SUM(o.total), 0) AS spent FROM customers c"
    " LEFT JOIN orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.name ORDER BY spent DESC, c.customer_id",
    "SELECT name FROM customers WHERE city IS NOT 'Oslo' ORDER BY name",
    "SELECT COUNT(*) FROM orders WHERE ordered_at >= date('2024-02-01') AND ordered_at < '2024-03-01'",
    "SELECT CAST(SUM(total) AS REAL) / COUNT(total) FROM orders",
    "SELECT replace(trim('  x-y  '), '-', '+'), abs(-3), round(2.5), 7 % 3",
    "WITH big AS (SELECT customer_id, SUM(total) AS spent FROM orders GROUP BY customer_id HAVING SUM(total) > 500)"
    " SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM big) ORDER BY name",
    "SELECT name, ROW_NUMBER() OVER (ORDER BY customer_id DESC) AS rn FROM customers ORDER BY rn",
]

#: Postgres-isms (what SQLCoder writes by default) with the rows they give on PostgreSQL
POSTGRES_QUERIES: list[tuple[str, list[tuple[Any, ...]]]] = [
    ("SELECT name::text, EXTRACT(YEAR FROM ordered_at)::int FROM orders o JOIN customers c"
     " ON c.customer_id = o.customer_id WHERE name ILIKE 'a%' ORDER BY total DESC NULLS LAST",
     [("Ann", 2024), ("Ann", 2024), ("ann-marie", 2024)]),
    ("SELECT DATE_TRUNC('month', ordered_at)::date AS m, COUNT(*) FROM orders GROUP BY 1 ORDER BY 1",
     [("2024-01-01", 1), ("2024-02-01", 2), ("2024-03-01", 1)]),
    ("SELECT COUNT(*) FROM orders WHERE ordered_at >= DATE '2024-03-01' - INTERVAL '30 days'", [(3,)]),
    ("SELECT name FROM customers WHERE city IN ('Rome', 'Paris') AND name NOT ILIKE '%x%'", [("Bo",)]),
    ("SELECT STRING_AGG(name, ',' ORDER BY name) FROM customers WHERE city = 'Oslo'", [("Ann,ann-marie",)]),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sqlite3.Connection, Database]]:
    path: Path = tmp_path_factory.mktemp("transpile") / "shop.db"
    lite = sqlite3.connect(path)
    for sql in DDL:
        lite.execute(sql)
    lite.commit()
    with scratch_database("sqlcoder_transpile", DDL) as name, open_database(url_for(name)) as db:
        yield lite, db
    lite.close()


def _plain(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows comparable across databases: numbers as rounded floats, dates as ISO text."""
    out = []
    for row in rows:
        values = []
        for v in row:
            if isinstance(v, (Decimal, float)) or (isinstance(v, int) and not isinstance(v, bool)):
                v = round(float(v), 6)
            elif v is not None and not isinstance(v, str):
                v = str(v)[:10] if hasattr(v, "isoformat") else str(v)
            values.append(v)
        out.append(tuple(values))
    return out


def _on_mariadb(db: Database, sql: str, source: str) -> list[tuple[Any, ...]]:
    translated = transpile_sql(sql, source=source, target="mysql")
    db.guard(translated)  # the statement guard with the MySQL function list
    return db.execute(translated, limit=None).rows


@pytest.mark.parametrize("sql", SQLITE_QUERIES)
def test_sqlite_isms_give_the_same_rows_on_mariadb(sql: str, both: tuple[sqlite3.Connection, Database]) -> None:
    lite, db = both
    expected = lite.execute(sql).fetchall()
    assert expected, "a query without rows proves little"
    assert _plain(_on_mariadb(db, sql, "sqlite")) == _plain(expected)


@pytest.mark.parametrize(("sql", "expected"), POSTGRES_QUERIES)
def test_postgres_isms_run_on_mariadb(sql: str, expected: list[tuple[Any, ...]], both: tuple[sqlite3.Connection, Database]) -> None:
    _lite, db = both
    assert _plain(_on_mariadb(db, sql, "postgres")) == _plain(expected)
