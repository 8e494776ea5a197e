"""Find the user's database and open it read-only.

Read-only is enforced here at the connection level, independently of the statement guard in
:mod:`sqlcoder_cli.sql.guard`: if the guard ever lets a write through, the connection refuses it
(per database: :mod:`.sqlite`, :mod:`.postgres`, :mod:`.duck`, :mod:`.mysql`). A database is
never created: a path that does not exist is an error, never a new empty file. Credentials are
hidden where the spec enters (:mod:`.secrets`): only :attr:`DatabaseTarget.url` holds them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, UsageError
from ..sql.transpile import sqlglot_dialect_for
from .execute import QueryResult, deadline, is_timeout, one_line_error, run_query
from .secrets import redact_spec
from .sqlite import check_sqlite_file

if TYPE_CHECKING:
    import sqlalchemy

    from ..sql.functions import FunctionCatalogue
    from .postgres import Privileges

DUCKDB_SUFFIXES = (".duckdb", ".ddb")
#: SQLAlchemy's names for a MySQL or MariaDB server (``mysql+pymysql://``, ``mariadb+pymysql://``)
MYSQL_BACKENDS = ("mysql", "mariadb")
DEMO_SPECS = ("demo",)

__all__ = ["Database", "DatabaseTarget", "open_database", "resolve_database"]


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
    #: the credential values hidden from ``display``, to scrub from driver messages (never shown)
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

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


def _file_target(path: Path) -> DatabaseTarget:
    path = path.expanduser().resolve()
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        if not path.exists():
            raise DatabaseError(f"database file not found: {path}")
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
        return DatabaseTarget(f"duckdb:///{path}", str(path), "duckdb", "duckdb")
    check_sqlite_file(path)
    return DatabaseTarget(f"sqlite:///{path}", str(path), "sqlite", "sqlite")


def resolve_database(spec: str | None) -> DatabaseTarget:
    """Turn what the user typed (nothing, 'demo', a path or a URL) into a :class:`DatabaseTarget`.

    ``None`` means the bundled demo; an empty or blank string is a usage error (it is never
    silently the demo). Every message about the spec shows its redacted form.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if spec is not None and not spec.strip():
        raise UsageError("the database is empty", hint="give a file path or a URL, or `demo` for the bundled demo")
    text = (spec or "demo").strip()
    redacted = redact_spec(text)
    if text.lower() in DEMO_SPECS:
        from ..data import demo_database_path

        path = demo_database_path()
        check_sqlite_file(path)
        return DatabaseTarget(f"sqlite:///{path}", f"demo ({path})", "sqlite", "sqlite", is_demo=True)
    if "://" not in text:
        if redacted.secrets:  # a libpq "host=... password=..." string, not a file
            raise UsageError(
                f"{redacted.display} looks like a libpq connection string, not a file",
                hint="give a URL such as postgresql://user@host/dbname (the password from ~/.pgpass or PGPASSWORD)",
            )
        return _file_target(Path(text))
    try:
        url = make_url(text)
        backend = url.get_backend_name()
    except (ArgumentError, ValueError) as exc:
        reason = redact_spec(str(exc).splitlines()[0]).display
        for secret in redacted.secrets:
            reason = reason.replace(secret, "***")
        raise UsageError(f"invalid database URL {redacted.display}: {reason}") from None
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
            check_sqlite_file(Path(str(target.path)))
        return target
    if backend in MYSQL_BACKENDS and not url.database:
        # a MySQL "schema" is a database: without one there is no schema to show the model
        raise UsageError(
            f"{redacted.display} names no database",
            hint=f"add the database to the URL: {backend}://user@host/dbname",
        )
    return DatabaseTarget(
        _with_default_driver(text, url), redacted.display, backend, sqlglot_dialect_for(backend), secrets=redacted.secrets
    )


#: the driver a URL without one uses: the one its extra installs (SQLAlchemy's own defaults,
#: psycopg2 and mysqlclient, are not installed by sqlcoder)
DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}

