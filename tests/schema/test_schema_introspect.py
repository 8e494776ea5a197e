from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import sqlglot

from sqlcoder_cli.db import open_database
from sqlcoder_cli.schema import Schema, introspect, render_ddl
from sqlcoder_cli.schema.ddl import normalize_type, quote_identifier
from sqlcoder_cli.sql import check_read_only, transpile_sql

DEMO_DDL = """\
CREATE TABLE categories (
  category_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  parent_category_id INTEGER -- NULL for top-level categories
);

CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  signup_date DATE NOT NULL -- 'YYYY-MM-DD'
);

CREATE TABLE order_items (
  order_item_id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  product_id INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  unit_price NUMERIC(10, 2) NOT NULL, -- price actually charged per unit
  discount REAL NOT NULL DEFAULT 0 -- fraction, 0.1 = 10% off
);

CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  order_date DATE NOT NULL, -- 'YYYY-MM-DD'
  status TEXT NOT NULL, -- one of 'pending', 'shipped', 'delivered', 'cancelled', 'returned'
  shipping_cost NUMERIC(10, 2) NOT NULL DEFAULT 0
);

CREATE TABLE products (
  product_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category_id INTEGER NOT NULL,
  unit_price NUMERIC(10, 2) NOT NULL, -- list price in USD
  stock_quantity INTEGER NOT NULL DEFAULT 0,
  is_active BOOLEAN NOT NULL DEFAULT 1 -- 0 = no longer sold
);

-- categories.parent_category_id can be joined with categories.category_id
-- order_items.product_id can be joined with products.product_id
-- order_items.order_id can be joined with orders.order_id
-- orders.customer_id can be joined with customers.customer_id
-- products.category_id can be joined with categories.category_id
"""


def test_demo_introspection_and_golden_ddl() -> None:
    with open_database("demo") as db:
        schema = introspect(db)
    assert schema.dialect == "sqlite"
    assert [t.name for t in schema.tables] == ["categories", "customers", "order_items", "orders", "products"]
    orders = schema.table("ORDERS")
    assert orders is not None and [c.name for c in orders.columns][:2] == ["order_id", "customer_id"]
    assert orders.columns[0].primary_key and not orders.columns[0].nullable
    assert orders.foreign_keys[0].referred_table == "customers"
    assert render_ddl(schema) == DEMO_DDL
    sub = render_ddl(schema, ["orders", "customers"])
    assert sub.index("CREATE TABLE orders") < sub.index("CREATE TABLE customers")
    assert "-- orders.customer_id can be joined with customers.customer_id" in sub
    assert "order_items" not in sub
    mapping = schema.as_sqlglot_mapping()
    assert mapping["orders"]["order_date"] == "DATE"


def test_json_round_trip() -> None:
    with open_database("demo") as db:
        schema = introspect(db)
    again = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema


def test_benchmark_databases_introspect() -> None:
    dbs = sorted(Path("/work/shared/bench/sql_eval/dbs").glob("*.sqlite"))
    if not dbs:
        return
    for path in dbs[:4]:
        with open_database(str(path)) as db:
            schema = introspect(db)
            ddl = render_ddl(schema)
            assert schema.tables and ddl.count("CREATE TABLE") == len(schema.tables)
            first = schema.tables[0]
            cols = ", ".join(quote_identifier(c.name, "sqlite") for c in first.columns)
            db.execute(f"SELECT {cols} FROM {quote_identifier(first.name, 'sqlite')}", limit=1)


ODD_SQL = [
    'CREATE TABLE "Select" ("CustomerID" INTEGER PRIMARY KEY, "group" TEXT, "Ünïcode" TEXT)',
    'CREATE TABLE "order items" (id INTEGER PRIMARY KEY, "CustomerID" INTEGER REFERENCES "Select"("CustomerID"),'
    ' "say ""hi""" VARCHAR(10), amount DECIMAL(8, 3))',
    """INSERT INTO "Select" VALUES (1, 'g1', 'ü'), (2, 'g2', 'é')""",
    """INSERT INTO "order items" VALUES (1, 1, 'x', 1.5), (2, 1, 'y', 2.5), (3, 2, 'z', 4.0)""",
]


