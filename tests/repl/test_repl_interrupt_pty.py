"""Ctrl-C and SIGTERM in the REPL on a real pseudo-terminal (issue 12's interruption faults).

The tiny GGUF with a 30 000-token budget writes long enough to be interrupted; a recursive CTE is
a query long enough; a million csv rows are output long enough. After each Ctrl-C the prompt is
back, the next command works, and the terminal is in its normal mode again (echo, line editing).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import termios
import time
from pathlib import Path

import pytest
from testkit.terminal import plain

pexpect = pytest.importorskip("pexpect")

SLOW_COUNT = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500000000) SELECT count(*) FROM c"
MANY_ROWS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000000) SELECT x FROM c"



def _spawn(home: Path, model: Path, log: Path) -> pexpect.spawn:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text("max_new_tokens = 30000\nrow_limit = 1000000\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SQLCODER_DB", "SQLCODER_MODEL", "NO_COLOR")}
    env |= {"SQLCODER_HOME": str(home), "HF_HOME": str(home.parent / "hf"), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "PAGER": "cat"}
    child = pexpect.spawn(
        sys.executable, ["-m", "sqlcoder_cli", "repl", "--model", str(model), "--ctx", "32768", "--threads", "2"],
        # "replace": the line discipline echoes ^C wherever it lands, even between the bytes of one
        # character the child wrote in two pieces to a full pty buffer
        env=env, dimensions=(40, 160), encoding="utf-8", codec_errors="replace", timeout=120,
    )
    child.logfile_read = log.open("a", encoding="utf-8")
    return child


def _terminal_is_sane(child: pexpect.spawn) -> None:
    """Cooked mode: the line discipline echoes and edits lines again (prompt_toolkit's raw mode is off)."""
    lflag = termios.tcgetattr(child.child_fd)[3]
    assert lflag & termios.ECHO and lflag & termios.ICANON and lflag & termios.ISIG


def _works_after(child: pexpect.spawn) -> None:
    child.expect("sqlcoder>")
    child.send("SELECT 41 + 1 AS answer\r")
    child.expect(r"1 row")
    assert "42" in plain(child.before)
    child.expect("sqlcoder>")


def _interrupt_a_question(child: pexpect.spawn) -> None:
    """Ask, let the model write for a while, press Ctrl-C: the REPL says it cancelled."""
    child.send("How many customers are there?\r")
    time.sleep(3)
    child.send("\x03")
    child.expect("cancelled")


def test_ctrl_c_during_generation_query_and_output_keeps_the_repl_alive(tmp_path: Path, tiny_gguf_path: Path) -> None:
    log = tmp_path / "transcript.txt"
    child = _spawn(tmp_path / "home", tiny_gguf_path, log)
    try:
        child.expect("sqlcoder>")
        # generation: the tiny model would write 30 000 tokens
        _interrupt_a_question(child)
        _works_after(child)
        # a query that would run for minutes
        child.send(SLOW_COUNT + "\r")
        time.sleep(2)
        child.send("\x03")
        child.expect("cancelled")
        _works_after(child)
        # output: a million rows as csv on the terminal
        child.send("\\format csv\r")
        child.expect("sqlcoder>")
        child.send(MANY_ROWS + "\r")
        child.expect(r"\n5000\r?\n")
        child.send("\x03")
        child.expect(r"cancelled|sqlcoder>")
        child.send("\\format table\r")
        _works_after(child)
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    transcript = plain(log.read_text())
    assert child.exitstatus == 0, transcript[-2000:]
    assert "Traceback" not in transcript and "unexpected" not in transcript
    assert "\n999999\n" not in transcript  # the output really was cut short


def test_sigterm_at_the_prompt_while_generating_and_querying_exits_cleanly(tmp_path: Path, tiny_gguf_path: Path) -> None:
    for phase in ("prompt", "generation", "query"):
        log = tmp_path / f"transcript-{phase}.txt"
        child = _spawn(tmp_path / f"home-{phase}", tiny_gguf_path, log)
        try:
            child.expect("sqlcoder>")
            if phase == "generation":
                child.send("How many customers are there?\r")
                time.sleep(3)
            elif phase == "query":
                child.send(SLOW_COUNT + "\r")  # with the 30 s time limit: SQLite swallows the exception
                time.sleep(2)
            else:
                time.sleep(0.5)
            child.kill(signal.SIGTERM)
            child.expect("terminated")
            child.expect(pexpect.EOF)
            _terminal_is_sane(child)
        finally:
            child.close()
        transcript = plain(log.read_text())
        assert child.exitstatus == 143, transcript[-2000:]
        assert "Traceback" not in transcript and "error:" not in transcript, transcript[-2000:]


def test_ctrl_c_leaves_the_terminal_sane(tmp_path: Path, tiny_gguf_path: Path) -> None:
    log = tmp_path / "transcript.txt"
    child = _spawn(tmp_path / "home", tiny_gguf_path, log)
    try:
        child.expect("sqlcoder>")
        _interrupt_a_question(child)
        child.expect("sqlcoder>")
        child.send("\x04")
        child.expect(pexpect.EOF)
        _terminal_is_sane(child)
    finally:
        child.close()
    raw = log.read_text()
    # every hidden cursor was shown again
    assert raw.count("\x1b[?25l") <= raw.count("\x1b[?25h"), raw[-2000:]
    assert child.exitstatus == 0
    # the input history (questions typed at the prompt) is private, like the history log
    (typed,) = (tmp_path / "home" / "data" / "repl-history").iterdir()
    assert "How many customers are there?" in typed.read_text()
    assert stat.S_IMODE(typed.stat().st_mode) == 0o600