#: Python modules a database URL may need -> (the package that provides it, the extra that installs it)
DRIVER_PACKAGES: dict[str, tuple[str, str | None]] = {
    "psycopg": ("psycopg", "postgres"),
    "pglast": ("pglast", "postgres"),
    "pymysql": ("PyMySQL", "mysql"),
    "psycopg2": ("psycopg2-binary", None),
    "MySQLdb": ("mysqlclient", None),
    "mariadb": ("mariadb", None),
}
#: the extra that installs the default driver of each backend
BACKEND_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}


def _with_default_driver(text: str, url: Any) -> str:
    """``mysql://...`` -> ``mysql+pymysql://...`` (likewise ``mariadb://``, ``postgresql://``);
    the rest of the text is kept exactly as written (no re-quoting of the password)."""
    driver = DEFAULT_DRIVERS.get(url.drivername)
    if driver is None:
        return text
    scheme, rest = text.split("://", 1)
    return f"{scheme}+{driver}://{rest}"


def missing_driver(exc: BaseException, target: DatabaseTarget) -> DatabaseError | None:
    """The one-line error for a database driver that is not installed, naming the extra that
    installs it (``pip install 'sqlcoder-cli[mysql]'``); None when ``exc`` is something else."""
    if not isinstance(exc, ImportError):
        return None
    module = (getattr(exc, "name", None) or "").split(".")[0]
    if not module:
        return None
    package, extra = DRIVER_PACKAGES.get(module, (module, None))
    message = f"cannot open {target.display}: its driver, {package}, is not installed"
    if extra is not None:
        return DatabaseError(message, hint=f"pip install 'sqlcoder-cli[{extra}]'")
    default_extra = BACKEND_EXTRAS.get(target.backend)
    if default_extra is not None:
        hint = (
            f"pip install {package}, or leave the driver out of the URL ({target.backend}://...) to use "
            f"{DEFAULT_DRIVERS[target.backend]}: pip install 'sqlcoder-cli[{default_extra}]'"
        )
    else:
        hint = f"pip install {package} (the Python package that provides {module})"
    return DatabaseError(message, hint=hint)


