"""``sqlcoder schema``: show the schema exactly as the model will see it."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import options
from .state import AppState, get_state

SCHEMA_FORMATS = ("ddl", "json", "tree")


def _check_schema_format(value: str) -> str:
    if value not in SCHEMA_FORMATS:
        raise typer.BadParameter(f"choose one of: {', '.join(SCHEMA_FORMATS)}")
    return value


def _tree_lines(schema: object) -> list[tuple[int, str]]:
    """(depth, text) rows for the tree view, shared by the rich tree and the plain text form."""
    from ..schema.ddl import normalize_type

    rows: list[tuple[int, str]] = []
    for t in schema.tables:  # type: ignore[attr-defined]
        label = t.qualified_name + (" (view)" if t.is_view else "")
        if t.row_count is not None:
            label += f"  [{t.row_count} rows]"
        if t.comment:
            label += f"  -- {t.comment}"
        rows.append((0, label))
        for c in t.columns:
            flags = []
            if c.primary_key:
                flags.append("PK")
            if not c.nullable and not c.primary_key:
                flags.append("NOT NULL")
            if c.unique:
                flags.append("UNIQUE")
            text = f"{c.name} {normalize_type(c.type, schema.dialect)}"  # type: ignore[attr-defined]
            if flags:
                text += " " + " ".join(flags)
            values = c.enum_values or c.sample_values
            if c.comment:
                text += f"  -- {c.comment}"
            if values:
                text += "  (" + ("one of " if c.enum_values else "e.g. ") + ", ".join(repr(v) for v in values) + ")"
            rows.append((1, text))
        for fk in t.foreign_keys:
            ref = f"{fk.referred_schema}.{fk.referred_table}" if fk.referred_schema else fk.referred_table
            rows.append((1, f"FK ({', '.join(fk.columns)}) -> {ref} ({', '.join(fk.referred_columns)})"))
        for u in t.unique_constraints:
            rows.append((1, f"UNIQUE ({', '.join(u)})"))
        for idx in t.indexes:
            rows.append((1, f"{'unique index' if idx.unique else 'index'} {idx.name} ({', '.join(idx.columns)})"))
    return rows


def _print_tree(state: AppState, schema: object, title: str) -> None:
    """The tree is for people, in a pipe too: names, comments and sample values show control
    characters as escapes (``--format ddl`` and ``json`` are the exact forms)."""
    from ..output.visible import visible

    title = visible(title, one_line=True)
    rows = [(depth, visible(text, one_line=True)) for depth, text in _tree_lines(schema)]
    console = state.out
    if console.is_terminal:
        from rich.markup import escape
        from rich.tree import Tree

        root = Tree(escape(title))
        branch = root
        for depth, text in rows:
            if depth == 0:
                branch = root.add(f"[bold]{escape(text)}[/bold]")
            else:
                branch.add(escape(text))
        console.print(root)
        return
    out = state.data
    out.write(title + "\n")
    for depth, text in rows:
        out.write("  " * (depth + 1) + text + "\n")
    out.flush()


def schema_command(
    ctx: typer.Context,
    tables: Optional[List[str]] = typer.Argument(None, help="Show only these tables (default: all).", show_default=False),
    db: Optional[str] = options.DbOption,
    fmt: str = typer.Option(
        "ddl", "--format", "-f", callback=_check_schema_format,
        help="ddl (exactly what goes into the prompt), json, or tree.",
    ),
    refresh: bool = typer.Option(False, "--refresh-schema", help="Introspect again instead of using the cache."),
) -> None:
    """Show the database schema as the model sees it (DDL with comments and sample values)."""
    from ..db.connect import Database, resolve_database
    from ..errors import UsageError
    from ..output.formats import write_json
    from ..schema.cache import load_schema
    from ..schema.ddl import render_ddl

    state = get_state(ctx)
    target = resolve_database(db if db is not None else (state.config.default_db or None))
    # the query time limit also bounds how long a file another program has locked is waited for
    with Database(target, timeout_s=float(state.config.query_timeout)) as database:
        schema, cached = load_schema(database, state.config.paths, refresh=refresh)
    if state.verbose:
        state.info(f"schema of {target.display}: {len(schema.tables)} tables ({'cache' if cached else 'introspected'})")
    if not schema.tables:
        state.warn(f"{target.display} has no tables or views")
    if tables:
        unknown = [name for name in tables if schema.table(name) is None]
        if unknown:
            raise UsageError(
                f"no such table: {', '.join(unknown)}", hint="run `sqlcoder schema` to list the tables"
            )
        chosen = [schema.table(name) for name in tables]
        schema = type(schema)(schema.dialect, [t for t in schema.tables if any(t is c for c in chosen)], schema.default_schema)
    if fmt == "json":
        write_json(state.data, schema.to_dict())
    elif fmt == "tree":
        _print_tree(state, schema, target.display)
    else:
        state.data.write(render_ddl(schema))
        state.data.flush()


def register(app: typer.Typer) -> None:
    app.command("schema")(schema_command)
