"""Against a real PostgreSQL server (the CI starts one and sets SQLCODER_TEST_PG_URL)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from sqlcoder_cli.db import open_database
from sqlcoder_cli.errors import DatabaseError, QueryTimeoutError
from sqlcoder_cli.schema import introspect, render_ddl

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="SQLCODER_TEST_PG_URL is not set"),
]


@pytest.fixture(scope="module")
def pg_schema() -> str:
    """A fresh schema with two related tables, created through a writable connection."""
    import psycopg

    assert PG_URL
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"sqlcoder_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        conn.execute(
            f"CREATE TABLE {name}.customers (customer_id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)"
        )
        conn.execute(f"COMMENT ON COLUMN {name}.customers.name IS 'full name'")
        conn.execute(
            f"CREATE TABLE {name}.orders (order_id INTEGER PRIMARY KEY, "
            f"customer_id INTEGER REFERENCES {name}.customers(customer_id), total NUMERIC(10,2))"
        )
        conn.execute(f"INSERT INTO {name}.customers VALUES (1, 'Ann'), (2, 'Bo')")
        conn.execute(f"INSERT INTO {name}.orders VALUES (10, 1, 5.50), (11, 2, 7.25)")
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def _url(schema: str) -> str:
    assert PG_URL
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def test_reads_and_refuses_writes(pg_schema: str) -> None:
    with open_database(_url(pg_schema)) as db:
        assert db.target.sqlglot_dialect == "postgres"
        r = db.execute("SELECT name FROM customers WHERE name LIKE 'A%' ORDER BY 1")
        assert r.rows == [("Ann",)]
        for sql in ["DELETE FROM orders", "INSERT INTO customers VALUES (3, 'Cy')",
                    "CREATE TABLE evil (a int)", "UPDATE customers SET name = 'x'"]:
            with pytest.raises(DatabaseError, match="read-only"):
                db.execute(sql)
        # the session stays read-only even if someone tries to flip it back
        with pytest.raises(DatabaseError):
            db.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM orders")
        assert db.execute("SELECT count(*) FROM orders").rows == [(2,)]


def test_introspection(pg_schema: str) -> None:
    with open_database(_url(pg_schema)) as db:
        schema = introspect(db)
    assert [t.name for t in schema.tables] == ["customers", "orders"]
    name = schema.table("customers").column("name")  # type: ignore[union-attr]
    assert name is not None and name.comment == "full name" and not name.nullable
    ddl = render_ddl(schema)
    assert "  name VARCHAR(40) NOT NULL -- full name; e.g. 'Ann'" in ddl
    assert "  total NUMERIC(10, 2)" in ddl
    assert "-- orders.customer_id can be joined with customers.customer_id" in ddl


def test_statement_timeout(pg_schema: str) -> None:
    with open_database(_url(pg_schema), timeout_s=0.5) as db:
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            db.execute("SELECT COUNT(*) FROM generate_series(1, 50000) a, generate_series(1, 50000) b, generate_series(1, 50000) c")
        assert time.monotonic() - start < 2.0
        assert db.execute("SELECT 1").rows == [(1,)]
