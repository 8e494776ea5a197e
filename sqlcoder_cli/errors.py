"""One exception hierarchy for the whole tool.

Every failure a user can cause or meet is a :class:`SqlcoderError`. Each subclass carries the
process exit code the CLI uses for it (the documented contract in the README), so the CLI turns
any of them into one red line and the right status without a traceback, and library users can
catch one base class.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit statuses; documented in the README and relied upon by scripts."""

    OK = 0
    DATABASE = 1  # the database refused or failed the query, or the database cannot be opened
    USAGE = 2  # bad arguments or configuration
    MODEL = 3  # model missing, failed to download or failed to load
    NO_SQL = 4  # the model produced no valid or no safe SQL
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15, what a shell reports for a process killed by it)


class SqlcoderError(Exception):
    """Base class. ``hint`` is an optional second sentence telling the user what to do next."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(SqlcoderError):
    """The user asked for something that cannot work as asked (bad option combination, bad value)."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration file or an environment override is invalid."""


class ChartError(UsageError):
    """A result cannot be charted as asked (no numeric column, a kind the columns do not fit, a
    file name that is not .png or .svg, matplotlib missing for files); exit 2 like any request
    that cannot work as asked."""


class HistoryError(SqlcoderError):
    """The history log (``history.sqlite``) cannot be read or written.

    Exit 2 where it is the point of the command (``sqlcoder history``); elsewhere the CLI only
    warns, because the log is an extra and must never turn an answer into a failure. ``hint`` names
    the repair (``sqlcoder history --repair``).
    """

    exit_code = ExitCode.USAGE


class DatabaseError(SqlcoderError):
    """Opening the database or running a query failed."""

    exit_code = ExitCode.DATABASE


class QueryTimeoutError(DatabaseError):
    """The query ran longer than the time limit and was cancelled."""


class ModelError(SqlcoderError):
    """Anything about the model: unknown name, not on disk, download or load failure."""

    exit_code = ExitCode.MODEL


class UnknownModelError(ModelError):
    """The name is neither in the catalogue, nor a registered local model, nor a GGUF path."""


class ModelNotDownloadedError(ModelError):
    """A catalogue model that is not on disk yet; ``hint`` carries the exact pull command."""

    def __init__(self, message: str, *, model_name: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.model_name = model_name


class DownloadError(ModelError):
    """The download failed, was refused (offline mode, no disk space) or did not verify."""


class NotGGUFError(ModelError):
    """A file given as a model is not a GGUF file."""


class ModelLoadError(ModelError):
    """llama.cpp could not load the model file."""


class ServerError(ModelError):
    """A model server (OpenAI-compatible: vLLM, llama-server, Ollama, LM Studio) could not be
    reached, refused the request, stopped mid-answer or answered with something that is not a
    completion. The message names the server by its address, never by its key."""


class SQLGenerationError(SqlcoderError):
    """The model's answer contained no usable SQL, or SQL that does not parse."""

    exit_code = ExitCode.NO_SQL

    def __init__(self, message: str, *, sql: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.sql = sql


class UnsafeSQLError(SQLGenerationError):
    """The statement is not a single read-only query; it is refused before the database sees it."""


class SQLValidationError(SQLGenerationError):
    """The SQL names tables or columns the database does not have (or does not parse).

    ``issues`` holds every ``sqlcoder_cli.sql.validate.SQLIssue`` found (kind, message, name), so
    the self-correction loop can feed all of them back; the message is the first one's.
    """

    def __init__(self, issues: list[Any], *, sql: str | None = None, hint: str | None = None) -> None:
        first = str(issues[0]) if issues else "the SQL does not match the schema"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first}{more}", sql=sql, hint=hint)
        self.issues = list(issues)


class AnswerFailed(SqlcoderError):
    """No attempt at a question produced SQL that ran: the last attempt's error, with the count.

    It carries what callers used to parse out of the message: ``attempts`` (model calls made),
    ``failed_attempts`` (each rejected SQL and why, in order, the last one included) and
    ``generations`` (what each call cost), ``timings`` (the attempts' seconds and tokens, for
    ``--verbose``) and ``budget_s`` (set when the question's time budget ended it early). Its exit
    code and ``cause`` are the last error's, so the CLI exits as it would have for that error (4 for
    no valid SQL, 1 for a database error).
    """

    def __init__(
        self,
        cause: SqlcoderError,
        *,
        attempts: int,
        failed_attempts: list[Any] | None = None,
        generations: list[Any] | None = None,
        timings: Any = None,
        budget_s: float | None = None,
    ) -> None:
        message = cause.message
        if budget_s:
            message = f"{message} (after {attempts} attempt{'s' if attempts != 1 else ''}: the {budget_s:g} s time budget was spent)"
        elif attempts > 1:
            message = f"{message} (after {attempts} attempts)"
        # a spent budget, not the last error's cause, is what the user can change
        hint = "raise --budget (config budget), or ask a narrower question" if budget_s else cause.hint
        super().__init__(message, hint=hint)
        self.timings = timings
        self.budget_s = budget_s
        self.cause = cause
        self.exit_code = cause.exit_code  # type: ignore[misc]
        self.attempts = attempts
        self.failed_attempts = list(failed_attempts or [])
        self.generations = list(generations or [])
        self.sql: str | None = getattr(cause, "sql", None)


class Interrupted(SqlcoderError):
    """The user pressed Ctrl-C; raised where a long operation notices it."""

    exit_code = ExitCode.INTERRUPTED


class QueryCancelledError(Interrupted, DatabaseError):
    """Ctrl-C cancelled a running query; the database connection stays usable (exit 130)."""

    exit_code = ExitCode.INTERRUPTED


class Terminated(BaseException):
    """SIGTERM arrived; raised by the CLI's signal handler so ``finally`` blocks restore the terminal.

    A ``BaseException`` (like ``KeyboardInterrupt``), not a :class:`SqlcoderError`: code that
    catches errors to go on (the REPL's loop, a batch of questions) must not swallow a request to
    stop. The CLI turns it into one line and :attr:`ExitCode.TERMINATED`.
    """

    exit_code = ExitCode.TERMINATED
