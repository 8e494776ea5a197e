"""``sqlcoder history``: search the log of questions, SQL and outcomes."""

from __future__ import annotations

from typing import Optional

import typer

from ..config import MAX_ROW_LIMIT
from .state import get_state


def history(
    ctx: typer.Context,
    search: Optional[str] = typer.Option(None, "--search", "-s", help="Only entries whose question or SQL contains TEXT.", show_default=False),
    db: Optional[str] = typer.Option(
        None, "--db", "-d", help="Only entries of this database, a URL or a file path (default: every database).",
        show_default=False,
    ),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=MAX_ROW_LIMIT, help="Most entries to show (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines, one entry per line."),
    repair: bool = typer.Option(
        False, "--repair",
        help="If the log cannot be read or written, move it aside (history.sqlite.broken-TIME) and start a new one.",
    ),
) -> None:
    """Show the history log: every question, the SQL that ran, and the outcome."""
    state = get_state(ctx)
    from ..history import History

    if repair:
        log = History(state.paths.history_file)
        moved = log.repair()
        if moved is None:
            state.info(f"the history log {log.path} is fine; nothing to repair")
        else:
            state.warn(f"moved the broken history log to {moved} and started a new one at {log.path}")
        return
    db_display = None
    if db is not None:
        from ..db.connect import resolve_database

        db_display = resolve_database(db).display
    entries = History(state.paths.history_file).search(search, db=db_display, limit=limit)
    if as_json:
        from ..output.formats import write_jsonl_line

        for entry in entries:
            write_jsonl_line(state.data, entry.to_dict())
        return
    if not entries:
        state.info("the history log is empty" + (" for that search" if search or db else ""))
        return
    from ..frontend.render import print_rows

    print_rows(state, list(entries[0].ROW_HEADERS), [e.row() for e in entries])


def register(app: typer.Typer) -> None:
    app.command("history")(history)
