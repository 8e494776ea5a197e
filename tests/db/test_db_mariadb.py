"""Against a real MariaDB server (.ci/run starts one and sets SQLCODER_TEST_MARIADB_URL), as root.

URL forms and the driver they use, the read-only session, the time limit, the row cap that
reads only limit + 1 rows, streaming, Ctrl-C, the login's rights (the warning and ``doctor``),
passwords kept out of messages, the real ``sqlcoder sql`` end to end, and the one line a
missing driver gives. The two read-only layers, each alone, are in
``tests/sql/test_sql_readonly_mariadb.py``; introspection in ``tests/schema``.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from cli.clitest import invoke
from testkit.cli_proc import error_lines, interrupt, isolated_env, run_sqlcoder, start_sqlcoder
from testkit.mariadb import run_admin, scratch_database, url_for

from sqlcoder_cli.db import open_database, resolve_database
from sqlcoder_cli.errors import DatabaseError, QueryTimeoutError, UsageError

pytestmark = pytest.mark.mariadb

#: 10**9 rows: far longer than any time limit below
ENDLESS = "SELECT COUNT(*) FROM digits a, digits b, digits c, digits d, digits e, digits f, digits g, digits h, digits i"
#: 10**6 rows of 60 bytes
MILLION = "SELECT a.d, REPEAT('x', 58) AS pad FROM digits a, digits b, digits c, digits d, digits e, digits f"


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with scratch_database() as name:
        yield name


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "home")


# -- URL forms (no server needed) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "url", "backend"),
    [
        ("mysql://u@db.example/shop", "mysql+pymysql://u@db.example/shop", "mysql"),
        ("mariadb://u@db.example:3307/shop", "mariadb+pymysql://u@db.example:3307/shop", "mariadb"),
        ("mysql+pymysql://u@db.example/shop", "mysql+pymysql://u@db.example/shop", "mysql"),
        ("mariadb+pymysql://u@db.example/shop", "mariadb+pymysql://u@db.example/shop", "mariadb"),
        ("postgresql://u@db.example/shop", "postgresql+psycopg://u@db.example/shop", "postgresql"),
    ],
)
def test_url_forms_use_the_extras_driver(spec: str, url: str, backend: str) -> None:
    target = resolve_database(spec)
    assert (target.url, target.backend, target.display) == (url, backend, spec)
    assert target.sqlglot_dialect == ("postgres" if backend == "postgresql" else "mysql")


@pytest.mark.parametrize("spec", ["mysql://u:pw-9@db.example", "mariadb+pymysql://u@db.example:3307/"])
def test_a_url_must_name_the_database(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_database(spec)
    assert info.value.message.endswith("names no database") and "pw-9" not in info.value.message
    assert info.value.hint is not None and "/dbname" in info.value.hint
    result = invoke("sql", "SELECT 1", "--db", spec)
    assert result.exit_code == 2 and error_lines(result.stderr) == [f"error: {info.value.message} ({info.value.hint})"]


def test_a_password_in_the_url_is_kept_exactly_and_hidden() -> None:
    spec = "mysql://u:p%40ss%2Fw0rd@db.example/shop"
    target = resolve_database(spec)
    assert target.url == "mysql+pymysql://u:p%40ss%2Fw0rd@db.example/shop"
    assert "p%40ss" not in target.display and "***" in target.display


# -- a missing driver: one line that names the extra ---------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "module", "extra"),
    [
        ("mysql://root@127.0.0.1:1/shop", "pymysql", "mysql"),
        ("mariadb://root@127.0.0.1:1/shop", "pymysql", "mysql"),
        ("mysql+pymysql://root:secret-pw@127.0.0.1:1/shop", "pymysql", "mysql"),
        ("postgresql://postgres@127.0.0.1:1/db", "psycopg", "postgres"),
    ],
)
def test_a_missing_driver_names_its_extra(
    spec: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch, sqlcoder_home: Path
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import pymysql` now fails as if not installed
    line = f"pip install 'sqlcoder-cli[{extra}]'"
    with open_database(spec) as db, pytest.raises(DatabaseError) as info:
        db.execute("SELECT 1")
    assert info.value.hint == line and "driver" in info.value.message
    result = invoke("sql", "SELECT 1", "--db", spec)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [f"error: {info.value.message} ({line})"]
    assert "secret-pw" not in result.stderr
    doctor = invoke("doctor", "--db", spec)
    assert f"fix: {line}" in doctor.stdout
    assert "check the URL" not in doctor.stdout


def test_another_driver_named_in_the_url_is_named_in_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MySQLdb", None)
    with open_database("mysql+mysqldb://root@127.0.0.1:1/shop") as db, pytest.raises(DatabaseError) as info:
        db.execute("SELECT 1")
    assert info.value.message == "cannot open mysql+mysqldb://root@127.0.0.1:1/shop: its driver, mysqlclient, is not installed"
    assert info.value.hint == (
        "pip install mysqlclient, or leave the driver out of the URL (mysql://...) to use pymysql: "
        "pip install 'sqlcoder-cli[mysql]'"
    )


# -- the server -----------------------------------------------------------------------------------------


def test_reads_through_a_read_only_session(shop: str) -> None:
    with open_database(url_for(shop)) as db:
        assert (db.target.backend, db.target.sqlglot_dialect) == ("mysql", "mysql")
        r = db.execute("SELECT name FROM customers WHERE name LIKE 'A%' ORDER BY 1")
        assert r.rows == [("Ann",)] and r.columns == ["name"]
        session = db.execute("SELECT @@tx_read_only, @@max_statement_time, @@sql_mode").rows[0]
        assert session[0] == 1 and float(session[1]) == 30.0
        assert "ANSI_QUOTES" not in session[2] and "NO_BACKSLASH_ESCAPES" not in session[2]
        # what MariaDB itself says when a write reaches it: the session's transaction is read-only
        with pytest.raises(DatabaseError, match="read-only connection refused"):
            db.execute("DELETE FROM orders")


def test_mariadb_url_form_and_parse_changing_sql_mode_is_dropped(shop: str) -> None:
    """A login whose sql_mode makes "x" an identifier and \\ a plain character still has its
    statements read the way both layers read them (the session drops those flags)."""
    mode = quote("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT,STRICT_TRANS_TABLES'")
    url = url_for(shop).replace("mysql+pymysql://", "mariadb://", 1) + f"?init_command={mode}"
    with open_database(url) as db:
        assert db.target.backend == "mariadb"
        assert db.execute("SELECT \"x\" AS a, 'it\\'s' AS b").rows == [("x", "it's")]
        assert db.execute("SELECT @@sql_mode").rows == [("STRICT_TRANS_TABLES",)]


def test_the_time_limit_stops_a_long_query(shop: str) -> None:
    with open_database(url_for(shop), timeout_s=0.5) as db:
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError, match=r"cancelled after 0\.5 s \(time limit\)"):
            db.execute(ENDLESS)
        assert time.monotonic() - start < 3.0
        assert db.execute("SELECT 1").rows == [(1,)]  # the connection is still usable
        with pytest.raises(QueryTimeoutError):
            _columns, rows = db.iter_rows(ENDLESS)
            list(rows)


def test_no_time_limit_means_none(shop: str) -> None:
    with open_database(url_for(shop), timeout_s=0) as db:
        assert db.execute("SELECT @@max_statement_time").rows == [(0.0,)]


def test_the_row_cap_reads_only_limit_plus_one_rows(shop: str) -> None:
    """A million rows with --limit 10: ten come back, the rest are never sent (KILL QUERY instead of
    reading them to the end, which takes seconds)."""
    with open_database(url_for(shop), timeout_s=60) as db:
        start = time.monotonic()
        r = db.execute(MILLION, limit=10)
        assert r.row_count == 10 and r.truncated and len(r.rows[0]) == 2
        assert time.monotonic() - start < 1.5
        assert db.execute("SELECT COUNT(*) FROM customers").rows == [(3,)]
        exact = db.execute("SELECT d FROM digits ORDER BY d", limit=10)
        assert exact.row_count == 10 and not exact.truncated


def test_explain_passes_the_connections_check_first(shop: str) -> None:
    with open_database(url_for(shop)) as db:
        plan = db.explain("SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.customer_id")
        assert "select_type" in plan.columns and {row[2] for row in plan.rows} == {"c", "o"}
        for sql, why in [
            ("DELETE FROM orders", "DELETE statements are not queries"),
            ("SELECT * FROM (SELECT GET_LOCK('sqlcoder_x', 0)) AS t", "get_lock()"),
            ("SELECT 1 INTO OUTFILE '/tmp/sqlcoder_x'", "INTO does not belong"),
        ]:
            with pytest.raises(DatabaseError, match=re.escape(why)):
                db.explain(sql)
        assert run_admin("SELECT IS_USED_LOCK('sqlcoder_x')") == [(None,)]


def test_iter_rows_streams_every_row(shop: str) -> None:
    with open_database(url_for(shop)) as db:
        columns, rows = db.iter_rows("SELECT a.d * 10 + b.d AS n FROM digits a, digits b ORDER BY n", batch_size=7)
        assert columns == ["n"] and [r[0] for r in rows] == list(range(100))
        assert db.execute("SELECT 1").rows == [(1,)]


def test_a_stream_closed_early_stops_the_query(shop: str) -> None:
    """An export left after its first rows (``--all | head``) is stopped on the server, not read
    to its end: 10**8 unbuffered rows would take until the time limit to drain."""
    big = MILLION + ", digits g, digits h"
    with open_database(url_for(shop), timeout_s=20) as db:
        for sql in (big, "SELECT d FROM digits ORDER BY d"):  # still running / already all sent
            _columns, rows = db.iter_rows(sql, batch_size=3)
            assert next(rows)[0] == 0
            start = time.monotonic()
            rows.close()
            assert time.monotonic() - start < 2.0
            assert db.execute("SELECT COUNT(*) FROM digits a, digits b").rows == [(100,)]  # not killed
        running = run_admin("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%digits h%'"
                            " AND ID <> CONNECTION_ID()")
        assert running == [(0,)]


def test_ctrl_c_cancels_the_query_on_the_server(shop: str, env: dict[str, str]) -> None:
    proc = start_sqlcoder(["sql", ENDLESS, "--db", url_for(shop), "--timeout", "0"], env)
    time.sleep(2.0)
    start = time.monotonic()
    _out, err = interrupt(proc, timeout=30)
    assert proc.returncode == 130, err
    assert "the query was cancelled (Ctrl-C)" in err and time.monotonic() - start < 5
    for _ in range(50):  # the server stopped the statement, not only the client
        running = run_admin("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%digits i%'"
                            " AND ID <> CONNECTION_ID()")
        if running == [(0,)]:
            break
        time.sleep(0.1)
    assert running == [(0,)]


def test_password_never_in_errors(shop: str) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex[:6]
    user = f"sqlcoder_pw_{uuid.uuid4().hex[:6]}"
    run_admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{secret}'", f"GRANT SELECT ON `{shop}`.* TO '{user}'@'%'")
    try:
        good = url_for(shop, user=user, password=secret)
        bad = url_for(shop, user=user, password=secret + "x")
        with open_database(good) as db:
            messages = []
            # MariaDB quotes the statement near a syntax error: the password must be scrubbed from it
            for sql in ["SELECT nope FROM nowhere", f"SELECT FROM '{secret}'", "DELETE FROM orders"]:
                with pytest.raises(DatabaseError) as info:
                    db.execute(sql)
                messages.append(str(info.value))
            assert secret not in repr(db) and secret not in db.target.display
        with open_database(bad) as db, pytest.raises(DatabaseError) as info:
            db.execute("SELECT 1")
        messages.append(str(info.value))
        assert "Access denied" in messages[-1] and "cannot connect" in messages[-1]
        for message in messages:
            assert secret not in message and "\n" not in message, message
    finally:
        run_admin(f"DROP USER IF EXISTS '{user}'@'%'")


# -- the login's rights -----------------------------------------------------------------------------------


def test_root_is_a_superuser_and_is_told_once(shop: str, env: dict[str, str]) -> None:
    url = url_for(shop)
    with open_database(url) as db:
        privileges = db.privileges()
    assert privileges is not None and privileges.superuser and privileges.risky
    result = run_sqlcoder(["sql", "SELECT name FROM customers ORDER BY customer_id", "--db", url, "-f", "csv"], env)
    assert result.returncode == 0 and result.stdout == "name\nAnn\nBo\nCy\n", result.stderr
    warnings = [line for line in error_lines(result.stderr) if "a read-only role is the real guarantee" in line]
    assert len(warnings) == 1 and "a superuser" in warnings[0]
    doctor = run_sqlcoder(["doctor", "--db", url], env)
    text = doctor.stdout + doctor.stderr
    assert "database: " in text and "connected read-only" in text and "a superuser" in text
    assert "GRANT SELECT, SHOW VIEW ON your_database.* TO 'sqlcoder_reader'@'%';" in text
    assert "pg_read_all_data" not in text


def test_the_documented_read_only_account_is_not_warned(shop: str, env: dict[str, str]) -> None:
    from sqlcoder_cli.db.mysql import READ_ONLY_ACCOUNT_SQL

    user, password = f"sqlcoder_ro_{uuid.uuid4().hex[:6]}", "Pw-" + uuid.uuid4().hex[:8] + "@%/x"
    lines = [
        line.replace("sqlcoder_reader", user).replace("choose-a-password", password).replace("your_database", f"`{shop}`")
        for line in READ_ONLY_ACCOUNT_SQL
    ]
    run_admin(*(line.rstrip(";") for line in lines))
    try:
        url = url_for(shop, user=user, password=password)
        assert quote(password, safe="") in url
        with open_database(url) as db:
            privileges = db.privileges()
            assert privileges is not None and not privileges.risky and privileges.writable_tables == 0
        result = run_sqlcoder(["sql", "SELECT COUNT(*) AS n FROM orders", "--db", url, "-f", "csv"], env)
        assert result.returncode == 0 and result.stdout == "n\n3\n" and "warning" not in result.stderr, result.stderr
        run_admin(f"GRANT INSERT ON `{shop}`.orders TO '{user}'@'%'")
        with open_database(url) as db:
            privileges = db.privileges()
        assert privileges is not None and privileges.risky and not privileges.superuser
        assert privileges.describe() == f"connected as {user}@%, which may change 1 table(s)"
    finally:
        run_admin(f"DROP USER IF EXISTS '{user}'@'%'")


# -- the real CLI end to end --------------------------------------------------------------------------------


def test_sqlcoder_sql_end_to_end(shop: str, env: dict[str, str]) -> None:
    url = url_for(shop)
    ok = run_sqlcoder(
        ["sql", "SELECT c.name, SUM(o.total) AS spent FROM customers c JOIN orders o ON o.customer_id = c.customer_id"
         " GROUP BY c.name ORDER BY spent DESC", "--db", url, "-f", "csv"], env,
    )
    assert ok.returncode == 0 and ok.stdout == "name,spent\nAnn,8.5\nBo,7.25\n", ok.stderr
    refused = run_sqlcoder(["sql", "DELETE FROM orders", "--db", url], env)
    assert refused.returncode == 4
    assert error_lines(refused.stderr)[-1] == "error: refused: DELETE statements can change data; only SELECT queries run"
    slow = run_sqlcoder(["sql", ENDLESS, "--db", url, "--timeout", "0.5"], env)
    assert slow.returncode == 1 and "time limit" in error_lines(slow.stderr)[-1]
    streamed = run_sqlcoder(["sql", "SELECT a.d FROM digits a, digits b", "--db", url, "--all", "-f", "csv"], env)
    assert streamed.returncode == 0 and len(streamed.stdout.splitlines()) == 101
    capped = run_sqlcoder(["sql", MILLION, "--db", url, "--limit", "3", "-f", "csv"], env)
    assert capped.returncode == 0 and len(capped.stdout.splitlines()) == 4
    assert any("showing the first 3 rows" in line for line in error_lines(capped.stderr))
    with open_database(url) as db:
        assert db.execute("SELECT COUNT(*) FROM orders").rows == [(3,)]


def test_a_server_that_is_down_is_one_line(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_sqlcoder(["sql", "SELECT 1", "--db", f"mysql://root:pw-123@127.0.0.1:{port}/x"], env)
    lines = error_lines(result.stderr)
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: cannot connect to mysql://root:***@")
    assert "pw-123" not in result.stderr and "Connection refused" in lines[0]
