"""SQL handling between the model and the database: extract, transpile, guard."""

from __future__ import annotations

from .extract import extract_sql
from .guard import check_read_only
from .transpile import sqlglot_dialect_for, transpile_sql

__all__ = ["check_read_only", "extract_sql", "sqlglot_dialect_for", "transpile_sql"]
