"""Which stream each part of an answer goes to (issue 14, items 1, 7, 8 and the timings).

The model is the scripted OpenAI-compatible server of the test kit (``FakeOpenAI``, on 127.0.0.1
in this process), so the CLI gets exactly the SQL a test chooses and the rest of the pipeline is
real: the demo database, the schema check, mending, retries, rendering. Every run is in-process
(``clitest.invoke``) with stdout and stderr each faked as a terminal or a pipe:

- ``--format table``: the SQL above the table on a terminal stdout; into a pipe stdout holds the
  table and nothing else, and the SQL goes to stderr (not with ``--quiet``);
- ``--sql-only`` / ``--no-run``: the SQL is the data, on stdout;
- csv/json: stdout is the data alone (the SQL only inside the JSON object);
- the REPL reading a script from a pipe follows the same rule;
- mending (``mended the model's SQL: ...`` and the JSON's ``mended``/``model_sql``), retries
  (``attempt 1 of 3 failed: ...``) and ``--verbose`` timings, for answers and for failures.

Most runs set NO_COLOR so the streams can be compared exactly; the colour runs strip ANSI codes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitest import Result, invoke
from testkit.fake_openai import FakeOpenAI, Stream, chat_events

from sqlcoder_cli.data import demo_database_path

API_MODEL = "team-chat"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PLAIN = {"NO_COLOR": "1"}

#: the answer most tests get: three rows, two columns, one table
SQL = "SELECT first_name, city FROM customers ORDER BY customer_id LIMIT 3"
#: a column the schema check refuses (customers has no total_spent)
BAD = "SELECT total_spent FROM customers"
GOOD = "SELECT COUNT(*) AS n FROM customers"
#: ``city`` is a customers column, written on the orders alias once
SLIP = (
    "SELECT o.order_id, o.city FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id "
    "ORDER BY o.order_id LIMIT 3"
)
MENDED = SLIP.replace("o.city", "c.city")

#: (stdout is a terminal, stderr is a terminal)
STREAMS = [
    pytest.param(True, True, id="stdout-tty-stderr-tty"),
    pytest.param(False, True, id="stdout-pipe-stderr-tty"),
    pytest.param(False, False, id="stdout-pipe-stderr-pipe"),
]


def fenced(sql: str) -> list[str]:
    """How a chat model answers: the SQL in a fenced block, streamed in pieces."""
    return ["```sql\n", sql, "\n```"]


def reply(sql: str) -> Stream:
    """One queued streamed chat answer (with a usage chunk, as llama-server sends)."""
    return Stream(chat_events(fenced(sql), usage={"prompt_tokens": 100, "completion_tokens": 3, "total_tokens": 103}))


@pytest.fixture
def server(sqlcoder_home: Path) -> Iterator[FakeOpenAI]:
    """The scripted model server; by default every question is answered with ``SQL``."""
    with FakeOpenAI(models=(API_MODEL,), chat_pieces=tuple(fenced(SQL))) as fake:
        yield fake


def backend(server: FakeOpenAI) -> list[str]:
    return ["--backend", "openai", "--base-url", server.base_url, "--api-model", API_MODEL]


def ask(server: FakeOpenAI, *args: str, before: tuple[str, ...] = (), stdout_tty: bool = False, stderr_tty: bool = False,
        environ: dict[str, str] | None = None) -> Result:
    """``sqlcoder [before] ask ARGS --db demo`` through the scripted server."""
    return invoke(
        *before, "ask", *args, "--db", "demo", *backend(server),
        stdout_isatty=stdout_tty, stderr_isatty=stderr_tty, environ=PLAIN if environ is None else environ,
    )


def demo_rows(sql: str) -> list[list[str]]:
    with sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True) as conn:
        return [[str(v) for v in row] for row in conn.execute(sql)]


def parse_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a plain (ASCII) table; every line must belong to it."""
    lines = text.splitlines()
    assert len(lines) >= 2 and set(lines[1]) <= set("-+"), text
    header = [cell.strip() for cell in lines[0].split("|")]
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[2:]]
    assert all(len(row) == len(header) for row in rows), text
    return header, rows


