"""``sqlcoder ask``: one question (or one per stdin line) → SQL → result."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..errors import ExitCode, ModelNotDownloadedError, SqlcoderError, UsageError
from . import options
from .render import render_answer, sql_syntax
from .state import AppState, get_state

if TYPE_CHECKING:
    from ..pipeline import Answer, Session


def _edit_in_editor(sql: str, environ: dict[str, str]) -> str:
    """Open $VISUAL/$EDITOR on the SQL; an emptied buffer keeps the original."""
    from .editor import edit_text

    edited = edit_text(sql.rstrip() + ";\n", suffix=".sql", environ=environ)
    if not edited.strip():
        return sql
    return edited.strip().rstrip(";").strip()


class _LiveSQL(AbstractContextManager["_LiveSQL"]):
    """Shows the SQL growing on stderr while the model writes it (only on a terminal)."""

    def __init__(self, state: AppState) -> None:
        from rich.live import Live

        self.text = ""
        self._live = Live(console=state.err, transient=True, refresh_per_second=12)

    def __enter__(self) -> _LiveSQL:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.__exit__(*exc)

    def on_token(self, piece: str) -> None:
        self.text += piece
        self._live.update(sql_syntax(self.text))


def _ensure_model(state: AppState, session: Session) -> None:
    """Resolve the model; on a terminal, offer to download a catalogue model that is missing."""
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


def _answer_one(state: AppState, session: Session, question: str, *, fmt: str, run: bool, edit: bool) -> Answer:
    live = state.show_progress and fmt == "table"
    if not session.model_loaded and state.show_progress:
        with state.err.status(f"loading {session.model.name}…", spinner="dots"):
            _ = session.engine
    streamer: Any = _LiveSQL(state) if live else nullcontext()
    with streamer:
        return session.ask(
            question,
            execute=run,
            on_token=streamer.on_token if live else None,
            review=(lambda sql: _edit_in_editor(sql, state.env.environ)) if edit else None,
        )


def ask(
    ctx: typer.Context,
    question: Optional[str] = typer.Argument(
        None, help="The question in plain English. Use '-' (or pipe text with no question) to read one question per line from stdin.",
        show_default=False,
    ),
    db: Optional[str] = options.DbOption,
    model: Optional[str] = options.ModelOption,
    fmt: Optional[str] = options.FormatOption,
    limit: Optional[int] = options.LimitOption,
    sql_only: bool = typer.Option(False, "--sql-only", help="Print only the SQL; do not run it."),
    no_run: bool = typer.Option(False, "--no-run", help="Show the SQL (in the chosen format) without running it."),
    edit: bool = typer.Option(False, "--edit", "-e", help="Open $EDITOR on the SQL before it runs."),
    show_prompt: bool = typer.Option(False, "--show-prompt", help="Print the exact prompt the model sees (on stderr)."),
    ctx_size: Optional[int] = options.CtxOption,
    threads: Optional[int] = options.ThreadsOption,
    gpu_layers: Optional[int] = options.GpuLayersOption,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=16, help="Most tokens the model may write (default 512).", show_default=False),
) -> int:
    """Ask a question about a database; the model writes SQL, which runs read-only."""
    state = get_state(ctx)
    from ..engine.base import EngineOptions
    from ..pipeline import Session

    config = state.config
    from_stdin = question == "-" or (question is None and not state.env.stdin_isatty)
    if question is None and not from_stdin:
        raise UsageError("no question given", hint='try: sqlcoder ask "How many customers are there?"')
    questions = (
        [line.strip() for line in state.env.stdin if line.strip()] if from_stdin else [question or ""]
    )
    fmt = fmt or ("jsonl" if from_stdin else "table")
    if len(questions) > 1 and fmt in ("csv", "tsv", "table", "markdown") and not sql_only:
        raise UsageError(
            f"--format {fmt} needs a single question; several questions came from stdin",
            hint="use --format jsonl (the default for stdin), or --sql-only",
        )
    if edit and not state.env.stdin_isatty and not state.env.environ.get("EDITOR") and not state.env.environ.get("VISUAL"):
        raise UsageError("--edit needs a terminal or $EDITOR")
    engine_options = EngineOptions(
        n_ctx=ctx_size if ctx_size is not None else config.context_length,
        n_threads=threads if threads is not None else config.threads,
        n_gpu_layers=gpu_layers if gpu_layers is not None else config.gpu_layers,
        log_file=config.paths.log_dir / "llama.log",
    )
    run = not (sql_only or no_run)
    failures: list[int] = []
    with Session(
        config, db=db, model=model, engine_options=engine_options, row_limit=limit, max_new_tokens=max_tokens
    ) as session:
        _ensure_model(state, session)
        for q in questions:
            if show_prompt:
                state.err.print(session.build_prompt(q).text, markup=False, highlight=False, soft_wrap=True)
            try:
                answer = _answer_one(state, session, q, fmt=fmt, run=run, edit=edit)
            except SqlcoderError as exc:
                if len(questions) == 1 or fmt != "jsonl":
                    raise
                failures.append(int(exc.exit_code))
                from ..output.formats import write_jsonl_line

                write_jsonl_line(
                    state.env.stdout,
                    {"question": q, "error": str(exc), "exit_code": int(exc.exit_code), "sql": getattr(exc, "sql", None)},
                )
                continue
            if sql_only and len(questions) > 1 and fmt not in ("json", "jsonl"):
                state.env.stdout.write(" ".join(answer.sql.split()) + ";\n")
            else:
                render_answer(state, answer, fmt, sql_only=sql_only)
    if failures:
        state.err.print(f"{len(failures)} of {len(questions)} questions failed", style="yellow", markup=False)
        raise typer.Exit(failures[0])
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
