"""Database faults a user meets, through the real ``sqlcoder`` in a subprocess: one clear line on
stderr, the documented exit code, no traceback, and nothing created or changed next to the file.

Covers: a missing path (never created), a directory, a file that is not a database, an empty
file, a locked SQLite (bounded by --timeout), a corrupt SQLite (schema, sql and ask), WAL
databases (nothing written beside them; readable in a read-only folder), a PostgreSQL server that
is down or refuses the password, a database without tables, text that is not UTF-8, huge blobs
and a result of ten million rows.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testkit.cli_proc import error_lines, isolated_env, run_sqlcoder, sqlcoder_argv

from sqlcoder_cli.db import open_database
from sqlcoder_cli.db.sqlite import is_wal
from sqlcoder_cli.errors import DatabaseError

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "home")


def _fails_cleanly(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exit ``code``, exactly one line on stderr (an error line naming ``needles``), no traceback."""
    lines = error_lines(result.stderr)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _make_sqlite(path: Path, *, wal: bool = False, rows: int = 5) -> Path:
    with sqlite3.connect(path) as conn:
        if wal:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO t (name) VALUES (?)", [(f"n{i}",) for i in range(rows)])
    conn.close()
    return path


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- files that are not a readable database ---------------------------------------------------------


def test_missing_path_is_an_error_and_never_created(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "nope" / "shop.sqlite"
    for args in (["sql", "SELECT 1"], ["schema"]):
        result = run_sqlcoder([*args, "--db", str(missing)], env)
        _fails_cleanly(result, 1, "database file not found", str(missing))
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_text("id,name\n1,a\n"), "is not a SQLite database"),
        (lambda p: p.write_bytes(b""), "is an empty file"),
    ],
    ids=["directory", "not-a-database", "empty-file"],
)
def test_not_a_database(tmp_path: Path, env: dict[str, str], make, needle: str) -> None:
    target = tmp_path / "data.db"
    make(target)
    before = _listing(tmp_path)
    _fails_cleanly(run_sqlcoder(["sql", "SELECT 1", "--db", str(target)], env), 1, needle)
    assert _listing(tmp_path) == before


def test_corrupt_sqlite_in_schema_sql_and_ask(tmp_path: Path, env: dict[str, str], tiny_gguf_path: Path) -> None:
    db = _make_sqlite(tmp_path / "broken.db", rows=5000)
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page: garbage after the header
    db.write_bytes(bytes(data))
    for args in (["schema"], ["sql", "SELECT COUNT(*) FROM t"], ["ask", "How many rows?", "--model", str(tiny_gguf_path)]):
        line = _fails_cleanly(run_sqlcoder([*args, "--db", str(db)], env), 1, "is damaged")
        assert ".recover" in line
    assert db.read_bytes() == bytes(data)


def test_locked_sqlite_waits_only_as_long_as_the_timeout(tmp_path: Path, env: dict[str, str]) -> None:
    """Another program holds an exclusive lock: reading waits as long as the query time limit
    (--timeout, or the config's query_timeout for commands without the flag), then one line."""
    db = _make_sqlite(tmp_path / "busy.db")
    config = Path(env["SQLCODER_HOME"]) / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("query_timeout = 1\n", encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); c.execute(\"INSERT INTO t (name) VALUES ('w')\")\n"
         "print('locked', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for args in (["sql", "SELECT COUNT(*) FROM t", "--timeout", "1"], ["schema"], ["sql", "SELECT 1"]):
            started = time.monotonic()
            result = run_sqlcoder([*args, "--db", str(db)], env)
            elapsed = time.monotonic() - started
            _fails_cleanly(result, 1, "is locked by another program")
            assert elapsed < 10, (args, elapsed)  # 1 s of waiting (twice at most) plus the start
    finally:
        holder.kill()
        holder.wait()


def test_database_without_tables(tmp_path: Path, env: dict[str, str], tiny_gguf_path: Path) -> None:
    db = tmp_path / "blank.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE x (a)")
        conn.execute("DROP TABLE x")
    conn.close()
    started = time.monotonic()
    result = run_sqlcoder(["ask", "How many rows?", "--db", str(db), "--model", str(tiny_gguf_path)], env)
    _fails_cleanly(result, 1, "has no tables")
    assert time.monotonic() - started < 30  # refused before three attempts of the model
    assert run_sqlcoder(["sql", "SELECT 1 AS one", "--db", str(db), "--format", "csv"], env).stdout == "one\n1\n"


# --- WAL: nothing written beside the database, and readable in a read-only folder -------------------


