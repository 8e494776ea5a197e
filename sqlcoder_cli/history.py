"""The history log: every question, the SQL that ran, and how it went.

Like ``llm logs``: one SQLite file in the data directory (never next to the user's database) with
the question, final SQL, database (password hidden), model, timings and outcome of each answer,
searchable with ``sqlcoder history --search``. ``--no-log`` or ``log_history = false`` turns it off.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5)
        conn.executescript(SCHEMA_SQL)
        return conn

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
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO history (timestamp, source, question, sql, db, model, outcome, error, row_count, attempts, timings)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), source, question, sql, db, model, outcome, error, row_count, attempts, json.dumps(timings or {})),
            )

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
            outcome=type(error).__name__,
            question=question,
            sql=sql if sql is not None else getattr(error, "sql", None),
            db=db,
            model=model,
            error=str(error),
        )

    def search(self, text: str | None = None, *, db: str | None = None, limit: int = 50) -> list[HistoryEntry]:
        """Newest first; ``text`` matches question or SQL (case-insensitive), ``db`` the database."""
        if not self.path.exists():
            return []
        clauses, params = [], []
        if text:
            clauses.append("(question LIKE ? OR sql LIKE ?)")
            params += [f"%{text}%", f"%{text}%"]
        if db:
            clauses.append("db = ?")
            params.append(db)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, timestamp, source, question, sql, db, model, outcome, error, row_count, attempts, timings"
                f" FROM history{where} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [HistoryEntry(*row[:-1], json.loads(row[-1] or "{}")) for row in rows]
