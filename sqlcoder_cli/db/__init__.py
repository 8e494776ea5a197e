"""Read-only database access: resolve what the user named, connect safely, run with limits."""

from __future__ import annotations

from .connect import Database, DatabaseTarget, open_database, resolve_database
from .execute import QueryResult

__all__ = ["Database", "DatabaseTarget", "QueryResult", "open_database", "resolve_database"]
