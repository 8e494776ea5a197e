"""The history log: every question, the SQL that ran, and how it went.

Like ``llm logs``: one SQLite file in the data directory (never next to the user's database) with
the question, final SQL, database (password hidden), model, timings and outcome of each answer,
searchable with ``sqlcoder history --search``. ``--no-log`` or ``log_history = false`` turns it off.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HistoryError

if TYPE_CHECKING:
    from .errors import SqlcoderError
    from .pipeline import Answer

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp REAL NOT NULL,
    source TEXT NOT NULL,
    question TEXT,
    sql TEXT,
    db TEXT,
    model TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    row_count INTEGER,
    attempts INTEGER,
    timings TEXT
);
CREATE INDEX IF NOT EXISTS history_db ON history (db);
"""


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    timestamp: float
    source: str
    question: str | None
    sql: str | None
    db: str | None
    model: str | None
    #: "ok", "not run", or the error class ("SQLGenerationError", "DatabaseError", ...)
    outcome: str
    error: str | None
    row_count: int | None
    attempts: int | None
    timings: dict[str, Any]

    #: column headers of :meth:`row`
    ROW_HEADERS = ("id", "when", "question", "sql", "outcome")

    def row(self) -> tuple[Any, ...]:
        """One line of a history table: the SQL on one line, the outcome in words."""
        if self.outcome != "ok":
            outcome = self.outcome
        else:
            outcome = f"ok ({self.row_count} rows)" if self.row_count is not None else "ok"
        return (
            self.id,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(self.timestamp)),
            self.question or "(SQL)",
            " ".join((self.sql or "").split()),
            outcome,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.timestamp)),
            "source": self.source,
            "question": self.question,
            "sql": self.sql,
            "db": self.db,
            "model": self.model,
            "outcome": self.outcome,
            "error": self.error,
            "row_count": self.row_count,
            "attempts": self.attempts,
            "timings": self.timings,
        }


#: columns every history table we wrote has; a table without them is someone else's
HISTORY_COLUMNS = frozenset(
    ("id", "timestamp", "source", "question", "sql", "db", "model", "outcome", "error", "row_count", "attempts", "timings")
)
#: the tables a history log may hold (SQLite adds sqlite_sequence for AUTOINCREMENT)
_OUR_TABLES = frozenset(("history", "sqlite_sequence"))
#: seconds a writer waits for another process that holds the lock (a REPL and a script sharing
#: one home write at the same time; each insert holds the lock for milliseconds)
BUSY_TIMEOUT_S = 30.0
#: what to do about a log that cannot be used; said in the warning and by ``sqlcoder history``
REPAIR_HINT = "run `sqlcoder history --repair` to move it aside and start a new log"

_SQLITE_SIBLINGS = ("-journal", "-wal", "-shm")


