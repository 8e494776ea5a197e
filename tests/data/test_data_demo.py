from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlcoder_cli.data import demo_database_path
from sqlcoder_cli.data.build_demo import build, main
from sqlcoder_cli.db import open_database


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_shipped_demo_equals_fresh_build(tmp_path: Path) -> None:
    shipped = demo_database_path()
    assert shipped.is_file()
    assert shipped.stat().st_size < 1_000_000
    fresh = build(tmp_path / "demo.sqlite")
    assert _dump(fresh) == _dump(shipped)
    # the temp file was renamed into place, nothing left behind
    assert [p.name for p in tmp_path.iterdir()] == ["demo.sqlite"]


def test_build_twice_is_deterministic_via_main(tmp_path: Path) -> None:
    assert main([str(tmp_path / "a.sqlite")]) == 0
    assert main([str(tmp_path / "b.sqlite")]) == 0
    assert _dump(tmp_path / "a.sqlite") == _dump(tmp_path / "b.sqlite")


def test_demo_tables_keys_and_counts() -> None:
    conn = sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"categories", "products", "customers", "orders", "order_items"}
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    assert 10 <= counts["categories"] <= 15
    assert 60 <= counts["products"] <= 100
    assert 400 <= counts["customers"] <= 600
    assert 2000 <= counts["orders"] <= 3000
    assert 5000 <= counts["order_items"] <= 7000
    fks = {
        (t, r[3], r[2], r[4])
        for t in tables
        for r in conn.execute(f"PRAGMA foreign_key_list({t})")
    }
    assert fks == {
        ("categories", "parent_category_id", "categories", "category_id"),
        ("products", "category_id", "categories", "category_id"),
        ("orders", "customer_id", "customers", "customer_id"),
        ("order_items", "order_id", "orders", "order_id"),
        ("order_items", "product_id", "products", "product_id"),
    }
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status FROM orders")}
    assert statuses == {"pending", "shipped", "delivered", "cancelled", "returned"}
    lo, hi = conn.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
    assert "2023-01-01" <= lo and hi <= "2025-06-30"
    assert conn.execute("SELECT count(*) FROM customers WHERE signup_date NOT GLOB "
                        "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'").fetchone()[0] == 0
    conn.close()


def test_demo_query_read_only() -> None:
    with open_database("demo") as db:
        assert db.target.is_demo
        assert db.target.display.startswith("demo (")
        result = db.execute("SELECT count(*) FROM customers")
        assert result.rows[0][0] >= 400
