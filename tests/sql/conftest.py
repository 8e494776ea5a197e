from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlcoder_cli.data import demo_database_path


@pytest.fixture(scope="session")
def demo_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB copy of the demo's customers, orders and products tables (dates as real DATEs)."""
    import duckdb

    path = tmp_path_factory.mktemp("duck") / "demo.duckdb"
    src = sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True)
    dst = duckdb.connect(str(path))
    dst.execute(
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_name VARCHAR, last_name VARCHAR,"
        " email VARCHAR, city VARCHAR, country VARCHAR, signup_date DATE)"
    )
    dst.execute(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers,"
        " order_date DATE, status VARCHAR, shipping_cost DECIMAL(10, 2))"
    )
    dst.execute(
        "CREATE TABLE products (product_id INTEGER PRIMARY KEY, name VARCHAR, category_id INTEGER,"
        " unit_price DECIMAL(10, 2), stock_quantity INTEGER, is_active BOOLEAN)"
    )
    for table in ("customers", "orders", "products"):
        rows = src.execute(f"SELECT * FROM {table}").fetchall()
        marks = ", ".join("?" * len(rows[0]))
        dst.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    dst.close()
    src.close()
    return path
