"""Run one statement with a row limit and a time limit, and turn driver errors into ours.

Why a separate module: the timeout mechanism differs per driver (SQLite progress handler, DuckDB
interrupt, server-side statement_timeout), and every error message must be one line without the
connection password, whatever the driver puts in it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, QueryTimeoutError

if TYPE_CHECKING:
    import sqlalchemy


@dataclass
class QueryResult:
    """Rows of one query, at most ``limit`` of them; ``truncated`` says more were available."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    row_count: int
    truncated: bool
    elapsed_s: float


#: substrings of driver messages that mean "cancelled by our time limit"
_TIMEOUT_MARKERS = ("interrupted", "canceling statement due to statement timeout", "max_execution_time",
                    "query execution was interrupted", "statement timeout")


def scrub(text: str, secrets: list[str]) -> str:
    """Remove every secret (password, raw and URL-encoded) from ``text``."""
    from urllib.parse import quote, quote_plus

    for secret in secrets:
        if not secret:
            continue
        for variant in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(variant, "***")
    # any leftover user:password@ in a URL
    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


def one_line_error(exc: BaseException, secrets: list[str]) -> str:
    """The driver's first meaningful line: 'no such column: foo', not a SQLAlchemy essay."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    text = str(source).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[0] if lines else type(source).__name__
    if line.startswith("(") and ")" in line:  # SQLAlchemy's "(sqlite3.OperationalError) msg"
        line = line.split(")", 1)[1].strip() or line
    line = re.sub(r"\s*\[SQL: .*$", "", line)
    return scrub(line, secrets)


def is_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    name = type(orig).__name__
    if name in ("QueryCanceled", "QueryCanceledError", "InterruptException"):
        return True
    text = str(orig).lower()
    return any(marker in text for marker in _TIMEOUT_MARKERS)


@contextmanager
def deadline(dbapi_connection: Any, backend: str, timeout_s: float | None) -> Iterator[None]:
    """Enforce ``timeout_s`` on everything run on the connection inside the block.

    SQLite: a progress handler aborts the running statement once past the deadline (it is checked
    every few thousand VM steps, so fetching is covered too). DuckDB: a timer thread calls
    ``interrupt()``. Server databases use their own statement timeout, set at connect time.
    """
    if not timeout_s or timeout_s <= 0:
        yield
        return
    raw = getattr(dbapi_connection, "driver_connection", None) or dbapi_connection
    if backend == "sqlite" and hasattr(raw, "set_progress_handler"):
        end = time.monotonic() + timeout_s

        def handler() -> int:
            return 1 if time.monotonic() > end else 0

        raw.set_progress_handler(handler, 10_000)
        try:
            yield
        finally:
            raw.set_progress_handler(None, 0)
    elif backend == "duckdb" and hasattr(dbapi_connection, "interrupt"):
        timer = threading.Timer(timeout_s, dbapi_connection.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
    else:
        yield


def run_query(
    conn: sqlalchemy.Connection,
    sql: str,
    *,
    backend: str,
    limit: int | None,
    timeout_s: float | None,
    secrets: list[str],
) -> QueryResult:
    """Execute ``sql`` on an open connection and fetch up to ``limit`` rows (one more to detect more)."""
    from sqlalchemy.exc import SQLAlchemyError

    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0 or None")
    start = time.perf_counter()
    try:
        with deadline(conn.connection.dbapi_connection, backend, timeout_s):
            result = conn.execution_options(no_parameters=True).exec_driver_sql(sql)
            if result.returns_rows:
                columns = [str(c) for c in result.keys()]
                if limit is None:
                    fetched = result.fetchall()
                else:
                    fetched = result.fetchmany(limit + 1) if limit > 0 else result.fetchmany(1)
                result.close()
            else:
                columns, fetched = [], []
    except SQLAlchemyError as exc:
        elapsed = time.perf_counter() - start
        if is_timeout(exc):
            raise QueryTimeoutError(
                f"the query was cancelled after {timeout_s:g} s (time limit)" if timeout_s else
                "the query was cancelled", hint="make the question narrower or raise the time limit"
            ) from None
        message = one_line_error(exc, secrets)
        if message == "not authorized" or "read-only" in message or "readonly" in message:
            message = f"the read-only connection refused this statement ({message})"
        raise DatabaseError(message) from None
    finally:
        try:
            conn.rollback()
        except SQLAlchemyError:
            pass
    rows = [tuple(r) for r in fetched]
    truncated = limit is not None and len(rows) > limit
    if truncated:
        rows = rows[:limit]
    return QueryResult(
        columns=columns,
        rows=rows,
        row_count=len(rows),
        truncated=truncated,
        elapsed_s=time.perf_counter() - start,
    )