def _reason(exc: BaseException) -> str:
    """What went wrong, in the words of SQLite or the OS, without the errno prefix."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _hint_for(reason: str) -> str:
    """The repair that fits the failure: space for a full disk, patience for a lock, else --repair."""
    low = reason.lower()
    if "full" in low or "too large" in low or "no space" in low or "quota" in low or "disk i/o" in low:
        return "free some disk space, or turn the log off: sqlcoder config set log_history false"
    if "locked" in low or "busy" in low:
        return "another sqlcoder process held it too long; try again"
    return REPAIR_HINT


class History:
    """The history log in one SQLite file, owner-only (0600).

    Every failure (a corrupt or foreign file, a directory in its place, a read-only file, a full
    disk, a lock held too long) becomes a :class:`HistoryError` naming the file and the repair.
    Writers pass ``on_error`` to be told instead of interrupted: logging is an extra, an answer
    that was shown must not become a failure because its log line could not be written.
    """

    def __init__(self, path: Path, *, on_error: Callable[[HistoryError], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error

    def _error(self, action: str, exc: BaseException) -> HistoryError:
        reason = "it is a directory" if self.path.is_dir() else _reason(exc)
        error = HistoryError(f"cannot {action} the history log {self.path}: {reason}", hint=_hint_for(reason))
        error.path = self.path  # type: ignore[attr-defined]
        error.reason = reason  # type: ignore[attr-defined]
        return error

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        """An open connection to a log that is ours; with ``create``, the table is made if missing.

        A SQLite file with other tables, or with a ``history`` table of another shape, belongs to
        someone else: it is refused, never written to.
        """
        from .files import connect_private_sqlite

        conn = connect_private_sqlite(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            conn.isolation_level = None  # transactions are begun explicitly (BEGIN IMMEDIATE)
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            foreign = sorted(t for t in tables - _OUR_TABLES if not t.startswith("sqlite_"))
            if foreign:
                raise HistoryError(f"it is not a sqlcoder history log (it has the tables {', '.join(foreign)})")
            if "history" in tables:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(history)")}
                if not HISTORY_COLUMNS <= columns:
                    raise HistoryError("it is not a sqlcoder history log (its history table has other columns)")
            elif create:
                conn.executescript(SCHEMA_SQL)
        except BaseException:
            conn.close()
            raise
        return conn

    def check(self) -> None:
        """Raise :class:`HistoryError` unless the log can be read and written (a missing one can)."""
        if not self.path.exists() and not self.path.is_symlink():
            return
        try:
            conn = self._connect(create=False)
        except (HistoryError, sqlite3.Error, OSError) as exc:
            raise self._error("use", exc) from None
        try:
            # a write that is rolled back: fails on a read-only file or folder (a lock alone does not)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE sqlcoder_write_probe (x)")
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise self._error("write", exc) from None
        finally:
            _close(conn)

    def repair(self) -> Path | None:
        """Move a log that cannot be used aside (``history.sqlite.broken-<time>``) and start a new
        one; return where the old one went, or None when it was fine and nothing moved."""
        try:
            self.check()
            return None
        except HistoryError as problem:
            if problem.hint != REPAIR_HINT:
                raise  # a full disk or a lock: a new file would not help, and the log is fine
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        n = 1
        while target.exists() or target.is_symlink():
            n += 1
            target = self.path.with_name(f"{self.path.name}.broken-{stamp}-{n}")
        try:
            os.rename(self.path, target)
            # a journal belongs to its database: left behind, SQLite would roll it into the new log
            for suffix in _SQLITE_SIBLINGS:
                sibling = self.path.with_name(self.path.name + suffix)
                if sibling.exists():
                    os.rename(sibling, target.with_name(target.name + suffix))
        except OSError as exc:
            raise HistoryError(
                f"cannot move the history log {self.path} aside: {_reason(exc)}",
                hint=f"move or delete it yourself (a new log starts when {self.path.name} is gone)",
            ) from None
        try:
            self._connect(create=True).close()
        except (sqlite3.Error, OSError) as exc:
            raise self._error("create", exc) from None
        return target

    def record(
        self,
        *,
        source: str,
        outcome: str,
        question: str | None = None,
        sql: str | None = None,
        db: str | None = None,
        model: str | None = None,
        error: str | None = None,
        row_count: int | None = None,
        attempts: int | None = None,
        timings: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry; a failure raises :class:`HistoryError`, or goes to ``on_error``."""
        row = (time.time(), source, question, sql, db, model, outcome, error, row_count, attempts, json.dumps(timings or {}))
        try:
            conn = self._connect(create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting for other writers
                conn.execute(
                    "INSERT INTO history (timestamp, source, question, sql, db, model, outcome, error, row_count, attempts, timings)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                conn.execute("COMMIT")
            finally:
                _close(conn)
        except (HistoryError, sqlite3.Error, OSError) as exc:
            failure = self._error("write", exc)
        else:
            return
        if self.on_error is None:
            raise failure
        self.on_error(failure)

    def record_answer(self, answer: Answer, *, source: str = "ask") -> None:
        self.record(
            source=source,
            outcome="ok" if answer.executed else "not run",
            question=answer.question,
            sql=answer.sql,
            db=answer.db,
            model=answer.model,
            row_count=answer.row_count if answer.executed else None,
            attempts=answer.attempts,
            timings=answer.timings.to_dict(),
        )

    def record_failure(
        self,
        question: str | None,
        error: SqlcoderError,
        *,
        db: str | None,
        model: str | None,
        sql: str | None = None,
        source: str = "ask",
    ) -> None:
        self.record(
            source=source,
            outcome=type(getattr(error, "cause", error)).__name__,  # AnswerFailed: what its last attempt met
            question=question,
            sql=sql if sql is not None else getattr(error, "sql", None),
            db=db,
            model=model,
            error=str(error),
        )

    def search(self, text: str | None = None, *, db: str | None = None, limit: int = 50) -> list[HistoryEntry]:
        """Newest first; ``text`` matches question or SQL (case-insensitive), ``db`` the database.

        A missing log is empty (and is not created); one that cannot be read raises
        :class:`HistoryError` with the repair.
        """
        if not self.path.exists() and not self.path.is_symlink():
            return []
        clauses, params = [], []
        if text:
            clauses.append("(question LIKE ? OR sql LIKE ?)")
            params += [f"%{text}%", f"%{text}%"]
        if db:
            clauses.append("db = ?")
            params.append(db)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        try:
            conn = self._connect(create=False)
            try:
                if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'history'").fetchone() is None:
                    return []
                rows = conn.execute(
                    "SELECT id, timestamp, source, question, sql, db, model, outcome, error, row_count, attempts, timings"
                    f" FROM history{where} ORDER BY id DESC LIMIT ?",
                    (*params, limit),
                ).fetchall()
            finally:
                conn.close()
        except (HistoryError, sqlite3.Error, OSError) as exc:
            raise self._error("read", exc) from None
        return [HistoryEntry(*row[:-1], _timings(row[-1])) for row in rows]


def _timings(text: Any) -> dict[str, Any]:
    """The timings column; a value that is not a JSON object reads as no timings."""
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _close(conn: sqlite3.Connection) -> None:
    """Roll back whatever a failed write left open, then close (errors here change nothing)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
    conn.close()
