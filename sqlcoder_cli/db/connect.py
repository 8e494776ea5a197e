"""Find the user's database and open it read-only.

Read-only is enforced here at the connection level, independently of the statement guard in
:mod:`sqlcoder_cli.sql.guard`: if the guard ever lets a write through, the connection refuses it.
A database is never created: a path that does not exist is an error, never a new empty file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, UsageError
from ..sql.transpile import sqlglot_dialect_for
from .execute import QueryResult, deadline, is_timeout, one_line_error, run_query

if TYPE_CHECKING:
    import sqlalchemy

SQLITE_HEADER = b"SQLite format 3\x00"
DUCKDB_SUFFIXES = (".duckdb", ".ddb")
DEMO_SPECS = ("", "demo")

#: SQLite authorizer action codes we allow; everything else (writes, ATTACH, most PRAGMAs) is denied.
_SQLITE_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
}
#: PRAGMAs that only read the schema (SQLAlchemy's inspector uses them)
_SQLITE_READ_PRAGMAS = {
    "table_info", "table_xinfo", "foreign_key_list", "index_list", "index_info", "index_xinfo",
    "database_list", "collation_list", "compile_options", "table_list", "schema_version",
    "user_version", "encoding", "page_size", "page_count", "freelist_count", "query_only",
    "function_list", "pragma_list", "module_list", "data_version", "foreign_keys",
}
_SQLITE_DENIED_FUNCTIONS = {"load_extension", "writefile", "readfile", "edit", "fts3_tokenizer"}


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the database is and how to talk about it.

    ``url`` may contain a password and must never be shown; ``display`` is the safe form.
    """

    url: str = field(repr=False)
    display: str
    backend: str
    sqlglot_dialect: str
    is_demo: bool = False

    @property
    def path(self) -> Path | None:
        """The database file for SQLite and DuckDB targets, else None."""
        from sqlalchemy.engine import make_url

        if self.backend not in ("sqlite", "duckdb"):
            return None
        database = make_url(self.url).database
        if not database or database == ":memory:":
            return None
        if database.startswith("file:"):
            database = database[5:].split("?", 1)[0]
        return Path(database)


def _check_sqlite_file(path: Path) -> None:
    if not path.exists():
        raise DatabaseError(f"database file not found: {path}")
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header != SQLITE_HEADER:
        raise DatabaseError(f"{path} is not a SQLite database")


def _file_target(path: Path) -> DatabaseTarget:
    path = path.expanduser().resolve()
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        if not path.exists():
            raise DatabaseError(f"database file not found: {path}")
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
        return DatabaseTarget(f"duckdb:///{path}", str(path), "duckdb", "duckdb")
    _check_sqlite_file(path)
    return DatabaseTarget(f"sqlite:///{path}", str(path), "sqlite", "sqlite")


