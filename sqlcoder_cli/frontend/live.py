"""The SQL growing on a terminal while the model writes it (rich ``Live``, transient).

The CLI draws it on stderr (stdout is for data); the REPL on stdout, where its results go too.
Nothing is drawn until the first token, so a cached answer or an error leaves no empty frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .render import sql_syntax

if TYPE_CHECKING:
    from rich.console import Console


class LiveSQL:
    """Usable as a context manager (``stop`` on exit) or by hand (``on_token`` … ``stop``)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self._live: Any = None

    def __enter__(self) -> LiveSQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def on_token(self, piece: str) -> None:
        if self._live is None:
            from rich.live import Live

            self.text = ""
            self._live = Live(console=self.console, transient=True, refresh_per_second=12)
            self._live.__enter__()
        self.text += piece
        self._live.update(sql_syntax(self.text))

    def stop(self) -> None:
        """Take the frame off the screen (the next token starts a new one: a retry's SQL)."""
        if self._live is not None:
            live, self._live = self._live, None
            live.__exit__(None, None, None)
