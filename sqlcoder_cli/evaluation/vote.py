"""Self-consistency across runs: pick each question's answer by execution-result agreement.

Several prediction files of the same questions (say the full pipeline, the bare model and a
prompt variant) are k candidate SQL queries per question. Each candidate is run again on the
question's database; candidates that fail are dropped; the others are grouped by result (the
same normalisation as scoring: :func:`compare.canonical`), and the SQL of the largest group wins.
Ties go to the file named first. Only execution results are used to choose - never the gold.
The chosen SQL is then scored like any prediction. The cost is the sum of the runs' model time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SqlcoderError
from .compare import Result, canonical, score
from .questions import Question
from .runner import ROW_CAP, Prediction, read_predictions


def vote(
    questions: list[Question],
    prediction_files: list[Path],
    *,
    timeout_s: float = 10.0,
    on_done: Callable[[Prediction], None] | None = None,
) -> list[dict[str, Any]]:
    """One voted prediction line per question answered in every file (file order breaks ties)."""
    from ..db.connect import open_database

    runs = [{p["id"]: p for p in read_predictions(Path(f))} for f in prediction_files]
    lines: list[dict[str, Any]] = []
    by_db: dict[str, list[Question]] = {}
    for q in questions:
        if all(q.id in run for run in runs):
            by_db.setdefault(q.db_path, []).append(q)
    for db_path, items in by_db.items():
        database = open_database(db_path, timeout_s=timeout_s)
        try:
            for q in items:
                started = time.perf_counter()
                groups: dict[Any, list[tuple[int, str, Result]]] = {}
                for k, run in enumerate(runs):
                    sql = run[q.id].get("sql")
                    if not sql or run[q.id].get("error"):
                        continue
                    try:
                        result = Result.of(*_rows(database.execute(sql, limit=ROW_CAP)))
                    except SqlcoderError:
                        continue
                    groups.setdefault(canonical(result), []).append((k, sql, result))
                candidates = [run[q.id] for run in runs]
                prediction = Prediction(q.id, q.db, q.question, q.category, None, False, False)
                prediction.attempts = sum(int(c.get("attempts") or 0) for c in candidates)
                model_s = sum(float((c.get("timings") or {}).get("total_s", 0.0)) for c in candidates)
                if not groups:
                    prediction.sql = candidates[0].get("sql")
                    prediction.error = "every candidate failed: " + str(candidates[0].get("error"))
                else:
                    best = max(groups.values(), key=lambda g: (len(g), -g[0][0]))
                    k, sql, result = best[0]
                    prediction.sql = sql
                    prediction.row_count = len(result.rows)
                    golds = [(g, Result.of(*_rows(database.execute(g, limit=ROW_CAP)))) for g in q.gold]
                    prediction.correct, prediction.subset_correct = score(
                        golds, result, question=q.question, category=q.category
                    )
                    prediction.failed_attempts = [{"sql": "", "error": f"chose run {k} ({len(best)} of {len(runs)} agree)"}]
                prediction.timings = {"total_s": round(model_s + time.perf_counter() - started, 4)}
                lines.append(prediction.to_dict())
                if on_done is not None:
                    on_done(prediction)
        finally:
            database.close()
    order = {q.id: n for n, q in enumerate(questions)}
    return sorted(lines, key=lambda p: order[p["id"]])


def _rows(query_result: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    return query_result.columns, query_result.rows
