"""Introspection on a real MariaDB (SQLAlchemy's inspector path): declared foreign keys, composite
keys, comments, CHECK lists and ENUMs, odd identifiers, only the URL's own database, the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.mariadb import SHOP_DDL, scratch_database, url_for

from sqlcoder_cli.config import Paths
from sqlcoder_cli.db import open_database
from sqlcoder_cli.schema import introspect, load_schema, render_ddl

pytestmark = pytest.mark.mariadb

ODD = (
    "CREATE TABLE `select` (`CustomerID` INT PRIMARY KEY, `group` VARCHAR(10) NOT NULL, `Ünïcode` TEXT,"
    " `say ``hi``` TEXT, UNIQUE KEY uq_group (`group`))",
    "CREATE TABLE `order items` (a INT, b INT, `CustomerID` INT, PRIMARY KEY (a, b),"
    " FOREIGN KEY (`CustomerID`) REFERENCES `select` (`CustomerID`))",
    "INSERT INTO `select` VALUES (1, 'g1', 'ü', 'x'), (2, 'g2', NULL, 'y')",
    "INSERT INTO `order items` VALUES (1, 1, 1), (1, 2, 2)",
    # a table-level named CHECK list, a CHECK that is no list, a comment with a quote in it
    "CREATE TABLE tiers (tier VARCHAR(10), qty INT CHECK (qty > 0), note TEXT COMMENT 'it''s free text',"
    " CONSTRAINT chk_tier CHECK (tier IN ('gold', 'silver', 'it''s')))"
    " COMMENT 'levels; \"quoted\"'",
    "INSERT INTO tiers VALUES ('gold', 1, NULL)",
)


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with scratch_database("sqlcoder_schema", SHOP_DDL + ODD) as name, scratch_database("sqlcoder_other") as other:
        # another database on the same server: the URL names the first one, so this is not read
        assert other != name
        yield name


def test_introspection_with_declared_foreign_keys(shop: str) -> None:
    with open_database(url_for(shop)) as db:
        schema = introspect(db)
    assert schema.dialect == "mysql" and schema.default_schema == shop
    assert [t.name for t in schema.tables] == [
        "customers", "digits", "order items", "order_items", "orders", "select", "tiers"
    ]
    assert all(t.schema is None for t in schema.tables)  # nothing from the other database
    orders = schema.table("orders")
    assert orders is not None and orders.primary_key == ["order_id"]
    assert [(fk.columns, fk.referred_table, fk.referred_columns, fk.inferred) for fk in orders.foreign_keys] == [
        (["customer_id"], "customers", ["customer_id"], False)
    ]
    items = schema.table("order_items")
    assert items is not None and items.primary_key == ["order_id", "line"]
    assert [(fk.columns, fk.referred_table) for fk in items.foreign_keys] == [(["order_id"], "orders")]
    customers = schema.table("customers")
    assert customers is not None and customers.comment == "people who ordered"
    name = customers.column("name")
    assert name is not None and name.comment == "full name" and not name.nullable
    assert customers.column("status").enum_values == ["new", "regular"]  # type: ignore[union-attr]
    assert orders.column("channel").enum_values == ["web", "shop"]  # type: ignore[union-attr]
    ddl = render_ddl(schema)
    assert "-- orders.customer_id can be joined with customers.customer_id" in ddl
    assert "-- order_items.order_id can be joined with orders.order_id" in ddl
    assert "  name VARCHAR(40) NOT NULL, -- full name; e.g. 'Ann', 'Bo', 'Cy'" in ddl
    assert "  total NUMERIC(10, 2)," in ddl
    assert "  PRIMARY KEY (order_id, line)" in ddl


def test_check_lists_and_comments(shop: str) -> None:
    """CHECK lists from information_schema (table-level and column-level), a CHECK that is no list
    ignored, comments with quotes kept."""
    with open_database(url_for(shop)) as db:
        tiers = introspect(db).table("tiers")
    assert tiers is not None and tiers.comment == 'levels; "quoted"'
    assert tiers.column("tier").enum_values == ["gold", "silver", "it's"]  # type: ignore[union-attr]
    assert tiers.column("qty").enum_values is None  # type: ignore[union-attr]
    assert tiers.column("note").comment == "it's free text"  # type: ignore[union-attr]


def test_sqlcoder_schema_cli(shop: str, tmp_path: Path) -> None:
    """The real ``sqlcoder schema`` in a subprocess: DDL, JSON, a table filter, an unknown table."""
    import json

    from testkit.cli_proc import assert_clean, assert_one_line_error, isolated_env, run_sqlcoder

    env = isolated_env(tmp_path / "home")
    url = url_for(shop)
    ddl = run_sqlcoder(["schema", "--db", url], env)
    assert_clean(ddl)
    assert "CREATE TABLE customers (" in ddl.stdout and "-- people who ordered" in ddl.stdout
    assert "-- orders.customer_id can be joined with customers.customer_id" in ddl.stdout
    assert "'new', 'regular'" in ddl.stdout and "'web', 'shop'" in ddl.stdout
    assert "sqlcoder_other" not in ddl.stdout
    as_json = run_sqlcoder(["schema", "orders", "customers", "--db", url, "-f", "json"], env)
    assert_clean(as_json)
    data = json.loads(as_json.stdout)
    assert data["dialect"] == "mysql" and sorted(t["name"] for t in data["tables"]) == ["customers", "orders"]
    unknown = run_sqlcoder(["schema", "nope", "--db", url], env)
    assert_one_line_error(unknown, 2, r"^error: no such table: nope")


def test_odd_identifiers(shop: str) -> None:
    with open_database(url_for(shop)) as db:
        schema = introspect(db)
        sel = schema.table("select")
        assert sel is not None and [c.name for c in sel.columns] == ["CustomerID", "group", "Ünïcode", "say `hi`"]
        assert sel.column("group").unique  # type: ignore[union-attr]
        odd = schema.table("order items")
        assert odd is not None and odd.primary_key == ["a", "b"]
        assert [(fk.columns, fk.referred_table, fk.referred_columns) for fk in odd.foreign_keys] == [
            (["CustomerID"], "select", ["CustomerID"])
        ]
        ddl = render_ddl(schema)
        assert '-- "order items".CustomerID can be joined with "select".CustomerID' in ddl
        rows = db.execute(
            "SELECT s.`group`, s.`say ``hi``` FROM `order items` AS i JOIN `select` AS s"
            " ON i.`CustomerID` = s.`CustomerID` ORDER BY 1"
        ).rows
        assert rows == [("g1", "x"), ("g2", "y")]


def test_schema_cache(shop: str, tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    with open_database(url_for(shop)) as db:
        schema, cached = load_schema(db, paths)
        assert not cached and schema.table("orders") is not None
    with open_database(url_for(shop)) as db:
        again, cached = load_schema(db, paths)
        assert cached and again.to_dict() == schema.to_dict()
        fresh, cached = load_schema(db, paths, refresh=True)
        assert not cached and fresh.to_dict() == schema.to_dict()
