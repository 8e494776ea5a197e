"""Drawing answers for people (rich) and writing them for programs (csv/json/...).

Everything drawn for people goes through :func:`~sqlcoder_cli.output.visible.visible` (table
cells and headers, SQL shown on a terminal), so an escape sequence stored in the data is shown,
not obeyed. Data for programs goes to :attr:`AppState.data`, byte-exact unless stdout is a terminal.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..output import formats
from ..output.values import text_value
from ..output.visible import visible

if TYPE_CHECKING:
    from ..pipeline import Answer
    from .state import AppState


def sql_syntax(sql: str) -> Any:
    """Highlighted SQL for a terminal (control characters in it shown, not obeyed)."""
    from rich.syntax import Syntax

    return Syntax(visible(sql), "sql", theme="ansi_dark", word_wrap=True, background_color="default")


def print_sql(state: AppState, sql: str) -> None:
    """Highlighted on a colour terminal, the bare statement otherwise (so it can be piped)."""
    console = state.out
    if console.is_terminal and console.color_system:
        console.print(sql_syntax(sql))
    else:
        state.data.write(sql.strip().rstrip(";").rstrip() + ";\n")


def display_value(value: Any, *, color: bool) -> str:
    """A cell for people: floats rounded to 10 significant digits (sum() noise hidden), NULL
    shown, control characters visible."""
    if value is None:
        return "NULL" if color else ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return visible(text_value(value))


@functools.cache
def _visible_table_class() -> type:
    """rich's Table whose cells and headers pass through :func:`visible` (built on first use, so
    importing this module does not import rich)."""
    from rich.table import Table

    class VisibleTable(Table):  # type: ignore[misc]
        def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:
            super().add_column(visible(header) if isinstance(header, str) else header, *args, **kwargs)

        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            super().add_row(*(visible(r) if isinstance(r, str) else r for r in renderables), **kwargs)

    return VisibleTable


def stdout_in_colour(state: AppState) -> bool:
    console = state.out
    return bool(console.is_terminal and console.color_system)


def new_table(state: AppState, *headers: str) -> Any:
    """An empty rich table in the house style (plain ASCII in a pipe)."""
    from rich import box

    Table = _visible_table_class()
    color = stdout_in_colour(state)
    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII2, header_style="bold" if color else "", show_edge=color)
    for header in headers:
        table.add_column(str(header), overflow="fold")
    return table


def print_table(state: AppState, table: Any) -> None:
    """On a terminal rich fits the table to the window; in a pipe cells are never wrapped (80
    columns is only rich's guess there, and folded values are useless to grep or cut)."""
    console = state.out
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(100_000), table).maximum
    previous = console.width
    console.width = max(width, previous)  # Console.print(width=) can only narrow
    try:
        console.print(table, crop=False)
    finally:
        console.width = previous


def rows_table(state: AppState, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    """Rows as a rich table in the house style, cells as people should see them."""
    color = stdout_in_colour(state)
    table = new_table(state, *columns)
    for row in rows:
        table.add_row(*(display_value(v, color=color) for v in row))
    return table


def print_rows(state: AppState, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows as a table on stdout."""
    print_table(state, rows_table(state, columns, rows))


def write_result(state: AppState, fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The rows in ``fmt`` on stdout (json/jsonl are written by the caller: they carry more)."""
    out = state.data
    if fmt == "csv":
        formats.write_delimited(out, columns, rows)
    elif fmt == "tsv":
        formats.write_delimited(out, columns, rows, delimiter="\t")
    elif fmt == "markdown":
        formats.write_markdown(out, columns, rows)
    else:
        print_rows(state, columns, rows)
    out.flush()


def note_rows(state: AppState, fmt: str, row_count: int, truncated: bool) -> None:
    """On stderr: the row count under a table, or a warning that the result was cut at the limit."""
    if truncated:
        state.warn(
            f"showing the first {row_count} rows; the result has more "
            "(raise --limit, or use --all with --format csv/tsv/jsonl)"
        )
    elif fmt == "table" and not state.quiet:
        state.info(f"{row_count} row{'s' if row_count != 1 else ''}")


def stream_result(
    state: AppState, fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, question: str | None = None
) -> int:
    """``--all``: every row on stdout as it arrives; returns how many were written.

    The row iterator is closed however this ends (done, a closed pipe, Ctrl-C), so the query
    stops and its connection is released now, not at interpreter shutdown (where its clean-up
    would print "Exception ignored" messages).
    """
    from ..output.stream import stream_rows

    try:
        return stream_rows(state.data, fmt, columns, rows, question=question)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - clean-up of an abandoned query; the real outcome is already known
                pass


def show_sql_with_result(state: AppState, sql: str) -> None:
    """The SQL above a result table, for the person reading it: on stdout when stdout is a
    terminal, else on stderr, so a piped or redirected stdout holds the table and nothing else."""
    if state.env.stdout_isatty:
        print_sql(state, sql)
    elif not state.quiet:
        console = state.err
        if console.is_terminal and console.color_system:
            console.print(sql_syntax(sql))
        else:
            console.print(visible(sql.strip().rstrip(";").rstrip() + ";"), markup=False, highlight=False, soft_wrap=True)


def render_answer(state: AppState, answer: Answer, fmt: str, *, sql_only: bool) -> None:
    """Put one answer on stdout in ``fmt``; notes about it (the SQL above a table when stdout is
    not a terminal, mending, row counts, timings) go to stderr."""
    from .messages import answer_timings_line, mended_lines

    out = state.data
    if fmt == "json":
        formats.write_json(out, answer.to_dict())
    elif fmt == "jsonl":
        formats.write_jsonl_line(out, answer.to_dict())
    elif sql_only or not answer.executed:
        print_sql(state, answer.sql)  # the SQL is the data here
    else:
        if fmt == "table":
            show_sql_with_result(state, answer.sql)
        write_result(state, fmt, answer.columns, answer.rows)
    for line in mended_lines(answer):
        state.info(line)
    if answer.executed and fmt not in ("json", "jsonl") and not sql_only:
        note_rows(state, fmt, answer.row_count, answer.truncated)
    if state.verbose:
        state.info(answer_timings_line(answer))
