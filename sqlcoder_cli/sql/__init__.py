"""SQL handling between the model and the database: extract, transpile, guard."""

from __future__ import annotations

from .extract import extract_sql
from .guard import check_read_only
from .transpile import sqlglot_dialect_for, transpile_sql
from .validate import SQLIssue, issues_as_feedback, validate_sql

__all__ = [
    "SQLIssue",
    "check_read_only",
    "extract_sql",
    "issues_as_feedback",
    "sqlglot_dialect_for",
    "transpile_sql",
    "validate_sql",
]
