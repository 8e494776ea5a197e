"""A wide SQLite database for pruning and large-schema speed tests (and benchmarks/large_schema.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def make_wide_database(path: Path) -> None:
    """500 generated tables ``t000``..``t499`` (each joined to the one before it) and one
    ``invoices`` table that joins ``t042``: a warehouse where one question concerns one table."""
    conn = sqlite3.connect(path)
    stmts = []
    for i in range(500):
        ref = f",\n  parent_id INTEGER REFERENCES t{i - 1:03d}(id) -- the t{i - 1:03d} row this belongs to" if i else ""
        stmts.append(
            f"CREATE TABLE t{i:03d} ( -- entity number {i} of the generated warehouse\n  id INTEGER PRIMARY KEY,\n  name_{i} TEXT NOT NULL, -- display name {i}\n"
            f"  amount_{i} NUMERIC(10, 2), -- amount in euros\n  created_at TIMESTAMP,\n"
            f"  kind TEXT CHECK (kind IN ('a', 'b')){ref}\n)"
        )
    stmts.append(
        "CREATE TABLE invoices (\n  invoice_id INTEGER PRIMARY KEY,\n  t042_id INTEGER REFERENCES t042(id),\n"
        "  paid_status TEXT, -- whether the invoice is paid\n  due_date DATE\n)"
    )
    for s in stmts:
        conn.execute(s)
    conn.execute("INSERT INTO invoices VALUES (1, 1, 'paid', '2024-01-01'), (2, 1, 'overdue', '2024-02-01')")
    conn.commit()
    conn.close()
