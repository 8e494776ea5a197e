"""The history log records `sql` and `ask` runs (and failures), and `sqlcoder history` searches it."""

from __future__ import annotations

import json
from pathlib import Path

from clitest import invoke


def test_sql_runs_and_failures_are_logged_and_searchable(sqlcoder_home: Path) -> None:
    assert invoke("sql", "SELECT count(*) AS n FROM customers").exit_code == 0
    assert invoke("sql", "DELETE FROM customers").exit_code == 4
    assert invoke("sql", "SELECT nope FROM customers").exit_code == 1
    assert invoke("sql", "SELECT 42", "--no-log").exit_code == 0
    entries = [json.loads(line) for line in invoke("history", "--json").stdout.splitlines()]
    assert [e["outcome"] for e in entries] == ["DatabaseError", "UnsafeSQLError", "ok"]
    assert entries[2]["row_count"] == 1 and entries[2]["db"].startswith("demo")
    assert "no such column" in entries[0]["error"]
    found = [json.loads(line) for line in invoke("history", "--json", "--search", "delete").stdout.splitlines()]
    assert [e["sql"] for e in found] == ["DELETE FROM customers"]
    table = invoke("history")
    assert "SELECT count(*) AS n FROM customers" in table.stdout and "ok (1 rows)" in table.stdout


def test_log_history_false_turns_it_off(sqlcoder_home: Path) -> None:
    invoke("config", "set", "log_history", "false")
    invoke("sql", "SELECT 1")
    assert invoke("history", "--json").stdout == ""
    assert not (sqlcoder_home / "data" / "history.sqlite").exists()


def test_ask_failures_are_logged(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", str(tiny_gguf_path), "--max-tokens", "16", "--retries", "0")
    assert result.exit_code == 4
    entries = [json.loads(line) for line in invoke("history", "--json").stdout.splitlines()]
    assert len(entries) == 1 and entries[0]["question"] == "How many customers are there?"
    assert entries[0]["outcome"] in ("SQLGenerationError", "UnsafeSQLError", "SQLValidationError")
