"""Few-shot memory: questions the user confirmed, with the SQL that answered them.

When a user runs a generated query unchanged or after editing it (``ask --edit``, the REPL), the
(question, final SQL) pair is stored for that database. Later prompts include the few stored pairs
most similar to the new question, so the model sees how this user's database is queried (the
right join path, what "active" means). Similarity is lexical (TF-IDF cosine over normalised
words): cheap, deterministic and good enough to find "the same question about another month".

Stored in one SQLite file in the data directory, never inside the user's database. The file is
private (0600; SQLite gives its journal the same mode) and shared safely by several processes
(SQLite's own locking; a writer waits for another up to a few seconds).
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .files import connect_private_sqlite

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from has have how i in is it me of on or show "
    "tell that the their there these this to was were what when where which who with".split()
)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    db_key TEXT NOT NULL,
    question TEXT NOT NULL,
    sql TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (db_key, question)
)
"""


def words(text: str) -> list[str]:
    """Lower-case content words with a light plural stem ("orders" ~ "order")."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


@dataclass(frozen=True)
class MemoryItem:
    id: int
    db_key: str
    question: str
    sql: str
    created_at: float
    #: similarity to the question it was retrieved for (0 when listed)
    score: float = 0.0


class Memory:
    """The store of confirmed (question, SQL) pairs, per database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed at the end), closed afterwards; SQLite's
        errors (a locked or damaged file, a full disk) become one clear UsageError."""
        conn: sqlite3.Connection | None = None
        try:
            conn = connect_private_sqlite(self.path, timeout=10.0)
            with conn:
                conn.execute(SCHEMA_SQL)
                yield conn
        except sqlite3.Error as exc:
            raise UsageError(
                f"cannot use the example memory {self.path}: {exc}",
                hint="if another sqlcoder is busy with it, try again; a damaged file can be moved away",
            ) from exc
        except OSError as exc:
            raise UsageError(f"cannot use the example memory {self.path}: {exc.strerror or exc}") from exc
        finally:
            if conn is not None:
                conn.close()

    def add(self, db_key: str, question: str, sql: str) -> None:
        """Remember a pair; asking the same question again replaces its SQL."""
        question, sql = question.strip(), sql.strip().rstrip(";").strip()
        if not question or not sql:
            return
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO examples (db_key, question, sql, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (db_key, question) DO UPDATE SET sql = excluded.sql, created_at = excluded.created_at",
                (db_key, question, sql, time.time()),
            )

    def list(self, db_key: str | None = None) -> list[MemoryItem]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            query = "SELECT id, db_key, question, sql, created_at FROM examples"
            rows = conn.execute(query + (" WHERE db_key = ? ORDER BY id" if db_key else " ORDER BY id"), (db_key,) if db_key else ())
            return [MemoryItem(*row) for row in rows]

    def remove(self, item_id: int) -> MemoryItem:
        with self._connect() as conn:
            row = conn.execute("SELECT id, db_key, question, sql, created_at FROM examples WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise UsageError(f"no remembered example with id {item_id}", hint="see `sqlcoder memory list`")
            conn.execute("DELETE FROM examples WHERE id = ?", (item_id,))
        return MemoryItem(*row)

    def clear(self, db_key: str | None = None) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as conn:
            if db_key:
                return conn.execute("DELETE FROM examples WHERE db_key = ?", (db_key,)).rowcount
            return conn.execute("DELETE FROM examples").rowcount

    def similar(
        self, db_key: str, question: str, *, limit: int = 3, max_chars: int = 2000, min_score: float = 0.2
    ) -> list[MemoryItem]:
        """The stored pairs most similar to ``question`` (TF-IDF cosine), best first, within bounds.

        Advisory: a memory file that is damaged or locked for too long gives no examples instead of
        failing the question (``sqlcoder memory list`` reports the problem).
        """
        try:
            items = self.list(db_key)
        except UsageError:
            return []
        if not items or limit <= 0:
            return []
        documents = [Counter(words(item.question)) for item in items]
        doc_freq: Counter[str] = Counter()
        for doc in documents:
            doc_freq.update(doc.keys())
        n = len(documents)

        def vector(counts: Counter[str]) -> dict[str, float]:
            return {w: c * (math.log((1 + n) / (1 + doc_freq[w])) + 1.0) for w, c in counts.items()}

        def cosine(a: dict[str, float], b: dict[str, float]) -> float:
            dot = sum(v * b.get(w, 0.0) for w, v in a.items())
            norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
            return dot / norm if norm else 0.0

        query = vector(Counter(words(question)))
        scored = sorted(
            ((cosine(query, vector(doc)), item) for doc, item in zip(documents, items)),
            key=lambda pair: (-pair[0], -pair[1].id),
        )
        chosen: list[MemoryItem] = []
        used = 0
        for score, item in scored:
            if score < min_score or len(chosen) >= limit:
                break
            size = len(item.question) + len(item.sql)
            if used + size > max_chars:
                continue
            used += size
            chosen.append(MemoryItem(item.id, item.db_key, item.question, item.sql, item.created_at, round(score, 4)))
        return chosen
