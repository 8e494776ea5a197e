"""The REPL loop: one line of input at a time, the model loaded once for the whole session.

:class:`Repl` holds a :class:`~sqlcoder_cli.pipeline.Session` and handles a line with
:meth:`Repl.handle` (a meta-command, SQL typed by the user, or a question — perhaps a follow-up of
the previous answer). Reading input and letting the user review the generated SQL are the job of a
*UI*: :class:`TerminalUI` (prompt_toolkit, on a terminal) or :class:`ScriptUI` (lines from a pipe,
generated SQL runs as written). Tests drive :meth:`Repl.handle` in-process with a ``ScriptUI``.

The model starts loading in a background thread (:class:`ModelLoader`) as soon as the REPL starts;
the first question waits for it. Ctrl-C while the model writes or a query runs cancels that one
step and returns to the prompt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import AnswerFailed, Interrupted, SqlcoderError, UsageError
from ..frontend.live import LiveSQL
from ..frontend.messages import answer_timings_line, attempt_failed_line, mended_lines
from ..frontend.state import warn_if_privileged
from ..frontend.terminate import raise_if_requested
from ..output.visible import visible
from .commands import META_COMMANDS, MetaCommand, help_text, input_is_complete, is_follow_up, join_continued, looks_like_sql, parse_meta

if TYPE_CHECKING:
    from ..frontend.state import AppState
    from ..engine.llama import LlamaEngine
    from ..pipeline import Answer, FailedAttempt, Session

#: what a UI's review returns instead of SQL
REGENERATE = "\x00regenerate"
CANCEL = "\x00cancel"
#: rows the pager is used above when the terminal's height is unknown
DEFAULT_PAGE_ROWS = 40

SessionFactory = Callable[..., "Session"]


class _Regenerate(Exception):
    def __init__(self, sql: str) -> None:
        super().__init__(sql)
        self.sql = sql


class _Cancelled(Exception):
    pass


# --- loading the model in the background --------------------------------------------------------
class ModelLoader:
    """Loads ``session.engine`` in a daemon thread; :meth:`wait` hands it over (or its error).

    ``loads`` counts the engines actually constructed through this loader, so ``\\model`` can show
    that a long session loaded its model once.
    """

    def __init__(self) -> None:
        self.loads = 0
        self.load_s = 0.0
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._session: Session | None = None

    def start(self, session: Session) -> None:
        self._session = session
        self._error = None
        if session.model_loaded:
            return
        self._thread = threading.Thread(target=self._load, args=(session,), name="sqlcoder-model-loader", daemon=True)
        self._thread.start()

    def _load(self, session: Session) -> None:
        try:
            was_loaded = session.model_loaded
            started = time.perf_counter()
            _ = session.engine
            if not was_loaded:
                self.loads += 1
                self.load_s = time.perf_counter() - started
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by wait()
            self._error = exc

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, on_wait: Callable[[], Any] | None = None) -> LlamaEngine:
        """The loaded engine; raises the loading error (once: the next call tries again).

        Waits in short slices so Ctrl-C in the main thread stays responsive (the load goes on).
        """
        session = self._session
        assert session is not None, "start() first"
        if self.busy:
            context = on_wait() if on_wait is not None else None
            try:
                if context is not None:
                    context.__enter__()
                while self.busy:
                    self._thread.join(0.1)  # type: ignore[union-attr]
            finally:
                if context is not None:
                    context.__exit__(None, None, None)
        if self._error is not None:
            error, self._error = self._error, None
            self._thread = None
            raise error
        if not session.model_loaded:
            # never started, or an earlier attempt failed: load in the foreground now
            self._thread = None
            self._load(session)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
        return session.engine


# --- user interfaces -----------------------------------------------------------------------------
class ScriptUI:
    """Input from a stream (a pipe or a test); generated SQL runs as written, without review."""

    interactive = False

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def read(self, prompt: str) -> str:
        lines: list[str] = []
        for line in self._stream:
            lines.append(line.rstrip("\n"))
            if input_is_complete("\n".join(lines)):
                return "\n".join(lines)
        if lines:
            return "\n".join(lines)
        raise EOFError

    def review(self, sql: str) -> str:
        return sql

    def set_history(self, path: Path | None) -> None:
        pass


class TerminalUI:
    """prompt_toolkit prompts: ``sqlcoder>`` for input and ``run>`` with the generated SQL to edit."""

    interactive = True

    def __init__(self, *, completer: Any, history_path: Path | None, color: bool) -> None:
        self._completer = completer
        self._color = color
        self._main: Any = None
        self.set_history(history_path)
        self._run = self._make_run_session()

    def _style_kwargs(self) -> dict[str, Any]:
        from prompt_toolkit.output.color_depth import ColorDepth

        if not self._color:
            return {"color_depth": ColorDepth.MONOCHROME}
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.sql import SqlLexer

        return {"lexer": PygmentsLexer(SqlLexer)}

    def set_history(self, path: Path | None) -> None:
        """A new input prompt reading and writing the history file of the current database."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        history: Any = InMemoryHistory()
        if path is not None:
            from ..files import create_private_file

            try:
                create_private_file(path)  # questions are private: 0600, like the history log
                history = FileHistory(str(path))
            except OSError:
                pass  # Up/Down then remembers this session only; the REPL still works
        kb = KeyBindings()

        @kb.add("enter")
        def _submit_or_continue(event: Any) -> None:
            buffer = event.current_buffer
            state = buffer.complete_state
            if state is not None and state.current_completion is not None:
                buffer.apply_completion(state.current_completion)
                return
            if input_is_complete(buffer.text):
                buffer.validate_and_handle()
            else:
                buffer.insert_text("\n")

        @kb.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        self._main = PromptSession(
            history=history,
            completer=self._completer,
            complete_while_typing=False,
            multiline=True,
            key_bindings=kb,
            prompt_continuation=lambda width, line_number, wrap_count: "." * (width - 1) + " ",
            **self._style_kwargs(),
        )

    def _make_run_session(self) -> Any:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()

        @kb.add("enter")
        def _run(event: Any) -> None:
            event.current_buffer.validate_and_handle()

        @kb.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        @kb.add("c-r")
        def _regenerate(event: Any) -> None:
            event.app.exit(result=REGENERATE)

        return PromptSession(
            multiline=True,
            key_bindings=kb,
            enable_open_in_editor=True,
            prompt_continuation=lambda width, line_number, wrap_count: " " * width,
            **self._style_kwargs(),
        )

    def read(self, prompt: str) -> str:
        return str(self._main.prompt(prompt))

    def review(self, sql: str) -> str:
        try:
            return str(self._run.prompt("run> ", default=sql.strip()))
        except KeyboardInterrupt:
            return CANCEL
        except EOFError:
            return CANCEL


