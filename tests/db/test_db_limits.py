"""Bounded execution on real databases: time limit, Ctrl-C, streaming, credentials."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.mariadb import scratch_database, url_for
from testkit.pg import missing

from sqlcoder_cli.db import open_database
from sqlcoder_cli.errors import DatabaseError, ExitCode, QueryCancelledError, QueryTimeoutError

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")

#: a query that would run for far more than 60 seconds on each backend
LONG = {
    "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT COUNT(*) FROM c",
    "duckdb": "SELECT SUM(a.range * b.range) FROM range(2000000) a, range(2000000) b",
    # pg_sleep() is volatile, so the read-only layers refuse it: a long nested loop instead
    "postgresql": "SELECT COUNT(*) FROM generate_series(1, 50000) a, generate_series(1, 50000) b, generate_series(1, 50000) c",
    # SLEEP() is refused by both layers: 10**9 rows of cross joins instead
    "mariadb": "SELECT COUNT(*) FROM digits a, digits b, digits c, digits d, digits e, digits f, digits g, digits h, digits i",
}


@pytest.fixture(scope="module")
def mariadb_shop() -> Iterator[str]:
    """The MariaDB test server's shop (tests/testkit/mariadb.py), for this module's tests."""
    with scratch_database("sqlcoder_limits") as name:
        yield url_for(name)


@pytest.fixture(
    params=[
        "sqlite",
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def spec(request: pytest.FixtureRequest, sqlite_file: Path, duckdb_file: Path) -> tuple[str, str]:
    backend = request.param
    if backend == "sqlite":
        return backend, str(sqlite_file)
    if backend == "duckdb":
        return backend, str(duckdb_file)
    if backend == "mariadb":  # skips locally, fails in CI without the server
        return backend, request.getfixturevalue("mariadb_shop")
    if not PG_URL:
        missing("SQLCODER_TEST_PG_URL is not set")  # skips locally, fails in CI
    return backend, str(PG_URL)


def test_time_limit_kills_a_long_query_quickly(spec: tuple[str, str]) -> None:
    backend, where = spec
    with open_database(where, timeout_s=0.3) as db:
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError) as info:
            db.execute(LONG[backend])
        elapsed = time.monotonic() - start
        assert elapsed < 1.0, f"{backend}: control came back after {elapsed:.2f} s"
        assert "time limit" in str(info.value)
        assert db.execute("SELECT 1 AS one").rows == [(1,)]


def _sigint_after(delay: float) -> threading.Timer:
    timer = threading.Timer(delay, lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_cancels_the_query_and_keeps_the_database(spec: tuple[str, str]) -> None:
    backend, where = spec
    with open_database(where, timeout_s=120) as db:
        db.execute("SELECT 1")  # connect first: the measured time is the query's
        timer = _sigint_after(0.5)
        start = time.monotonic()
        try:
            with pytest.raises(QueryCancelledError) as info:
                db.execute(LONG[backend])
        finally:
            timer.cancel()
        elapsed = time.monotonic() - start - 0.5
        assert elapsed < 1.0, f"{backend}: control came back {elapsed:.2f} s after Ctrl-C"
        assert info.value.exit_code == ExitCode.INTERRUPTED
        assert isinstance(info.value, DatabaseError)
        assert db.execute("SELECT 2 AS two").rows == [(2,)]
    # the handler is restored: a later Ctrl-C is a plain KeyboardInterrupt again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_a_stream(spec: tuple[str, str]) -> None:
    backend, where = spec
    slow = {
        "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c",
        "duckdb": "SELECT a.range * b.range AS x FROM range(200000) a, range(200000) b ORDER BY x DESC",
        "postgresql": "SELECT a FROM generate_series(1, 50000) a, generate_series(1, 50000) b, generate_series(1, 50000) c WHERE a + b + c < 0",
        "mariadb": "SELECT a.d FROM digits a, digits b, digits c, digits d, digits e, digits f, digits g, digits h"
        " WHERE a.d + b.d + c.d + d.d + e.d + f.d + g.d + h.d < 0",
    }[backend]
    with open_database(where, timeout_s=120) as db:
        db.execute("SELECT 1")
        timer = _sigint_after(0.5)
        start = time.monotonic()
        try:
            with pytest.raises((QueryCancelledError, KeyboardInterrupt)):
                columns, rows = db.iter_rows(slow)
                for _ in rows:
                    pass
        finally:
            timer.cancel()
        assert time.monotonic() - start < 1.5
        assert db.execute("SELECT 3 AS three").rows == [(3,)]


def test_iter_rows_streams_in_batches(spec: tuple[str, str]) -> None:
    backend, where = spec
    sql = {
        "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 25000) SELECT n FROM c",
        "duckdb": "SELECT range + 1 AS n FROM range(25000)",
        "postgresql": "SELECT n FROM generate_series(1, 25000) AS n",
        "mariadb": "SELECT n FROM (SELECT a.d * 10000 + b.d * 1000 + c.d * 100 + d.d * 10 + e.d + 1 AS n"
        " FROM digits a, digits b, digits c, digits d, digits e) AS x WHERE n <= 25000 ORDER BY n",
    }[backend]
    with open_database(where) as db:
        columns, rows = db.iter_rows(sql, batch_size=1000)
        assert columns == ["n"]
        total = 0
        for i, row in enumerate(rows, start=1):
            assert row == (i,)
            total += 1
        assert total == 25000


def test_an_unfinished_stream_closed_after_the_database(spec: tuple[str, str]) -> None:
    """A stream left half read and collected after its database was closed ends quietly: its
    clean-up (the time limit's handler, the rollback) meets a closed connection."""
    _backend, where = spec
    db = open_database(where, timeout_s=30)
    _columns, rows = db.iter_rows(LONG_STREAM, batch_size=2)
    assert next(rows)[0] in (0, 1, 2, 3)
    db.close()
    rows.close()  # no exception, no unraisable warning
    with open_database(where) as again:
        assert again.execute("SELECT 1 AS one").rows == [(1,)]


#: four rows, in SQL that every backend reads
LONG_STREAM = "SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"


def test_iter_rows_errors_are_clean(spec: tuple[str, str]) -> None:
    _backend, where = spec
    with open_database(where) as db:
        with pytest.raises(DatabaseError) as info:
            db.iter_rows("SELECT nope FROM nowhere_at_all")
        assert "\n" not in str(info.value)
        with pytest.raises(DatabaseError, match="read-only"):
            db.execute("CREATE TABLE evil (a INT)")


SECRET = "s3cr3t-pw"


def _pg_url_with_password(port: int | None = None) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).set(password=SECRET)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="SQLCODER_TEST_PG_URL is not set")
def test_password_never_in_errors_or_repr() -> None:
    url = _pg_url_with_password()
    assert SECRET in url
    with open_database(url) as db:
        assert SECRET not in repr(db) and SECRET not in repr(db.target) and SECRET not in db.target.display
        messages = []
        for sql in ["SELECT nope FROM nowhere", f"SELECT '{SECRET}'::int", "DELETE FROM pg_class"]:
            with pytest.raises(DatabaseError) as info:
                db.execute(sql)
            messages.append(str(info.value))
        with pytest.raises(DatabaseError) as info:
            _cols, rows = db.iter_rows(f"SELECT 1/0 AS x, '{SECRET}' AS y")
            list(rows)
        messages.append(str(info.value))
        assert db.execute("SELECT 1").rows == [(1,)]
    for message in messages:
        assert SECRET not in message, message


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="SQLCODER_TEST_PG_URL is not set")
def test_password_never_in_connection_errors() -> None:
    url = _pg_url_with_password(port=_free_port())
    with open_database(url) as db:
        with pytest.raises(DatabaseError) as info:
            db.execute("SELECT 1")
        with pytest.raises(DatabaseError) as info2:
            db.iter_rows("SELECT 1")
    for error in (info.value, info2.value):
        text = str(error)
        assert SECRET not in text and "cannot connect" in text and "\n" not in text
        assert error.__suppress_context__ and error.__cause__ is None
