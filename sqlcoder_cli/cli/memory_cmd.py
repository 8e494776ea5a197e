"""``sqlcoder memory``: the remembered (question, SQL) examples that few-shot prompts draw on."""

from __future__ import annotations

from typing import Optional

import typer

from . import options
from .state import AppState, get_state

memory_app = typer.Typer(
    help="List or forget remembered examples (question + confirmed SQL) used as few-shot prompts.",
    no_args_is_help=True,
)


def _memory_and_key(state: AppState, db: Optional[str]) -> tuple[object, str]:
    from ..db.connect import resolve_database
    from ..memory import Memory
    from ..schema.cache import database_key

    config = state.config
    target = resolve_database(db if db is not None else (config.default_db or None))
    return Memory(config.paths.data_dir / "memory.sqlite"), database_key(target)


@memory_app.command("list")
def list_examples(
    ctx: typer.Context,
    db: Optional[str] = options.DbOption,
    every_db: bool = typer.Option(False, "--all-dbs", help="Examples of every database, not just this one."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show remembered examples of the database (newest last)."""
    from ..memory import Memory

    state = get_state(ctx)
    memory, key = _memory_and_key(state, db)
    assert isinstance(memory, Memory)
    items = memory.list(None if every_db else key)
    if as_json:
        from ..output.formats import write_json

        write_json(state.data, [{"id": i.id, "db": i.db_key, "question": i.question, "sql": i.sql} for i in items])
        return
    if not items:
        state.info("no remembered examples yet (they are stored when you run a query with --edit, or confirm one in the REPL)")
        return
    from ..frontend.render import print_rows

    rows = [(i.id, i.db_key, i.question, " ".join(i.sql.split())) for i in items]
    print_rows(state, ["id", "db", "question", "sql"], rows)


@memory_app.command("rm")
def remove(ctx: typer.Context, example_id: int = typer.Argument(..., help="The id shown by `sqlcoder memory list`.")) -> None:
    """Forget one remembered example."""
    from ..memory import Memory

    state = get_state(ctx)
    memory = Memory(state.config.paths.data_dir / "memory.sqlite")
    item = memory.remove(example_id)
    state.info(f"forgot example {item.id}: {item.question}")


@memory_app.command("clear")
def clear(
    ctx: typer.Context,
    db: Optional[str] = options.DbOption,
    every_db: bool = typer.Option(False, "--all-dbs", help="Forget the examples of every database."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Forget all remembered examples of the database (or of every database)."""
    from ..errors import UsageError
    from ..memory import Memory

    state = get_state(ctx)
    memory, key = _memory_and_key(state, db)
    assert isinstance(memory, Memory)
    scope = "every database" if every_db else key
    if not yes:
        if not state.env.interactive:
            raise UsageError("clearing remembered examples needs confirmation", hint="pass --yes")
        if not state.confirm(f"Forget the remembered examples of {scope}?", default=False):
            state.info("nothing forgotten")
            return
    count = memory.clear(None if every_db else key)
    state.info(f"forgot {count} example{'s' if count != 1 else ''} of {scope}")


def register(app: typer.Typer) -> None:
    app.add_typer(memory_app, name="memory")
