"""`sqlcoder ask` end to end: errors on real parts (fast) and real answers with the dev model (slow)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from clitest import invoke

from sqlcoder_cli.data import demo_database_path

ANSI = re.compile(r"\x1b\[")
JSON_KEYS = {"question", "sql", "columns", "rows", "row_count", "truncated", "model", "db", "timings"}
TIMING_KEYS = {"load_s", "prompt_s", "generate_s", "execute_s", "total_s", "prompt_tokens", "cached_tokens", "generated_tokens"}


def demo_count(sql: str) -> int:
    with sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchone()[0]


# --- fast: failures explain themselves in one line with the documented exit code ---------------


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_no_question_on_a_terminal_is_a_usage_error(sqlcoder_home: Path) -> None:
    result = invoke("ask", stdin_isatty=True)
    assert result.exit_code == 2
    assert "no question given" in _one_error_line(result.stderr)


def test_unknown_format_is_a_usage_error(sqlcoder_home: Path) -> None:
    result = invoke("ask", "q", "--format", "xml")
    assert result.exit_code == 2
    assert "choose one of" in result.stderr


def test_missing_database_file_is_never_created(sqlcoder_home: Path, tmp_path: Path, tiny_gguf_path: Path) -> None:
    missing = tmp_path / "nope.sqlite"
    result = invoke("ask", "How many?", "--db", str(missing), "--model", str(tiny_gguf_path))
    assert result.exit_code == 1
    assert "not found" in _one_error_line(result.stderr)
    assert not missing.exists()


def test_model_not_downloaded_names_the_exact_command(sqlcoder_home: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", "sqlcoder-7b-2")
    assert result.exit_code == 3
    line = _one_error_line(result.stderr)
    assert "sqlcoder models pull sqlcoder-7b-2" in line and "--model PATH.gguf" in line and "models add PATH.gguf" in line


def test_a_file_that_is_not_gguf_is_refused(sqlcoder_home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    result = invoke("ask", "How many customers are there?", "--model", str(fake))
    assert result.exit_code == 3
    assert "not a GGUF" in _one_error_line(result.stderr)


def test_gibberish_from_the_model_is_exit_4_not_a_crash(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", str(tiny_gguf_path), "--max-tokens", "24")
    assert result.exit_code == 4, result.stderr
    _one_error_line(result.stderr)
    assert result.stdout == ""


def test_debug_shows_the_traceback(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("--debug", "ask", "How many customers are there?", "--model", str(tiny_gguf_path), "--max-tokens", "24")
    assert result.exit_code == 4
    assert "Traceback" in result.stderr


def test_csv_needs_a_single_question(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("ask", "--format", "csv", "--model", str(tiny_gguf_path), stdin="one?\ntwo?\n")
    assert result.exit_code == 2
    assert "single question" in _one_error_line(result.stderr)


def test_piped_questions_with_failures_give_one_line_each_and_nonzero_exit(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("ask", "--model", str(tiny_gguf_path), "--max-tokens", "16", stdin="first?\n\nsecond?\n")
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, question in zip(lines, ["first?", "second?"]):
        record = json.loads(line)
        assert record["question"] == question and record["exit_code"] == 4 and record["error"]
    assert result.exit_code == 4
    assert not ANSI.search(result.stdout)


# --- slow: the real dev model answers on real databases -----------------------------------------


@pytest.mark.slow
def test_count_customers_json_contract(sqlcoder_home: Path, dev_model: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", str(dev_model), "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert JSON_KEYS <= set(answer)
    assert TIMING_KEYS <= set(answer["timings"])
    assert answer["rows"] == [[demo_count("SELECT count(*) FROM customers")]]
    assert answer["row_count"] == 1 and answer["truncated"] is False
    assert answer["db"].startswith("demo")
    assert answer["timings"]["load_s"] > 0 and answer["timings"]["prompt_tokens"] > 100
    assert not ANSI.search(result.stdout + result.stderr)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "markdown", "jsonl"])
def test_every_format_piped_is_plain(sqlcoder_home: Path, dev_model: Path, fmt: str) -> None:
    result = invoke("ask", "How many customers are there?", "--model", str(dev_model), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert not ANSI.search(result.stdout)
    count = str(demo_count("SELECT count(*) FROM customers"))
    assert count in result.stdout
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(result.stdout)))
        assert len(rows) == 2 and rows[1] == [count]
    if fmt == "tsv":
        assert result.stdout.splitlines()[1] == count
    if fmt == "jsonl":
        assert len(result.stdout.splitlines()) == 1


@pytest.mark.slow
def test_colour_only_on_a_terminal_and_never_with_no_color(sqlcoder_home: Path, dev_model: Path) -> None:
    tty = invoke("ask", "How many customers are there?", "--model", str(dev_model), stdout_isatty=True)
    assert tty.exit_code == 0 and ANSI.search(tty.stdout)
    plain = invoke("ask", "How many customers are there?", "--model", str(dev_model), stdout_isatty=True, environ={"NO_COLOR": "1"})
    assert plain.exit_code == 0 and not ANSI.search(plain.stdout)


@pytest.mark.slow
def test_sql_only_and_no_run(sqlcoder_home: Path, dev_model: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", str(dev_model), "--sql-only")
    assert result.exit_code == 0
    assert re.fullmatch(r"(?is)select\s.*count.*customers.*;\n", result.stdout)
    no_run = invoke("ask", "How many customers are there?", "--model", str(dev_model), "--no-run", "--format", "json")
    answer = json.loads(no_run.stdout)
    assert answer["executed"] is False and answer["rows"] == [] and answer["sql"]


@pytest.mark.slow
def test_edit_runs_the_edited_sql(sqlcoder_home: Path, dev_model: Path, tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'SELECT count(*) AS n FROM products;\\n' > \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    result = invoke(
        "ask", "How many customers are there?", "--model", str(dev_model), "--edit", "--format", "json",
        environ={"EDITOR": str(editor), "VISUAL": str(editor)},
    )
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["edited"] is True
    assert answer["rows"] == [[demo_count("SELECT count(*) FROM products")]]


@pytest.mark.slow
def test_edit_cannot_sneak_in_a_write(sqlcoder_home: Path, dev_model: Path, tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf 'DELETE FROM customers;\\n' > \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    before = demo_count("SELECT count(*) FROM customers")
    result = invoke("ask", "How many customers are there?", "--model", str(dev_model), "--edit", environ={"EDITOR": str(editor), "VISUAL": str(editor)})
    assert result.exit_code == 4
    assert demo_count("SELECT count(*) FROM customers") == before


@pytest.mark.slow
def test_several_questions_from_stdin(sqlcoder_home: Path, dev_model: Path) -> None:
    stdin = "How many customers are there?\nHow many products are there?\n"
    result = invoke("ask", "-", "--model", str(dev_model), stdin=stdin)
    assert result.exit_code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["rows"] for a in answers] == [
        [[demo_count("SELECT count(*) FROM customers")]],
        [[demo_count("SELECT count(*) FROM products")]],
    ]
    # the model loaded once: only the first answer pays for it, and the second reuses the prompt prefix
    assert answers[0]["timings"]["load_s"] > 0 and answers[1]["timings"]["load_s"] == 0
    assert answers[1]["timings"]["cached_tokens"] > 100


@pytest.mark.slow
def test_sql_eval_database(sqlcoder_home: Path, dev_model: Path, sql_eval_dir: Path) -> None:
    db = sql_eval_dir / "dbs" / "restaurants.sqlite"
    result = invoke("ask", "How many restaurants are there?", "--db", str(db), "--model", str(dev_model), "--format", "json")
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        expected = conn.execute("SELECT count(*) FROM restaurant").fetchone()[0]
    assert json.loads(result.stdout)["rows"] == [[expected]]


@pytest.mark.slow
def test_console_script_acceptance_command(sqlcoder_home: Path, dev_model: Path) -> None:
    """The acceptance line, as a user types it, in a real subprocess."""
    exe = Path(sys.executable).with_name("sqlcoder")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "sqlcoder_cli"]
    done = subprocess.run(
        [*command, "ask", "How many customers are there?", "--model", str(dev_model), "--format", "json"],
        capture_output=True, text=True, timeout=600, env=os.environ.copy(), stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["rows"] == [[demo_count("SELECT count(*) FROM customers")]]
    assert JSON_KEYS <= set(answer)
    assert done.stderr == ""  # nothing on stderr when it is not a terminal


# --- a catalogue model that is not on disk: offered for download on a terminal ------------------


@pytest.fixture
def hub_with_tiny_qwen(sqlcoder_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from testkit.fakehub import FakeHub
    from testkit.tiny_gguf import write_tiny_llama_gguf

    from sqlcoder_cli.models.catalogue import find_entry

    entry = find_entry("qwen2.5-coder-0.5b")
    assert entry is not None
    for var in ("HF_HUB_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    data = write_tiny_llama_gguf(tmp_path / "served.gguf", chat_template="{{ messages }}").read_bytes()
    with FakeHub() as hub:
        hub.add_file(entry.repo_id, entry.filename, data)
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


def test_ask_offers_to_pull_a_missing_model_on_a_terminal(hub_with_tiny_qwen, sqlcoder_home: Path) -> None:
    terminal = {"stdin_isatty": True, "stderr_isatty": True, "environ": {"CI": "", "NO_COLOR": "1"}}
    declined = invoke("ask", "How many customers are there?", "--model", "qwen2.5-coder-0.5b", stdin="n\n", **terminal)
    assert declined.exit_code == 3
    assert "Download it now?" in declined.stderr
    assert hub_with_tiny_qwen.bytes_served == 0

    accepted = invoke("ask", "How many customers are there?", "--model", "qwen2.5-coder-0.5b", "--max-tokens", "16", stdin="y\n", **terminal)
    assert "Download it now?" in accepted.stderr and "checksum verified" in accepted.stderr
    # the tiny model writes gibberish, so the answer fails, but the model is now on disk
    assert accepted.exit_code == 4
    listed = invoke("models", "list", "--format", "json")
    assert next(m for m in json.loads(listed.stdout) if m["name"] == "qwen2.5-coder-0.5b")["on_disk"] is True


def test_ask_never_prompts_in_a_pipe(hub_with_tiny_qwen, sqlcoder_home: Path) -> None:
    result = invoke("ask", "How many customers are there?", "--model", "qwen2.5-coder-0.5b", stdin="y\n", stdin_isatty=False)
    assert result.exit_code == 3
    assert "Download it now?" not in result.stderr
    assert "sqlcoder models pull qwen2.5-coder-0.5b" in result.stderr
    assert hub_with_tiny_qwen.bytes_served == 0


@pytest.mark.slow
def test_readme_demo_question_with_the_1_5b_dev_model(sqlcoder_home: Path, dev_model_1_5b: Path) -> None:
    """The README's first command, offline variant: the top 5 spenders of the demo shop."""
    result = invoke("ask", "Which 5 customers spent the most?", "--model", str(dev_model_1_5b), "--format", "json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["row_count"] == 5
    with sqlite3.connect(f"file:{demo_database_path()}?mode=ro", uri=True) as conn:
        top = conn.execute(
            "SELECT o.customer_id FROM orders o JOIN order_items i ON i.order_id = o.order_id "
            "GROUP BY o.customer_id ORDER BY sum(i.quantity * i.unit_price) DESC LIMIT 1"
        ).fetchone()[0]
        first, last = conn.execute("SELECT first_name, last_name FROM customers WHERE customer_id = ?", (top,)).fetchone()
    # the biggest spender is in the first row, whichever columns the model chose to show
    assert {first, last} & set(map(str, answer["rows"][0])) or top in answer["rows"][0]


def test_show_prompt_shows_notes_memory_and_what_was_left_out(sqlcoder_home: Path, tiny_chat_gguf_path: Path) -> None:
    assert invoke("notes", "set", "revenue means sum(quantity*unit_price)").exit_code == 0
    from sqlcoder_cli.config import Config, Paths
    from sqlcoder_cli.pipeline import Session

    with Session(Config.load(Paths.resolve())) as session:
        session.remember("How many customers live in Berlin?", "SELECT count(*) FROM customers WHERE city = 'Berlin'")
    result = invoke("ask", "How many customers live in Paris?", "--model", str(tiny_chat_gguf_path), "--show-prompt", "--max-tokens", "16", "--retries", "0")
    assert "Notes about this database:\n- revenue means sum(quantity*unit_price)" in result.stderr
    assert "WHERE city = 'Berlin'" in result.stderr
    assert "-- notes: yes; remembered examples: 1" in result.stderr
    assert "-- the whole schema fits; nothing left out" in result.stderr
    small = invoke("ask", "How many customers live in Paris?", "--model", str(tiny_chat_gguf_path), "--show-prompt", "--ctx", "512", "--max-tokens", "16", "--retries", "0")
    assert "-- schema pruned to fit the context" in small.stderr and "-- left out" in small.stderr

