"""``sqlcoder eval``: execution accuracy on a question file, and ``sqlcoder eval compare A B``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from ..errors import ExitCode, UsageError
from . import options
from ..frontend.render import new_table, print_table
from .settings_flags import answer_options, engine_options, settings_from
from .state import AppState, get_state

#: eval's wording of settings whose defaults it changes (evaluation/runner.py EVAL_DEFAULTS)
EVAL_HELP = {"query_timeout": "Seconds a query may run (default in eval: 10)."}

if TYPE_CHECKING:
    from ..evaluation.runner import Prediction

HELP = """Measure execution accuracy on a question file.

\b
  sqlcoder eval QUESTIONS.jsonl --dbs DIR [--model M] [--out PRED.jsonl] [--limit N] [--resume]
  sqlcoder eval compare A.json B.json
  sqlcoder eval vote QUESTIONS.jsonl A.jsonl B.jsonl [C.jsonl ...] --dbs DIR --out VOTED.jsonl

QUESTIONS is sql-eval jsonl (id, db, question, category, gold, instructions), Spider-style
(db_id, question, query) or, with --db FILE, any file of {question, gold|query} for that one
database. A prediction is right when its rows match any gold alternative's (sql-eval rules:
columns matched by values, order only when asked for, floats with tolerance). `vote` combines
prediction files of several runs (self-consistency): each question gets the SQL whose result
most runs agree on (ties: the file named first)."""


def _fmt_pct(x: float) -> str:
    return f"{x:.1f}"


def _print_report(state: AppState, report: dict[str, Any]) -> None:
    table = new_table(state, "category", "n", "accuracy %", "subset %")
    for cat, b in report["categories"].items():
        table.add_row(cat, str(b["n"]), _fmt_pct(b["accuracy"]), _fmt_pct(b["subset_accuracy"]))
    o = report["overall"]
    table.add_row("overall", str(o["n"]), _fmt_pct(o["accuracy"]), _fmt_pct(o["subset_accuracy"]))
    print_table(state, table)


def _compare(state: AppState, files: list[str]) -> int:
    from ..evaluation.runner import compare_reports

    if len(files) != 2:
        raise UsageError("eval compare needs two report files", hint="sqlcoder eval compare A.json B.json")
    reports = []
    for f in files:
        try:
            reports.append(json.loads(Path(f).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read report {f}: {exc}") from exc
        if "overall" not in reports[-1]:
            raise UsageError(f"{f} is not a `sqlcoder eval` report")
    a, b = reports
    table = new_table(state, "category", "n", f"A: {a.get('name', files[0])}", f"B: {b.get('name', files[1])}", "delta")
    for cat, n, acc_a, acc_b, delta in compare_reports(a, b):
        table.add_row(cat, str(n), _fmt_pct(acc_a), _fmt_pct(acc_b), f"{delta:+.1f}")
    print_table(state, table)
    return int(ExitCode.OK)


class _Progress:
    """A rich progress bar with ETA on stderr (only when a person watches it)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.enabled = state.show_progress
        self._progress: Any = None
        self._task: Any = None
        self.correct = 0
        self.seen = 0

    def start(self, total: int, already: int) -> None:
        if already:
            self.state.info(f"resuming: {already} of {total} questions already answered")
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[acc]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=self.state.err, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("evaluating", total=total - already, acc="")

    def done(self, prediction: Prediction) -> None:
        self.seen += 1
        self.correct += int(prediction.correct)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, acc=f"{100.0 * self.correct / self.seen:.0f}% right")
        elif self.state.verbose:
            mark = "ok " if prediction.correct else "bad"
            self.state.info(f"{mark} {prediction.id} {prediction.error or ''}".rstrip())

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def eval_command(
    ctx: typer.Context,
    args: List[str] = typer.Argument(..., help="QUESTIONS.jsonl; or: compare A.json B.json; or: vote QUESTIONS.jsonl A.jsonl B.jsonl ...", show_default=False),
    dbs: Optional[Path] = typer.Option(None, "--dbs", help="Folder with one database file per db name (<db>.sqlite).", show_default=False),
    db: Optional[str] = options.DbOption,
    model: Optional[str] = options.ModelOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Prediction lines (jsonl); default: eval_<name>.jsonl in the current folder.", show_default=False),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Only N questions: the first of each database, round-robin.", show_default=False),
    sample: Optional[int] = typer.Option(None, "--sample", min=1, help="A random N questions, balanced over categories (with --seed).", show_default=False),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    resume: bool = typer.Option(False, "--resume", help="Skip questions already in --out (after an interruption)."),
    gold: bool = typer.Option(False, "--gold", help="Self-check: score each question's first gold SQL as the prediction (no model)."),
    raw: bool = typer.Option(False, "--raw", help="Bare model: full schema, no value hints/join hints/notes/memory/mending, one attempt, no validation."),
    no_retries: bool = typer.Option(False, "--no-retries", help="One attempt per question (= --retries 0)."),
    no_memory: bool = typer.Option(True, "--no-memory", help="Remembered examples are always off in eval (they would leak answers).", hidden=True),
    no_instructions: bool = typer.Option(False, "--no-instructions", help="Do not pass the questions' own instructions to the model."),
    report: Optional[str] = typer.Option(None, "--report", help="Report name: writes NAME.json and NAME.md (a path without suffix; default beside --out).", show_default=False),
    engine_flags: dict[str, Any] | None = None,
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=256, help="Questions sent at once to a server backend (vLLM batches them); the local engine takes one at a time."),
    settings_flags: dict[str, Any] | None = None,
) -> int:
    state = get_state(ctx)
    if args and args[0] == "compare":
        return _compare(state, args[1:])
    voting = bool(args) and args[0] == "vote"
    if voting:
        if len(args) < 4:
            raise UsageError("eval vote needs the question file and at least two prediction files",
                             hint="sqlcoder eval vote QUESTIONS.jsonl A.jsonl B.jsonl --dbs DIR")
        vote_files = [Path(a) for a in args[2:]]
        args = args[1:2]
    if len(args) != 1:
        raise UsageError("give one question file", hint="sqlcoder eval QUESTIONS.jsonl --dbs DIR")
    from ..evaluation.questions import load_questions, sample as sample_questions, select
    from ..evaluation.runner import EvalOptions, Evaluator, build_report, write_report

    config = state.config
    questions_file = args[0]
    questions = load_questions(questions_file, dbs=dbs, db=db)
    if sample is not None:
        questions = sample_questions(questions, sample, seed)
    questions = select(questions, limit)
    if not questions:
        raise UsageError(f"{questions_file} has no questions")
    if voting:
        mode = "vote"
    elif gold:
        mode = "gold"
    elif raw:
        mode = "raw"
    else:
        mode = "full"
    engine_options = options.configure_engine(config, **(engine_flags or {}))
    served = config.api_model if config.backend == "openai" else None
    model_label = "vote" if voting else "gold" if gold else (served or Path(model or config.default_model).stem).replace("/", "_")
    name = f"eval_{model_label}_{mode}"
    out = out or Path(f"{name}.jsonl")
    report_base = Path(report) if report else out.with_name(out.stem + "_report" if out.suffix == ".jsonl" else out.name + "_report")
    if concurrency > 1 and config.backend != "openai" and not (gold or voting):
        raise UsageError("--concurrency needs a server backend", hint="add --backend openai --base-url URL --api-model NAME; a local model answers one question at a time")
    flags = dict(settings_flags or {})
    if no_retries:
        flags["max_retries"] = 0
    from ..evaluation.runner import EVAL_DEFAULTS

    settings = settings_from(config, flags, raw=raw, **EVAL_DEFAULTS)
    opts = EvalOptions(
        model=model,
        gold=gold,
        raw=raw,
        instructions=not no_instructions,
        settings=settings,
        engine_options=engine_options,
        concurrency=concurrency,
    )
    evaluator = Evaluator(config, opts)
    progress = _Progress(state)
    started = time.perf_counter()
    loading: Any = None
    if not gold and not voting and state.show_progress:
        loading = state.err.status("loading the model…", spinner="dots")
        loading.start()

    def on_loaded() -> None:
        if loading is not None:
            loading.stop()

    def on_start(total: int, already: int) -> None:
        if gold and loading is not None:
            loading.stop()
        progress.start(total, already)

    try:
        if voting:
            from ..evaluation.runner import write_predictions
            from ..evaluation.vote import vote

            if loading is not None:
                loading.stop()
            progress.start(len(questions), 0)
            lines = vote(questions, vote_files, timeout_s=settings.query_timeout, on_done=progress.done)
            write_predictions(out, lines)
            evaluator.model_name = "vote(" + ", ".join(f.stem for f in vote_files) + ")"
        else:
            lines = evaluator.run(questions, out, resume=resume, on_start=on_start, on_loaded=on_loaded, on_done=progress.done)
    finally:
        if loading is not None:
            loading.stop()
        progress.stop()
    wall_s = time.perf_counter() - started
    result = build_report(
        lines,
        name=report_base.name,
        model=evaluator.model_name,
        options={**opts.describe(), "mode": mode, **({"vote_of": [str(f) for f in vote_files]} if voting else {}), "limit": limit, "sample": sample, "seed": seed if sample else None},
        questions_file=str(questions_file),
        wall_s=wall_s,
        extra={"load_s": round(evaluator.load_s, 2)},
    )
    base = str(report_base)[: -len(".json")] if str(report_base).endswith(".json") else str(report_base)
    json_path, md_path = write_report(result, Path(base + ".json"))
    _print_report(state, result)
    o = result["overall"]
    state.info(
        f"{o['correct']}/{o['n']} right ({o['accuracy']:.1f}%, subset {o['subset_accuracy']:.1f}%) in {wall_s:.0f}s; "
        f"predictions {out}; report {json_path} and {md_path}"
    )
    return int(ExitCode.OK)


eval_command.__doc__ = HELP


def register(app: typer.Typer) -> None:
    app.command("eval", help=HELP)(engine_options()(answer_options(skip=("row_limit", "memory", "refresh_schema"), help_overrides=EVAL_HELP)(eval_command)))