class Database:
    """A read-only connection factory with a time limit; cheap to create, connects on first use."""

    def __init__(self, target: DatabaseTarget, *, timeout_s: float | None = 30.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._engine: sqlalchemy.Engine | None = None
        self._functions: FunctionCatalogue | None = None
        self._privileges: Privileges | None = None

    # -- engine -----------------------------------------------------------------------------
    @property
    def _secrets(self) -> list[str]:
        return list(self.target.secrets)

    @property
    def busy_timeout_s(self) -> float:
        """How long SQLite waits for a file another program has locked: the query time limit."""
        return float(self.timeout_s) if self.timeout_s and self.timeout_s > 0 else 5.0

    @property
    def engine(self) -> sqlalchemy.Engine:
        """The SQLAlchemy engine, created on first use with read-only settings for the backend."""
        if self._engine is None:
            try:
                self._engine = self._create_engine()
            except DatabaseError:
                raise
            except Exception as exc:  # noqa: BLE001 - driver missing, bad URL options, ...
                missing = missing_driver(exc, self.target)
                if missing is not None:
                    raise missing from None
                raise DatabaseError(
                    f"cannot open {self.target.display}: {one_line_error(exc, self._secrets)}"
                ) from None
        return self._engine

    def _create_engine(self) -> sqlalchemy.Engine:
        import sqlalchemy as sa
        from sqlalchemy import event

        backend = self.target.backend
        if backend == "sqlite":
            from . import sqlite

            path = self.target.path
            assert path is not None
            check_sqlite_file(path)
            busy = self.busy_timeout_s
            engine = sa.create_engine("sqlite://", creator=lambda: sqlite.open_readonly(path, busy_timeout_s=busy))
            event.listen(engine, "connect", sqlite.on_connect)
            return engine
        if backend == "duckdb":
            path = self.target.path
            if path is None or not path.exists():
                raise DatabaseError(f"database file not found: {path}")
            from .duck import CONNECT_ARGS

            return sa.create_engine(self.target.url, connect_args=CONNECT_ARGS)
        kwargs: dict[str, Any] = {"pool_pre_ping": False}
        if backend == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
        engine = sa.create_engine(self.target.url, **kwargs)
        timeout_ms = int(self.timeout_s * 1000) if self.timeout_s and self.timeout_s > 0 else 0
        if backend == "postgresql":
            from . import postgres

            event.listen(engine, "connect", postgres.on_connect(timeout_ms))
        elif backend in MYSQL_BACKENDS:
            from . import mysql

            event.listen(engine, "do_connect", mysql.on_do_connect)
            event.listen(engine, "connect", mysql.on_connect(self.timeout_s))
        return engine

    # -- what the database allows -----------------------------------------------------------
    @property
    def functions(self) -> FunctionCatalogue:
        """The functions a query may call here, from the database's own catalogue (loaded once)."""
        if self._functions is None:
            from . import catalogue

            backend = self.target.backend
            if backend in MYSQL_BACKENDS:
                self._functions = self._with_raw_connection(
                    lambda dbapi_connection: catalogue.mysql_catalogue(dbapi_connection, backend),
                    "read the function catalogue of",
                )
            elif backend in ("sqlite", "duckdb", "postgresql"):
                loader = {
                    "sqlite": catalogue.sqlite_catalogue,
                    "duckdb": catalogue.duckdb_catalogue,
                    "postgresql": catalogue.postgres_catalogue,
                }[backend]
                self._functions = self._with_raw_connection(loader, "read the function catalogue of")
            else:
                self._functions = catalogue.static_catalogue(backend)
        return self._functions

    def guard(self, sql: str) -> None:
        """The statement guard with this database's dialect and function catalogue: raises
        :class:`~sqlcoder_cli.errors.UnsafeSQLError` unless ``sql`` is one read-only query."""
        from ..sql.guard import check_read_only

        check_read_only(sql, self.target.sqlglot_dialect, functions=self.functions)

    def privileges(self) -> Privileges | None:
        """What the connected role may change (PostgreSQL, MySQL/MariaDB); None where it does not apply."""
        if self.target.backend == "postgresql":
            from .postgres import privileges
        elif self.target.backend in MYSQL_BACKENDS:
            from .mysql import privileges  # type: ignore[assignment]
        else:
            return None
        if self._privileges is None:
            self._privileges = self._with_raw_connection(privileges, "check the role used for")
        return self._privileges

    def _with_raw_connection(self, read: Callable[[Any], Any], doing: str) -> Any:
        """Run ``read(dbapi_connection)`` on a fresh connection, rolled back afterwards."""
        from .execute import driver_errors

        with self.connect() as conn:
            try:
                return read(conn.connection.dbapi_connection)
            except driver_errors() as exc:
                raise DatabaseError(f"cannot {doing} {self.target.display}: {self.explain_error(exc)}") from None
            finally:
                _rollback_quietly(conn)

    # -- queries ----------------------------------------------------------------------------
    def connect(self) -> sqlalchemy.Connection:
        """A new SQLAlchemy connection; driver errors become :class:`DatabaseError`."""
        from .execute import driver_errors

        try:
            return self.engine.connect()
        except DatabaseError:
            raise
        except driver_errors() as exc:
            raise DatabaseError(
                f"cannot connect to {self.target.display}: {self.explain_error(exc)}"
            ) from None

    def explain_error(self, exc: BaseException) -> str:
        """A driver error as the one line the user sees (secrets removed, SQLite said plainly)."""
        message = one_line_error(exc, self._secrets)
        if self.target.backend == "sqlite":
            from .sqlite import explain_sqlite_error

            return explain_sqlite_error(message, self.target.path, self.busy_timeout_s)
        return message

    def _statement_check(self, sql: str) -> Callable[[Any], None] | None:
        """The connection layer's own check of a statement before it runs, with the database's
        own parser (PostgreSQL, DuckDB; SQLite's authorizer sees every step as it compiles) or, for
        MySQL/MariaDB, the server's lexical rules (:mod:`.mysql`)."""
        if self.target.backend in MYSQL_BACKENDS:
            from . import mysql

            catalogue = self.functions
            return lambda dbapi_connection: mysql.check_statement(dbapi_connection, sql, catalogue)
        if self.target.backend == "postgresql":
            from .postgres import check_statement

            return lambda dbapi_connection: check_statement(dbapi_connection, sql)
        if self.target.backend == "duckdb":
            from . import duck

            catalogue = self.functions
            return lambda dbapi_connection: duck.check_statement(dbapi_connection, sql, catalogue)
        return None

    def execute(self, sql: str, *, limit: int | None = 100) -> QueryResult:
        """Run one statement and return up to ``limit`` rows (None = all)."""
        return self._run(sql, sql, limit=limit)

    def explain(self, sql: str) -> QueryResult:
        """The database's plan for one query (``EXPLAIN``, never ``EXPLAIN ANALYZE``): the query
        passes the connection's own check as if it were to run, then only its plan is read."""
        prefix = "EXPLAIN QUERY PLAN " if self.target.backend == "sqlite" else "EXPLAIN "
        # DECLARE CURSOR (PostgreSQL's server-side cursor) takes a query, not EXPLAIN
        return self._run(prefix + sql, sql, limit=None, server_cursor=False)

    def _run(self, statement: str, checked: str, *, limit: int | None, server_cursor: bool = True) -> QueryResult:
        """Run ``statement`` after the connection's own check of ``checked`` (the query in it)."""
        with self.connect() as conn:
            return run_query(
                conn,
                statement,
                backend=self.target.backend,
                limit=limit,
                timeout_s=self.timeout_s,
                secrets=self._secrets,
                before=self._statement_check(checked),
                explain=self.explain_error,
                server_cursor=server_cursor,
            )

    def iter_rows(
        self, sql: str, batch_size: int = 1000
    ) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        """Column names and a lazy iterator over all rows, fetched ``batch_size`` at a time.

        For exports of every row: nothing is held in memory beyond one batch. The connection stays
        open until the iterator is exhausted or closed. The time limit covers the whole stream.
        """
        from contextlib import ExitStack

        from ..errors import QueryCancelledError, QueryTimeoutError
        from .execute import CancelOnInterrupt, cancel_function, driver_errors, stop_unread_rows

        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        stack = ExitStack()
        conn = stack.enter_context(self.connect())
        guard: CancelOnInterrupt | None = None
        check = self._statement_check(sql)

        def fail(exc: BaseException) -> DatabaseError:
            if guard is not None and guard.cancelled:
                return QueryCancelledError("the query was cancelled (Ctrl-C); the database is unchanged")
            if is_timeout(exc):
                return QueryTimeoutError(f"the query was cancelled after {self.timeout_s:g} s (time limit)")
            return DatabaseError(self.explain_error(exc))

        try:
            dbapi_connection = conn.connection.dbapi_connection
            stack.callback(_rollback_quietly, conn)
            stack.enter_context(deadline(dbapi_connection, self.target.backend, self.timeout_s))
            guard = stack.enter_context(
                CancelOnInterrupt(cancel_function(dbapi_connection, self.target.backend), whole_block=False)
            )
            with guard.driver_call():
                if check is not None:
                    check(dbapi_connection)
                result = conn.execution_options(no_parameters=True, stream_results=True).exec_driver_sql(sql)
            guard.raise_if_cancelled()
            columns = [str(c) for c in result.keys()] if result.returns_rows else []
        except DatabaseError:
            stack.close()
            raise
        except driver_errors() as exc:
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
                finished = False
                try:
                    while True:
                        try:
                            with guard.driver_call():
                                batch = result.fetchmany(batch_size)
                            guard.raise_if_cancelled()
                        except driver_errors() as exc:
                            finished = True  # the statement is over
                            raise fail(exc) from None
                        if not batch:
                            finished = True
                            break
                        for row in batch:
                            yield tuple(row)
                finally:
                    # MySQL/MariaDB: an unbuffered result left half read would be drained to its end
                    # (every remaining row, up to the time limit) before the connection is usable
                    if not finished and self.target.backend in MYSQL_BACKENDS:
                        stop_unread_rows(result, dbapi_connection, self.target.backend)

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


def environ_database() -> str | None:
    """The database named by ``SQLCODER_DB``, if set (a convenience for scripts and tests)."""
    return os.environ.get("SQLCODER_DB") or None
