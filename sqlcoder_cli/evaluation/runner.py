"""Run a question file through the pipeline and score it: predictions, resume, reports.

One :class:`~sqlcoder_cli.pipeline.Session` per database, all sharing ONE loaded model: the first
session loads the :class:`~sqlcoder_cli.engine.llama.LlamaEngine`; each later session takes it
over with :meth:`Session.adopt_model <sqlcoder_cli.pipeline.Session.adopt_model>` before the
previous one closes its database, so the model is loaded once and never closed mid-run. Questions are
grouped by database, and within a database by their instructions (which the prompt puts before
the schema), so consecutive prompts share the system + schema prefix and llama.cpp reuses its KV
cache for it; the prediction file is therefore in that order, and reports follow the question file.

Memory (remembered examples) is always off in an evaluation: it would leak one question's answer
into the next. Every prediction line is appended and flushed as soon as it is scored, so an
interrupted run loses at most the question in flight, and ``resume`` skips ids already written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AnswerFailed, SqlcoderError
from .compare import Result, score
from .questions import Question

if TYPE_CHECKING:
    from ..config import Config
    from ..engine.base import Engine, EngineOptions
    from ..pipeline import Session
    from ..pipeline.settings import AnswerSettings

#: rows fetched per query (predictions and gold); a result cut at this size is compared as cut
ROW_CAP = 100_000


@dataclass
class EvalOptions:
    """What runs: the model, the answer settings (``raw`` is ``AnswerSettings.raw()``), how many
    questions go to a server at once."""

    model: str | None = None
    gold: bool = False
    raw: bool = False
    #: pass the questions' own instructions to the model
    instructions: bool = True
    settings: AnswerSettings = field(default_factory=lambda: _eval_settings())
    engine_options: EngineOptions | None = None
    #: questions in flight at once (a server backend batches them; the local engine takes one)
    concurrency: int = 1

    def describe(self) -> dict[str, Any]:
        """The settings as they go into a report (engine options left out)."""
        return {
            "model": self.model, "gold": self.gold, "raw": self.raw, "instructions": self.instructions,
            "concurrency": self.concurrency, **self.settings.describe(),
        }


def _eval_settings() -> AnswerSettings:
    from ..pipeline.settings import AnswerSettings

    return AnswerSettings().with_overrides(**EVAL_DEFAULTS)


#: what an evaluation changes from the usual defaults: memory would leak one question's answer into
#: the next; a gold query that runs for minutes is a broken gold query; every row is compared
EVAL_DEFAULTS: dict[str, Any] = {"memory": False, "query_timeout": 10.0, "row_limit": 100_000}


@dataclass
class Prediction:
    id: str
    db: str
    question: str
    category: str
    sql: str | None
    correct: bool
    subset_correct: bool
    attempts: int = 0
    timings: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    row_count: int | None = None
    failed_attempts: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_predictions(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p, ensure_ascii=False, default=str) + "\n" for p in lines), encoding="utf-8")


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """The prediction lines written so far (a half-written last line is ignored)."""
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "id" in obj:
            lines.append(obj)
    return lines


def _result_of(query_result: Any) -> Result:
    return Result.of(query_result.columns, query_result.rows)


class _GoldCache:
    """Gold results, computed once per question (all alternatives)."""

    def __init__(self) -> None:
        self._cache: dict[str, list[tuple[str, Result]]] = {}
        self.errors: dict[str, str] = {}

    def get(self, question: Question, execute: Callable[[str], Any]) -> list[tuple[str, Result]]:
        if question.id not in self._cache:
            golds = []
            for sql in question.gold:
                try:
                    golds.append((sql, _result_of(execute(sql))))
                except SqlcoderError as exc:
                    self.errors[question.id] = f"gold failed: {exc}"
            self._cache[question.id] = golds
        return self._cache[question.id]


class Evaluator:
    """Runs questions and appends scored prediction lines to ``out``."""

    def __init__(self, config: Config, options: EvalOptions) -> None:
        self.config = config
        self.options = options
        self.gold_cache = _GoldCache()
        model = options.model or config.default_model
        #: replaced by the loaded model's name once a model is loaded
        self.model_name = "gold" if options.gold else (Path(model).stem if model.endswith(".gguf") else model)
        self.load_s = 0.0

    # -- sessions ---------------------------------------------------------------------------------
    def _session(self, db_path: str, engine: Engine | None = None) -> Session:
        from ..pipeline import Session

        o = self.options
        # every row is compared, and memory would leak one question's answer into the next
        settings = o.settings.with_overrides(row_limit=ROW_CAP, memory=False)
        return Session(self.config, db=db_path, model=o.model, settings=settings, engine_options=o.engine_options, engine=engine)

    def _answer_all(self, session: Session, items: list[Question], sink: Any, on_done: Any) -> None:
        """Ask ``items`` on ``session``; with ``concurrency`` > 1, that many at once, each worker
        thread on its own session (its own database connection) sharing the one engine."""
        workers = self.options.concurrency
        if workers <= 1 or len(items) <= 1:
            for q in items:
                self._write(sink, self._ask(session, q), on_done)
            return
        import threading
        from concurrent.futures import ThreadPoolExecutor

        engine = session.engine
        local = threading.local()
        opened: list[Session] = []
        lock = threading.Lock()

        def ask(q: Question) -> Prediction:
            own = getattr(local, "session", None)
            if own is None:
                own = local.session = self._session(session.db_spec or "", engine=engine)
                with lock:
                    opened.append(own)
            return self._ask(own, q)

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
                for prediction in pool.map(ask, items):
                    self._write(sink, prediction, on_done)
        finally:
            for own in opened:
                own.close()  # its database; the engine belongs to ``session``

    def run(
        self,
        questions: list[Question],
        out: Path,
        *,
        resume: bool = False,
        on_start: Callable[[int, int], None] | None = None,
        on_loaded: Callable[[], None] | None = None,
        on_done: Callable[[Prediction], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Answer the questions not yet in ``out`` (all of them unless ``resume``); returns the
        prediction lines of ``questions`` (old and new) in question order."""
        out.parent.mkdir(parents=True, exist_ok=True)
        done = {p["id"] for p in read_predictions(out)} if resume else set()
        if not resume:
            out.write_text("", encoding="utf-8")
        todo = [q for q in questions if q.id not in done]
        if on_start is not None:
            on_start(len(questions), len(questions) - len(todo))
        by_db: dict[str, list[Question]] = {}
        for q in todo:
            by_db.setdefault(q.db_path, []).append(q)
        for items in by_db.values():
            # a question's instructions go into the prompt before the schema: asking the questions
            # with the same instructions one after another keeps the schema's KV cache warm
            items.sort(key=lambda q: q.instructions)
        current: Session | None = None  # holds the one loaded model, passed from database to database
        with out.open("a", encoding="utf-8") as sink:
            try:
                for db_path, items in by_db.items():
                    if self.options.gold:
                        self._run_gold(db_path, items, sink, on_done)
                        continue
                    session = self._session(db_path)
                    if current is None:
                        self.load_s = session.engine.load_s
                        self.model_name = session.model_name
                        if on_loaded is not None:
                            on_loaded()
                    else:
                        session.adopt_model(current)  # no second load
                        current.close()  # its database only: the model moved on
                    current = session
                    self._answer_all(session, items, sink, on_done)
            finally:
                if current is not None:
                    current.close()
        wanted = {q.id for q in questions}
        lines = {p["id"]: p for p in read_predictions(out) if p["id"] in wanted}
        return [lines[q.id] for q in questions if q.id in lines]

    @staticmethod
    def _write(sink: Any, prediction: Prediction, on_done: Callable[[Prediction], None] | None) -> None:
        sink.write(json.dumps(prediction.to_dict(), ensure_ascii=False, default=str) + "\n")
        sink.flush()
        if on_done is not None:
            on_done(prediction)

    def _run_gold(self, db_path: str, items: list[Question], sink: Any, on_done: Any) -> None:
        """Self-check: each question's first gold alternative is the prediction (no model)."""
        from ..db.connect import open_database

        database = open_database(db_path, timeout_s=self.options.settings.query_timeout)
        try:
            for q in items:
                started = time.perf_counter()
                prediction = Prediction(q.id, q.db, q.question, q.category, q.gold[0] if q.gold else None, False, False, 0)
                golds = self.gold_cache.get(q, lambda sql: database.execute(sql, limit=ROW_CAP))
                if prediction.sql is None:
                    prediction.error = "no gold SQL"
                else:
                    try:
                        result = _result_of(database.execute(prediction.sql, limit=ROW_CAP))
                        prediction.row_count = len(result.rows)
                        prediction.correct, prediction.subset_correct = score(
                            golds, result, question=q.question, category=q.category
                        )
                    except SqlcoderError as exc:
                        prediction.error = str(exc)
                prediction.timings = {"total_s": round(time.perf_counter() - started, 4)}
                self._write(sink, prediction, on_done)
        finally:
            database.close()

    def _ask(self, session: Session, q: Question) -> Prediction:
        started = time.perf_counter()
        prediction = Prediction(q.id, q.db, q.question, q.category, None, False, False, 0)
        instructions = q.instructions if self.options.instructions else ""
        failures: list[dict[str, str]] = []
        last_sql: list[str] = []

        def review(sql: str) -> str:  # sees each SQL just before it runs; changes nothing
            last_sql.append(sql)
            return sql

        try:
            answer = session.ask(
                q.question,
                execute=True,
                instructions=instructions,
                review=review,
                on_retry=lambda failure: failures.append(failure.to_dict()),
            )
        except SqlcoderError as exc:
            prediction.sql = getattr(exc, "sql", None) or (last_sql[-1] if last_sql else None)
            prediction.error = str(exc)
            if isinstance(exc, AnswerFailed):  # every attempt failed: the last one is ``error``
                prediction.attempts = exc.attempts
                prediction.failed_attempts = [f.to_dict() for f in exc.failed_attempts[:-1]]
            else:  # it never came to an attempt's end (a timeout, the model itself failed)
                prediction.attempts = 1
                prediction.failed_attempts = failures
            prediction.timings = {"total_s": round(time.perf_counter() - started, 4)}
            return prediction
        prediction.sql = answer.sql
        prediction.attempts = answer.attempts
        prediction.failed_attempts = [f.to_dict() for f in answer.failed_attempts]
        prediction.timings = answer.timings.to_dict()
        prediction.row_count = answer.row_count
        golds = self.gold_cache.get(q, lambda sql: session.database.execute(sql, limit=ROW_CAP))
        if not golds:
            prediction.error = self.gold_cache.errors.get(q.id, "no gold SQL")
            return prediction
        pred = Result.of(answer.columns, answer.rows)
        prediction.correct, prediction.subset_correct = score(golds, pred, question=q.question, category=q.category)
        return prediction


