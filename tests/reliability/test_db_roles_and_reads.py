"""Both read-only layers let harmless reads through, and say when the login could write.

- Reading PRAGMAs run as statements and as table functions, on SQLite and DuckDB, through the
  real ``sqlcoder sql`` (guard and connection both); a PRAGMA that sets something is refused.
- ``EXPLAIN`` of a query works on all three databases, and the query inside is checked as if it ran.
- Connected to PostgreSQL as a superuser, ``sql``/``ask`` warn once and ``doctor`` shows the three
  lines that create a read-only role; connected as a read-only role, nothing is said.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from testkit.cli_proc import error_lines, isolated_env, run_sqlcoder
from testkit.pg import missing, pg_dsn

from sqlcoder_cli.db import open_database
from sqlcoder_cli.errors import DatabaseError

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL", "")
WARNING = "a read-only role is the real guarantee"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "home")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("CREATE INDEX customers_name ON customers (name)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ann'), ('Bob')")
    conn.close()
    return path


@pytest.fixture
def duck(tmp_path: Path) -> Path:
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    return path


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("PRAGMA table_info(customers)", "cid,name,type,notnull,dflt_value,pk\n0,id,INTEGER,0,,1\n1,name,TEXT,1,,0\n"),
        ("SELECT name FROM pragma_table_info('customers') ORDER BY cid", "name\nid\nname\n"),
        ("PRAGMA index_list(customers)", None),
        ("SELECT name FROM pragma_index_list('customers')", "name\ncustomers_name\n"),
        ("PRAGMA user_version", "user_version\n0\n"),
        ("SELECT name FROM customers WHERE name REGEXP '^A'", "name\nAnn\n"),
    ],
)
def test_reading_pragmas_run_on_sqlite(shop: Path, env: dict[str, str], sql: str, expected: str | None) -> None:
    result = run_sqlcoder(["sql", sql, "--db", str(shop), "--format", "csv"], env)
    assert result.returncode == 0, result.stderr
    if expected is not None:
        assert result.stdout == expected


@pytest.mark.parametrize("sql", ["PRAGMA table_info('customers')", "SELECT name FROM pragma_table_info('customers')", "PRAGMA show_tables"])
def test_reading_pragmas_run_on_duckdb(duck: Path, env: dict[str, str], sql: str) -> None:
    result = run_sqlcoder(["sql", sql, "--db", str(duck), "--format", "csv"], env)
    assert result.returncode == 0, result.stderr
    assert ("customers" if "show_tables" in sql else "name") in result.stdout


@pytest.mark.parametrize(
    ("db", "sql"),
    [("shop", "PRAGMA user_version = 7"), ("shop", "PRAGMA journal_mode = DELETE"), ("duck", "PRAGMA threads = 1")],
)
def test_pragmas_that_set_are_refused(db: str, sql: str, shop: Path, duck: Path, env: dict[str, str]) -> None:
    result = run_sqlcoder(["sql", sql, "--db", str(shop if db == "shop" else duck)], env)
    assert result.returncode == 4 and error_lines(result.stderr)[0].startswith("error: refused: PRAGMA"), result.stderr


def test_explain_on_every_database_checks_the_query_inside(shop: Path, duck: Path) -> None:
    specs = [str(shop), str(duck)] + ([PG_URL] if PG_URL else [])
    side_effect = {"sqlite": "SELECT load_extension('x')", "duckdb": "SELECT setseed(0.5)", "postgresql": "SELECT pg_stat_reset()"}
    for spec in specs:
        with open_database(spec) as db:
            plan = db.explain("SELECT COUNT(*) FROM customers" if db.target.backend != "postgresql" else "SELECT 1")
            assert plan.rows, spec
            with pytest.raises(DatabaseError, match="refused"):
                db.explain(side_effect[db.target.backend])


# --- the login's rights (PostgreSQL) ---------------------------------------------------------------


def test_a_superuser_login_is_told_once(env: dict[str, str]) -> None:
    if not PG_URL:
        missing("SQLCODER_TEST_PG_URL is not set")
    result = run_sqlcoder(["sql", "SELECT 1 AS one", "--db", PG_URL, "--format", "csv"], env)
    assert result.returncode == 0 and result.stdout == "one\n1\n"
    warnings = [line for line in error_lines(result.stderr) if WARNING in line]
    assert len(warnings) == 1 and "a superuser" in warnings[0]
    doctor = run_sqlcoder(["doctor", "--db", PG_URL], env)
    assert "database role: connected as postgres, a superuser" in doctor.stdout + doctor.stderr
    assert "GRANT pg_read_all_data TO sqlcoder_reader;" in doctor.stdout + doctor.stderr


def test_a_read_only_login_is_not_warned(env: dict[str, str], pg_password_role: tuple[str, str]) -> None:
    role, password = pg_password_role
    from urllib.parse import quote

    url = PG_URL.replace("postgres@", f"{role}:{quote(password, safe='')}@", 1)
    result = run_sqlcoder(["sql", "SELECT current_user AS who", "--db", url, "--format", "csv"], env)
    assert result.returncode == 0 and result.stdout == f"who\n{role}\n", result.stderr
    assert WARNING not in result.stderr
    with open_database(url) as db:
        privileges = db.privileges()
    assert privileges is not None and not privileges.superuser and privileges.writable_tables == 0


def test_privileges_name_what_a_login_could_change(pg_password_role: tuple[str, str]) -> None:
    """A role granted INSERT on one table is risky too (not only superusers)."""
    import uuid

    import psycopg

    role, password = pg_password_role
    table = f"sqlcoder_grant_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE public.{table} (id int)")
        conn.execute(f"GRANT INSERT ON public.{table} TO {role}")
    try:
        from urllib.parse import quote

        url = PG_URL.replace("postgres@", f"{role}:{quote(password, safe='')}@", 1)
        with open_database(url) as db:
            privileges = db.privileges()
        assert privileges is not None and privileges.risky and privileges.writable_tables == 1
        assert privileges.describe() == f"connected as {role}, which may change 1 table(s)"
    finally:
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP TABLE public.{table}")
