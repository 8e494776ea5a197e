from __future__ import annotations

import io

from sqlcoder_cli.frontend.environment import Environment


def _env(tty: bool, **environ: str) -> Environment:
    return Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), stdin_isatty=tty, stdout_isatty=tty, stderr_isatty=tty, environ=environ)


def test_colour_follows_the_terminal_and_no_color_force_color() -> None:
    assert _env(True).color_for(True)
    assert not _env(False).color_for(False)
    assert not _env(True, NO_COLOR="1").color_for(True)
    assert _env(False, FORCE_COLOR="1").color_for(False)
    assert not _env(False, FORCE_COLOR="1", NO_COLOR="1").color_for(False)


def test_consoles_write_to_the_injected_streams() -> None:
    env = _env(False)
    env.stdout_console().print("[bold]data[/bold]")
    env.stderr_console().print("note")
    assert env.stdout.getvalue() == "data\n"  # type: ignore[attr-defined]
    assert env.stderr.getvalue() == "note\n"  # type: ignore[attr-defined]


def test_interactive_only_with_terminals_and_not_in_ci() -> None:
    assert _env(True).interactive
    assert not _env(False).interactive
    assert not _env(True, CI="true").interactive
