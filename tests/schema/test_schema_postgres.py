"""Introspection, odd identifiers, enums, schemas and the cache fingerprint on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from sqlcoder_cli.config import Paths
from sqlcoder_cli.db import open_database
from sqlcoder_cli.schema import load_schema, render_ddl

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="SQLCODER_TEST_PG_URL is not set")]


def test_postgres_full_schema_and_cache(tmp_path: Path) -> None:
    import psycopg

    assert PG_URL
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"sq_{uuid.uuid4().hex[:8]}"
    other = f"{name}_x"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        conn.execute(f"CREATE SCHEMA {other}")
        conn.execute(f"CREATE TYPE {name}.mood AS ENUM ('sad', 'happy')")
        conn.execute(
            f'CREATE TABLE {name}."Select" ("CustomerID" INTEGER PRIMARY KEY, "group" TEXT NOT NULL, '
            f'"Ünïcode" {name}.mood, status VARCHAR(10) CHECK (status IN (\'new\', \'old\')))'
        )
        conn.execute(f'COMMENT ON TABLE {name}."Select" IS \'odd customers\'')
        conn.execute(
            f'CREATE TABLE {name}."order items" (a INTEGER, b INTEGER, "CustomerID" INTEGER '
            f'REFERENCES {name}."Select"("CustomerID"), "say ""hi""" TEXT, PRIMARY KEY (a, b))'
        )
        conn.execute(f"CREATE TABLE {other}.extra (id INTEGER PRIMARY KEY)")
        conn.execute(f"INSERT INTO {name}.\"Select\" VALUES (1, 'g1', 'sad', 'new'), (2, 'g2', 'happy', 'old')")
        conn.execute(f"INSERT INTO {name}.\"order items\" VALUES (1, 1, 1, 'x'), (1, 2, 2, 'y')")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    try:
        with open_database(url) as db:
            schema, cached = load_schema(db, paths)
            assert not cached and schema.default_schema == name
            sel = schema.table("Select")
            assert sel is not None and sel.comment == "odd customers"
            assert sel.column("Ünïcode").enum_values == ["sad", "happy"]  # type: ignore[union-attr]
            assert sel.column("status").enum_values == ["new", "old"]  # type: ignore[union-attr]
            items = schema.table("order items")
            assert items is not None and items.primary_key == ["a", "b"]
            assert schema.table(f"{other}.extra") is not None
            ddl = render_ddl(schema)
            assert 'CREATE TABLE "Select" (' in ddl and '  "group" TEXT NOT NULL,' in ddl
            assert f"CREATE TABLE {other}.extra (" in ddl
            assert '-- "order items"."CustomerID" can be joined with "Select"."CustomerID"' in ddl
            assert "  PRIMARY KEY (a, b)" in ddl
            rows = db.execute(
                'SELECT s."group", i."say ""hi""" FROM "order items" AS i JOIN "Select" AS s '
                'ON i."CustomerID" = s."CustomerID" ORDER BY 1'
            ).rows
            assert rows == [("g1", "x"), ("g2", "y")]
        with open_database(url) as db:
            _, cached = load_schema(db, paths)
            assert cached
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'COMMENT ON COLUMN {name}."Select"."group" IS \'team\'')
        with open_database(url) as db:
            again, cached = load_schema(db, paths)
            assert not cached and again.table("Select").column("group").comment == "team"  # type: ignore[union-attr]
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")
            conn.execute(f"DROP SCHEMA {other} CASCADE")
