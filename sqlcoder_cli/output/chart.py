"""Charts of query results: bar, line and scatter, in the terminal or in a PNG/SVG file.

One decision and two drawings. :func:`choose_chart` looks at the values a query returned (not at
declared column types, which SQLite does not keep and drivers report differently) and picks what a
person would draw by hand: a date column with numbers is a line over time, a text column with
numbers is a bar per category, two numeric columns are a scatter. The result is a
:class:`ChartSpec`, plain data the CLI, the REPL or a library user can inspect or change
(``dataclasses.replace(spec, title=...)``) before drawing it with :func:`render_terminal` or
:func:`save_chart`. Both drawings read the same prepared series, so a chart on screen and the
file saved from it show the same points.

Why these libraries. **plotext** for the terminal: maintained, no Python dependencies, it draws
bar, line, scatter and date plots as text that can be built into a string (no printing of its
own, so the caller decides where it goes) and with colours switched off entirely. Version 6, the
maintained line, carries a small compiled kernel in its wheels (Linux, macOS, Windows); it is a
core dependency. **matplotlib** for files: the reference for PNG and SVG output; it is big, so it
is the ``charts`` extra and only :func:`save_chart` needs it. Both are imported inside the
functions that use them, so importing this module (and ``sqlcoder --help``) stays fast, and
matplotlib is used through ``Figure`` and the Agg canvas directly: no pyplot, no global backend,
no window, ever.

Rules the drawings keep:

- NULL (and NaN or infinite) values are skipped, per series: a line goes through the points it
  has, a bar whose value is NULL is not drawn (a category whose values are all NULL is left out).
- At most :data:`MAX_BARS` bars are drawn, the first ones in the result's order (the query's
  ``ORDER BY`` is the user's choice of what matters); :attr:`ChartSpec.dropped` counts the rest and
  :attr:`ChartSpec.note` is the one line a caller shows as a warning.
- Lines are drawn in the order of their x values; bars keep the result's order.
- Text that comes from the data (labels, column names, the title) has its control characters
  shown as escapes (:func:`~sqlcoder_cli.output.visible.visible`), like every other output meant
  for a person: a value cannot clear the screen through a chart.
- Terminal bars are vertical. plotext's horizontal bars mis-draw lengths when bars are packed one
  or two rows each (checked on plotext 5.3 and 6.1), and a wrong bar is worse than a crowded one:
  labels are shortened to fit under their bars instead.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import os
import re
import secrets
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from ..errors import ChartError
from .values import text_value
from .visible import visible

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHART_KINDS",
    "FILE_FORMATS",
    "MAX_BARS",
    "ChartSpec",
    "choose_chart",
    "render_terminal",
    "save_chart",
]

#: what a caller may ask for; ``auto`` lets :func:`choose_chart` decide
CHART_KINDS = ("auto", "bar", "line", "scatter")
#: file formats :func:`save_chart` writes, chosen by the file's suffix
FILE_FORMATS = ("png", "svg")
#: most bars drawn; more categories than this are not readable in a terminal (or a page)
MAX_BARS = 40
#: smallest terminal chart drawn; smaller requests are enlarged to this (plotext garbles below it)
MIN_WIDTH = 30
MIN_HEIGHT = 8
#: the longest category label shown on a terminal chart (longer ones end with "…")
MAX_LABEL = 12

ChartKind = Literal["bar", "line", "scatter"]
_ColumnClass = Literal["numeric", "time", "text", "empty"]

#: ISO 8601 dates as databases write them as text: 2024-01, 2024-01-05, 2024-01-05 10:00[:00[.123]]
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}(?:-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?"
)
_INSTALL_CHARTS = "pip install 'sqlcoder-cli[charts]'"
#: plotext draws into one module-level figure: one chart at a time (the MCP server may run threads)
_PLOTEXT_LOCK = threading.Lock()
#: series markers when there is no colour to tell series apart (any single character is a marker)
_PLAIN_BAR_MARKERS = ("full", "▒", "░", "#", "=", "+", "x", "o")
_PLAIN_POINT_MARKERS = ("hd", "x", "o", "+", "*", "#", "%", "@")


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: the kind, which column is x and which are the y series, and the title.

    ``x`` is a column index, or None to draw over the row numbers (1, 2, …) when the result has
    nothing else to put on the x axis. ``ys`` are the numeric columns drawn, one series each.
    ``x_is_time``: the x column holds dates or timestamps (a date axis). ``dropped``: bars left
    out beyond :data:`MAX_BARS` (always 0 for lines and scatters).
    """

    kind: ChartKind
    x: int | None
    ys: tuple[int, ...]
    x_is_time: bool
    title: str | None
    dropped: int = 0

    @property
    def note(self) -> str | None:
        """The warning a caller should show with the chart (bars left out), else None."""
        if not self.dropped:
            return None
        total = MAX_BARS + self.dropped
        return f"showing the first {MAX_BARS} of {total} bars (filter or aggregate the query to see the rest)"


