"""SIGTERM: unwind like Ctrl-C, so ``finally`` blocks restore the terminal and close connections.

Why a flag as well as an exception: the :class:`~sqlcoder_cli.errors.Terminated` raised by the
handler can be swallowed on its way up. SQLite clears an exception raised inside its progress
handler (the query time limit runs one) and reports "interrupted" instead, and the REPL goes on
after ordinary errors. The flag survives that: the CLI's exit status and the REPL's loop ask
:func:`requested` rather than trusting the exception that arrives.
"""

from __future__ import annotations

import signal
from typing import Any

from ..errors import Terminated

_requested = False


def requested() -> bool:
    """Whether SIGTERM arrived in this process."""
    return _requested


def raise_if_requested() -> None:
    """Raise :class:`Terminated` if SIGTERM arrived (for code that caught what it raised)."""
    if _requested:
        raise Terminated()


def _on_sigterm(signum: int, frame: Any) -> None:
    global _requested
    _requested = True
    raise Terminated()


def install() -> None:
    """Handle SIGTERM in this process (the console script only; never inside a test runner)."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        pass


def uninstall() -> None:
    """From here on SIGTERM just ends the process (nothing is left to clean up)."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError, AttributeError):
        pass
