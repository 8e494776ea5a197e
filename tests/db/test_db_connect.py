from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from sqlcoder_cli.data import demo_database_path
from sqlcoder_cli.db import Database, open_database, resolve_database
from sqlcoder_cli.errors import DatabaseError, QueryTimeoutError, UsageError



def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("spec", [None, "demo", "  demo "])
def test_demo_spec(spec: str | None) -> None:
    target = resolve_database(spec)
    assert target.is_demo and target.backend == "sqlite" and target.sqlglot_dialect == "sqlite"
    assert target.path == demo_database_path()


def test_sqlite_by_header_any_extension(tmp_path: Path, sqlite_file: Path) -> None:
    renamed = tmp_path / "data.bin"
    renamed.write_bytes(sqlite_file.read_bytes())
    target = resolve_database(str(renamed))
    assert (target.backend, target.sqlglot_dialect) == ("sqlite", "sqlite")
    assert target.url == f"sqlite:///{renamed.resolve()}"
    url_target = resolve_database(f"sqlite:///{renamed}")
    assert url_target.path == renamed.resolve()


def test_duckdb_by_extension(duckdb_file: Path) -> None:
    target = resolve_database(str(duckdb_file))
    assert target.backend == "duckdb" and target.sqlglot_dialect == "duckdb"
    assert target.url == f"duckdb:///{duckdb_file.resolve()}"


def test_home_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_file: Path) -> None:
    monkeypatch.setenv("HOME", str(sqlite_file.parent))
    assert resolve_database("~/shop.db").path == sqlite_file.resolve()


@pytest.mark.parametrize("name", ["missing.db", "missing.duckdb", "missing.sqlite"])
def test_missing_file_is_error_and_not_created(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with pytest.raises(DatabaseError, match="database file not found"):
        resolve_database(str(path))
    with pytest.raises(DatabaseError, match="database file not found"):
        resolve_database(f"{'duckdb' if name.endswith('duckdb') else 'sqlite'}:///{path}")
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n" * 5])
def test_not_a_sqlite_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        resolve_database(str(path))


def test_invalid_url_is_usage_error() -> None:
    with pytest.raises(UsageError):
        resolve_database("not a url://x")
    with pytest.raises(UsageError):
        resolve_database("sqlite://")


def test_password_hidden_in_display_and_errors() -> None:
    url = "postgresql+psycopg://alice:S3cr3t-pw@127.0.0.1:1/shop"
    target = resolve_database(url)
    assert target.backend == "postgresql" and target.sqlglot_dialect == "postgres"
    assert "S3cr3t-pw" not in target.display and "***" in target.display
    assert "S3cr3t-pw" not in repr(Database(target))
    with pytest.raises(DatabaseError) as info:
        Database(target, timeout_s=2).execute("SELECT 1")
    text = str(info.value)
    assert "S3cr3t-pw" not in text and "\n" not in text
    assert "127.0.0.1" in text
    assert info.value.__cause__ is None and "S3cr3t-pw" not in repr(info.value.__context__)


WRITES = [
    "DELETE FROM t",
    "UPDATE t SET name = 'x'",
    "INSERT INTO t (id, name) VALUES (99, 'z')",
    "CREATE TABLE evil (a INTEGER)",
    "DROP TABLE t",
    "ALTER TABLE t ADD COLUMN c INTEGER",
]


@pytest.mark.parametrize("sql", [*WRITES, "PRAGMA query_only = OFF", "PRAGMA writable_schema = 1"])
def test_sqlite_connection_refuses_writes(sqlite_file: Path, tmp_path: Path, sql: str) -> None:
    before = sha256(sqlite_file)
    with open_database(str(sqlite_file)) as db:
        with pytest.raises(DatabaseError):
            db.execute(sql)
        attached = tmp_path / "other.db"
        with pytest.raises(DatabaseError):
            db.execute(f"ATTACH '{attached}' AS other")
        assert not attached.exists()
        assert db.execute("SELECT count(*) FROM t").rows == [(5,)]
    assert sha256(sqlite_file) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]  # no journal, no new files


@pytest.mark.parametrize("sql", WRITES)
def test_duckdb_connection_refuses_writes(duckdb_file: Path, tmp_path: Path, sql: str) -> None:
    before = sha256(duckdb_file)
    with open_database(str(duckdb_file)) as db:
        with pytest.raises(DatabaseError):
            db.execute(sql)
        attached = tmp_path / "other.duckdb"
        with pytest.raises(DatabaseError):
            db.execute(f"ATTACH '{attached}' AS other")
        with pytest.raises(DatabaseError):
            db.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(DatabaseError):
            db.execute("SET threads = 1")
        assert not attached.exists()
        assert db.execute("SELECT count(*) FROM t").rows == [(5,)]
    assert sha256(duckdb_file) == before


@pytest.mark.parametrize("fixture", ["sqlite_file", "duckdb_file"])
def test_limit_and_truncated(request: pytest.FixtureRequest, fixture: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    with open_database(str(path)) as db:
        r = db.execute("SELECT id, name FROM t ORDER BY id", limit=3)
        assert r.columns == ["id", "name"]
        assert r.rows == [(1, "a"), (2, "b"), (3, "c")] and r.row_count == 3 and r.truncated
        r = db.execute("SELECT id FROM t ORDER BY id", limit=5)
        assert r.row_count == 5 and not r.truncated
        r = db.execute("SELECT id FROM t", limit=None)
        assert r.row_count == 5 and not r.truncated and r.elapsed_s >= 0
        cols, rows = db.iter_rows("SELECT id FROM t ORDER BY id", batch_size=2)
        assert cols == ["id"] and [x[0] for x in rows] == [1, 2, 3, 4, 5]


def test_driver_error_is_one_line(sqlite_file: Path) -> None:
    with open_database(str(sqlite_file)) as db:
        with pytest.raises(DatabaseError) as info:
            db.execute("SELECT nosuch FROM t")
    assert str(info.value) == "no such column: nosuch"


def test_sqlite_timeout(sqlite_file: Path) -> None:
    sql = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c"
    )
    with open_database(str(sqlite_file), timeout_s=0.5) as db:
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            db.execute(sql)
        assert time.monotonic() - start < 1.5
        assert db.execute("SELECT count(*) FROM t").rows == [(5,)]  # connection still usable


def test_duckdb_timeout(duckdb_file: Path) -> None:
    sql = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = 7"
    with open_database(str(duckdb_file), timeout_s=0.5) as db:
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError):
            db.execute(sql)
        assert time.monotonic() - start < 1.5
        assert db.execute("SELECT count(*) FROM t").rows == [(5,)]


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sqlcoder_cli.db.connect; "
        "print(any(m in sys.modules for m in ('duckdb', 'psycopg', 'typer', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert os.fspath(demo_database_path())