def test_wal_database_gets_no_files_beside_it(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "walfolder"
    folder.mkdir()
    db = _make_sqlite(folder / "w.db", wal=True)
    assert is_wal(db) and _listing(folder) == ["w.db"]
    result = run_sqlcoder(["sql", "SELECT COUNT(*) AS n FROM t", "--db", str(db), "--format", "csv"], env)
    assert result.returncode == 0 and result.stdout == "n\n5\n", result.stderr
    assert run_sqlcoder(["schema", "--db", str(db)], env).returncode == 0
    assert _listing(folder) == ["w.db"]  # no w.db-wal, no w.db-shm


def test_wal_database_with_pending_changes_is_read_whole(tmp_path: Path) -> None:
    """A writer still has changes in -wal: they are read (SQLite uses the existing -shm)."""
    db = _make_sqlite(tmp_path / "live.db", wal=True)
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO t (name) VALUES ('pending')")
    writer.commit()
    try:
        assert (tmp_path / "live.db-wal").stat().st_size > 0
        with open_database(str(db)) as database:
            assert database.execute("SELECT COUNT(*) FROM t").rows == [(6,)]
    finally:
        writer.close()


def _unprivileged() -> dict[str, object]:
    """Popen arguments under which folder permissions hold even for root.

    Root ignores permissions through two capabilities; the child drops them from its bounding
    set before it starts, so a 0555 folder is read-only for it as for any user.
    """
    if os.geteuid() != 0:
        return {}
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return {"preexec_fn": drop}


def test_wal_database_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _make_sqlite(folder / "w.db", wal=True)
    env = isolated_env(tmp_path / "home")
    os.chmod(db, 0o444)
    os.chmod(folder, 0o555)
    try:
        result = subprocess.run(
            sqlcoder_argv("sql", "SELECT name FROM t ORDER BY id LIMIT 2", "--db", str(db), "--format", "csv"),
            env=env, capture_output=True, text=True, timeout=120, **_unprivileged(),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout == "name\nn0\nn1\n"
        assert _listing(folder) == ["w.db"]
    finally:
        os.chmod(folder, 0o755)


# --- server faults -----------------------------------------------------------------------------------


def test_postgres_server_down(env: dict[str, str]) -> None:
    with socket_port() as port:
        pass  # the port is free again: nothing listens there
    url = f"postgresql+psycopg://someone:s3cretPW@127.0.0.1:{port}/shop"
    started = time.monotonic()
    line = _fails_cleanly(run_sqlcoder(["sql", "SELECT 1", "--db", url], env), 1, "cannot connect", "127.0.0.1")
    assert "s3cretPW" not in line and time.monotonic() - started < 30


def test_postgres_refuses_the_password(env: dict[str, str], pg_password_role: tuple[str, str]) -> None:
    role, _password = pg_password_role
    assert PG_URL
    url = PG_URL.replace("postgres@", f"{role}:wrong-Pa55@", 1)
    line = _fails_cleanly(run_sqlcoder(["sql", "SELECT 1", "--db", url], env), 1, "password authentication failed")
    assert "wrong-Pa55" not in line


# --- awkward data ---------------------------------------------------------------------------------


def test_text_that_is_not_utf8(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "latin1.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (name TEXT)")
        conn.execute("INSERT INTO t VALUES (CAST(X'4d75656c6c657220fc6265722063616661e9' AS TEXT))")  # latin-1 bytes
    conn.close()
    result = run_sqlcoder(["sql", "SELECT name FROM t", "--db", str(db), "--format", "csv"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "name\nMueller \ufffdber cafa\ufffd\n"
    assert run_sqlcoder(["schema", "--db", str(db)], env).returncode == 0


def test_huge_blob(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "blobs.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, body BLOB)")
        conn.execute("INSERT INTO files (body) VALUES (zeroblob(20 * 1024 * 1024))")
    conn.close()
    result = run_sqlcoder(["sql", "SELECT id, length(body) AS size FROM files", "--db", str(db), "--format", "csv"], env)
    assert result.stdout == "id,size\n1,20971520\n"
    result = run_sqlcoder(["sql", "SELECT body FROM files", "--db", str(db), "--format", "json"], env, timeout=300)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert len(result.stdout) > 20 * 1024 * 1024  # the whole blob, base64, on a pipe
    assert run_sqlcoder(["schema", "--db", str(db)], env).returncode == 0


def test_ten_million_rows_fetch_only_the_limit(env: dict[str, str], tmp_path: Path) -> None:
    db = _make_sqlite(tmp_path / "small.db")
    many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT x FROM c"
    started = time.monotonic()
    result = run_sqlcoder(["sql", many, "--db", str(db), "--format", "csv", "--limit", "5"], env)
    assert result.returncode == 0 and result.stdout.splitlines() == ["x", "1", "2", "3", "4", "5"]
    assert "result has more" in result.stderr and time.monotonic() - started < 30


# --- helpers ---------------------------------------------------------------------------------------


class socket_port:  # noqa: N801 - used as a context manager
    """A TCP port on 127.0.0.1 that was free a moment ago."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def test_database_errors_never_carry_the_password_in_the_library() -> None:
    """Library users get the same redaction as the CLI (``DatabaseError`` text)."""
    with socket_port() as port:
        pass
    with pytest.raises(DatabaseError) as info:
        open_database(f"postgresql+psycopg://u:Zz9-secret@127.0.0.1:{port}/db?sslpassword=Zz9-other").execute("SELECT 1")
    assert "Zz9" not in str(info.value)