# -- reports ------------------------------------------------------------------------------------

def _bucket(lines: Iterable[dict[str, Any]]) -> dict[str, Any]:
    lines = list(lines)
    n = len(lines)
    correct = sum(1 for p in lines if p.get("correct"))
    subset = sum(1 for p in lines if p.get("subset_correct"))
    return {
        "n": n,
        "correct": correct,
        "accuracy": round(100.0 * correct / n, 2) if n else 0.0,
        "subset_correct": subset,
        "subset_accuracy": round(100.0 * subset / n, 2) if n else 0.0,
    }


def build_report(
    lines: list[dict[str, Any]], *, name: str, model: str, options: dict[str, Any], questions_file: str, wall_s: float | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON report: overall, per category and per database accuracy, errors, attempts, times."""
    from datetime import datetime, timezone

    by_cat: dict[str, list[dict[str, Any]]] = {}
    by_db: dict[str, list[dict[str, Any]]] = {}
    for p in lines:
        by_cat.setdefault(p.get("category") or "uncategorized", []).append(p)
        by_db.setdefault(p.get("db") or "", []).append(p)
    totals = [float((p.get("timings") or {}).get("total_s", 0.0)) for p in lines]
    attempts = [int(p.get("attempts") or 0) for p in lines]
    report = {
        "name": name,
        "model": model,
        "questions_file": questions_file,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": options,
        "overall": _bucket(lines),
        "categories": {c: _bucket(v) for c, v in sorted(by_cat.items())},
        "databases": {d: _bucket(v) for d, v in sorted(by_db.items())},
        "errors": sum(1 for p in lines if p.get("error")),
        "retried": sum(1 for a in attempts if a > 1),
        "mean_attempts": round(sum(attempts) / len(attempts), 3) if attempts else 0.0,
        "seconds_per_question": round(sum(totals) / len(totals), 3) if totals else 0.0,
        "question_seconds_total": round(sum(totals), 1),
    }
    if wall_s is not None:
        report["wall_s"] = round(wall_s, 1)
    if extra:
        report.update(extra)
    return report


def report_markdown(report: dict[str, Any]) -> str:
    o = report["overall"]
    lines = [
        f"# Evaluation: {report['name']}",
        "",
        f"- model: `{report['model']}`",
        f"- questions: `{report['questions_file']}` ({o['n']} scored)",
        f"- settings: `{json.dumps(report['options'], sort_keys=True)}`",
        f"- execution accuracy: **{o['accuracy']:.1f}%** ({o['correct']}/{o['n']}); subset match {o['subset_accuracy']:.1f}%",
        f"- errors: {report['errors']}; retried: {report['retried']}; mean attempts {report['mean_attempts']}; "
        f"{report['seconds_per_question']} s per question",
        "",
        "| category | n | accuracy % | subset % |",
        "|---|---:|---:|---:|",
    ]
    for cat, b in report["categories"].items():
        lines.append(f"| {cat} | {b['n']} | {b['accuracy']:.1f} | {b['subset_accuracy']:.1f} |")
    lines.append(f"| **overall** | {o['n']} | **{o['accuracy']:.1f}** | {o['subset_accuracy']:.1f} |")
    lines += ["", "| database | n | accuracy % |", "|---|---:|---:|"]
    for db, b in report["databases"].items():
        lines.append(f"| {db} | {b['n']} | {b['accuracy']:.1f} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], json_path: Path) -> tuple[Path, Path]:
    """``NAME.json`` and ``NAME.md`` side by side."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = json_path.with_name(json_path.name[: -len(".json")] + ".md") if json_path.name.endswith(".json") else json_path.with_name(json_path.name + ".md")
    md.write_text(report_markdown(report), encoding="utf-8")
    return json_path, md


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, int, float, float, float]]:
    """Rows ``(category, n, accuracy A, accuracy B, B - A)``, categories of either, then overall."""
    rows = []
    cats = sorted(set(a.get("categories", {})) | set(b.get("categories", {})))
    for c in cats:
        ca = a.get("categories", {}).get(c, {})
        cb = b.get("categories", {}).get(c, {})
        acc_a, acc_b = float(ca.get("accuracy", 0.0)), float(cb.get("accuracy", 0.0))
        rows.append((c, int(cb.get("n", ca.get("n", 0))), acc_a, acc_b, round(acc_b - acc_a, 2)))
    oa, ob = a["overall"], b["overall"]
    rows.append(("overall", int(ob["n"]), float(oa["accuracy"]), float(ob["accuracy"]), round(ob["accuracy"] - oa["accuracy"], 2)))
    return rows