# -- reading the values ----------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Real, decimal.Decimal)) and not isinstance(value, bool)


def _to_float(value: Any) -> float | None:
    """A finite float for a numeric value; None for NULL, NaN, infinities and overflow."""
    if value is None or not _is_number(value):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, decimal.InvalidOperation):
        return None
    return number if math.isfinite(number) else None


def _to_time(value: Any) -> dt.datetime | None:
    """A naive datetime for a date, a timestamp or an ISO date string; None otherwise.

    Aware timestamps keep their wall-clock time and lose the zone: a chart of one result never
    mixes zones, and naive and aware values cannot be compared (sorted) together.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value):
        return None
    try:
        if len(value) == 7:  # 2024-01: a month
            return dt.datetime(int(value[:4]), int(value[5:7]), 1)
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:  # 2024-13-45: the shape of a date but not a date
        return None


def _classify(values: Iterator[Any]) -> _ColumnClass:
    """numeric (every value a number), time (every value a date), text, or empty (all NULL)."""
    seen: set[str] = set()
    for value in values:
        if value is None:
            continue
        if _is_number(value):
            seen.add("numeric")
        elif _to_time(value) is not None:
            seen.add("time")
        else:
            return "text"
        if len(seen) > 1:
            return "text"
    return seen.pop() if seen else "empty"  # type: ignore[return-value]


def _label(value: Any) -> str:
    """A category label as a person should see it (NULL spelled out, control characters escaped)."""
    return "NULL" if value is None else visible(text_value(value), one_line=True)


# -- choosing ----------------------------------------------------------------------------------


def choose_chart(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], kind: str = "auto", *, title: str | None = None
) -> ChartSpec:
    """Pick the chart for a query result; ``kind`` other than ``auto`` is honoured when it can be.

    ``auto``: the first date or text column is x (a date column gives a line chart, a text column
    a bar chart) and every numeric column is a series; with no such column, two or more numeric
    columns are a scatter of the others against the first, and a single numeric column is a bar
    per row. A result with no numeric column (or no rows) cannot be charted: :class:`ChartError`.
    An explicit ``bar`` or ``line`` uses the first date or text column as x too, else the first of
    several numeric columns, else the row numbers; ``scatter`` needs a numeric or date x and a
    numeric y. ``title`` replaces the default title, which names the columns ("total by country").
    """
    if kind not in CHART_KINDS:
        raise ChartError(f"unknown chart kind {kind!r}", hint=f"choose one of {', '.join(CHART_KINDS)}")
    if not rows:
        raise ChartError("nothing to chart: the result has no rows", hint="a chart needs a query that returns rows")
    classes = [_classify(row[index] for row in rows) for index in range(len(columns))]
    numeric = [index for index, found in enumerate(classes) if found == "numeric"]
    if not numeric:
        raise ChartError(
            "nothing to chart: the result has no numeric column",
            hint="a chart needs a column of numbers, e.g. SELECT country, SUM(amount) ... GROUP BY country",
        )
    labelled = next((index for index, found in enumerate(classes) if found in ("time", "text")), None)
    times = [index for index, found in enumerate(classes) if found == "time"]

    x: int | None
    chosen: ChartKind
    if kind == "scatter":
        chosen = "scatter"
        if times:
            x = times[0]
        elif len(numeric) >= 2:
            x = numeric[0]
        else:
            text = f"; {columns[labelled]!r} is text" if labelled is not None else ""
            raise ChartError(
                "cannot draw a scatter chart: it needs two numeric columns, or a date column and a numeric one",
                hint=f"the result has one numeric column, {columns[numeric[0]]!r}{text}; try a bar or line chart",
            )
    else:
        if labelled is not None:
            x = labelled
        elif len(numeric) >= 2:
            x = numeric[0]
        else:
            x = None
        if kind == "bar":
            chosen = "bar"
        elif kind == "line":
            chosen = "line"
        elif labelled is not None:
            chosen = "line" if classes[labelled] == "time" else "bar"
        else:
            chosen = "scatter" if x is not None else "bar"
    ys = tuple(index for index in numeric if index != x)
    x_is_time = x is not None and classes[x] == "time"
    if title is None:
        names = ", ".join(columns[index] for index in ys)
        joint = " against " if chosen == "scatter" else " by "
        title = names if x is None else f"{names}{joint}{columns[x]}"
    spec = ChartSpec(kind=chosen, x=x, ys=ys, x_is_time=x_is_time, title=title)
    return replace(spec, dropped=_prepare(spec, columns, rows).dropped)


# -- the series both drawings use --------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    name: str
    xs: list[Any]  # bar or category position (1, 2, …), number or datetime
    ys: list[float | None]  # None only in bar series: no bar at that position


@dataclass(frozen=True)
class _ChartData:
    series: list[_Series]
    #: category labels at positions 1..n (bars, lines over a text column), else None
    labels: list[str] | None
    dropped: int = 0


def _prepare(spec: ChartSpec, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> _ChartData:
    """The points to draw for ``spec``, NULLs skipped; raises ChartError when none is left."""
    names = [columns[index] for index in spec.ys]
    # the x value of each row: its row number when the chart has no x column
    raw_xs = [number if spec.x is None else row[spec.x] for number, row in enumerate(rows, 1)]
    x_class = "row" if spec.x is None else "time" if spec.x_is_time else _classify(iter(raw_xs))
    columns_of_ys = [[_to_float(row[index]) for row in rows] for index in spec.ys]

    if spec.kind == "bar":
        shown = [i for i in range(len(rows)) if any(ys[i] is not None for ys in columns_of_ys)]
        dropped = max(0, len(shown) - MAX_BARS)
        shown = shown[:MAX_BARS]
        if x_class == "time":  # dates written alike, as on a date axis (not 2024-01-01T00:00:00)
            times = [_to_time(raw_xs[i]) for i in shown]
            form = _date_form([t for t in times if t is not None])
            labels = ["NULL" if t is None else t.strftime(form) for t in times]
        else:
            labels = [_label(raw_xs[i]) for i in shown]
        positions = list(range(1, len(shown) + 1))
        series = [_Series(name, list(positions), [ys[i] for i in shown])
                  for name, ys in zip(names, columns_of_ys, strict=True)]
        data = _ChartData(series=series, labels=labels, dropped=dropped)
    elif x_class in ("text", "empty"):
        if spec.kind == "scatter":
            raise ChartError(
                f"cannot draw a scatter chart over {columns[spec.x or 0]!r}: it is not a numeric or date column",
                hint="try a bar or line chart",
            )
        # a line over text categories: one position per row that has a category, in result order
        placed = [i for i, x in enumerate(raw_xs) if x is not None]
        series = []
        for name, ys in zip(names, columns_of_ys, strict=True):
            points = [(position, ys[i]) for position, i in enumerate(placed, 1) if ys[i] is not None]
            series.append(_Series(name, [p for p, _ in points], [y for _, y in points]))
        data = _ChartData(series=series, labels=[_label(raw_xs[i]) for i in placed])
    else:
        convert = (lambda raw: raw) if x_class == "row" else _to_time if x_class == "time" else _to_float
        xs = [convert(raw) for raw in raw_xs]
        series = []
        for name, ys in zip(names, columns_of_ys, strict=True):
            pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
            if spec.kind == "line":
                pairs.sort(key=lambda pair: pair[0])
            series.append(_Series(name, [x for x, _ in pairs], [y for _, y in pairs]))
        data = _ChartData(series=series, labels=None)
    if not any(any(y is not None for y in one.ys) for one in data.series):
        raise ChartError("nothing to chart: every value to draw is NULL", hint="check the query's filters and joins")
    return data


def _date_form(times: Sequence[dt.datetime]) -> str:
    """The coarsest strftime form that still tells the times apart (months, days, minutes)."""
    if any(t.second or t.microsecond for t in times):
        return "%Y-%m-%d %H:%M:%S"
    if any(t.hour or t.minute for t in times):
        return "%Y-%m-%d %H:%M"
    if len({(t.year, t.month) for t in times}) > 1 and all(t.day == 1 for t in times):
        return "%Y-%m"
    return "%Y-%m-%d"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


# -- the terminal --------------------------------------------------------------------------------


def render_terminal(
    spec: ChartSpec,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
) -> str:
    """The chart drawn with plotext as text, ``width`` columns by ``height`` lines.

    The text has exactly ``height`` lines (title and tick labels included, no trailing newline)
    and no line longer than ``width``; sizes below :data:`MIN_WIDTH` x :data:`MIN_HEIGHT` are
    enlarged to it. ``color`` False gives plain text with no escape sequence at all (and no
    trailing spaces); True colours the series only, leaving the terminal's background alone.
    plotext keeps one global figure: it is cleared before and after, under a lock, so nothing of
    one chart leaks into the next and other plotext users are not disturbed.
    """
    data = _prepare(spec, columns, rows)
    plt = _plotext()
    width, height = max(int(width), MIN_WIDTH), max(int(height), MIN_HEIGHT)
    with _PLOTEXT_LOCK:
        figure, terminal = plt.figure, plt.terminal
        # plotext shrinks the master plot to the terminal (or to 80x24 when there is none, as in a
        # pipe); the caller chose the size, so lift that limit while drawing and put it back after
        limits = list(getattr(terminal, "_limit", (None, None)))
        figure.clear()
        try:
            terminal.limit(False, False)
            figure.plot_size(width, height)
            figure.theme("simple" if color else "colorless")
            if spec.title:
                figure.title(_shorten(visible(spec.title, one_line=True), width))
            if spec.kind == "bar":
                _terminal_bars(figure, data, width, color)
            else:
                _terminal_points(figure, spec, data, width, color)
            text: str = figure.build().string(colorless=not color)
        finally:
            figure.clear()
            terminal.limit(*limits)
    if not color:
        text = "\n".join(line.rstrip() for line in text.splitlines())
    return text.rstrip("\n")


def _plotext() -> Any:
    try:
        import plotext  # type: ignore[import-untyped]
    except ImportError as exc:  # a core dependency, but its compiled kernel can fail to load
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ChartError(
            f"cannot draw charts in the terminal: plotext does not load ({first})",
            hint="pip install --force-reinstall plotext",
        ) from exc
    if not hasattr(getattr(plotext, "figure", None), "plot_size"):  # 5.x: another API altogether
        raise ChartError(
            f"plotext {getattr(plotext, '__version__', '(unknown version)')} is too old for charts",
            hint="pip install --upgrade 'plotext>=6.1,<7'",
        )
    return plotext


def _terminal_bars(figure: Any, data: _ChartData, width: int, color: bool) -> None:
    labels = data.labels or []
    count = max(len(labels), 1)
    values = [y for one in data.series for y in one.ys if y is not None]
    # labels sit under their bars when there is room; else plotext leaves out the ones that collide
    room = (width - _tick_width(values) - 2) // count - 1
    shown = [_shorten(label, room if room >= 4 else MAX_LABEL) for label in labels]
    several = len(data.series) > 1
    slot = 0.8 / len(data.series)
    for index, one in enumerate(data.series):
        # one bar signal per series, side by side in each category: each gets its own colour
        # (or marker, without colour) and its own legend entry
        offset = -0.4 + slot * (index + 0.5) if several else 0.0
        heights = [0.0 if y is None else y for y in one.ys]  # plotext draws no bar of no height
        marker = "full" if color else _PLAIN_BAR_MARKERS[index % len(_PLAIN_BAR_MARKERS)]
        bars = figure.bar([x + offset for x in one.xs], heights, marker=marker, width=slot if several else 0.8)
        if several:
            bars.label(_series_name(one))
        figure.draw(bars)
    positions = list(range(1, count + 1))
    figure.ruler("x").ticks(positions, shown)
    # explicit limits: plotext's own guess cuts bars off at the edges
    lower, upper = min([0.0, *values]), max([0.0, *values])
    figure.ruler("x").lim(0.5, count + 0.5)
    figure.ruler("y").lim(lower, upper if upper > lower else lower + 1)


def _terminal_points(figure: Any, spec: ChartSpec, data: _ChartData, width: int, color: bool) -> None:
    if spec.x_is_time:
        times = sorted({x for one in data.series for x in one.xs})
        form = _date_form(times)
        figure.date("x").activate(form=form)
        # ticks at the data's own dates (monthly data gets one tick per month, not plotext's
        # evenly spaced instants that can print the same month twice), as many as fit
        fit = max(2, (width - 10) // (len(times[0].strftime(form)) + 2)) if times else 0
        if len(times) > fit:
            times = [times[round(i * (len(times) - 1) / (fit - 1))] for i in range(fit)]
        if times:
            figure.ruler("x").ticks(times, [t.strftime(form) for t in times])
    several = len(data.series) > 1
    for index, one in enumerate(data.series):
        marker: str | None
        if color:
            marker = "dot" if spec.kind == "scatter" else None
        else:
            plain = _PLAIN_POINT_MARKERS if spec.kind == "line" else ("dot", *_PLAIN_POINT_MARKERS[1:])
            marker = plain[index % len(plain)]
        if not one.xs:
            continue
        signal = figure.signal(one.xs, one.ys, marker=marker)
        if spec.kind == "line":
            signal.lines()
        if several:
            signal.label(_series_name(one))
        figure.draw(signal)
    if data.labels is not None:
        positions = list(range(1, len(data.labels) + 1))
        room = (width - 10) // max(len(positions), 1) - 1
        figure.ruler("x").ticks(positions, [_shorten(label, room if room >= 4 else MAX_LABEL) for label in data.labels])
        figure.ruler("x").lim(0.5, len(positions) + 0.5)


def _tick_width(values: list[float]) -> int:
    """About how many columns plotext gives the y tick labels (the rest is the plot)."""
    biggest = max((abs(v) for v in values), default=0.0)
    return len(f"{biggest:.1f}") + (1 if any(v < 0 for v in values) else 0)


def _series_name(series: _Series) -> str:
    return _shorten(visible(series.name, one_line=True), 24)


# -- files -----------------------------------------------------------------------------------------


def save_chart(
    spec: ChartSpec, columns: Sequence[str], rows: Sequence[Sequence[Any]], path: str | os.PathLike[str]
) -> Path:
    """Write the chart to ``path`` as PNG or SVG (from its suffix) with matplotlib; returns the path.

    Axis labels are the column names and the title is the spec's. The file is written to a
    temporary file in the same folder and moved over ``path`` in one ``os.replace``: a reader
    never sees half a chart, and a failure leaves any previous file as it was. The new file gets
    the usual permissions for the user (the umask), as any file they asked for would. Any other
    suffix, a missing folder or a failed write is a :class:`ChartError`; without matplotlib the
    error names the extra to install.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FILE_FORMATS:
        raise ChartError(
            f"cannot save a chart as {target.name!r}: the file name must end in .png or .svg",
            hint="e.g. chart.png or chart.svg",
        )
    folder = target.parent
    if not folder.is_dir():
        raise ChartError(f"cannot save the chart: the folder {visible(str(folder), one_line=True)} does not exist")
    if target.is_dir():
        raise ChartError(f"cannot save the chart: {visible(str(target), one_line=True)} is a folder")
    data = _prepare(spec, columns, rows)
    figure_class, canvas_class = _matplotlib()
    figure = figure_class(figsize=(10, 5.6), dpi=100, layout="constrained")
    canvas_class(figure)
    axes = figure.add_subplot()
    with warnings.catch_warnings():
        # a label in a script the default font lacks draws as boxes; that is no reason to fail
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        _draw_file_chart(axes, spec, columns, data)
        metadata = {"Date": None} if fmt == "svg" else None  # no timestamp: the same chart, the same file
        try:
            with _replacing(target) as handle:
                figure.savefig(handle, format=fmt, metadata=metadata)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ChartError(f"cannot save the chart to {visible(str(target), one_line=True)}: {reason}") from exc
    return target