# --- the REPL ------------------------------------------------------------------------------------
@dataclass
class LastResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_count: int = 0
    truncated: bool = False


class Repl:
    """A session plus the REPL's own state (format, last SQL, previous answer for follow-ups)."""

    def __init__(
        self,
        state: AppState,
        session: Session,
        *,
        make_session: SessionFactory,
        ui: Any = None,
        fmt: str = "table",
        log_history: bool | None = None,
    ) -> None:
        self.state = state
        self.session = session
        self.make_session = make_session
        self.ui = ui if ui is not None else ScriptUI(state.env.stdin)
        self.fmt = fmt
        self.loader = ModelLoader()
        #: the previous answer a follow-up refers to (None after ``\new`` or a database switch)
        self.last_answer: Answer | None = None
        #: the answer ``last_answer`` followed up (its question is stored with it when remembered)
        self.last_follows: Answer | None = None
        self.last_question: str | None = None
        #: the last SQL that ran (generated or typed), for \run, \edit, \explain, \save, \export
        self.last_sql: str | None = None
        self.last_result: LastResult | None = None
        self.log_history = state.config.log_history if log_history is None else log_history
        self._history: Any = None

    # --- paths and helpers -----------------------------------------------------------------------
    def history_path(self) -> Path:
        """The input history file of the current database (Up/Down at the prompt)."""
        from ..schema.cache import database_key

        return self.state.config.paths.data_dir / "repl-history" / f"{database_key(self.session.database.target)}.txt"

    def table_names(self) -> list[str]:
        try:
            return [t.qualified_name for t in self.session.schema.tables]
        except SqlcoderError:
            return []

    @property
    def history(self) -> Any:
        """The history log (``sqlcoder_cli.history``), or None when logging is off."""
        if self._history is None:
            # a log that cannot be written warns once and the session goes on (AppState)
            self._history = self.state.history_log(enabled=self.log_history)
        return self._history

    def _print_rows(self, columns: Any, rows: Any) -> None:
        from ..frontend.render import print_rows

        print_rows(self.state, columns, rows)

    def _color(self) -> bool:
        from ..frontend.render import stdout_in_colour

        return stdout_in_colour(self.state)

    def info(self, message: str) -> None:
        self.state.info(message)

    def report(self, error: BaseException) -> None:
        """One line per error (red), a traceback only with --debug; the session goes on."""
        state = self.state
        if state.debug:
            import traceback

            traceback.print_exception(type(error), error, error.__traceback__, file=state.env.stderr)
        if isinstance(error, Interrupted):
            state.err.print(visible(str(error), one_line=True), style="yellow", markup=False, highlight=False)
        elif isinstance(error, SqlcoderError):
            state.error(str(error))
        else:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            state.error(f"unexpected {type(error).__name__}: {message} (run with --debug for details)")

    # --- start and loop --------------------------------------------------------------------------
    def start(self) -> None:
        """Open the database and read its schema (errors end the REPL), start loading the model."""
        session = self.session
        tables = len(session.schema.tables)
        warn_if_privileged(self.state, session.database)
        self.loader.start(session)
        self.info(
            f"sqlcoder repl · {session.database.target.display} ({tables} table{'s' if tables != 1 else ''}) · "
            f"model {self._model_label()} · \\help for help, Ctrl-D to leave"
        )

    def _model_label(self) -> str:
        try:
            name = self.session.model_name
        except SqlcoderError:
            return str(self.session.model_spec)
        return name if self.session.model_loaded else f"{name} (loading in the background)"

    def loop(self) -> int:
        """Read and handle lines until \\quit or Ctrl-D; the exit status is 0."""
        while True:
            try:
                line = self.ui.read("sqlcoder> ")
            except KeyboardInterrupt:
                raise_if_requested()
                continue
            except EOFError:
                break
            try:
                if not self.handle(line):
                    break
            except KeyboardInterrupt:
                self.state.err.print("cancelled", style="yellow", markup=False)
            raise_if_requested()  # SIGTERM whose exception was swallowed (e.g. inside SQLite)
        return 0

    def close(self) -> None:
        self.session.close()

    def handle(self, line: str) -> bool:
        """Handle one input (possibly several lines); False means "leave"."""
        text = join_continued(line)
        if not text:
            return True
        meta = parse_meta(text)
        try:
            if meta is not None:
                return self.run_meta(meta)
            if looks_like_sql(text, self.session.database.target.sqlglot_dialect, self.table_names()):
                self.run_typed_sql(text)
            else:
                self.answer(text)
        except KeyboardInterrupt:
            raise_if_requested()
            self.state.err.print("cancelled", style="yellow", markup=False)
        except _Cancelled:
            self.state.err.print("cancelled; nothing ran", style="yellow", markup=False)
        except Exception as exc:  # noqa: BLE001 - one line per error, the REPL goes on
            raise_if_requested()  # not an error: SIGTERM, whose exception SQLite turned into one
            self.report(exc)
        return True

    # --- questions -------------------------------------------------------------------------------
    def _wait_for_model(self) -> None:
        state = self.state

        def spinner() -> Any:
            if state.show_progress:
                return state.err.status(f"loading {self.session.model_name}…", spinner="dots")
            return None

        self.loader.wait(spinner)

    def is_follow_up(self, question: str) -> bool:
        return self.last_answer is not None and is_follow_up(question, self.table_names())

    def answer(self, question: str) -> Answer | None:
        """Generate SQL for ``question`` (a follow-up when the rule says so), let the user review it,
        run it, show the result. Returns the answer (None when cancelled)."""
        from ..pipeline import Answer

        previous = self.last_answer if self.is_follow_up(question) else None
        if previous is not None:
            self.info(f"(follow-up of: {previous.question})")
        self._wait_for_model()
        stream = LiveSQL(self.state.out) if self.ui.interactive else None
        rejected: str | None = None
        history = self.history
        while True:
            try:
                if rejected is None:
                    answer = self.session.ask(
                        question,
                        on_token=stream.on_token if stream else None,
                        review=lambda sql: self._review(sql, stream),
                        on_retry=lambda failure: self._on_retry(failure, stream),
                        previous=previous,
                    )
                else:
                    answer = self._regenerate(question, rejected, previous, stream)
            except _Regenerate as again:
                rejected = again.sql
                continue
            except SqlcoderError as exc:
                if stream:
                    stream.stop()
                if isinstance(exc, AnswerFailed):
                    self.state.note_failed_answer(self.session, exc)
                if history is not None and not isinstance(exc, Interrupted):
                    history.record_failure(
                        question, exc, db=self.session.database.target.display, model=self._model_name(), source="repl"
                    )
                raise
            finally:
                if stream:
                    stream.stop()
            break
        assert isinstance(answer, Answer)
        if not self.ui.interactive:
            from ..frontend.render import show_sql_with_result

            show_sql_with_result(self.state, answer.sql)
        for line in mended_lines(answer):
            self.info(line)
        self.last_answer = answer
        self.last_follows = previous
        self.last_question = question
        self.last_sql = answer.sql
        self.last_result = LastResult(answer.columns, answer.rows, answer.row_count, answer.truncated)
        if history is not None:
            history.record_answer(answer, source="repl")
        self.show_result(self.last_result)
        if answer.edited and answer.executed:
            # the user changed the model's SQL and it ran: that is a confirmation worth keeping
            self._remember(question, answer.sql, previous, why="your edited SQL")
        if self.state.verbose:
            self.info(answer_timings_line(answer))
        self.state.warn_if_slow(self.session, answer.timings)
        return answer

    def _remember(self, question: str, sql: str, previous: Answer | None, *, why: str) -> bool:
        """Keep a confirmed pair as a few-shot example for later prompts, and say so (only what
        the user confirmed: ``\\remember``, or an edit that ran; never every SQL that ran)."""
        if not self.session.remember(question, sql, previous=previous):
            self.info("memory is off (--no-memory or config memory = false): nothing remembered")
            return False
        self.info(f"remembered {why} as an example for later questions (sqlcoder memory list shows them)")
        return True

    def _model_name(self) -> str | None:
        try:
            return self.session.model_name
        except SqlcoderError:
            return None

    def _review(self, sql: str, stream: LiveSQL | None) -> str:
        if stream:
            stream.stop()
        reviewed = self.ui.review(sql)
        if reviewed == REGENERATE:
            raise _Regenerate(sql)
        if reviewed == CANCEL:
            raise _Cancelled()
        meta = parse_meta(reviewed)
        if meta is not None and meta.name in ("regen", "regenerate"):
            raise _Regenerate(sql)
        if meta is not None and meta.name in ("cancel", "quit", "new"):
            raise _Cancelled()
        if meta is not None and meta.name == "edit":
            from ..frontend.editor import edit_sql

            return edit_sql(sql, self.state.env.environ) or sql  # an emptied file keeps the model's SQL
        return reviewed.strip().rstrip(";").strip() or sql

    def _on_retry(self, failure: FailedAttempt, stream: LiveSQL | None) -> None:
        if stream:
            stream.stop()
        self.state.warn(attempt_failed_line(failure, budget_s=self.session.settings.budget))

    def _regenerate(self, question: str, rejected: str, previous: Answer | None, stream: LiveSQL | None) -> Answer:
        """Another answer: greedy decoding would repeat itself, so the rejected SQL goes back to the
        model as a failed attempt ("the user rejected it")."""
        from ..prompts import Correction

        self.info("regenerating…")
        return self.session.ask(
            question,
            on_token=stream.on_token if stream else None,
            review=lambda sql: self._review(sql, stream),
            on_retry=lambda failure: self._on_retry(failure, stream),
            previous=previous,
            correction=Correction(sql=rejected, error="the user rejected this query; write a different one that answers the question."),
        )

    # --- SQL typed by the user -------------------------------------------------------------------
    def run_typed_sql(self, text: str) -> LastResult:
        """Guard, translate and validate the SQL (``Session.prepare_sql``), run it, show the rows."""
        session = self.session
        sql = session.prepare_sql(text.strip().rstrip(";").strip())
        return self.run_sql(sql, question=None)

    def run_sql(self, sql: str, *, question: str | None) -> LastResult:
        session = self.session
        history = self.history
        try:
            result = session.run_sql(sql)
        except SqlcoderError as exc:
            if history is not None and not isinstance(exc, Interrupted):
                history.record_failure(question, exc, db=session.database.target.display, model=None, sql=sql, source="repl")
            raise
        self.last_sql = sql
        self.last_result = LastResult(result.columns, result.rows, result.row_count, result.truncated)
        if history is not None:
            history.record(
                source="repl", outcome="ok", question=question, sql=sql, db=session.database.target.display,
                row_count=result.row_count, timings={"execute_s": round(result.elapsed_s, 4)},
            )
        self.show_result(self.last_result)
        return self.last_result

    # --- showing results -------------------------------------------------------------------------
    def show_result(self, result: LastResult) -> None:
        state = self.state
        fmt = self.fmt
        out = state.data
        if fmt == "table":
            from ..frontend.render import print_table, rows_table

            console = state.out
            table = rows_table(state, result.columns, result.rows)
            if self._should_page(len(result.rows)):
                import os

                os.environ.setdefault("LESS", "-RFX")
                with console.pager(styles=self._color()):
                    console.print(table)
            else:
                print_table(state, table)
        elif fmt == "json":
            from ..output.formats import write_json
            from ..output.values import json_value

            write_json(out, [dict(zip(result.columns, (json_value(v) for v in row))) for row in result.rows])
        elif fmt == "jsonl":
            from ..output.stream import stream_rows

            stream_rows(out, "jsonl", result.columns, result.rows)
        else:
            from ..frontend.render import write_result

            write_result(state, fmt, result.columns, result.rows)
        out.flush()
        if result.truncated:
            state.warn(f"showing the first {result.row_count} rows; the result has more (\\limit N to see more)")
        elif fmt == "table":
            self.info(f"{result.row_count} row{'s' if result.row_count != 1 else ''}")

    def _should_page(self, rows: int) -> bool:
        """Page when the table is taller than the terminal, and only on a terminal (and never
        when PAGER is unset and stdin is not a terminal)."""
        env = self.state.env
        if not (env.stdout_isatty and self.state.out.is_terminal):
            return False
        if not env.environ.get("PAGER") and not env.stdin_isatty:
            return False
        height = self.state.out.size.height or DEFAULT_PAGE_ROWS
        return rows + 6 > height

    # --- meta-commands ---------------------------------------------------------------------------
    def run_meta(self, meta: MetaCommand) -> bool:
        """Run a meta-command; False for \\quit."""
        if meta.name == "quit":
            return False
        handler = getattr(self, f"_meta_{meta.name}", None)
        if not meta.known or handler is None:
            if meta.name in ("regen", "regenerate", "cancel"):
                raise UsageError(f"{meta.raw} works at the run> prompt, after a question")
            raise UsageError(f"unknown command {meta.raw}", hint="\\help lists the commands")
        handler(meta.arg)
        return True

    def _print(self, text: str, **kwargs: Any) -> None:
        """Text for the person at the REPL (names, notes, plans): control characters shown."""
        self.state.out.print(visible(text), markup=False, highlight=False, **kwargs)

    def _meta_help(self, arg: str) -> None:
        self._print(help_text())

    def _meta_new(self, arg: str) -> None:
        self.last_answer = None
        self.info("the next question starts afresh (no follow-up)")

    def _meta_tables(self, arg: str) -> None:
        schema = self.session.schema
        rows = [
            (t.qualified_name, "view" if t.is_view else "table", len(t.columns), "" if t.row_count is None else t.row_count)
            for t in schema.tables
        ]
        self._print_rows(["name", "kind", "columns", "rows"], rows)

    def _meta_schema(self, arg: str) -> None:
        from ..schema.ddl import render_ddl

        schema = self.session.schema
        tables = None
        if arg:
            table = schema.table(arg)
            if table is None:
                raise UsageError(f"no table named {arg!r}", hint="\\tables lists them")
            tables = [table.qualified_name]
        ddl = render_ddl(schema, tables)
        if self._color():
            from ..frontend.render import sql_syntax

            self.state.out.print(sql_syntax(ddl))
        else:
            self._print(ddl.rstrip())

    def _meta_model(self, arg: str) -> None:
        if arg:
            self.switch_model(arg)
            return
        session = self.session
        if session.server is not None:
            where = f"on the server {session.server.base_url}"
        else:
            where = str(session.model.path)
        if session.model_loaded:
            status = f"loaded once in this session ({self.loader.load_s:.1f} s)" if self.loader.loads == 1 else (
                f"loaded {self.loader.loads} times in this session"
            )
        elif self.loader.busy:
            status = "loading in the background"
        else:
            status = "not loaded yet"
        self._print(f"model {session.model_name} · {where} · {status} · loads: {self.loader.loads}")

    def _meta_db(self, arg: str) -> None:
        if arg:
            self.switch_db(arg)
            return
        target = self.session.database.target
        tables = len(self.session.schema.tables)
        self._print(f"database {target.display} · {target.backend} · {tables} table{'s' if tables != 1 else ''}")

    def _meta_format(self, arg: str) -> None:
        from ..output.formats import FORMATS

        if not arg:
            self._print(f"format {self.fmt} (choose from {', '.join(FORMATS)})")
            return
        if arg not in FORMATS:
            raise UsageError(f"unknown format {arg!r}", hint=f"choose one of: {', '.join(FORMATS)}")
        self.fmt = arg
        self.info(f"results as {arg}")

    def _meta_limit(self, arg: str) -> None:
        if not arg:
            self._print(f"limit {self.session.settings.row_limit} rows")
            return
        try:
            value = int(arg)
        except ValueError:
            value = 0
        if value < 1:
            raise UsageError(f"the limit must be a positive number of rows, not {arg!r}")
        self.session.settings = self.session.settings.with_overrides(row_limit=value)
        self.info(f"showing at most {value} rows")

    def _need_sql(self) -> str:
        if not self.last_sql:
            raise UsageError("no SQL yet", hint="ask a question or type a query first")
        return self.last_sql

    def _meta_run(self, arg: str) -> None:
        sql = self._need_sql()
        self.run_sql(self.session.prepare_sql(sql), question=self.last_question if self.last_answer else None)

    def _meta_edit(self, arg: str) -> None:
        from ..frontend.editor import edit_sql

        sql = self._need_sql()
        edited = edit_sql(sql, self.state.env.environ)
        if not edited:
            self.info("the file was empty; nothing ran")
            return
        prepared = self.session.prepare_sql(edited)
        from ..frontend.render import show_sql_with_result

        show_sql_with_result(self.state, prepared)
        question = self.last_question if self.last_answer else None
        self.run_sql(prepared, question=question)
        if question and self.last_answer is not None:
            self.last_answer.sql = prepared
            self.last_sql = prepared
            if prepared.strip() != sql.strip():
                self._remember(question, prepared, self.last_follows, why="your edited SQL")

    def _meta_remember(self, arg: str) -> None:
        if self.last_answer is None or self.last_question is None or not self.last_sql:
            raise UsageError("nothing to remember yet", hint="ask a question first; \\remember keeps it and the SQL that answered it")
        self._remember(self.last_question, self.last_sql, self.last_follows, why="this question and its SQL")

    def _meta_explain(self, arg: str) -> None:
        session = self.session
        sql = session.prepare_sql(self._need_sql())  # the inner query passes the guard first
        backend = session.database.target.backend
        result = session.database.explain(sql)
        if backend == "sqlite" and "detail" in result.columns:
            self._print(format_sqlite_plan(result.columns, result.rows))
            return
        texts = [v for row in result.rows for v in row if isinstance(v, str) and "\n" in v]
        if texts:
            self._print("\n".join(t.rstrip() for t in texts))
        else:
            self._print_rows(result.columns, result.rows)

    def _meta_history(self, arg: str) -> None:
        history = self.history
        if history is None:
            raise UsageError("the history log is off (log_history = false)", hint="sqlcoder config set log_history true")
        entries = history.search(arg or None, db=self.session.database.target.display, limit=20)
        if not entries:
            self.info("nothing in the history" + (f" matching {arg!r}" if arg else "") + " for this database")
            return
        self._print_rows(list(entries[0].ROW_HEADERS), [e.row() for e in reversed(entries)])

    def _meta_save(self, arg: str) -> None:
        sql = self._need_sql()
        if not arg:
            raise UsageError("\\save needs a file name", hint="\\save query.sql")
        path = Path(arg).expanduser()
        path.write_text(sql.strip().rstrip(";") + ";\n", encoding="utf-8")
        self.info(f"saved the SQL to {path}")

    def _meta_export(self, arg: str) -> None:
        sql = self._need_sql()
        if not arg:
            raise UsageError("\\export needs a file name", hint="\\export result.csv (or .json, .jsonl, .parquet)")
        path = Path(arg).expanduser()
        from ..output.export import export_rows

        count = export_rows(self.session.database, self.session.prepare_sql(sql), path)
        self.info(f"wrote {count} row{'s' if count != 1 else ''} to {path}")

    def _meta_chart(self, arg: str) -> None:
        """``\\chart [bar|line|scatter] [FILE.png|FILE.svg]``: the last result as a chart."""
        from ..frontend.charts import ChartRequest, show_chart
        from ..output.chart import CHART_KINDS

        if self.last_result is None:
            raise UsageError("no result to chart yet", hint="ask a question or run a query first")
        kind, out = "auto", None
        for word in arg.split():
            if word in CHART_KINDS:
                kind = word
            elif Path(word).suffix:
                out = Path(word)
            else:
                raise UsageError(f"\\chart does not know {word!r}", hint="\\chart [bar|line|scatter] [FILE.png|FILE.svg]")
        result = self.last_result
        show_chart(self.state, ChartRequest(kind=kind, out=out), result.columns, result.rows)

    def _meta_notes(self, arg: str) -> None:
        notes = self.session.notes()
        if not notes.strip():
            self.info("no notes for this database (add some with: sqlcoder notes edit)")
            return
        self._print(notes.rstrip())

    # --- switching model or database -------------------------------------------------------------
    def switch_model(self, spec: str) -> None:
        """A new session with the other model (same database, format and limit); the old model is
        freed first, the new one loads in the background."""
        new = self.make_session(db=self.session.db_spec, model=spec, settings=self.session.settings)
        _ = new.model_name  # resolve the name now: a typo leaves the current model in place
        self._settle_loader()
        old, self.session = self.session, new
        old.close()
        self.loader = ModelLoader()
        self.loader.start(new)
        self.info(f"switched to {new.model_name} (loading in the background)")

    def switch_db(self, spec: str) -> None:
        """A new session for the other database; the loaded model moves over to it (no reload)."""
        new = self.make_session(db=spec, model=self.session.model_spec, settings=self.session.settings)
        _ = new.schema  # open and read it now: a bad URL leaves the current database in place
        warn_if_privileged(self.state, new.database)
        self._settle_loader()
        old = self.session
        if old.model_loaded:  # hand the loaded model to the new session
            new.adopt_model(old)
        old.close()
        self.session = new
        loads = self.loader.loads
        self.loader = ModelLoader()
        self.loader.loads = loads
        self.loader.start(new)
        self.last_answer = None
        self.last_sql = None
        self.last_result = None
        self.ui.set_history(self.history_path())
        tables = len(new.schema.tables)
        self.info(f"switched to {new.database.target.display} ({tables} table{'s' if tables != 1 else ''})")

    def _settle_loader(self) -> None:
        """Let a background load finish before the session it loads into changes hands."""
        if self.loader.busy:
            try:
                self._wait_for_model()
            except SqlcoderError:
                pass


def format_sqlite_plan(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """SQLite's EXPLAIN QUERY PLAN rows (id, parent, notused, detail) as an indented tree."""
    index = {name: i for i, name in enumerate(columns)}
    depth: dict[Any, int] = {0: -1}
    lines = ["QUERY PLAN"]
    for row in rows:
        node, parent, detail = row[index["id"]], row[index["parent"]], row[index["detail"]]
        level = depth.get(parent, -1) + 1
        depth[node] = level
        lines.append("  " * level + "`--" + str(detail))
    return "\n".join(lines)


__all__ = ["META_COMMANDS", "Repl", "ScriptUI", "TerminalUI", "ModelLoader", "format_sqlite_plan"]
