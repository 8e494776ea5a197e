"""The MariaDB test server (.ci/run starts one; SQLCODER_TEST_MARIADB_URL names it).

The URL logs in as root over TCP, with every privilege: the safety tests' worst case. Each test
module works in a database of its own (:func:`scratch_database`), created and dropped through a
separate, writable PyMySQL connection (:func:`admin`), never through sqlcoder. Without the server
the tests skip locally and fail in CI (:func:`testkit.pg.missing`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from testkit.pg import missing

MARIADB_URL = os.environ.get("SQLCODER_TEST_MARIADB_URL", "")

#: the shop every MariaDB test reads: two tables joined by a declared foreign key, a coded column
#: (CHECK list), an ENUM, comments, a composite key, a sequence, and a table of ten digits whose
#: cross joins make queries as long as a test needs (10**n rows)
SHOP_DDL = (
    "CREATE TABLE customers (customer_id INT PRIMARY KEY, name VARCHAR(40) NOT NULL COMMENT 'full name',"
    " city VARCHAR(20), status VARCHAR(10) CHECK (status IN ('new', 'regular')))"
    " COMMENT 'people who ordered'",
    "CREATE TABLE orders (order_id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10, 2),"
    " ordered_at DATE, channel ENUM('web', 'shop'),"
    " CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (customer_id))",
    "CREATE TABLE order_items (order_id INT, line INT, sku VARCHAR(10), qty INT, PRIMARY KEY (order_id, line),"
    " FOREIGN KEY (order_id) REFERENCES orders (order_id))",
    "CREATE TABLE digits (d INT PRIMARY KEY)",
    "CREATE SEQUENCE seq",
    "INSERT INTO customers VALUES (1, 'Ann', 'Oslo', 'regular'), (2, 'Bo', 'Rome', 'new'), (3, 'Cy', NULL, 'new')",
    "INSERT INTO orders VALUES (10, 1, 5.50, '2024-01-05', 'web'), (11, 2, 7.25, '2024-02-10', 'shop'),"
    " (12, 1, 3.00, '2024-02-11', 'web')",
    "INSERT INTO order_items VALUES (10, 1, 'A-1', 2), (10, 2, 'B-7', 1), (11, 1, 'A-1', 5), (12, 1, 'C-3', 1)",
    "INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
)


def mariadb_url() -> str:
    """The server's URL (root, no database), or skip/fail without it."""
    if not MARIADB_URL:
        missing("SQLCODER_TEST_MARIADB_URL is not set")
    return MARIADB_URL


def url_for(database: str, *, user: str | None = None, password: str | None = None) -> str:
    """The test server's URL for ``database`` (and another login, if given), password unhidden."""
    from sqlalchemy.engine import make_url

    url = make_url(mariadb_url()).set(database=database)
    if user is not None:
        url = url.set(username=user, password=password)
    return url.render_as_string(hide_password=False)


def admin(database: str | None = None, **kwargs: Any) -> Any:
    """A writable PyMySQL connection as the URL's user (root), in autocommit mode."""
    import pymysql
    from sqlalchemy.engine import make_url

    url = make_url(mariadb_url())
    return pymysql.connect(
        host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
        password=url.password or "", database=database, autocommit=True, **kwargs,
    )


def run_admin(*statements: str, database: str | None = None) -> list[tuple[Any, ...]]:
    """Run ``statements`` as root; the rows of the last one."""
    conn = admin(database)
    try:
        rows: list[tuple[Any, ...]] = []
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                rows = list(cur.fetchall()) if cur.description else []
        return rows
    finally:
        conn.close()


@contextmanager
def scratch_database(prefix: str = "sqlcoder_t", ddl: tuple[str, ...] = SHOP_DDL) -> Iterator[str]:
    """A new database filled with ``ddl`` (the shop by default), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    run_admin(f"CREATE DATABASE `{name}`")
    try:
        run_admin(*ddl, database=name)
        yield name
    finally:
        run_admin(f"DROP DATABASE IF EXISTS `{name}`")
