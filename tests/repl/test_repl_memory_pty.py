"""``\\remember`` in the real program on a pseudo-terminal (issue 14, item 6), without a model.

``sqlcoder repl --db demo`` answers through the scripted OpenAI-compatible server of the test kit
(in this process, on 127.0.0.1). A question's SQL comes back in the editable ``run>`` prompt;
Enter runs it unchanged, which must remember nothing; ``\\remember`` then stores the question and
its SQL, and ``sqlcoder memory list`` (same SQLCODER_HOME, another process) shows it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from testkit.cli_proc import run_sqlcoder
from testkit.fake_openai import FakeOpenAI
from testkit.terminal import plain

from sqlcoder_cli.data import demo_database_path

pexpect = pytest.importorskip("pexpect")

QUESTION = "How many customers are there?"
SQL = "SELECT COUNT(*) AS n FROM customers"



def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VISUAL", "EDITOR", "SQLCODER_DB", "SQLCODER_MODEL")}
    env |= {
        "SQLCODER_HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf"), "NO_COLOR": "1", "PAGER": "cat",
        "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    return env


def _memory_list(env: dict[str, str]) -> list[dict[str, str]]:
    result = run_sqlcoder(["memory", "list", "--db", "demo", "--json"], env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else []


def test_enter_at_run_remembers_nothing_and_remember_stores_it(tmp_path: Path) -> None:
    with sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True) as conn:
        count = conn.execute(SQL).fetchone()[0]
    env = _env(tmp_path)
    log = tmp_path / "transcript.txt"
    with FakeOpenAI(models=("team-chat",), chat_pieces=("```sql\n", SQL, "\n```")) as server:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "sqlcoder_cli", "repl", "--db", "demo", "--backend", "openai", "--base-url", server.base_url,
             "--api-model", "team-chat"],
            env=env, dimensions=(40, 200), encoding="utf-8", codec_errors="replace", timeout=60,
        )
        child.logfile_read = log.open("a", encoding="utf-8")
        try:
            child.expect("sqlcoder>")
            child.send(QUESTION + "\r")
            child.expect("run>")
            child.expect("customers")  # the model's SQL, ready to edit
            child.send("\r")  # Enter: run it as written
            child.expect(r"1 row")
            ran = plain(child.before)
            child.expect("sqlcoder>")
            after = plain(child.before)
            assert re.search(rf"\b{count}\b", ran), ran
            assert "remembered" not in ran + after
            assert _memory_list(env) == []  # nothing stored by running it
            child.send("\\remember\r")
            child.expect("remembered this question and its SQL as an example for later questions")
            child.expect("sqlcoder>")
            child.send("\\quit\r")
            child.expect(pexpect.EOF)
        finally:
            child.close()
    transcript = plain(log.read_text())
    assert child.exitstatus == 0, transcript
    assert "Traceback" not in transcript and "error:" not in transcript
    assert transcript.count("remembered") == 1
    assert [(item["question"], item["sql"]) for item in _memory_list(env)] == [(QUESTION, SQL)]
    assert len(server.requests_to("/v1/chat/completions")) == 1