def _odd_roundtrip(db_path: str, dialect: str) -> None:
    with open_database(db_path) as db:
        schema = introspect(db)
        assert schema.dialect == dialect
        ddl = render_ddl(schema)
        assert 'CREATE TABLE "order items" (' in ddl
        assert 'CREATE TABLE "Select" (' in ddl
        assert '  "group" TEXT,' in ddl and '  "Ünïcode" TEXT' in ddl
        assert '  "say ""hi""" VARCHAR(10),' in ddl or '  "say ""hi""" TEXT,' in ddl
        cid = quote_identifier("CustomerID", dialect)  # bare where the dialect does not fold case
        assert f'-- "order items".{cid} can be joined with "Select".{cid}' in ddl
        # The DDL parses as Postgres (what the model reads) ...
        parsed = sqlglot.parse(ddl, read="postgres")
        assert len([p for p in parsed if isinstance(p, sqlglot.exp.Create)]) == len(schema.tables)
        # ... and a query written with those quoted names runs on the real database.
        pg = (
            'SELECT s."group", s."Ünïcode", SUM(o.amount) AS total, COUNT(*) AS n '
            'FROM "order items" AS o JOIN "Select" AS s ON o."CustomerID" = s."CustomerID" '
            'WHERE o."say ""hi""" <> \'q\' GROUP BY s."group", s."Ünïcode" ORDER BY s."group"'
        )
        sql = transpile_sql(pg, source="postgres", target=dialect)
        check_read_only(sql, dialect)
        result = db.execute(sql)
        assert [tuple(r[:2]) + (float(r[2]), r[3]) for r in result.rows] == [
            ("g1", "ü", 4.0, 2), ("g2", "é", 4.0, 1)
        ]


def test_odd_identifiers_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    for stmt in ODD_SQL:
        conn.execute(stmt)
    conn.commit()
    conn.close()
    _odd_roundtrip(str(path), "sqlite")


def test_odd_identifiers_duckdb(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "odd.duckdb"
    conn = duckdb.connect(str(path))
    for stmt in ODD_SQL:
        conn.execute(stmt)
    conn.execute("CREATE VIEW big AS SELECT * FROM \"order items\" WHERE amount > 2")
    conn.close()
    _odd_roundtrip(str(path), "duckdb")
    with open_database(str(path)) as db:
        schema = introspect(db)
        assert [t.name for t in schema.tables if t.is_view] == ["big"]
        assert [t.name for t in introspect(db, include_views=False).tables] == ["order items", "Select"]
        items = schema.table("order items")
        assert items is not None and items.foreign_keys[0].columns == ["CustomerID"]
        assert items.column("amount") is not None and items.column("amount").type.startswith("DECIMAL")  # type: ignore[union-attr]


def test_normalize_and_quote() -> None:
    assert normalize_type("varchar(20)", "sqlite") == "VARCHAR(20)"
    assert normalize_type("INT", "sqlite") == "INTEGER"
    assert normalize_type("DECIMAL(18,3)", "duckdb") == "NUMERIC(18, 3)"
    assert normalize_type("DATETIME", "sqlite") == "TIMESTAMP"
    assert normalize_type("DOUBLE", "duckdb") == "DOUBLE PRECISION"
    assert normalize_type("geometry", "postgres") == "GEOMETRY"
    assert normalize_type("", "sqlite") == "TEXT"
    assert quote_identifier("name", "postgres") == "name"
    assert quote_identifier("CustomerID", "postgres") == '"CustomerID"'
    assert quote_identifier("CustomerID", "sqlite") == "CustomerID"
    assert quote_identifier("group", "sqlite") == '"group"'
    assert quote_identifier('a"b', "sqlite") == '"a""b"'
