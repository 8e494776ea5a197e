"""``sqlcoder eval``: gold self-check, resume, reports, ablation switches, ``eval compare``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from clitest import invoke


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny database and an own-format question file for it."""
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as c:
        c.executescript(
            "CREATE TABLE customers (id INTEGER, name TEXT, city TEXT);"
            "INSERT INTO customers VALUES (1, 'Ann', 'Oslo'), (2, 'Bob', 'Rome'), (3, 'Cid', 'Oslo');"
        )
    questions = tmp_path / "questions.jsonl"
    items = [
        {"question": "How many customers are there?", "gold": ["SELECT count(*) FROM customers"], "category": "count"},
        {"question": "Which customers live in Oslo?", "gold": ["SELECT name FROM customers WHERE city = 'Oslo'"], "category": "where"},
        {"question": "List the cities.", "gold": ["SELECT DISTINCT city FROM customers"], "category": "where"},
        {"question": "Customers sorted by name", "gold": ["SELECT name FROM customers ORDER BY name"], "category": "order"},
        {"question": "Names and ids", "gold": ["SELECT id, name FROM customers"], "category": "count"},
        {"question": "Customers not in Rome", "gold": ["SELECT name FROM customers WHERE city <> 'Rome'"], "category": "where"},
    ]
    questions.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return db, questions


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_gold_self_check_on_own_file_writes_reports(sqlcoder_home: Path, shop: tuple[Path, Path], tmp_path: Path) -> None:
    db, questions = shop
    out = tmp_path / "pred.jsonl"
    result = invoke("eval", str(questions), "--db", str(db), "--gold", "--out", str(out), "--report", str(tmp_path / "rep"))
    assert result.exit_code == 0, result.stderr
    lines = read_lines(out)
    assert len(lines) == 6 and all(p["correct"] and p["subset_correct"] for p in lines)
    assert set(lines[0]) >= {"id", "db", "question", "category", "sql", "correct", "subset_correct", "attempts", "timings", "error"}
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["overall"]["accuracy"] == 100.0 and set(report["categories"]) == {"count", "where", "order"}
    assert "| **overall** | 6 |" in (tmp_path / "rep.md").read_text()
    # the table on stdout is plain in a pipe
    assert "overall" in result.stdout and "\x1b[" not in result.stdout


def test_gold_self_check_on_the_dev_set_cli(sqlcoder_home: Path, sql_eval_dir: Path, tmp_path: Path) -> None:
    result = invoke(
        "eval", str(sql_eval_dir / "questions.jsonl"), "--dbs", str(sql_eval_dir / "dbs"), "--gold",
        "--out", str(tmp_path / "gold.jsonl"),
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "gold_report.json").read_text())
    assert report["overall"] == {"n": 314, "correct": 314, "accuracy": 100.0, "subset_correct": 314, "subset_accuracy": 100.0}


def test_resume_answers_only_the_missing_questions(
    sqlcoder_home: Path, shop: tuple[Path, Path], tmp_path: Path, tiny_gguf_path: Path
) -> None:
    db, questions = shop
    out = tmp_path / "pred.jsonl"
    common = ("eval", str(questions), "--db", str(db), "--model", str(tiny_gguf_path), "--out", str(out), "--max-tokens", "16")
    first = invoke(*common, "--limit", "3")
    assert first.exit_code == 0, first.stderr
    before = read_lines(out)
    assert len(before) == 3
    assert all(not p["correct"] for p in before)  # gibberish model: 0%, but every line is written
    second = invoke(*common, "--limit", "6", "--resume")
    assert second.exit_code == 0, second.stderr
    after = read_lines(out)
    assert after[:3] == before and len(after) == 6
    assert "resuming: 3 of 6" in second.stderr
    report = json.loads((tmp_path / "pred_report.json").read_text())
    assert report["overall"]["n"] == 6 and report["overall"]["accuracy"] == 0.0
    # without --resume the file starts over
    third = invoke(*common, "--limit", "2")
    assert third.exit_code == 0 and len(read_lines(out)) == 2


