"""Issue 12, defect 7 and the interruption faults: closed pipes, Ctrl-C and SIGTERM, in real processes.

- A reader that goes away (``| head -2``) ends the program quietly, as it ends ``cat``: exit 0,
  nothing on stderr (not even Python's "Exception ignored" at shutdown), and the query stops.
- Ctrl-C (SIGINT sent to the process) during a query, streamed output or generation: exit 130
  and one line. SIGTERM: exit 143 and one line, never a traceback.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cli.faults import cli_env, one_line, spawn

#: a query that yields rows at once and would take many minutes to finish
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500000000) SELECT x FROM c"
#: the same, aggregated: no row until the end (a "slow query")
SLOW_COUNT = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<500000000) SELECT count(*) FROM c"


def _into_head(argv: list[str], env: dict[str, str], n: int = 2, stdin: bytes | None = None) -> tuple[int, bytes, bytes, float]:
    """``sqlcoder ARGV | head -N`` with real pipes; (sqlcoder's status, head's output, sqlcoder's stderr, seconds)."""
    started = time.monotonic()
    producer = subprocess.Popen(
        [sys.executable, "-m", "sqlcoder_cli", *argv],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    head = subprocess.Popen(["head", f"-{n}"], stdin=producer.stdout, stdout=subprocess.PIPE)
    assert producer.stdout is not None
    producer.stdout.close()  # only head reads it now: when head exits, the pipe is closed
    if stdin is not None:
        assert producer.stdin is not None
        try:
            producer.stdin.write(stdin)
            producer.stdin.close()
        except BrokenPipeError:
            pass
    shown, _ = head.communicate(timeout=120)
    assert producer.stderr is not None
    err = producer.stderr.read()
    status = producer.wait(timeout=120)
    return status, shown, err, time.monotonic() - started


@pytest.mark.parametrize("fmt,first", [("csv", b"x\n1\n"), ("tsv", b"x\n1\n"), ("jsonl", b'{"x":1}\n{"x":2}\n')])
def test_a_closed_pipe_ends_sql_all_quietly_and_stops_the_query(tmp_path: Path, fmt: str, first: bytes) -> None:
    status, shown, err, seconds = _into_head(["sql", ENDLESS, "--all", "--format", fmt, "--timeout", "0"], cli_env(tmp_path / "home"))
    assert shown == first
    assert err == b"", err.decode()  # no traceback, no "Exception ignored", no "unexpected"
    assert status == 0
    assert seconds < 60  # the 500-million-row query stopped with the pipe (it would run for many minutes)


def test_a_closed_pipe_ends_several_questions_quietly(tmp_path: Path, tiny_gguf_path: Path) -> None:
    """jsonl answers to many questions from stdin (each an error line here: the tiny model
    writes gibberish), read by ``head -1``: the rest are never asked, exit 0, stderr empty."""
    questions = "".join(f"How many customers are there in city {i}?\n" for i in range(200)).encode()
    argv = ["ask", "--model", str(tiny_gguf_path), "--max-tokens", "16", "--retries", "0", "--no-log"]
    status, shown, err, seconds = _into_head(argv, cli_env(tmp_path / "home"), n=1, stdin=questions)
    assert json.loads(shown)["question"] == "How many customers are there in city 0?"
    assert err == b"", err.decode()
    assert status == 0
    assert seconds < 90


_ASK_ALL = """
import sys
from sqlcoder_cli.engine import llama
from sqlcoder_cli.engine.base import Generation

def generate(self, prompt, **kwargs):
    # the tiny test model writes gibberish; everything else (load, database, pipe) is real
    return Generation(text=%r, prompt_tokens=1, cached_tokens=0, generated_tokens=1, prompt_s=0.0,
                      generate_s=0.0, finish_reason="stop")

llama.LlamaEngine.generate = generate
from sqlcoder_cli.cli.app import main
sys.argv = ["sqlcoder"] + sys.argv[1:]
main()
"""


def test_a_closed_pipe_ends_ask_all_quietly(tmp_path: Path, tiny_gguf_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    started = time.monotonic()
    producer = subprocess.Popen(
        [sys.executable, "-c", _ASK_ALL % ENDLESS, "ask", "How many numbers?", "--model", str(tiny_gguf_path),
         "--all", "--format", "csv", "--timeout", "600", "--no-validate"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    head = subprocess.Popen(["head", "-2"], stdin=producer.stdout, stdout=subprocess.PIPE)
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.close()
    shown, _ = head.communicate(timeout=120)
    err = producer.stderr.read()
    assert producer.wait(timeout=120) == 0, err.decode()
    assert shown == b"x\n1\n" and err == b"", err.decode()
    assert time.monotonic() - started < 60


class _Drained:
    """Reads a process's stdout in a thread (so it never blocks on a full pipe)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.size = 0
        self._proc = proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read(65536):
            self.size += len(chunk)

    def wait_for_output(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self.size == 0:
            assert time.monotonic() < end, "no output"
            time.sleep(0.05)


def _signal_and_finish(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    status = proc.wait(timeout=60)
    return status, err, time.monotonic() - started


@pytest.mark.parametrize(
    "sig,status,line",
    # Ctrl-C while a row is fetched cancels the query, while one is written interrupts the writing
    [(signal.SIGINT, 130, r"^(interrupted|the query was cancelled \(Ctrl-C\).*)$"), (signal.SIGTERM, 143, r"^terminated$")],
)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_signal_while_streaming_all_rows(tmp_path: Path, sig: int, status: int, line: str, fmt: str) -> None:
    proc = spawn(["sql", ENDLESS, "--all", "--format", fmt, "--timeout", "0"], cli_env(tmp_path / "home"))
    drained = _Drained(proc)
    drained.wait_for_output()
    got, err, seconds = _signal_and_finish(proc, sig)
    assert got == status, err
    assert re.match(line, one_line(err, prefix="")), err
    assert seconds < 20


@pytest.mark.parametrize("timeout", ["30", "0"])
def test_ctrl_c_during_a_slow_query(tmp_path: Path, timeout: str) -> None:
    proc = spawn(["sql", SLOW_COUNT, "--timeout", timeout], cli_env(tmp_path / "home"))
    _Drained(proc)
    time.sleep(2.5)
    got, err, seconds = _signal_and_finish(proc, signal.SIGINT)
    assert got == 130, err
    assert "cancelled" in one_line(err, prefix="")
    assert seconds < 20


def test_sigterm_during_a_slow_query(tmp_path: Path) -> None:
    proc = spawn(["sql", SLOW_COUNT], cli_env(tmp_path / "home"))
    _Drained(proc)
    time.sleep(2.5)
    got, err, seconds = _signal_and_finish(proc, signal.SIGTERM)
    assert got == 143, err
    assert one_line(err, prefix="") == "terminated"
    assert seconds < 20


@pytest.mark.parametrize("sig,status,line", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_during_generation(tmp_path: Path, tiny_gguf_path: Path, sig: int, status: int, line: str) -> None:
    """A long generation (the tiny model, 30 000 tokens): the signal ends it at once, in one line."""
    proc = spawn(
        ["ask", "How many customers are there?", "--model", str(tiny_gguf_path), "--ctx", "32768",
         "--max-tokens", "30000", "--retries", "0"],
        cli_env(tmp_path / "home"),
    )
    drained = _Drained(proc)
    time.sleep(4)
    assert proc.poll() is None, "the generation should still be running"
    got, err, seconds = _signal_and_finish(proc, sig)
    assert got == status, err
    assert one_line(err, prefix="") == line
    assert drained.size == 0
    assert seconds < 20


def test_sigterm_during_a_slow_query_without_a_time_limit(tmp_path: Path) -> None:
    """With no time limit SQLite runs the query in C, where Python's SIGTERM handler cannot run:
    the cancel watcher (db/execute.py) interrupts the query on SIGTERM as on SIGINT."""
    proc = spawn(["sql", SLOW_COUNT, "--timeout", "0"], cli_env(tmp_path / "home"))
    _Drained(proc)
    time.sleep(2.5)
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("SIGTERM did not stop the query") from None
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert status == 143 and one_line(err, prefix="") == "terminated"