def plain(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# --- item 1: the SQL of a table answer ---------------------------------------------------------
@pytest.mark.parametrize(("stdout_tty", "stderr_tty"), STREAMS)
def test_a_table_answer_puts_the_sql_above_it_only_on_a_terminal(server: FakeOpenAI, stdout_tty: bool, stderr_tty: bool) -> None:
    result = ask(server, "Who are the first three customers?", stdout_tty=stdout_tty, stderr_tty=stderr_tty)
    assert result.exit_code == 0, result.stderr
    expected = (["first_name", "city"], demo_rows(SQL))
    if stdout_tty:
        first, _, table = result.stdout.partition("\n")
        assert first == SQL + ";"  # the SQL, then the table under it
        assert parse_table(table) == expected
        assert "SELECT" not in result.stderr  # shown once, where the table is
    else:
        assert "SELECT" not in result.stdout
        assert parse_table(result.stdout) == expected  # the table and nothing else
        assert lines_with(result.stderr, "SELECT") == [SQL + ";"]
    assert result.stderr.splitlines()[-1] == "3 rows"
    assert "Traceback" not in result.stderr


def test_quiet_keeps_the_sql_off_stderr_too(server: FakeOpenAI) -> None:
    result = ask(server, "Who are the first three customers?", before=("--quiet",))
    assert result.exit_code == 0, result.stderr
    assert parse_table(result.stdout) == (["first_name", "city"], demo_rows(SQL))
    assert result.stderr == ""


def test_in_colour_the_sql_is_highlighted_above_the_table_or_on_stderr(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real terminal's colours: the same places, and a piped stdout stays free of escape codes."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    on_terminal = ask(server, "Who are the first three customers?", stdout_tty=True, stderr_tty=True, environ={})
    assert on_terminal.exit_code == 0, on_terminal.stderr
    assert "\x1b[" in on_terminal.stdout  # highlighted
    shown = plain(on_terminal.stdout)
    assert shown.index(SQL) < shown.index("first_name") and "Fatima" in shown
    piped = ask(server, "Who are the first three customers?", stdout_tty=False, stderr_tty=True, environ={})
    assert piped.exit_code == 0, piped.stderr
    assert "\x1b[" not in piped.stdout and "SELECT" not in piped.stdout
    assert parse_table(piped.stdout) == (["first_name", "city"], demo_rows(SQL))
    assert SQL in plain(piped.stderr)


@pytest.mark.parametrize("flag", ["--sql-only", "--no-run"])
@pytest.mark.parametrize(("stdout_tty", "stderr_tty"), STREAMS)
def test_sql_only_and_no_run_put_the_sql_on_stdout(server: FakeOpenAI, flag: str, stdout_tty: bool, stderr_tty: bool) -> None:
    result = ask(server, "Who are the first three customers?", flag, stdout_tty=stdout_tty, stderr_tty=stderr_tty)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == SQL + ";\n"  # the SQL is the data, whatever stdout is
    assert "SELECT" not in result.stderr and "row" not in result.stderr  # nothing ran


@pytest.mark.parametrize(("stdout_tty", "stderr_tty"), STREAMS)
def test_csv_stdout_holds_the_rows_and_no_sql(server: FakeOpenAI, stdout_tty: bool, stderr_tty: bool) -> None:
    result = ask(server, "Who are the first three customers?", "--format", "csv", stdout_tty=stdout_tty, stderr_tty=stderr_tty)
    assert result.exit_code == 0, result.stderr
    assert "SELECT" not in result.stdout
    assert list(csv.reader(io.StringIO(result.stdout))) == [["first_name", "city"], *demo_rows(SQL)]


@pytest.mark.parametrize(("stdout_tty", "stderr_tty"), STREAMS)
def test_json_stdout_is_one_object_with_the_sql_inside(server: FakeOpenAI, stdout_tty: bool, stderr_tty: bool) -> None:
    result = ask(server, "Who are the first three customers?", "--format", "json", stdout_tty=stdout_tty, stderr_tty=stderr_tty)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)  # nothing but the object: no SQL line before or after it
    assert answer["sql"] == answer["model_sql"] == SQL
    assert answer["rows"] == [[r[0], r[1]] for r in demo_rows(SQL)]
    assert result.stdout.count("SELECT") == 2  # the two values above, nowhere else


@pytest.mark.parametrize("stdout_tty", [True, False], ids=["stdout-tty", "stdout-pipe"])
def test_the_repl_reading_a_script_shows_the_sql_by_the_same_rule(server: FakeOpenAI, stdout_tty: bool) -> None:
    """stdin piped: ScriptUI runs the model's SQL as written; the SQL is shown on stdout above
    the result only when stdout is a terminal, else on stderr."""
    result = invoke(
        "repl", "--db", "demo", *backend(server), stdin="Who are the first three customers?\n\\quit\n",
        stdout_isatty=stdout_tty, stderr_isatty=False, environ=PLAIN,
    )
    assert result.exit_code == 0, result.stderr
    expected = (["first_name", "city"], demo_rows(SQL))
    if stdout_tty:
        first, _, table = result.stdout.partition("\n")
        assert first == SQL + ";" and parse_table(table) == expected
        assert "SELECT" not in result.stderr
    else:
        assert "SELECT" not in result.stdout and parse_table(result.stdout) == expected
        assert lines_with(result.stderr, "SELECT") == [SQL + ";"]
    assert "3 rows" in result.stderr.splitlines()


# --- item 7: a column on the wrong alias is mended, and the user is told -----------------------
def test_a_mended_column_is_reported_on_stderr(server: FakeOpenAI) -> None:
    server.chat_pieces = fenced(SLIP)
    result = ask(server, "Which city did the first orders go to?")
    assert result.exit_code == 0, result.stderr
    assert lines_with(result.stderr, "mended") == ["mended the model's SQL: column on the wrong alias: o.city -> c.city"]
    assert lines_with(result.stderr, "SELECT") == [MENDED + ";"]  # what ran, not what the model wrote
    assert parse_table(result.stdout) == (["order_id", "city"], demo_rows(MENDED))
    assert len(server.requests_to("/v1/chat/completions")) == 1  # mended, not asked again


def test_a_mended_answer_in_json_keeps_the_model_sql(server: FakeOpenAI) -> None:
    server.chat_pieces = fenced(SLIP)
    result = ask(server, "Which city did the first orders go to?", "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mended"] == ["column on the wrong alias: o.city -> c.city"]
    assert answer["model_sql"] == SLIP and answer["sql"] == MENDED and answer["executed"]
    assert answer["attempts"] == 1 and answer["rows"] == [[int(r[0]), r[1]] for r in demo_rows(MENDED)]
    assert lines_with(result.stderr, "mended the model's SQL:") == ["mended the model's SQL: " + answer["mended"][0]]


def test_a_column_mended_in_two_places_is_reported_once(server: FakeOpenAI) -> None:
    """The same slip in SELECT and GROUP BY is one change to the user: one sentence in
    ``mended``, one line on stderr (not the same sentence twice)."""
    slip = (
        "SELECT o.city, COUNT(*) AS n FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id "
        "GROUP BY o.city ORDER BY n DESC LIMIT 3"
    )
    server.chat_pieces = fenced(slip)
    result = ask(server, "How many orders went to each city?", "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["sql"] == slip.replace("o.city", "c.city")
    assert answer["mended"] == ["column on the wrong alias: o.city -> c.city"]
    assert len(lines_with(result.stderr, "mended the model's SQL:")) == 1


# --- item 8: a failed attempt goes back to the model, and the user sees it on a terminal -------
def test_a_retry_is_shown_when_stderr_is_a_terminal(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal's width; one line here
    server.queue("/v1/chat/completions", reply(BAD), reply(GOOD))
    result = ask(server, "How many customers are there?", stderr_tty=True)
    assert result.exit_code == 0, result.stderr
    [line] = lines_with(result.stderr, "attempt")
    assert line.startswith("warning: attempt 1 of 3 failed: unknown column customers.total_spent")
    assert line.endswith("; asking the model to correct it")  # no budget, no budget note
    assert parse_table(result.stdout) == (["n"], demo_rows(GOOD))
    assert len(server.requests_to("/v1/chat/completions")) == 2


def test_a_retry_says_how_much_of_the_budget_is_left(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    server.queue("/v1/chat/completions", reply(BAD), reply(GOOD))
    result = ask(server, "How many customers are there?", "--budget", "600", stderr_tty=True)
    assert result.exit_code == 0, result.stderr
    [line] = lines_with(result.stderr, "attempt")
    assert "attempt 1 of 3 failed: " in line and "asking the model to correct it" in line
    assert re.search(r"asking the model to correct it \((\d+) s of the 600 s budget left\)$", line), line
    left = int(re.findall(r"\((\d+) s of the 600 s", line)[0])
    assert 590 <= left <= 600


def test_a_retry_is_silent_in_pipes(server: FakeOpenAI) -> None:
    server.queue("/v1/chat/completions", reply(BAD), reply(GOOD))
    result = ask(server, "How many customers are there?")
    assert result.exit_code == 0, result.stderr
    assert "attempt" not in result.stderr and "warning" not in result.stderr
    assert result.stderr == GOOD + ";\n1 row\n"
    assert parse_table(result.stdout) == (["n"], demo_rows(GOOD))
    assert len(server.requests_to("/v1/chat/completions")) == 2  # the retry did happen


def test_a_question_that_fails_every_attempt_prints_its_timings_with_verbose(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    server.chat_pieces = fenced(BAD)  # every attempt writes the same unknown column
    result = ask(server, "How many customers are there?", before=("--verbose",))
    assert result.exit_code == 4, result.stderr
    assert result.stdout == ""
    assert len(server.requests_to("/v1/chat/completions")) == 3  # 1 + the default 2 retries
    [line] = lines_with(result.stderr, "attempts (failed)")
    for part in ("schema ", "generate ", "tokens/s", "3 attempts (failed)"):
        assert part in line, line
    assert "query " not in line  # nothing ran
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: unknown column customers.total_spent") and last.endswith("(after 3 attempts)")
    assert "Traceback" not in result.stderr


def test_a_failure_without_verbose_has_no_timings_line(server: FakeOpenAI) -> None:
    server.chat_pieces = fenced(BAD)
    result = ask(server, "How many customers are there?")
    assert result.exit_code == 4
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: unknown column"), result.stderr


# --- --verbose on success: one line, stage by stage --------------------------------------------
@pytest.mark.parametrize("stderr_tty", [True, False], ids=["stderr-tty", "stderr-pipe"])
def test_verbose_prints_one_timings_line_stage_by_stage(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, stderr_tty: bool) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    result = ask(server, "Who are the first three customers?", before=("--verbose",), stderr_tty=stderr_tty)
    assert result.exit_code == 0, result.stderr
    [line] = lines_with(result.stderr, "tokens/s")
    labels = ["schema", "plan", "prompt", "generate", "tokens/s", "check", "query", "total"]
    positions = [line.find(label) for label in labels]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), line
    assert re.search(r"generate [\d.]+s \((\d+) tokens, [\d.]+ tokens/s\)", line), line
    assert line.endswith("1 attempt")
    assert parse_table(result.stdout) == (["first_name", "city"], demo_rows(SQL))  # stdout untouched
