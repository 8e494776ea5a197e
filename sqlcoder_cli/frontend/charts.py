"""Drawing a result as a chart for a person: ``--chart``/``--chart-type``/``--chart-out`` of
``ask`` and ``sql``, and the REPL's ``\\chart``. The choice and the drawing are the core library's
(:mod:`sqlcoder_cli.output.chart`); this decides where it goes and how big it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import AppState

#: lines a terminal chart takes when the terminal's height is unknown (a pipe, a file)
DEFAULT_HEIGHT = 20


@dataclass(frozen=True)
class ChartRequest:
    """What the user asked for: a kind (``auto`` picks from the column types) and, optionally,
    a PNG/SVG file to write instead of drawing in the terminal."""

    kind: str = "auto"
    out: Path | None = None


def chart_request(chart: bool, chart_type: str | None, chart_out: Path | None) -> ChartRequest | None:
    """The flags as one request; None when no chart was asked for (any of the three asks)."""
    if not (chart or chart_type or chart_out):
        return None
    return ChartRequest(kind=chart_type or "auto", out=chart_out)


def show_chart(state: AppState, request: ChartRequest, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, on_stderr: bool = False) -> None:
    """Draw the rows as ``request`` says: into its file, or in the terminal — on stdout beside a
    table, on stderr (``on_stderr``) when stdout carries csv/json data that must stay clean."""
    from ..output.chart import choose_chart, render_terminal, save_chart

    spec = choose_chart(columns, rows, request.kind)
    if spec.note:
        state.warn(spec.note)
    if request.out is not None:
        path = save_chart(spec, columns, rows, request.out.expanduser())
        state.info(f"wrote the chart to {path}")
        return
    console = state.err if on_stderr else state.out
    stream = state.env.stderr if on_stderr else state.env.stdout
    terminal = bool(console.is_terminal)
    width = console.width if terminal else 80
    height = max(12, min(console.height - 6, 30)) if terminal and console.height else DEFAULT_HEIGHT
    color = bool(terminal and console.color_system)
    text = render_terminal(spec, columns, rows, width=width, height=height, color=color)
    stream.write(text + "\n")
    stream.flush()
