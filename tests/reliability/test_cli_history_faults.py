"""Issue 12, defect 6: the history log is an extra; a broken one never turns a success into a failure.

Each broken log is real (garbage bytes, someone else's SQLite file, a directory, a read-only file,
a file that cannot grow), the program is a real process, and the answer must still come out with
exit 0 and one yellow line that names the file and the repair.
"""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cli.faults import cli_env, file_size_limit, lines, one_line, read_only_works, sqlcoder, without_file_powers


def _log(home: Path) -> Path:
    return home / "data" / "history.sqlite"


def _valid_log(home: Path) -> Path:
    """A real history log with one entry, made by the program itself."""
    done = sqlcoder("sql", "SELECT 1", home=home)
    assert done.returncode == 0, done.stderr
    return _log(home)


def _break(kind: str, home: Path) -> Path:
    log = _log(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    if kind == "corrupt":
        log.write_bytes(b"this is not a database\n" * 100)
    elif kind == "foreign tables":
        with sqlite3.connect(log) as conn:
            conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
            conn.execute("INSERT INTO customers VALUES (1, 'Ada')")
    elif kind == "foreign history table":
        with sqlite3.connect(log) as conn:
            conn.execute("CREATE TABLE history (line TEXT, at REAL)")
            conn.execute("INSERT INTO history VALUES ('ls -la', 0)")
    elif kind == "directory":
        log.mkdir()
        (log / "keep.txt").write_text("x")
    elif kind in ("read-only", "full disk"):
        _valid_log(home)
        if kind == "read-only":
            log.chmod(0o444)
    return log


def _snapshot(path: Path) -> object:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_bytes()


BROKEN = ["corrupt", "foreign tables", "foreign history table", "directory", "read-only", "full disk"]


def _preexec(kind: str, tmp_path: Path) -> object:
    if kind == "read-only":
        if not read_only_works(tmp_path):
            pytest.skip("cannot make a file read-only for this user here")
        return without_file_powers
    if kind == "full disk":
        return file_size_limit(1024)
    return None


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_log_warns_once_and_keeps_the_answer_and_exit_code(kind: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = _break(kind, home)
    before = _snapshot(log)
    done = sqlcoder("sql", "SELECT 42 AS answer", "--format", "csv", home=home, preexec_fn=_preexec(kind, tmp_path))  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    assert done.stdout == "answer\n42\n"
    warning = one_line(done.stderr, prefix="warning: ")
    assert str(log) in warning and "not logged" in warning
    if kind == "full disk":
        assert "free some disk space" in warning
    else:
        assert "sqlcoder history --repair" in warning
    if kind != "full disk":
        assert _snapshot(log) == before  # someone else's file is never written to


@pytest.mark.parametrize("kind", ["corrupt", "foreign tables", "directory"])
def test_history_says_how_to_repair_and_repair_starts_a_new_log(kind: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = _break(kind, home)
    before = _snapshot(log)
    shown = sqlcoder("history", home=home)
    assert shown.returncode == 2
    assert "sqlcoder history --repair" in one_line(shown.stderr) and str(log) in shown.stderr

    repaired = sqlcoder("history", "--repair", home=home)
    assert repaired.returncode == 0, repaired.stderr
    assert "Traceback" not in repaired.stderr
    moved = [p for p in log.parent.iterdir() if p.name.startswith("history.sqlite.broken-")]
    assert len(moved) == 1 and _snapshot(moved[0]) == before  # kept, for the user to look at
    assert str(moved[0]) in repaired.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600

    assert sqlcoder("sql", "SELECT 7 AS seven", home=home).returncode == 0
    listed = sqlcoder("history", "--json", home=home)
    assert listed.returncode == 0 and '"SELECT 7 AS seven"' in listed.stdout and listed.stderr == ""
    again = sqlcoder("history", "--repair", home=home)
    assert again.returncode == 0 and "nothing to repair" in again.stderr
    assert len([p for p in log.parent.iterdir() if p.name.startswith("history.sqlite.broken-")]) == 1


def test_repair_moves_a_read_only_log_aside(tmp_path: Path) -> None:
    if not read_only_works(tmp_path):
        pytest.skip("cannot make a file read-only for this user here")
    home = tmp_path / "home"
    log = _break("read-only", home)
    repaired = sqlcoder("history", "--repair", home=home, preexec_fn=without_file_powers)
    assert repaired.returncode == 0, repaired.stderr
    assert "moved the broken history log" in repaired.stderr
    done = sqlcoder("sql", "SELECT 1", home=home, preexec_fn=without_file_powers)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_repl_warns_once_and_goes_on(tmp_path: Path, tiny_gguf_path: Path) -> None:
    home = tmp_path / "home"
    log = _break("corrupt", home)
    script = "SELECT 1 AS a\nSELECT 2 AS b\nSELECT 3 AS c\n"
    done = sqlcoder("repl", "--model", str(tiny_gguf_path), "--format", "csv", home=home, stdin=script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "a\n1\nb\n2\nc\n3\n"
    warnings = [line for line in lines(done.stderr) if line.startswith("warning:")]
    assert len(warnings) == 1 and str(log) in warnings[0], done.stderr
    assert "Traceback" not in done.stderr and "error:" not in done.stderr


def test_the_log_and_its_folder_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = _valid_log(home)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_two_processes_writing_at_once_lose_no_line(tmp_path: Path) -> None:
    """Two REPLs log 60 queries each while another writer holds the lock for 12 s (far longer
    than SQLite's usual 5 s wait): every line arrives, no error, no warning."""
    home = tmp_path / "home"
    log = _valid_log(home)
    holder = sqlite3.connect(log, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(12.0, lambda: holder.execute("COMMIT"))
    env = cli_env(home)
    scripts = ["".join(f"SELECT {i} AS p{k}\n" for i in range(60)) for k in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sqlcoder_cli", "repl", "--format", "csv"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for _ in scripts
    ]
    release.start()
    try:
        outputs = [p.communicate(script.encode(), timeout=240) for p, script in zip(procs, scripts)]
    finally:
        release.join()
        holder.close()
    for proc, (_out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()
        assert b"warning" not in err and b"error" not in err, err.decode()
    with sqlite3.connect(log) as conn:
        counts = dict(conn.execute("SELECT substr(sql, -2), count(*) FROM history WHERE source = 'repl' GROUP BY 1"))
    assert counts == {"p0": 60, "p1": 60}


def test_history_api_raises_one_error_naming_the_repair(tmp_path: Path) -> None:
    """Library users get a HistoryError (exit code 2), never a raw sqlite3 error."""
    from sqlcoder_cli.errors import ExitCode, HistoryError
    from sqlcoder_cli.history import History

    home = tmp_path / "home"
    log = _break("foreign tables", home)
    with pytest.raises(HistoryError, match="not a sqlcoder history log") as caught:
        History(log).record(source="sql", outcome="ok", sql="SELECT 1")
    assert caught.value.exit_code == ExitCode.USAGE and "--repair" in str(caught.value)
    seen: list[HistoryError] = []
    History(log, on_error=seen.append).record(source="sql", outcome="ok", sql="SELECT 1")
    assert len(seen) == 1
    with pytest.raises(HistoryError):
        History(log).search()


def test_a_busy_log_waits_instead_of_failing(tmp_path: Path) -> None:
    from sqlcoder_cli.history import History

    log = _valid_log(tmp_path / "home")
    holder = sqlite3.connect(log, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(6.0, lambda: holder.execute("COMMIT")).start()
    started = time.monotonic()
    History(log).record(source="sql", outcome="ok", sql="SELECT 'waited'")
    assert time.monotonic() - started >= 5.5
    holder.close()
    assert History(log).search("waited")[0].sql == "SELECT 'waited'"
