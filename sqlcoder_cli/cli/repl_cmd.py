"""``sqlcoder repl``: the interactive session (the loop itself lives in :mod:`sqlcoder_cli.repl`)."""

from __future__ import annotations

from typing import Any, Optional

import typer

from . import options
from .settings_flags import answer_options, engine_options, settings_from
from .state import get_state


def repl(
    ctx: typer.Context,
    db: Optional[str] = options.DbOption,
    model: Optional[str] = options.ModelOption,
    fmt: Optional[str] = options.FormatOption,
    engine_flags: dict[str, Any] | None = None,
    settings_flags: dict[str, Any] | None = None,
) -> int:
    """An interactive session: ask, review and edit the SQL, run it, ask follow-ups. The model loads once.

    Type a question, SQL (SELECT/WITH ...) to run as is, or a meta-command (\\help lists them).
    On a terminal, the generated SQL comes back in an editable run> prompt: Enter runs it, Ctrl-X
    Ctrl-E opens $EDITOR, Ctrl-R regenerates, Ctrl-C cancels. With input from a pipe, each line is
    handled in turn and generated SQL runs as written.
    """
    state = get_state(ctx)
    from ..pipeline import AnswerSettings, Session
    from ..repl.app import Repl, ScriptUI, TerminalUI
    from ..repl.completion import ReplCompleter

    config = state.config
    engine_options = options.configure_engine(config, **(engine_flags or {}))

    def make_session(*, db: Optional[str], model: Optional[str], settings: AnswerSettings) -> Session:
        return Session(config, db=db, model=model, settings=settings, engine_options=engine_options)

    session = make_session(db=db, model=model, settings=settings_from(config, settings_flags or {}))
    shell = Repl(state, session, make_session=make_session, fmt=fmt or "table")
    try:
        env = state.env
        if env.stdin_isatty and env.stdout_isatty:
            holder: dict[str, Any] = {}
            _ = session.database  # a bad --db is an error before any prompt appears
            shell.ui = TerminalUI(
                completer=ReplCompleter(lambda: holder["repl"].session.schema),
                history_path=shell.history_path(),
                color=env.color_for(True),
            )
            holder["repl"] = shell
        else:
            shell.ui = ScriptUI(env.stdin)
        shell.start()
        return shell.loop()
    finally:
        shell.close()


def register(app: typer.Typer) -> None:
    """Add ``repl`` to the app (once; calling it again is harmless)."""
    if any(getattr(c, "name", None) == "repl" for c in app.registered_commands):
        return
    app.command("repl")(engine_options()(answer_options()(repl)))
