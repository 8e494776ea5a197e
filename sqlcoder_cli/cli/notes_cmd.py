"""``sqlcoder notes``: instructions and a glossary attached to a database (kept in the config dir)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from . import options
from .state import AppState, get_state

if TYPE_CHECKING:
    from ..schema.notes import NotesStore

notes_app = typer.Typer(
    help="Notes for a database (glossary, business rules) that go into every prompt for it.",
    no_args_is_help=True,
)


def _store_and_key(state: AppState, db: Optional[str]) -> tuple[NotesStore, str, str]:
    from ..db.connect import resolve_database
    from ..schema.cache import database_key
    from ..schema.notes import NotesStore

    target = resolve_database(db if db is not None else (state.config.default_db or None))
    return NotesStore(state.config.paths), database_key(target), target.display


@notes_app.command("show")
def show(ctx: typer.Context, db: Optional[str] = options.DbOption) -> None:
    """Print the notes of the database (or how to add some)."""
    state = get_state(ctx)
    store, key, display = _store_and_key(state, db)
    text = store.get(key)
    if text:
        state.data.write(text if text.endswith("\n") else text + "\n")
    else:
        state.info(
            f"no notes for {display} yet; add some with `sqlcoder notes edit` or `sqlcoder notes set TEXT`"
        )


@notes_app.command("edit")
def edit(ctx: typer.Context, db: Optional[str] = options.DbOption) -> None:
    """Edit the notes in $VISUAL/$EDITOR (an empty file deletes them)."""
    from ..frontend.editor import edit_text

    state = get_state(ctx)
    store, key, display = _store_and_key(state, db)
    current = store.get(key)
    template = current or (
        f"<!-- Notes for {display}: instructions and a glossary for the model, e.g.\n"
        "revenue means SUM(quantity * unit_price); the fiscal year starts in April.\n"
        "This comment is removed; an empty file deletes the notes. -->\n"
    )
    text = edit_text(template, suffix=".md", environ=state.env.environ)
    if not current:
        import re

        text = re.sub(r"<!--.*?-->\n?", "", text, count=1, flags=re.S)
    if text == current:
        state.info("notes unchanged")
        return
    path = store.set(key, text)
    state.info(f"notes {'saved to' if text.strip() else 'deleted:'} {path}")


@notes_app.command("set")
def set_notes(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="The new notes ('-' reads them from stdin; '' deletes them)."),
    db: Optional[str] = options.DbOption,
) -> None:
    """Replace the notes of the database (for scripts)."""
    state = get_state(ctx)
    store, key, _display = _store_and_key(state, db)
    if text == "-":
        text = state.env.stdin.read()
    path = store.set(key, text)
    state.info(f"notes {'saved to' if text.strip() else 'deleted:'} {path}")


@notes_app.command("path")
def path(ctx: typer.Context, db: Optional[str] = options.DbOption) -> None:
    """Print the notes file's path (it may not exist yet)."""
    state = get_state(ctx)
    store, key, _display = _store_and_key(state, db)
    state.data.write(f"{store.path_for(key)}\n")


def register(app: typer.Typer) -> None:
    app.add_typer(notes_app, name="notes")
