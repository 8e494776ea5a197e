"""Drawing answers for people (rich) and writing them for programs (csv/json/...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..output import formats
from ..output.values import text_value

if TYPE_CHECKING:
    from rich.console import Console

    from ..pipeline import Answer
    from .state import AppState


def sql_syntax(sql: str) -> Any:
    from rich.syntax import Syntax

    return Syntax(sql, "sql", theme="ansi_dark", word_wrap=True, background_color="default")


def print_sql(console: Console, sql: str) -> None:
    """Highlighted on a colour terminal, the bare statement otherwise (so it can be piped)."""
    if console.is_terminal and console.color_system:
        console.print(sql_syntax(sql))
    else:
        console.file.write(sql.strip().rstrip(";").rstrip() + ";\n")


def display_value(value: Any, *, color: bool) -> str:
    """A cell for people: floats rounded to 10 significant digits (sum() noise hidden), NULL shown."""
    if value is None:
        return "NULL" if color else ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return text_value(value)


def rich_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, color: bool) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD if color else box.ASCII2, header_style="bold" if color else "", show_edge=color)
    for name in columns:
        table.add_column(str(name), overflow="fold")
    for row in rows:
        table.add_row(*(display_value(v, color=color) for v in row))
    return table


def write_result(state: AppState, fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The rows in ``fmt`` on stdout (json/jsonl are written by the caller: they carry more)."""
    out = state.env.stdout
    if fmt == "csv":
        formats.write_delimited(out, columns, rows)
    elif fmt == "tsv":
        formats.write_delimited(out, columns, rows, delimiter="\t")
    elif fmt == "markdown":
        formats.write_markdown(out, columns, rows)
    else:
        console = state.out
        console.print(rich_table(columns, rows, color=bool(console.is_terminal and console.color_system)))
    out.flush()


def render_answer(state: AppState, answer: Answer, fmt: str, *, sql_only: bool) -> None:
    """Put one answer on stdout in ``fmt``; notes about it go to stderr."""
    out = state.env.stdout
    if fmt == "json":
        formats.write_json(out, answer.to_dict())
    elif fmt == "jsonl":
        formats.write_jsonl_line(out, answer.to_dict())
    elif sql_only or not answer.executed:
        print_sql(state.out, answer.sql)
    else:
        if fmt == "table":
            print_sql(state.out, answer.sql)
        write_result(state, fmt, answer.columns, answer.rows)
    if answer.executed and fmt not in ("json", "jsonl") and not sql_only:
        if answer.truncated:
            state.warn(
                f"showing the first {answer.row_count} rows; the result has more (raise --limit to see them)"
            )
        elif fmt == "table" and not state.quiet:
            state.info(f"{answer.row_count} row{'s' if answer.row_count != 1 else ''}")
    if state.verbose:
        t = answer.timings
        state.info(
            f"model {answer.model} · load {t.load_s:.2f}s · prompt {t.prompt_s:.2f}s "
            f"({t.prompt_tokens} tokens, {t.cached_tokens} cached) · generate {t.generate_s:.2f}s "
            f"({t.generated_tokens} tokens) · query {t.execute_s:.3f}s · total {t.total_s:.2f}s"
            f" · {answer.attempts} attempt{'s' if answer.attempts != 1 else ''}"
        )
