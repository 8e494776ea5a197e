"""``sqlcoder history``: search the log of questions, SQL and outcomes."""

from __future__ import annotations

from typing import Optional

import typer

from . import options
from .state import get_state


def history(
    ctx: typer.Context,
    search: Optional[str] = typer.Option(None, "--search", "-s", help="Only entries whose question or SQL contains TEXT.", show_default=False),
    db: Optional[str] = options.DbOption,
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Most entries to show (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, one entry per line."),
) -> None:
    """Show the history log: every question, the SQL that ran, and the outcome."""
    state = get_state(ctx)
    from ..history import History

    db_display = None
    if db is not None:
        from ..db.connect import resolve_database

        db_display = resolve_database(db).display
    entries = History(state.config.paths.history_file).search(search, db=db_display, limit=limit)
    if as_json:
        from ..output.formats import write_jsonl_line

        for entry in entries:
            write_jsonl_line(state.env.stdout, entry.to_dict())
        return
    if not entries:
        state.info("the history log is empty" + (" for that search" if search or db else ""))
        return
    from .render import print_rows

    print_rows(state, list(entries[0].ROW_HEADERS), [e.row() for e in entries])


def register(app: typer.Typer) -> None:
    app.command("history")(history)