def resolve_database(spec: str | None) -> DatabaseTarget:
    """Turn what the user typed (nothing, 'demo', a path or a URL) into a :class:`DatabaseTarget`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = (spec or "").strip()
    if text.lower() in DEMO_SPECS:
        from ..data import demo_database_path

        path = demo_database_path()
        _check_sqlite_file(path)
        return DatabaseTarget(f"sqlite:///{path}", f"demo ({path})", "sqlite", "sqlite", is_demo=True)
    if "://" not in text:
        return _file_target(Path(text))
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        safe = text.split("://", 1)[0] + "://…"
        raise UsageError(f"invalid database URL {safe}: {str(exc).splitlines()[0]}") from None
    backend = url.get_backend_name()
    if backend in ("sqlite", "duckdb"):
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise UsageError(
                f"{backend} URLs must name a database file",
                hint="an in-memory database would be empty; give the path of an existing file",
            )
        target = _file_target(Path(database))
        if backend == "duckdb" and target.backend != "duckdb":
            return DatabaseTarget(f"duckdb:///{target.path}", str(target.path), "duckdb", "duckdb")
        if backend == "sqlite" and target.backend != "sqlite":
            _check_sqlite_file(Path(str(target.path)))
        return target
    display = url.render_as_string(hide_password=True)
    return DatabaseTarget(text, display, backend, sqlglot_dialect_for(backend))


class Database:
    """A read-only connection factory with a time limit; cheap to create, connects on first use."""

    def __init__(self, target: DatabaseTarget, *, timeout_s: float | None = 30.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._engine: sqlalchemy.Engine | None = None

    # -- engine -----------------------------------------------------------------------------
    @property
    def _secrets(self) -> list[str]:
        from sqlalchemy.engine import make_url

        try:
            password = make_url(self.target.url).password
        except Exception:  # noqa: BLE001 - an unparsable URL has no password to hide
            return []
        return [str(password)] if password else []

    @property
    def engine(self) -> sqlalchemy.Engine:
        """The SQLAlchemy engine, created on first use with read-only settings for the backend."""
        if self._engine is None:
            try:
                self._engine = self._create_engine()
            except DatabaseError:
                raise
            except Exception as exc:  # noqa: BLE001 - driver missing, bad URL options, ...
                raise DatabaseError(
                    f"cannot open {self.target.display}: {one_line_error(exc, self._secrets)}"
                ) from None
        return self._engine

    def _create_engine(self) -> sqlalchemy.Engine:
        import sqlalchemy as sa
        from sqlalchemy import event

        backend = self.target.backend
        if backend == "sqlite":
            path = self.target.path
            assert path is not None
            _check_sqlite_file(path)
            uri = path.as_uri() + "?mode=ro"

            def creator() -> sqlite3.Connection:
                return sqlite3.connect(uri, uri=True, check_same_thread=False)

            engine = sa.create_engine("sqlite://", creator=creator)
            event.listen(engine, "connect", _sqlite_on_connect)
            return engine
        if backend == "duckdb":
            path = self.target.path
            if path is None or not path.exists():
                raise DatabaseError(f"database file not found: {path}")
            return sa.create_engine(
                self.target.url,
                connect_args={
                    "read_only": True,
                    # no file, network or extension access, and no changing that back with SET
                    "config": {"enable_external_access": False, "lock_configuration": True},
                },
            )
        kwargs: dict[str, Any] = {"pool_pre_ping": False}
        if backend == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
        engine = sa.create_engine(self.target.url, **kwargs)
        timeout_ms = int(self.timeout_s * 1000) if self.timeout_s and self.timeout_s > 0 else 0
        if backend == "postgresql":
            event.listen(engine, "connect", _postgres_on_connect(timeout_ms))
        elif backend in ("mysql", "mariadb"):
            event.listen(engine, "connect", _mysql_on_connect(timeout_ms))
        return engine

    # -- queries ----------------------------------------------------------------------------
    def connect(self) -> sqlalchemy.Connection:
        """A new SQLAlchemy connection; driver errors become :class:`DatabaseError`."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise DatabaseError(
                f"cannot connect to {self.target.display}: {one_line_error(exc, self._secrets)}"
            ) from None

    def execute(self, sql: str, *, limit: int | None = 100) -> QueryResult:
        """Run one statement and return up to ``limit`` rows (None = all)."""
        with self.connect() as conn:
            return run_query(
                conn,
                sql,
                backend=self.target.backend,
                limit=limit,
                timeout_s=self.timeout_s,
                secrets=self._secrets,
            )

    def iter_rows(
        self, sql: str, batch_size: int = 1000
    ) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """Column names and a lazy iterator over all rows, fetched ``batch_size`` at a time.

        For exports of every row: nothing is held in memory beyond one batch. The connection stays
        open until the iterator is exhausted or closed. The time limit covers the whole stream.
        """
        from contextlib import ExitStack

        from sqlalchemy.exc import SQLAlchemyError

        from ..errors import QueryCancelledError, QueryTimeoutError
        from .execute import CancelOnInterrupt, cancel_function

        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        stack = ExitStack()
        conn = stack.enter_context(self.connect())
        secrets = self._secrets
        guard: CancelOnInterrupt | None = None

        def fail(exc: BaseException) -> DatabaseError:
            if guard is not None and guard.cancelled:
                return QueryCancelledError("the query was cancelled (Ctrl-C); the database is unchanged")
            if is_timeout(exc):
                return QueryTimeoutError(f"the query was cancelled after {self.timeout_s:g} s (time limit)")
            return DatabaseError(one_line_error(exc, secrets))

        try:
            dbapi_connection = conn.connection.dbapi_connection
            stack.callback(_rollback_quietly, conn)
            stack.enter_context(deadline(dbapi_connection, self.target.backend, self.timeout_s))
            guard = stack.enter_context(
                CancelOnInterrupt(cancel_function(dbapi_connection, self.target.backend), whole_block=False)
            )
            with guard.driver_call():
                result = conn.execution_options(no_parameters=True, stream_results=True).exec_driver_sql(sql)
            guard.raise_if_cancelled()
            columns = [str(c) for c in result.keys()] if result.returns_rows else []
        except SQLAlchemyError as exc:
            error = fail(exc)
            stack.close()
            raise error from None
        except KeyboardInterrupt:
            stack.close()
            raise QueryCancelledError("the query was cancelled (Ctrl-C); the database is unchanged") from None
        except BaseException:
            stack.close()
            raise

        def rows() -> Iterator[tuple[Any, ...]]:
            with stack:
                if not result.returns_rows:
                    return
                while True:
                    try:
                        with guard.driver_call():
                            batch = result.fetchmany(batch_size)
                        guard.raise_if_cancelled()
                    except SQLAlchemyError as exc:
                        raise fail(exc) from None
                    if not batch:
                        break
                    for row in batch:
                        yield tuple(row)

        return columns, rows()

    def close(self) -> None:
        """Release pooled connections (and DuckDB's file lock)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.target.display!r})"


def _rollback_quietly(conn: Any) -> None:
    """End the read-only transaction; a connection broken by a cancel may refuse, which is fine."""
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001
        pass


def open_database(spec: str | None, *, timeout_s: float | None = 30.0) -> Database:
    """Resolve ``spec`` and return a :class:`Database` (it connects lazily)."""
    return Database(resolve_database(spec), timeout_s=timeout_s)


# -- per-backend read-only session setup ---------------------------------------------------------

def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None) -> int:
    """Allow reading only: SELECT, reads, functions (minus file/extension ones), schema PRAGMAs."""
    if action == sqlite3.SQLITE_PRAGMA:
        if (arg1 or "").lower() in _SQLITE_READ_PRAGMAS and not (
            arg1 and arg1.lower() in ("query_only", "foreign_keys", "user_version") and arg2 is not None
        ):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _SQLITE_DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    return sqlite3.SQLITE_OK if action in _SQLITE_ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """query_only on top of mode=ro, no ATTACH, and an authorizer that denies anything but reads."""
    dbapi_connection.execute("PRAGMA query_only = ON")
    if hasattr(dbapi_connection, "setlimit"):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    dbapi_connection.set_authorizer(_sqlite_authorizer)


def _postgres_on_connect(timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = getattr(dbapi_connection, "autocommit", False)
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cur.execute(f"SET statement_timeout = {int(timeout_ms)}")
        finally:
            cur.close()
        if not autocommit:
            dbapi_connection.commit()

    return on_connect


def _mysql_on_connect(timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            if timeout_ms:
                try:
                    cur.execute(f"SET SESSION max_execution_time = {int(timeout_ms)}")
                except Exception:  # noqa: BLE001 - MariaDB calls it max_statement_time (seconds)
                    cur.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
        finally:
            cur.close()
        try:
            dbapi_connection.commit()
        except Exception:  # noqa: BLE001
            pass

    return on_connect


def environ_database() -> str | None:
    """The database named by ``SQLCODER_DB``, if set (a convenience for scripts and tests)."""
    return os.environ.get("SQLCODER_DB") or None
