"""Issue 12, defects 9 (CLI part) and 11: usage errors are exit 2 in one line, found before any work.

Real processes throughout: the bytes on stdin, the config file on disk, the model path. "Before
any model loads" is shown with a model path that does not exist: had the model been looked at
first, the answer would be exit 3 "file not found", not the usage error.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cli.faults import cli_env, lines, one_line, read_only_works, sqlcoder, without_file_powers

NO_MODEL = "/nonexistent/model.gguf"


# --- defect 11: empty input --------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv,stdin,needle",
    [
        (["ask", "", "--model", NO_MODEL], None, "the question is empty"),
        (["ask", "   \t ", "--model", NO_MODEL], None, "the question is empty"),
        (["ask", "--model", NO_MODEL], "\n  \n\n", "no question on stdin"),
        (["ask", "-", "--model", NO_MODEL], "", "no question on stdin"),
        (["ask", "How many customers are there?", "--model", ""], None, "--model is empty"),
        (["ask", "How many customers are there?", "--model", "  "], None, "--model is empty"),
        (["ask", "How many customers are there?", "--db", "", "--model", NO_MODEL], None, "--db demo"),
        (["sql", "SELECT 1", "--db", ""], None, "--db demo"),
        (["schema", "--db", " "], None, "--db demo"),
        (["repl", "--db", "", "--model", NO_MODEL], "", "--db demo"),
        (["sql", ""], None, "the SQL is empty"),
        (["sql", " ;; "], None, "the SQL is empty"),
        (["sql"], "  \n", "the SQL is empty"),
    ],
)
def test_empty_input_is_a_usage_error_before_any_model_loads(tmp_path: Path, argv: list[str], stdin: str | None, needle: str) -> None:
    done = sqlcoder(*argv, home=tmp_path / "home", stdin=stdin)
    assert done.returncode == 2, done.stderr
    assert needle in one_line(done.stderr)
    assert done.stdout == ""


# --- defect 9: invalid UTF-8, huge numbers ------------------------------------------------------
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
@pytest.mark.parametrize("argv", [["sql"], ["ask", "--model", NO_MODEL], ["ask", "-", "--model", NO_MODEL]])
def test_stdin_that_is_not_utf8_is_exit_2(tmp_path: Path, argv: list[str], locale: str) -> None:
    env = cli_env(tmp_path / "home", LC_ALL=locale, LANG=locale)
    env.pop("PYTHONUTF8", None)
    done = sqlcoder(*argv, home=tmp_path / "home", env=env, stdin=b"SELECT '\xff\xfe caf\xe9'\n")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "stdin is not valid UTF-8" in line and "0xff" in line


def test_an_argument_that_is_not_utf8_is_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    for argv in ([b"sql", b"SELECT '\xff'"], [b"ask", b"caf\xe9?", b"--model", NO_MODEL.encode()]):
        done = subprocess.run(
            [sys.executable.encode(), b"-m", b"sqlcoder_cli", *argv], capture_output=True, env=cli_env(tmp_path / "home"), timeout=60
        )
        err = done.stderr.decode("utf-8", "replace")
        assert done.returncode == 2, err
        assert "not valid UTF-8" in one_line(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["sql", "SELECT 1", "--limit", "99999999999999999999"],
        ["sql", "SELECT 1", "--limit", "1000001"],
        ["ask", "How many?", "--model", NO_MODEL, "--limit", "99999999999999999999"],
        ["ask", "How many?", "--model", NO_MODEL, "--threads", "99999999999999999999"],
        ["ask", "How many?", "--model", NO_MODEL, "--max-tokens", "99999999999999999999"],
        ["sql", "SELECT 1", "--timeout", "1e300"],
        ["history", "--limit", "99999999999999999999"],
    ],
)
def test_numbers_out_of_range_are_exit_2_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    done = sqlcoder(*argv, home=tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert "--help" in one_line(done.stderr)


# --- defect 9: a config file that is broken, and how to repair it ---------------------------------
def _config(home: Path) -> Path:
    return home / "config" / "config.toml"


BROKEN_CONFIGS = {
    "toml syntax": "row_limit = [\n",
    "wrong type": 'row_limit = "many"\ndefault_db = "shop.sqlite"\n',
    "unknown key": 'colour = "red"\ndefault_db = "shop.sqlite"\n',
    "huge number": "row_limit = 99999999999999999999\n",
    "not utf-8": b"default_db = '\xff'\n",
    "directory": None,
}


def _break_config(home: Path, kind: str) -> Path:
    file = _config(home)
    file.parent.mkdir(parents=True, exist_ok=True)
    content = BROKEN_CONFIGS[kind]
    if content is None:
        file.mkdir()
    elif isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content)
    return file


@pytest.mark.parametrize("kind", list(BROKEN_CONFIGS))
def test_a_broken_config_is_exit_2_in_one_line_for_ordinary_commands(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    file = _break_config(home, kind)
    done = sqlcoder("sql", "SELECT 1", home=home)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert str(file) in line and "config set" in line or "known keys" in line


@pytest.mark.parametrize("kind", list(BROKEN_CONFIGS))
def test_config_path_set_and_doctor_work_with_a_broken_config(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    file = _break_config(home, kind)

    path = sqlcoder("config", "path", home=home)
    assert path.returncode == 0 and path.stdout == f"{file}\n" and path.stderr == ""

    doctor = sqlcoder("doctor", home=home, timeout=180)
    assert "Traceback" not in doctor.stderr and "unexpected" not in doctor.stdout + doctor.stderr
    problem = [line for line in doctor.stdout.splitlines() if line.startswith("!! config file:")]
    assert len(problem) == 1, doctor.stdout
    after = doctor.stdout.splitlines()[doctor.stdout.splitlines().index(problem[0]) + 1]
    assert after.strip().startswith("fix:") and "config set" in after
    assert doctor.returncode == 1  # doctor's status for "a problem was found"

    fixed = sqlcoder("config", "set", "threads", "2", home=home)
    assert fixed.returncode == 0, fixed.stderr
    warning = [line for line in lines(fixed.stderr) if line.startswith("warning:")]
    assert len(warning) == 1 and "moved it to config.toml.broken-" in warning[0] and "Traceback" not in fixed.stderr
    assert file.is_file() and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "threads = 2" in file.read_text()
    if kind in ("wrong type", "unknown key"):
        assert 'default_db = "shop.sqlite"' in file.read_text()  # the valid settings were kept
    moved = [p for p in file.parent.iterdir() if p.name.startswith("config.toml.broken-")]
    assert len(moved) == 1
    assert sqlcoder("sql", "SELECT 1", home=home).returncode == 0 or kind in ("wrong type", "unknown key")
    shown = sqlcoder("config", "show", home=home)
    assert shown.returncode == 0 and "threads = 2" in shown.stdout


def test_config_set_with_a_read_only_home_is_exit_2_in_one_line(tmp_path: Path) -> None:
    if not read_only_works(tmp_path):
        pytest.skip("cannot make a folder read-only for this user here")
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    try:
        done = sqlcoder("config", "set", "threads", "2", home=home, preexec_fn=without_file_powers)
    finally:
        home.chmod(0o755)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "cannot write" in line and str(_config(home)) in line
    assert not _config(home).exists()


def test_config_set_bad_value_leaves_a_broken_file_where_it_is(tmp_path: Path) -> None:
    home = tmp_path / "home"
    file = _break_config(home, "toml syntax")
    done = sqlcoder("config", "set", "row_limit", "lots", home=home)
    assert done.returncode == 2 and "whole number" in one_line(done.stderr)
    assert file.read_text() == "row_limit = [\n"


def test_the_config_file_is_written_atomically_and_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert sqlcoder("config", "set", "row_limit", "50", home=home).returncode == 0
    assert sqlcoder("config", "set", "threads", "3", home=home).returncode == 0
    file = _config(home)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert sorted(p.name for p in file.parent.iterdir()) == ["config.toml"]  # no temporary left behind
    assert file.read_text() == "row_limit = 50\nthreads = 3\n"
    too_big = sqlcoder("config", "set", "row_limit", "99999999999999999999", home=home)
    assert too_big.returncode == 2 and "between 1 and 1000000" in one_line(too_big.stderr)
