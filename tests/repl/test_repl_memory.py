"""What the REPL remembers as few-shot examples (issue 14, item 6), in-process and fast.

Only what the user confirmed is stored: ``\\remember`` after an answer, or SQL the user edited
(at the review step or with ``\\edit``) that then ran. Running the model's SQL unchanged stores
nothing. A follow-up is stored together with the question it followed, and with memory off
``\\remember`` says so. The model is the scripted engine of the test kit (its answers queued per
test); the database is the bundled demo; the memory store is read back both through the
``Memory`` class and through ``sqlcoder memory list --json``, which must agree on the database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cli.clitest import invoke
from repltest import InProcessRepl, make_repl
from testkit.fake_openai import FakeOpenAI
from testkit.scripted_engine import ScriptedEngine

from sqlcoder_cli.data import demo_database_path
from sqlcoder_cli.repl.app import ScriptUI

ORDERS = "SELECT COUNT(*) AS n FROM orders"
ORDERS_2024 = "SELECT COUNT(*) AS n FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'"
CUSTOMERS = "SELECT COUNT(*) AS n FROM customers"
EDITED = "SELECT COUNT(*) AS n FROM customers WHERE country = 'Germany'"
REMEMBERED = "remembered this question and its SQL as an example for later questions"


class EditingUI(ScriptUI):
    """A UI whose review step returns other SQL, as a user editing at the run> prompt would."""

    def __init__(self, edited: str) -> None:
        super().__init__(iter(()))  # type: ignore[arg-type]
        self.edited = edited
        self.shown: list[str] = []

    def review(self, sql: str) -> str:
        self.shown.append(sql)
        return self.edited


def repl_with(home: Path, *answers: str, **session_kwargs: object) -> tuple[InProcessRepl, ScriptedEngine]:
    engine = ScriptedEngine(list(answers))
    shell = make_repl(home, db="demo", engine=engine, **session_kwargs)
    shell.repl.start()
    return shell, engine


def stored(shell: InProcessRepl) -> list[tuple[str, str]]:
    session = shell.repl.session
    return [(item.question, item.sql) for item in session.memory.list(session.db_key)]


def listed(home: Path) -> list[tuple[str, str]]:
    """``sqlcoder memory list --db demo --json`` with the same SQLCODER_HOME."""
    result = invoke("memory", "list", "--db", "demo", "--json", environ={"SQLCODER_HOME": str(home)})
    assert result.exit_code == 0, result.stderr
    return [(item["question"], item["sql"]) for item in json.loads(result.stdout)] if result.stdout.strip() else []


def demo_count(sql: str) -> int:
    with sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_running_the_model_sql_unchanged_remembers_nothing(sqlcoder_home: Path) -> None:
    shell, engine = repl_with(sqlcoder_home, ORDERS)
    out, err = shell.send("How many orders are there?")
    assert str(demo_count(ORDERS)) in out and len(engine.calls) == 1 and shell.repl.last_sql == ORDERS
    assert "remembered" not in err and "memory" not in err
    assert stored(shell) == [] and listed(sqlcoder_home) == []
    shell.repl.close()


def test_remember_after_an_answer_stores_it(sqlcoder_home: Path) -> None:
    shell, _ = repl_with(sqlcoder_home, ORDERS)
    shell.send("How many orders are there?")
    out, err = shell.send("\\remember")
    assert out == "" and REMEMBERED in err and not error_lines(err)
    assert stored(shell) == [("How many orders are there?", ORDERS)]
    assert listed(sqlcoder_home) == [("How many orders are there?", ORDERS)]
    shell.repl.close()


def test_remember_before_any_answer_is_one_error_line(sqlcoder_home: Path) -> None:
    shell, engine = repl_with(sqlcoder_home)
    out, err = shell.send("\\remember")
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: nothing to remember yet"), err
    assert engine.calls == [] and stored(shell) == []
    # typed SQL is not an answer to a question: still nothing to remember
    shell.send("SELECT 1 AS one")
    _, err = shell.send("\\remember")
    assert len(error_lines(err)) == 1 and "nothing to remember yet" in err
    assert stored(shell) == []
    shell.repl.close()


def test_a_remembered_follow_up_says_which_question_it_followed(sqlcoder_home: Path) -> None:
    shell, engine = repl_with(sqlcoder_home, ORDERS, ORDERS_2024)
    shell.send("How many orders are there?")
    _, err = shell.send("only for 2024")
    assert "follow-up of: How many orders are there?" in err
    assert "How many orders are there?" in engine.prompts[1] and ORDERS in engine.prompts[1]
    _, err = shell.send("\\remember")
    assert REMEMBERED in err
    expected = [("How many orders are there? (follow-up: only for 2024)", ORDERS_2024)]
    assert stored(shell) == expected and listed(sqlcoder_home) == expected
    shell.repl.close()


def test_sql_edited_at_the_review_step_that_runs_is_remembered(sqlcoder_home: Path) -> None:
    shell, _ = repl_with(sqlcoder_home, CUSTOMERS)
    ui = EditingUI(EDITED)
    shell.repl.ui = ui
    out, err = shell.send("How many customers are in Germany?")
    assert ui.shown == [CUSTOMERS]  # the model's SQL was offered for review
    assert str(demo_count(EDITED)) in out  # the edited query is what ran
    assert shell.repl.last_answer is not None and shell.repl.last_answer.edited
    assert "remembered your edited SQL" in err
    assert stored(shell) == [("How many customers are in Germany?", EDITED)]
    assert listed(sqlcoder_home) == [("How many customers are in Germany?", EDITED)]
    shell.repl.close()


def test_a_review_that_keeps_the_sql_remembers_nothing(sqlcoder_home: Path) -> None:
    shell, _ = repl_with(sqlcoder_home, CUSTOMERS)
    shell.repl.ui = EditingUI(CUSTOMERS + ";")  # Enter at run>: the same query
    _, err = shell.send("How many customers are there?")
    assert "remembered" not in err and stored(shell) == []
    shell.repl.close()


def test_sql_edited_with_the_edit_command_is_remembered(sqlcoder_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "{EDITED};" > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    shell, _ = repl_with(sqlcoder_home, CUSTOMERS)
    shell.send("How many customers are in Germany?")
    assert stored(shell) == []
    _, err = shell.send("\\edit")
    assert "remembered your edited SQL" in err, err
    assert stored(shell) == [("How many customers are in Germany?", EDITED)]
    shell.repl.close()


def test_with_memory_off_remember_says_so(sqlcoder_home: Path) -> None:
    shell, _ = repl_with(sqlcoder_home, ORDERS, CUSTOMERS, memory=False)
    shell.send("How many orders are there?")
    out, err = shell.send("\\remember")
    assert out == "" and "memory is off" in err and "remembered" not in err.replace("nothing remembered", "")
    assert not error_lines(err)
    # an edit that runs is not kept either, and says why
    shell.repl.ui = EditingUI(EDITED)
    _, err = shell.send("How many customers are in Germany?")
    assert "memory is off" in err and "remembered your edited SQL" not in err
    assert listed(sqlcoder_home) == []
    shell.repl.close()


@pytest.mark.parametrize(
    "how", [pytest.param(("--no-memory",), id="flag"), pytest.param((), id="config")],
)
def test_memory_off_through_the_cli(sqlcoder_home: Path, how: tuple[str, ...]) -> None:
    """``sqlcoder repl --no-memory`` and ``config set memory false``: ``\\remember`` stores nothing."""
    if not how:
        done = invoke("config", "set", "memory", "false")
        assert done.exit_code == 0, done.stderr
    with FakeOpenAI(models=("team-chat",), chat_pieces=("```sql\n", ORDERS, "\n```")) as server:
        result = invoke(
            "repl", "--db", "demo", *how, "--backend", "openai", "--base-url", server.base_url, "--api-model", "team-chat",
            stdin="How many orders are there?\n\\remember\n\\quit\n", environ={"NO_COLOR": "1"},
        )
    assert result.exit_code == 0, result.stderr
    assert "memory is off" in result.stderr and REMEMBERED not in result.stderr
    assert listed(sqlcoder_home) == []
