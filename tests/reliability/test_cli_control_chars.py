"""Issue 12, defect 10: escape sequences in data are shown, never obeyed, wherever a person looks.

``SELECT char(27)||'[2J'||'x'`` used to clear the screen. On a terminal every control character
(C0 but newline/tab, DEL, C1, bidi overrides) is now written as ``\\x1b`` / ``\\u202e``; into a pipe
csv/tsv/json/jsonl/markdown stay byte-exact, because there they are data for another program.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from cli.clitest import invoke

from cli.faults import cli_env, one_line, sqlcoder

EVIL = "SELECT char(27)||'[2J'||'x' AS y, 'a'||char(127)||char(155)||'b' AS z, 'txt'||char(8238)||'exe' AS w"
RAW = ("\x1b[2Jx", "a\x7f\x9bb", "txt\u202eexe")
SHOWN = ("\\x1b[2Jx", "a\\x7f\\x9bb", "txt\\u202eexe")


def _no_raw_controls(text: str) -> None:
    for raw in ("\x1b[2J", "\x7f", "\x9b", "\u202e"):
        assert raw not in text, repr(text)


def test_a_table_in_a_pipe_shows_escapes(tmp_path: Path) -> None:
    done = sqlcoder("sql", EVIL, home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    for shown in SHOWN:
        assert shown in done.stdout


def test_a_table_on_a_real_terminal_shows_escapes(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = cli_env(tmp_path / "home", TERM="xterm")
    env.pop("NO_COLOR")
    child = pexpect.spawn(sys.executable, ["-m", "sqlcoder_cli", "sql", EVIL + ", 1 AS \"h\x1b[31mead\""], env=env,
                          encoding="utf-8", timeout=60, dimensions=(40, 200))
    child.expect(pexpect.EOF)
    child.close()
    output = child.before
    assert child.exitstatus == 0, output
    _no_raw_controls(output)
    assert "\x1b[31mead" not in output and "h\\x1b[31mead" in output
    for shown in SHOWN:
        assert shown in output


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "markdown"])
def test_data_in_a_pipe_stays_byte_exact(tmp_path: Path, fmt: str) -> None:
    done = sqlcoder("sql", EVIL, "--format", fmt, home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    if fmt in ("json", "jsonl"):
        payload = json.loads(done.stdout)
        assert payload["rows"] == [list(RAW)]
        assert "\x7f" in done.stdout and "\u202e" in done.stdout  # JSON keeps these as they are
    else:
        for raw in RAW:
            assert raw in done.stdout


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "markdown", "table"])
def test_data_on_a_terminal_shows_escapes(sqlcoder_home: Path, fmt: str) -> None:
    result = invoke("sql", EVIL, "--format", fmt, stdout_isatty=True, stderr_isatty=True, environ={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    _no_raw_controls(result.stdout)
    assert "\\x1b[2Jx" in result.stdout or "\\\\u001b[2Jx" in result.stdout or "\\u001b[2Jx" in result.stdout
    assert "\\u202e" in result.stdout


def test_error_and_warning_lines_show_escapes(tmp_path: Path) -> None:
    home = tmp_path / "home\x1b]0;pwned\x07"
    (home / "data").mkdir(parents=True)
    (home / "data" / "history.sqlite").write_bytes(b"not a database")
    missing = tmp_path / "shop\x1b[2J.sqlite"
    failed = sqlcoder("sql", "SELECT 1", "--db", str(missing), home=home)
    assert failed.returncode == 1
    line = one_line(failed.stderr)
    assert "\x1b" not in failed.stderr and "shop\\x1b[2J.sqlite" in line

    warned = sqlcoder("sql", "SELECT 1", home=home)
    assert warned.returncode == 0
    warning = [line for line in warned.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "home\\x1b]0;pwned\\x07" in warning[0]
    assert "\x1b" not in warned.stderr and "\x07" not in warned.stderr


def test_history_and_schema_tables_show_escapes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = tmp_path / "evil.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute('CREATE TABLE "t\x1b[2J" (name TEXT)')
        conn.execute("INSERT INTO \"t\x1b[2J\" VALUES ('\x1b]0;title\x07' || 'x')")
    assert sqlcoder("sql", "SELECT '\x1b[2J' AS q", home=home).returncode == 0
    table = sqlcoder("history", home=home)
    assert table.returncode == 0 and "\x1b" not in table.stdout and "SELECT '\\x1b[2J' AS q" in table.stdout
    raw = sqlcoder("history", "--json", home=home)
    assert json.loads(raw.stdout.splitlines()[0])["sql"] == "SELECT '\x1b[2J' AS q"  # data in a pipe: exact

    tree = sqlcoder("schema", "--db", str(db), "--format", "tree", home=home)
    assert tree.returncode == 0, tree.stderr
    assert "\x1b" not in tree.stdout and "\x07" not in tree.stdout and "t\\x1b[2J" in tree.stdout


def test_sql_shown_on_a_terminal_shows_escapes() -> None:
    """The SQL echoed above an answer (and streamed while the model writes it) on a colour terminal."""
    from sqlcoder_cli.frontend.environment import Environment
    from sqlcoder_cli.frontend.render import print_sql
    from sqlcoder_cli.frontend.state import AppState

    for colour in ({"FORCE_COLOR": "1"}, {"NO_COLOR": "1"}):
        out = io.StringIO()
        env = Environment(stdin=io.StringIO(), stdout=out, stderr=io.StringIO(), stdin_isatty=True, stdout_isatty=True,
                          stderr_isatty=True, environ={k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | colour)
        print_sql(AppState(env=env), "SELECT '\x1b[2J\u202e' AS y")
        _no_raw_controls(out.getvalue())
        assert "\\x1b[2J" in out.getvalue().replace("\x1b[", "") or "\\x1b" in out.getvalue()


def test_repl_output_shows_escapes_but_pipes_data_exactly(sqlcoder_home: Path) -> None:
    from repl.repltest import make_repl

    repl = make_repl(sqlcoder_home)
    out, err = repl.send(EVIL)
    assert "\x1b" not in out and "\\x1b[2Jx" in out and "\\u202e" in out
    repl.send("\\format csv")
    out, err = repl.send(EVIL)
    assert "\x1b[2Jx" in out  # csv from a REPL whose stdout is a pipe is data
