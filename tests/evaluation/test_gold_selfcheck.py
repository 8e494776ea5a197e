"""Acceptance: with each question's first gold SQL as the prediction the dev set scores 100%."""

from __future__ import annotations

from pathlib import Path

from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.evaluation.questions import load_questions
from sqlcoder_cli.evaluation.runner import EvalOptions, Evaluator, build_report


def test_gold_scores_100_percent_on_the_dev_set(sql_eval_dir: Path, sqlcoder_home: Path, tmp_path: Path) -> None:
    questions = load_questions(sql_eval_dir / "questions.jsonl", dbs=sql_eval_dir / "dbs")
    assert len(questions) == 314
    config = Config.load(Paths.resolve({"SQLCODER_HOME": str(sqlcoder_home)}), {})
    lines = Evaluator(config, EvalOptions(gold=True)).run(questions, tmp_path / "gold.jsonl")
    wrong = [p["id"] for p in lines if not p["correct"]]
    assert wrong == []
    report = build_report(lines, name="gold", model="gold", options={}, questions_file="dev")
    assert report["overall"]["accuracy"] == 100.0 and report["overall"]["n"] == 314
    assert all(b["accuracy"] == 100.0 for b in report["categories"].values())