def test_raw_and_ablation_switches_reach_the_session(sqlcoder_home: Path) -> None:
    from sqlcoder_cli.config import Config
    from sqlcoder_cli.evaluation.runner import EVAL_DEFAULTS, EvalOptions, Evaluator
    from sqlcoder_cli.pipeline import AnswerSettings

    raw = AnswerSettings.raw(AnswerSettings(max_retries=5, row_limit=7))
    assert (raw.max_retries, raw.validate, raw.prune, raw.value_hints, raw.join_hints, raw.notes, raw.memory,
            raw.grammar, raw.mend) == (0, False, False, False, False, False, False, False, False)
    assert raw.row_limit == 7  # limits are kept
    some = AnswerSettings().with_overrides(max_retries=1, validate=False, prune=False, value_hints=None, join_hints=False)
    evaluator = Evaluator(Config.load(), EvalOptions(settings=some.with_overrides(**EVAL_DEFAULTS)))
    session = evaluator._session("demo")
    s = session.settings
    assert s.max_retries == 1 and not s.validate and not s.prune and s.value_hints and s.join_hints is False
    assert s.memory is False  # never on in an evaluation
    session.close()


def test_compare_shows_deltas(sqlcoder_home: Path, tmp_path: Path) -> None:
    def report(name: str, accs: dict[str, float], overall: float) -> Path:
        path = tmp_path / f"{name}.json"
        cats = {c: {"n": 10, "accuracy": a} for c, a in accs.items()}
        path.write_text(json.dumps({"name": name, "overall": {"n": 20, "accuracy": overall}, "categories": cats}))
        return path

    a = report("raw", {"ratio": 40.0, "join": 50.0}, 45.0)
    b = report("full", {"ratio": 60.0, "join": 45.0}, 52.5)
    result = invoke("eval", "compare", str(a), str(b))
    assert result.exit_code == 0, result.stderr
    rows = {line.split("|")[0].strip(): line for line in result.stdout.splitlines() if "|" in line}
    assert "+20.0" in rows["ratio"] and "-5.0" in rows["join"] and "+7.5" in rows["overall"]
    assert invoke("eval", "compare", str(a)).exit_code == 2


@pytest.mark.slow
def test_dev_model_smoke(sqlcoder_home: Path, sql_eval_dir: Path, tmp_path: Path, dev_model: Path) -> None:
    out = tmp_path / "pred.jsonl"
    result = invoke(
        "eval", str(sql_eval_dir / "questions.jsonl"), "--dbs", str(sql_eval_dir / "dbs"), "--model", str(dev_model),
        "--limit", "2", "--out", str(out), "--max-tokens", "128",
    )
    assert result.exit_code == 0, result.stderr
    lines = read_lines(out)
    assert len(lines) == 2 and all(p["sql"] for p in lines)
    assert all(p["timings"].get("total_s", 0) > 0 for p in lines)


def test_vote_picks_the_result_most_runs_agree_on(sqlcoder_home: Path, shop: tuple[Path, Path], tmp_path: Path) -> None:
    db, questions = shop
    gold = tmp_path / "gold.jsonl"
    assert invoke("eval", str(questions), "--db", str(db), "--gold", "--out", str(gold)).exit_code == 0
    right = read_lines(gold)

    def variant(name: str, sql: str | None, error: str | None = None) -> Path:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({**p, "sql": sql or p["sql"], "error": error}) + "\n" for p in right))
        return path

    wrong = variant("wrong", "SELECT name FROM customers WHERE id = 2")
    broken = variant("broken", "SELECT nope FROM customers", error="no such column: nope")
    out = tmp_path / "voted.jsonl"
    # one wrong run, two right runs (one spelled differently): the majority wins
    result = invoke("eval", "vote", str(questions), str(wrong), str(gold), str(broken), str(gold), "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert all(p["correct"] for p in read_lines(out))
    # a tie goes to the file named first; failed candidates never win
    invoke("eval", "vote", str(questions), str(wrong), str(gold), "--db", str(db), "--out", str(out))
    assert not any(p["correct"] for p in read_lines(out)[1:])
    invoke("eval", "vote", str(questions), str(broken), str(gold), "--db", str(db), "--out", str(out))
    assert all(p["correct"] for p in read_lines(out))
    report = json.loads((tmp_path / "voted_report.json").read_text())
    assert report["options"]["mode"] == "vote" and report["overall"]["accuracy"] == 100.0
