"""``sqlcoder ask``: one question (or one per stdin line) → SQL → result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..errors import AnswerFailed, ExitCode, ModelNotDownloadedError, SqlcoderError, UsageError
from ..output.visible import visible
from . import options
from .inputs import check_question, read_questions
from ..frontend.charts import chart_request, show_chart
from ..frontend.editor import edit_sql
from ..frontend.live import LiveSQL
from ..frontend.messages import attempt_failed_line
from ..frontend.render import render_answer, stream_result
from .settings_flags import answer_options, engine_options, settings_from
from .state import AppState, get_state, warn_if_privileged

if TYPE_CHECKING:
    from ..history import History
    from ..pipeline import Answer, FailedAttempt, PromptPlan, Session

STREAMABLE = ("csv", "tsv", "jsonl")


def _ensure_model(state: AppState, session: Session) -> None:
    """Resolve the model; on a terminal, offer to download a catalogue model that is missing."""
    if not session.uses_local_model:
        return
    try:
        _ = session.model
    except ModelNotDownloadedError as missing:
        if not state.env.interactive:
            raise
        if not state.confirm(f"{missing.message}. Download it now?", default=True):
            raise
        from .models_cmd import pull_with_progress

        pull_with_progress(state, missing.model_name)
        _ = session.model


def _print_plan(state: AppState, plan: PromptPlan) -> None:
    """--show-prompt: the exact prompt, then what the schema pruning left out (on a terminal,
    control characters from sampled values are shown, not obeyed; into a file it stays exact)."""
    text = visible(plan.prompt.text) if state.env.stderr_isatty else plan.prompt.text
    state.err.print(text, markup=False, highlight=False, soft_wrap=True)
    pruned = plan.pruned
    if pruned.dropped_tables or any(pruned.dropped_columns.values()):
        state.err.print(
            f"-- schema pruned to fit the context: {pruned.tokens} of {pruned.full_tokens} tokens kept",
            style="yellow", markup=False,
        )
        if pruned.dropped_tables:
            state.err.print(visible("-- left out tables: " + ", ".join(pruned.dropped_tables)), markup=False, style="yellow")
        for table, columns in sorted(pruned.dropped_columns.items()):
            if columns:
                state.err.print(visible(f"-- left out columns of {table}: " + ", ".join(columns)), markup=False, style="yellow")
    else:
        state.err.print("-- the whole schema fits; nothing left out", markup=False, style="dim")
    state.err.print(
        f"-- notes: {'yes' if plan.notes.strip() else 'none'}; remembered examples: {len(plan.examples)}",
        markup=False, style="dim",
    )


def _answer_one(state: AppState, session: Session, question: str, *, fmt: str, run: bool, edit: bool) -> Answer:
    live = state.show_progress and fmt == "table"
    if not session.model_loaded and state.show_progress:
        with state.err.status(f"loading {session.model_name}…", spinner="dots"):
            _ = session.engine
    budget = session.settings.budget

    def on_retry(failure: FailedAttempt) -> None:
        streamer.stop()
        if state.verbose or state.show_progress:
            state.warn(attempt_failed_line(failure, budget_s=budget))

    def review(sql: str) -> str:
        streamer.stop()
        return edit_sql(sql, state.env.environ) or sql  # an emptied file keeps the model's SQL

    with LiveSQL(state.err) as streamer:
        try:
            answer = session.ask(
                question,
                execute=run,
                on_token=streamer.on_token if live else None,
                review=review if edit else None,
                on_retry=on_retry,
            )
        except AnswerFailed as failed:
            streamer.stop()
            state.note_failed_answer(session, failed, model=session.model_name)
            raise
    state.warn_if_slow(session, answer.timings)
    return answer


def _log_failure(history: History | None, session: Session, question: str, error: SqlcoderError) -> None:
    if history is None:
        return
    model = session._model.name if session._model is not None else (session.server.api_model if session.server else session.model_spec)
    history.record_failure(question, error, db=session.db_display, model=model)


def _stream_all(state: AppState, session: Session, answer: Answer, fmt: str) -> None:
    """--all: every row of the answer's query, streamed (never all in memory)."""
    columns, rows = session.database.iter_rows(answer.sql)
    stream_result(state, fmt, columns, rows)


