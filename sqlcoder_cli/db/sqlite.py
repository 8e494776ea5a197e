"""Opening a SQLite file for reading only, without writing anything next to it.

Three independent read-only measures, each enough on its own against writes: the file is opened
``mode=ro``, ``PRAGMA query_only`` is on, and an authorizer allows only reads, the reading
PRAGMAs and the functions the file's own SQLite marks as free of side effects (an allowlist from
``pragma_function_list``, see :mod:`sqlcoder_cli.db.catalogue`). ``ATTACH`` is impossible
(``SQLITE_LIMIT_ATTACHED = 0``).

WAL databases: a reader normally makes SQLite create ``-wal`` and ``-shm`` files beside the
database (and leave them there), and fails in a read-only folder. When the ``-wal`` file is absent
or empty, every committed change is already in the database file, so it is opened
``immutable=1``: no locks, no side files, readable in a read-only folder. Only when a ``-wal``
file holds changes that are not in the database yet (a program is writing to it, or stopped
without closing it) must SQLite use ``-shm``: then it is opened normally and SQLite may create
``-shm`` beside it, the one case where a file appears next to the user's database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import DatabaseError
from ..sql.functions import SQLITE_PRAGMAS_BARE, SQLITE_PRAGMAS_WITH_TARGET

SQLITE_HEADER = b"SQLite format 3\x00"

#: Authorizer actions a query needs; everything else (writes, ATTACH, DDL) is denied.
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
}


def check_sqlite_file(path: Path) -> None:
    """A readable, existing SQLite file, or a :class:`DatabaseError` saying what it is instead."""
    if not path.exists():
        raise DatabaseError(f"database file not found: {path}")
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not header:
        raise DatabaseError(f"{path} is an empty file, not a SQLite database")
    if header[: len(SQLITE_HEADER)] != SQLITE_HEADER:
        raise DatabaseError(f"{path} is not a SQLite database")


def is_wal(path: Path) -> bool:
    """True when the header says write-ahead logging (file format versions 2 at offsets 18/19)."""
    try:
        with path.open("rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) >= 20 and header[18] == 2 and header[19] == 2


def _side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def wal_has_changes(path: Path) -> bool:
    """True when ``<db>-wal`` holds frames: committed changes not yet copied into the file."""
    try:
        return _side_file(path, "-wal").stat().st_size > 0
    except OSError:
        return False


def sqlite_uri(path: Path) -> str:
    """The URI to open ``path`` read-only (see the module docstring for ``immutable``)."""
    uri = path.as_uri() + "?mode=ro"
    if is_wal(path) and not wal_has_changes(path):
        uri += "&immutable=1"
    return uri


def open_readonly(path: Path, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A new read-only connection; ``busy_timeout_s`` bounds the wait on a file another program locked."""
    check_sqlite_file(path)
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True, check_same_thread=False, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise DatabaseError(explain_sqlite_error(str(exc), path, busy_timeout_s)) from None
    conn.text_factory = decode_text
    return conn


def decode_text(raw: bytes) -> str:
    """TEXT as a string even when a program stored bytes that are not UTF-8 (SQLite does not
    check): the bad bytes become U+FFFD instead of the whole query failing."""
    return raw.decode("utf-8", errors="replace")


def _damaged(low: str) -> bool:
    return "malformed" in low or "not a database" in low


def _locked(low: str) -> bool:
    return "database is locked" in low or "database table is locked" in low


def file_unusable(message: str) -> bool:
    """True when SQLite's message (raw, or as :func:`explain_sqlite_error` says it: that keeps the
    raw words) says the file is damaged or locked by another program: every further read would
    meet the same, so schema reading stops instead of trying again."""
    low = message.lower()
    return _damaged(low) or _locked(low)


def explain_sqlite_error(message: str, path: Path | None, busy_timeout_s: float | None = None) -> str:
    """SQLite's terse messages, said so that the user knows what is wrong with which file."""
    where = str(path) if path is not None else "the database"
    low = message.lower()
    if _damaged(low):
        return f"{where} is damaged ({message}); `sqlite3 {where} .recover` may save its data"
    if _locked(low):
        waited = f"; waited {busy_timeout_s:g} s" if busy_timeout_s else ""
        return f"{where} is locked by another program ({message}{waited}); try again when it is done writing"
    if "unable to open" in low or "readonly" in low or "read-only" in low:
        if path is not None and is_wal(path) and wal_has_changes(path):
            return (
                f"{where} has changes in {path.name}-wal that SQLite can only read by creating "
                f"{path.name}-shm, and that is not possible here ({message}); open it once where it can be "
                "written, or copy it with its -wal file to a writable folder"
            )
        if path is not None and _side_file(path, "-journal").exists():
            return (
                f"{where} has an unfinished transaction in {path.name}-journal that must be rolled back "
                f"by a program with write access before it can be read ({message})"
            )
    return message


def _register_table_functions(conn: sqlite3.Connection, names: frozenset[str]) -> None:
    """Use each allowed table function once before the authorizer is installed.

    SQLite registers an eponymous virtual table (``pragma_table_info``, ``json_each``) on first
    use by changing the in-memory schema, which an authorizer sees as an UPDATE of sqlite_master
    and would have to allow; registered beforehand, later uses need only reads.
    """
    for name in sorted(names):
        try:
            conn.execute(f'SELECT * FROM "{name}" LIMIT 0').fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower():
                raise  # another program holds the file: say so now, not after one wait per table
        except sqlite3.Error:
            pass  # not compiled into this SQLite


def make_authorizer(functions: frozenset[str]) -> Any:
    """An authorizer that allows reading only: SELECT, reads, allowlisted functions, reading PRAGMAs."""

    def authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in SQLITE_PRAGMAS_WITH_TARGET or (name in SQLITE_PRAGMAS_BARE and arg2 is None):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            return sqlite3.SQLITE_OK if (arg2 or "").lower() in functions else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY

    return authorizer


def on_connect(dbapi_connection: Any, _record: Any = None) -> None:
    """query_only on top of mode=ro, no ATTACH, and the reading-only authorizer."""
    from .catalogue import sqlite_catalogue

    dbapi_connection.execute("PRAGMA query_only = ON")
    if hasattr(dbapi_connection, "setlimit"):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    catalogue = sqlite_catalogue(dbapi_connection)
    _register_table_functions(dbapi_connection, catalogue.table_functions)
    dbapi_connection.set_authorizer(make_authorizer(catalogue.allowed))
