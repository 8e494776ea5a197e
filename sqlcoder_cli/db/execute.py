"""Run one statement with a row limit and a time limit, and turn driver errors into ours.

Why a separate module: the timeout mechanism differs per driver (SQLite progress handler, DuckDB
interrupt, server-side statement_timeout), and every error message must be one line without the
connection password, whatever the driver puts in it.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, QueryCancelledError, QueryTimeoutError
from .secrets import scrub

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


#: how the connection layer's refusals begin (the statement guard, when on, refuses first)
REFUSED = "the read-only connection refused this statement"


def refused(why: str) -> DatabaseError:
    """The connection layer's own refusal of a statement (exit code 1, like any database error)."""
    return DatabaseError(f"{REFUSED}: {why}")


#: substrings of driver messages that mean "cancelled by our time limit"
_TIMEOUT_MARKERS = ("interrupted", "canceling statement due to statement timeout", "max_execution_time",
                    "query execution was interrupted", "statement timeout", "max_statement_time",
                    "maximum statement execution time")

#: SQLAlchemy's names for a MySQL or MariaDB server
_MYSQL = ("mysql", "mariadb")


def driver_errors() -> tuple[type[BaseException], ...]:
    """Every error class a database driver can raise: SQLAlchemy's, and the PEP 249 ``Error`` of
    each driver already imported (schema reading and catalogue queries talk to drivers directly)."""
    import sqlite3
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    errors: list[type[BaseException]] = [SQLAlchemyError, sqlite3.Error]
    for module in ("duckdb", "psycopg", "psycopg2", "pymysql", "MySQLdb", "mariadb"):
        error = getattr(sys.modules.get(module), "Error", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            errors.append(error)
    return tuple(errors)


def one_line_error(exc: BaseException, secrets: list[str]) -> str:
    """The driver's first meaningful line: 'no such column: foo', not a SQLAlchemy essay."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    args = getattr(source, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = args[1].strip()  # PyMySQL and MySQLdb: (error code, message)
    else:
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
            import sqlite3

            try:
                raw.set_progress_handler(None, 0)
            except sqlite3.ProgrammingError:
                pass  # the database was closed first (an unfinished iter_rows collected later)
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


def cancel_function(dbapi_connection: Any, backend: str) -> Any:
    """A callable that aborts whatever runs on the connection, from another thread; or None.

    SQLite and DuckDB have ``interrupt()``; psycopg sends a cancel request to the server
    (``cancel_safe()`` where available, it does not block on a dead server); MySQL/MariaDB get
    ``KILL QUERY`` on a second connection (PyMySQL). Other drivers: None.
    """
    if backend in _MYSQL:
        from .mysql import cancel_function as mysql_cancel

        return mysql_cancel(dbapi_connection)
    raw = getattr(dbapi_connection, "driver_connection", None) or dbapi_connection
    for obj in (raw, dbapi_connection):
        if backend in ("sqlite", "duckdb") and hasattr(obj, "interrupt"):
            return obj.interrupt
        if backend == "postgresql":
            for name in ("cancel_safe", "cancel"):
                if hasattr(obj, name):
                    return getattr(obj, name)
    return None


class CancelOnInterrupt:
    """While active, Ctrl-C (SIGINT) cancels the running query instead of killing the process.

    Why a watcher thread: while the main thread is blocked inside the driver (DuckDB and psycopg
    release the GIL and wait in C), Python's own signal handler cannot run until the query ends.
    ``signal.set_wakeup_fd`` makes the C-level handler write a byte to a socket at once; a small
    thread waiting on that socket calls the driver's cancel function, the driver returns with an
    error, and :meth:`raise_if_cancelled` turns that into :class:`QueryCancelledError` (exit 130).
    The connection is rolled back by the caller and stays usable.

    Only the main thread can install signal handlers; elsewhere this does nothing and a
    KeyboardInterrupt behaves as usual.
    """

    def __init__(self, cancel: Any, *, whole_block: bool = True) -> None:
        self._cancel = cancel
        #: True: everything inside the block is a driver call. False (streams): only what runs
        #: inside :meth:`driver_call` is; Ctrl-C elsewhere raises KeyboardInterrupt as usual.
        self._in_driver = whole_block
        self.cancelled = False
        self._active = False
        self._old_handler: Any = None
        self._old_fd = -1
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CancelOnInterrupt:
        if self._cancel is None or threading.current_thread() is not threading.main_thread():
            return self
        try:
            old_handler = signal.getsignal(signal.SIGINT)
            if old_handler in (signal.SIG_IGN, None):
                return self  # the process chose to ignore Ctrl-C; respect that
            r, w = socket.socketpair()
            r.setblocking(True)
            w.setblocking(False)
            self._old_fd = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            return self
        self._sockets = (r, w)
        self._old_handler = old_handler
        signal.signal(signal.SIGINT, self._on_sigint)
        self._active = True
        self._thread = threading.Thread(target=self._watch, name="sqlcoder-cancel", daemon=True)
        self._thread.start()
        return self

    def _on_sigint(self, _signum: int, _frame: Any) -> None:
        # Runs in the main thread when it next executes Python code; the watcher has (or will
        # have) cancelled the query already. Record it; the caller raises the clean error.
        if not self._in_driver:
            raise KeyboardInterrupt
        self._trigger()

    @contextmanager
    def driver_call(self) -> Iterator[None]:
        """Mark a call into the driver (for ``whole_block=False``): Ctrl-C in it cancels the query."""
        self._in_driver = True
        try:
            yield
        finally:
            self._in_driver = False

    def _trigger(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            try:
                self._cancel()
            except Exception:  # noqa: BLE001 - a failed cancel must not hide the interrupt
                pass

    def _watch(self) -> None:
        assert self._sockets is not None
        r = self._sockets[0]
        while True:
            try:
                data = r.recv(64)
            except OSError:
                return
            if not data or b"\x00stop" in data:
                return
            if (signal.SIGINT in data or signal.SIGTERM in data) and self._in_driver:
                self._trigger()

    def __exit__(self, *exc: object) -> None:
        if not self._active:
            return
        self._active = False
        signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGINT, self._old_handler)
        assert self._sockets is not None
        r, w = self._sockets
        try:
            w.setblocking(True)
            w.send(b"\x00stop")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        r.close()
        w.close()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise QueryCancelledError("the query was cancelled (Ctrl-C); the database is unchanged")


def run_query(
    conn: sqlalchemy.Connection,
    sql: str,
    *,
    backend: str,
    limit: int | None,
    timeout_s: float | None,
    secrets: list[str],
    before: Callable[[Any], None] | None = None,
    explain: Callable[[BaseException], str] | None = None,
    server_cursor: bool = True,
) -> QueryResult:
    """Execute ``sql`` on an open connection and fetch up to ``limit`` rows (one more to detect more).

    ``before`` runs on the driver connection first, in the same transaction (the connection's own
    statement check); ``explain`` turns a driver error into the user's one line. On PostgreSQL the
    statement runs through a server-side cursor unless ``server_cursor`` is False (``EXPLAIN``); on
    MySQL/MariaDB its rows are read unbuffered, and the rows past ``limit`` are never sent: the
    statement is stopped (``KILL QUERY``) instead of drained.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0 or None")
    start = time.perf_counter()
    dbapi_connection = conn.connection.dbapi_connection
    guard = CancelOnInterrupt(cancel_function(dbapi_connection, backend))
    # PostgreSQL: a server-side cursor, declared over the extended protocol (one statement only);
    # MySQL/MariaDB: an unbuffered cursor, so that a row limit reads only limit + 1 rows
    streamed = server_cursor and (backend == "postgresql" or backend in _MYSQL)
    options: dict[str, Any] = {"no_parameters": True, "stream_results": streamed}
    try:
        with guard, deadline(dbapi_connection, backend, timeout_s):
            if before is not None:
                before(dbapi_connection)
            result = conn.execution_options(**options).exec_driver_sql(sql)
            if result.returns_rows:
                columns = [str(c) for c in result.keys()]
                if limit is None:
                    fetched = result.fetchall()
                else:
                    fetched = result.fetchmany(limit + 1) if limit > 0 else result.fetchmany(1)
                if streamed and backend in _MYSQL and limit is not None and len(fetched) > limit:
                    stop_unread_rows(result, dbapi_connection, backend)
                else:
                    result.close()
            else:
                columns, fetched = [], []
    except KeyboardInterrupt:
        # Ctrl-C outside the watched section (another thread, SIGINT ignored): cancel anyway so
        # the server stops working, and report it the same way.
        _cancel_quietly(dbapi_connection, backend)
        raise QueryCancelledError("the query was cancelled (Ctrl-C); the database is unchanged") from None
    except driver_errors() as exc:
        guard.raise_if_cancelled()
        if is_timeout(exc):
            raise QueryTimeoutError(
                f"the query was cancelled after {timeout_s:g} s (time limit)" if timeout_s else
                "the query was cancelled", hint="make the question narrower or raise the time limit"
            ) from None
        message = explain(exc) if explain is not None else one_line_error(exc, secrets)
        low = message.lower()
        if "not authorized" in message or "read-only" in low or "readonly" in low or "read only transaction" in low:
            message = f"{REFUSED} ({message})"
        raise DatabaseError(message) from None
    finally:
        try:
            conn.rollback()
        except driver_errors():
            pass
    guard.raise_if_cancelled()
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


def stop_unread_rows(result: Any, dbapi_connection: Any, backend: str) -> None:
    """Close a MySQL/MariaDB result that has more rows than were wanted without reading them all
    (an unbuffered result can only be closed by reading to its end): the statement is stopped,
    and the little already on its way is read."""
    _cancel_quietly(dbapi_connection, backend)
    cursor = getattr(result, "cursor", None)
    try:
        if cursor is not None:
            cursor.close()  # the driver's cursor first: SQLAlchemy would log the error below
        result.close()
    except driver_errors():
        pass  # "Query execution was interrupted": the rows not read


def _cancel_quietly(dbapi_connection: Any, backend: str) -> None:
    cancel = cancel_function(dbapi_connection, backend)
    if cancel is not None:
        try:
            cancel()
        except Exception:  # noqa: BLE001
            pass
