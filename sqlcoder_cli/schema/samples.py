"""Distinct values of low-cardinality text columns, read cheaply and within a time budget.

Why: ``status TEXT`` says nothing about whether the rows hold 'Shipped', 'shipped' or 'S'. A
handful of real values in the DDL comment fixes most wrong-literal errors, and the pruner matches
question words against them ("cancelled orders" → ``orders.status``).

Cheap by construction: a table is only sampled when it has at most ``max_rows`` rows (catalog
estimate when there is one, else a ``COUNT(*)`` over a ``LIMIT max_rows + 1`` subquery), each
column costs one ``SELECT DISTINCT c ... LIMIT k + 1``, and the whole database stops after
``budget_s`` seconds, leaving the remaining columns unsampled.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .introspect import Schema, Table

#: most distinct values a column may have to count as low-cardinality
MAX_DISTINCT = 8
#: tables with more rows are not sampled (a DISTINCT there could scan for a long time)
MAX_ROWS = 100_000
#: values longer than this mean free text, not codes
MAX_VALUE_LEN = 40

_TEXT_TYPE = re.compile(r"CHAR|TEXT|CLOB|STRING|VARCHAR|NAME|CITEXT", re.I)
_ID_NAME = re.compile(r"(^|_)id$|[a-z]Id$|ID$|(^|_)(uuid|guid|email|phone|url|hash|password|token)s?$", re.I)


def is_sample_candidate(table: Table, column_name: str, column_type: str) -> bool:
    """Text-typed, not a key, not an identifier-like name, and no value list known already."""
    col = table.column(column_name)
    if col is None or col.primary_key or col.enum_values:
        return False
    if not _TEXT_TYPE.search(column_type or "") and (column_type or "").strip():
        return False
    if _ID_NAME.search(column_name):
        return False
    fk_cols = {c for fk in table.foreign_keys for c in fk.columns}
    return column_name not in fk_cols


def sample_schema_values(
    conn: Any,
    schema: Schema,
    *,
    backend: str,
    k: int = MAX_DISTINCT,
    max_rows: int = MAX_ROWS,
    budget_s: float = 2.0,
) -> int:
    """Fill ``Column.sample_values`` in place; returns how many columns were sampled.

    Errors on one table (permissions, exotic types) skip that table; they never fail introspection.
    """
    start = time.perf_counter()
    quote = conn.dialect.identifier_preparer.quote
    sampled = 0
    for table in schema.tables:
        if time.perf_counter() - start > budget_s:
            break
        candidates = [c for c in table.columns if is_sample_candidate(table, c.name, c.type)]
        if not candidates:
            continue
        source = quote(table.name) if table.schema is None else f"{quote(table.schema)}.{quote(table.name)}"
        try:
            rows = table.row_count
            if rows is None or table.is_view:
                rows = conn.exec_driver_sql(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {source} LIMIT {max_rows + 1}) AS s"
                ).scalar()
                if not table.is_view:
                    table.row_count = int(rows or 0) if int(rows or 0) <= max_rows else None
            if rows is None or int(rows) > max_rows or int(rows) == 0:
                continue
            for col in candidates:
                if time.perf_counter() - start > budget_s:
                    break
                c = quote(col.name)
                values = [
                    r[0]
                    for r in conn.exec_driver_sql(
                        f"SELECT DISTINCT {c} FROM {source} WHERE {c} IS NOT NULL LIMIT {k + 1}"
                    ).fetchall()
                ]
                if not values or len(values) > k or not all(isinstance(v, str) for v in values):
                    continue
                if any(len(v) > MAX_VALUE_LEN or "\n" in v for v in values):
                    continue
                col.sample_values = sorted(values, key=lambda v: (v.lower(), v))
                sampled += 1
        except Exception:  # noqa: BLE001 - sampling is best effort; a failed table is skipped
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001
                pass
    return sampled