def ask(
    ctx: typer.Context,
    question: Optional[str] = typer.Argument(
        None, help="The question in plain English. Use '-' (or pipe text with no question) to read one question per line from stdin.",
        show_default=False,
    ),
    db: Optional[str] = options.DbOption,
    model: Optional[str] = options.ModelOption,
    fmt: Optional[str] = options.FormatOption,
    fetch_all: bool = typer.Option(False, "--all", help="Stream every row (csv, tsv or jsonl only), not just --limit."),
    sql_only: bool = typer.Option(False, "--sql-only", help="Print only the SQL; do not run it."),
    no_run: bool = typer.Option(False, "--no-run", help="Show the SQL (in the chosen format) without running it."),
    edit: bool = typer.Option(False, "--edit", "-e", help="Open $EDITOR on the SQL before it runs; the pair is remembered as an example."),
    show_prompt: bool = typer.Option(False, "--show-prompt", help="Print the exact prompt and what was left out of it (on stderr)."),
    show_dialect: bool = typer.Option(False, "--show-dialect", help="Show the model's SQL too when it was translated to the database's dialect."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write this to the history log."),
    chart: bool = options.ChartOption,
    chart_type: Optional[str] = options.ChartTypeOption,
    chart_out: Optional[Path] = options.ChartOutOption,
    engine_flags: dict[str, Any] | None = None,
    settings_flags: dict[str, Any] | None = None,
) -> int:
    """Ask a question about a database; the model writes SQL, which runs read-only."""
    state = get_state(ctx)
    from ..pipeline import Session

    from_stdin = question == "-" or (question is None and not state.env.stdin_isatty)
    if question is None and not from_stdin:
        raise UsageError("no question given", hint='try: sqlcoder ask "How many customers are there?"')
    # before the config, the database or the model: an empty question is a usage error, found at once
    questions = read_questions(state) if from_stdin else [check_question(question or "")]
    config = state.config
    fmt = fmt or ("jsonl" if from_stdin else "table")
    if len(questions) > 1 and fmt in ("csv", "tsv", "table", "markdown") and not sql_only:
        raise UsageError(
            f"--format {fmt} needs a single question; several questions came from stdin",
            hint="use --format jsonl (the default for stdin), or --sql-only",
        )
    if fetch_all and (fmt not in STREAMABLE or len(questions) > 1):
        raise UsageError("--all streams rows as csv, tsv or jsonl for a single question", hint="add --format csv")
    chart_wanted = chart_request(chart, chart_type, chart_out)
    if chart_wanted is not None and (sql_only or no_run or fetch_all or len(questions) > 1):
        raise UsageError("a chart needs one question whose SQL runs", hint="leave out --sql-only, --no-run and --all")
    if edit and not state.env.stdin_isatty and not state.env.environ.get("EDITOR") and not state.env.environ.get("VISUAL"):
        raise UsageError("--edit needs a terminal or $EDITOR")
    engine_options = options.configure_engine(config, **(engine_flags or {}))
    settings = settings_from(config, settings_flags or {})
    run = not (sql_only or no_run)
    failures: list[int] = []
    history = state.history_log(no_log=no_log)
    with Session(config, db=db, model=model, settings=settings, engine_options=engine_options) as session:
        _ensure_model(state, session)
        warn_if_privileged(state, session.database)
        for q in questions:
            try:
                if show_prompt:
                    _print_plan(state, session.plan_prompt(q))
                answer = _answer_one(state, session, q, fmt=fmt, run=run, edit=edit)
            except SqlcoderError as exc:
                _log_failure(history, session, q, exc)
                if len(questions) == 1 or fmt != "jsonl":
                    raise
                failures.append(int(exc.exit_code))
                from ..output.formats import write_jsonl_line

                write_jsonl_line(
                    state.data,
                    {"question": q, "error": str(exc), "exit_code": int(exc.exit_code), "sql": getattr(exc, "sql", None)},
                )
                continue
            if history is not None:
                history.record_answer(answer, source="ask")
            if edit and answer.executed and session.remember(q, answer.sql):
                state.info("remembered this question and its SQL as an example for later prompts")
            if show_dialect and answer.model_dialect != answer.db_dialect and answer.model_sql.strip() != answer.sql.strip():
                state.err.print(f"-- the model wrote ({answer.model_dialect}):", style="dim", markup=False)
                state.err.print(visible(answer.model_sql), markup=False, highlight=False)
                state.err.print(f"-- translated to {answer.db_dialect}:", style="dim", markup=False)
                state.err.print(visible(answer.sql), markup=False, highlight=False)
            if fetch_all and answer.executed:
                _stream_all(state, session, answer, fmt)
            elif sql_only and len(questions) > 1 and fmt not in ("json", "jsonl"):
                state.data.write(" ".join(answer.sql.split()) + ";\n")
            else:
                render_answer(state, answer, fmt, sql_only=sql_only)
                if chart_wanted is not None and answer.executed:
                    show_chart(state, chart_wanted, answer.columns, answer.rows, on_stderr=fmt != "table")
    if failures:
        state.err.print(f"{len(failures)} of {len(questions)} questions failed", style="yellow", markup=False)
        raise typer.Exit(failures[0])
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("ask")(engine_options()(answer_options()(ask)))
