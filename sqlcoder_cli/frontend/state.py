"""Per-invocation state shared by the CLI and the REPL: the environment, global flags, config, and the
two consoles (data on stdout, everything else on stderr)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from ..output.visible import VisibleStream, visible
from .environment import Environment

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Config, Paths
    from ..db.connect import Database
    from ..errors import AnswerFailed, HistoryError
    from ..history import History
    from ..pipeline import Session, Timings


@dataclass
class AppState:
    env: Environment = field(default_factory=Environment)
    debug: bool = False
    verbose: bool = False
    quiet: bool = False
    _config: Config | None = None
    _out: Console | None = None
    _err: Console | None = None
    #: the history log already said it cannot be written (once per process is enough)
    _history_warned: bool = False
    #: generation was already reported as far slower than expected (once per process is enough)
    _speed_warned: bool = False
    #: databases whose login role was already checked (the warning comes once per process)
    _roles_checked: set[str] = field(default_factory=set)

    @property
    def paths(self) -> Paths:
        """Where our files live, without reading the config file (so a broken one can be repaired)."""
        if self._config is not None:
            return self._config.paths
        from ..config import Paths

        return Paths.resolve(self.env.environ)

    @property
    def config(self) -> Config:
        """Loaded on first use, so ``--help`` never reads the file system."""
        if self._config is None:
            from ..config import Config, Paths

            self._config = Config.load(Paths.resolve(self.env.environ), self.env.environ)
        return self._config

    @property
    def out(self) -> Console:
        """Console for data (stdout)."""
        if self._out is None:
            self._out = self.env.stdout_console()
        return self._out

    @property
    def err(self) -> Console:
        """Console for progress, warnings and errors (stderr)."""
        if self._err is None:
            self._err = self.env.stderr_console()
        return self._err

    @property
    def data(self) -> TextIO:
        """stdout for data (csv, json, SQL): byte-exact into a pipe or a file; on a terminal,
        control characters from the data are shown as escapes instead of obeyed."""
        stdout = self.env.stdout
        return VisibleStream(stdout) if self.env.stdout_isatty else stdout  # type: ignore[return-value]

    @property
    def show_progress(self) -> bool:
        """Spinners, bars and streamed tokens only when a person watches stderr."""
        return bool(self.env.stderr_isatty) and not self.quiet

    def info(self, message: str) -> None:
        """A status line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.err.print(visible(message, one_line=True), markup=False, style="dim", highlight=False, soft_wrap=True)

    def confirm(self, question: str, *, default: bool) -> bool:
        """Ask a yes/no question on stderr, reading the answer from the injected stdin."""
        from rich.prompt import Confirm

        return Confirm.ask(visible(question, one_line=True), console=self.err, default=default, stream=self.env.stdin)

    def warn(self, message: str) -> None:
        """One yellow line on stderr; control characters in it (from paths, data) made visible.
        Never wrapped by us (``soft_wrap``): in a pipe or a log it stays one line to grep, and a
        terminal wraps it for the eye itself. The same holds for :meth:`info` and :meth:`error`."""
        self.err.print(f"warning: {visible(message, one_line=True)}", style="yellow", markup=False, highlight=False, soft_wrap=True)

    def error(self, message: str) -> None:
        """One red line on stderr, whatever the message holds."""
        self.err.print(f"error: {visible(message, one_line=True)}", style="bold red", markup=False, highlight=False, soft_wrap=True)

    def warn_if_slow(self, session: Session, timings: Timings) -> None:
        """Once per process: say when generation ran far below this model's expected speed."""
        if self._speed_warned:
            return
        from .messages import slow_generation_warning

        warning = slow_generation_warning(session, timings)
        if warning:
            self._speed_warned = True
            self.warn(warning)

    def note_failed_answer(self, session: Session, failed: AnswerFailed, *, model: str | None = None) -> None:
        """What a question whose every attempt failed still tells: its timings with --verbose,
        and a generation that ran far too slowly."""
        if failed.timings is None:
            return
        if self.verbose:
            from .messages import timings_line

            self.info(timings_line(failed.timings, model=model, attempts=failed.attempts, failed=True))
        self.warn_if_slow(session, failed.timings)

    def history_log(self, *, no_log: bool = False, enabled: bool | None = None) -> History | None:
        """The history log for writing, or None (``--no-log``, ``log_history = false``).

        Why a warning and not an error: the log is an extra. A log that cannot be written (corrupt,
        foreign, read-only, a directory, a full disk) must not turn an answer that was already shown
        into a failure, so it says so once, names the file and the repair, and the exit code stays.
        """
        if enabled is None:
            enabled = self.config.log_history
        if no_log or not enabled:
            return None
        from ..history import History

        return History(self.config.paths.history_file, on_error=self.on_history_error)

    def on_history_error(self, error: HistoryError) -> None:
        if self._history_warned:
            return
        self._history_warned = True
        path = getattr(error, "path", self.paths.history_file)
        reason = getattr(error, "reason", error.message)
        self.warn(f"the history log {path} cannot be written ({reason}), so this was not logged; {error.hint}")


def warn_if_privileged(state: AppState, database: Database) -> None:
    """Once per database and process: say when the PostgreSQL login could change data.

    Why: sqlcoder's two read-only layers then stand alone; a role with read-only grants makes the
    server itself the guarantee (docs/safety.md has the three lines that create one).
    """
    from ..errors import SqlcoderError

    key = database.target.display
    if key in state._roles_checked:
        return
    state._roles_checked.add(key)
    try:
        privileges = database.privileges()
    except SqlcoderError:
        return  # the query itself reports a connection problem, in its own words
    if privileges is not None and privileges.risky:
        state.warn(
            f"{privileges.describe()}: sqlcoder's read-only layers stand alone; "
            "a read-only role is the real guarantee (see docs/safety.md)"
        )
