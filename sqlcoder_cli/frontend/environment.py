"""The process's surroundings, injected so tests can fake a terminal or a pipe.

Like httpie's ``Environment``: every command reads stdin/stdout/stderr and the tty flags from
one object instead of ``sys``, so a CliRunner test can say "stdout is a terminal" or "stdin is a
pipe" without a real pseudo-terminal, and colour rules (``NO_COLOR``, ``FORCE_COLOR``) live in one
place.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    @property
    def no_color(self) -> bool:
        """https://no-color.org: any non-empty NO_COLOR disables colour."""
        return bool(self.environ.get("NO_COLOR"))

    @property
    def force_color(self) -> bool:
        return bool(self.environ.get("FORCE_COLOR")) and not self.no_color

    def color_for(self, isatty: bool) -> bool:
        if self.no_color:
            return False
        return self.force_color or isatty

    def _console(self, file: IO[str], isatty: bool) -> Console:
        from rich.console import Console

        color = self.color_for(isatty)
        return Console(
            file=file,
            force_terminal=color,
            no_color=not color,
            color_system="auto" if color else None,
            highlight=False,
            soft_wrap=not isatty,
            emoji=False,
        )

    def stdout_console(self) -> Console:
        return self._console(self.stdout, bool(self.stdout_isatty))

    def stderr_console(self) -> Console:
        return self._console(self.stderr, bool(self.stderr_isatty))

    @property
    def interactive(self) -> bool:
        """True when a person can answer a question (both ends are terminals and not in CI)."""
        return bool(self.stdin_isatty and self.stderr_isatty) and not self.environ.get("CI")