def _matplotlib() -> tuple[Any, Any]:
    """``Figure`` and ``FigureCanvasAgg``; a ChartError naming the extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401  (first, alone: a missing package fails here, not in a submodule)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ChartError(
            "saving a chart to a file needs matplotlib, which is not installed", hint=_INSTALL_CHARTS
        ) from exc
    return Figure, FigureCanvasAgg


def _text(value: str) -> str:
    """Text for matplotlib: control characters escaped, and ``$`` literal (not mathtext)."""
    return visible(value, one_line=True).replace("$", r"\$")


def _draw_file_chart(axes: Axes, spec: ChartSpec, columns: Sequence[str], data: _ChartData) -> None:
    several = len(data.series) > 1
    if spec.kind == "bar":
        labels = data.labels or []
        count = len(labels)
        slot = 0.8 / len(data.series)
        for index, one in enumerate(data.series):
            offsets = [p - 0.4 + slot * (index + 0.5) for p in one.xs]
            heights = [math.nan if y is None else y for y in one.ys]
            axes.bar(offsets, heights, width=slot, label=_text(one.name))
        axes.set_xticks(range(1, count + 1), [_text(_shorten(label, 30)) for label in labels])
        if count > 8 or any(len(label) > 10 for label in labels):
            for tick in axes.get_xticklabels():
                tick.set_rotation(45)
                tick.set_horizontalalignment("right")
        axes.set_xlim(0.4, count + 0.6)
    else:
        for one in data.series:
            if not one.xs:
                continue
            ys = [math.nan if y is None else y for y in one.ys]  # (only bar series hold None)
            if spec.kind == "line":
                axes.plot(one.xs, ys, marker="o" if len(one.xs) <= 30 else None, label=_text(one.name))
            else:
                axes.scatter(one.xs, ys, label=_text(one.name))
        if data.labels is not None:
            step = max(1, math.ceil(len(data.labels) / 30))
            positions = list(range(1, len(data.labels) + 1))[::step]
            axes.set_xticks(positions, [_text(_shorten(data.labels[p - 1], 30)) for p in positions])
            for tick in axes.get_xticklabels():
                tick.set_rotation(45)
                tick.set_horizontalalignment("right")
        elif spec.x_is_time:
            for tick in axes.get_xticklabels():
                tick.set_rotation(30)
                tick.set_horizontalalignment("right")
    axes.set_xlabel(_text(columns[spec.x]) if spec.x is not None else "row")
    if not several:
        axes.set_ylabel(_text(data.series[0].name))
    else:
        axes.legend()
    if spec.title:
        axes.set_title(_text(spec.title))
    axes.grid(True, axis="y", alpha=0.3)


@contextmanager
def _replacing(target: Path) -> Iterator[IO[bytes]]:
    """A new file beside ``target`` to write; it replaces ``target`` when the block ends normally.

    Created with ``os.open(..., 0o666)`` so the user's umask sets its permissions, as for any file
    they save; removed again if anything fails. Flushed to disk before the replace.
    """
    for _ in range(100):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise ChartError(f"cannot save the chart: no temporary file could be made in {target.parent}")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise
