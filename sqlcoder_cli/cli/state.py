"""Per-invocation state shared by all commands: the environment, global flags, config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from .environment import Environment

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Config


@dataclass
class AppState:
    env: Environment = field(default_factory=Environment)
    debug: bool = False
    verbose: bool = False
    quiet: bool = False
    _config: Config | None = None
    _out: Console | None = None
    _err: Console | None = None

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
    def show_progress(self) -> bool:
        """Spinners, bars and streamed tokens only when a person watches stderr."""
        return bool(self.env.stderr_isatty) and not self.quiet

    def info(self, message: str) -> None:
        """A status line on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.err.print(message, markup=False, style="dim")

    def confirm(self, question: str, *, default: bool) -> bool:
        """Ask a yes/no question on stderr, reading the answer from the injected stdin."""
        from rich.prompt import Confirm

        return Confirm.ask(question, console=self.err, default=default, stream=self.env.stdin)

    def warn(self, message: str) -> None:
        self.err.print(f"warning: {message}", style="yellow", markup=False)


def get_state(ctx: typer.Context) -> AppState:
    """The AppState of this invocation (created by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj
