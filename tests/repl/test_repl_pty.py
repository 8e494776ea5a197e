"""The real program in a pseudo-terminal with the 0.5B dev model (issue 6's REPL test).

Ask, edit the generated SQL in place, run it, see the table, edit it in $EDITOR, ask a follow-up,
Ctrl-C during generation, another question, Ctrl-D; then start again: the input history is there.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from testkit.terminal import plain

from sqlcoder_cli.data import demo_database_path

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow



def _count(sql: str) -> int:
    with sqlite3.connect(demo_database_path()) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _spawn(model: Path, env: dict[str, str], log: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sqlcoder_cli", "repl", "--model", str(model), "--threads", "2"],
        env=env,
        dimensions=(40, 160),
        encoding="utf-8",
        codec_errors="replace",  # a Ctrl-C echo may land between the bytes of one character
        timeout=240,
    )
    child.logfile_read = log.open("a", encoding="utf-8")
    return child



def test_repl_in_a_pseudo_terminal(dev_model: Path, tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\nprintf \"SELECT COUNT(*) AS germans FROM customers WHERE country = 'Germany';\\n\" > \"$1\"\n"
    )
    editor.chmod(0o755)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VISUAL", "SQLCODER_DB", "SQLCODER_MODEL")}
    env |= {
        "SQLCODER_HOME": str(home), "HF_HOME": str(tmp_path / "hf"), "NO_COLOR": "1", "PAGER": "cat",
        "EDITOR": str(editor), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    log = tmp_path / "transcript.txt"
    child = _spawn(dev_model, env, log)
    try:
        child.expect("sqlcoder>")
        # 1. ask; the SQL comes back in the editable run> prompt
        child.send("How many customers are there?\r")
        child.expect("run>")
        child.expect("customers")
        # 2. edit it in place: the cursor is at the end of the SQL; add a condition, run it
        child.send(" WHERE country = 'France'\r")
        france = _count("SELECT COUNT(*) FROM customers WHERE country = 'France'")
        child.expect(r"1 row")
        assert re.search(rf"\b{france}\b", plain(child.before)), plain(child.before)
        child.expect("sqlcoder>")
        # 3. \edit opens $EDITOR on the last SQL (the script rewrites it), then runs it
        child.send("\\edit\r")
        child.expect("germans")
        child.expect("1 row")
        germany = _count("SELECT COUNT(*) FROM customers WHERE country = 'Germany'")
        assert re.search(rf"\b{germany}\b", plain(child.before))
        child.expect("sqlcoder>")
        # 4. a follow-up of the previous answer
        child.send("only those from Berlin\r")
        child.expect("follow-up of")
        child.expect("run>")
        child.send("\r")
        child.expect(r"rows?\b|error:")
        child.expect("sqlcoder>")
        # 5. Ctrl-C while the model writes: cancelled, the session survives
        child.send("List every product with its category name and price\r")
        child.expect("List every product")
        import time

        time.sleep(1.0)
        child.send("\x03")
        child.expect("cancelled")
        child.expect("sqlcoder>")
        child.send("How many orders are there?\r")
        child.expect("run>")
        child.send("\r")
        child.expect("1 row")
        assert re.search(rf"\b{_count('SELECT COUNT(*) FROM orders')}\b", plain(child.before))
        child.expect("sqlcoder>")
        # 6. Ctrl-D leaves
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, plain(log.read_text())
    transcript = plain(log.read_text())
    assert "Traceback" not in transcript

    # the input history of the demo database is on disk ...
    files = list((home).rglob("repl-history/*.txt"))
    assert len(files) == 1 and files[0].name.startswith("demo-")
    history = files[0].read_text()
    assert "How many customers are there?" in history and "How many orders are there?" in history

    # ... and there next time: Up brings back the last question
    child = _spawn(dev_model, env, log)
    try:
        child.expect("sqlcoder>")
        child.send("\x1b[A")
        child.expect("How many orders are there\\?")
        child.send("\x03")  # clear the line
        child.expect("sqlcoder>")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
