"""Charts of real query results: the choice of chart, the terminal drawing and PNG/SVG files.

Every result comes from a real database (a SQLite file made here, one DuckDB file for real date,
Decimal and boolean values) read through ``sqlcoder_cli.db.open_database``, so the values have the
types the tool really hands to the chart code: SQLite's dates are ISO strings, DuckDB's are
``datetime.date`` objects, its sums of DECIMAL columns are ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlcoder_cli.db import open_database
from sqlcoder_cli.db.execute import QueryResult
from sqlcoder_cli.errors import ChartError, ExitCode, UsageError
from sqlcoder_cli.output import chart
from sqlcoder_cli.output.chart import (
    CHART_KINDS,
    MAX_BARS,
    MIN_HEIGHT,
    MIN_WIDTH,
    ChartSpec,
    choose_chart,
    render_terminal,
    save_chart,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COUNTRIES = ["France", "Germany", "Italy", "Spain"]


def _make_shop(path: Path) -> None:
    """orders over six months of 2024 in four countries (some amounts NULL), a country with only
    NULL amounts, and 45 customers for a result with more categories than a chart shows."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE orders (order_date TEXT, ordered_at TEXT, country TEXT, amount REAL, qty INTEGER, note TEXT);
        CREATE TABLE customers (name TEXT, spent REAL);
        """
    )
    rows = []
    for month in range(1, 7):
        for index, country in enumerate(COUNTRIES):
            day = 3 + index * 5
            amount = None if (country == "Italy" and month == 3) else float(month * 10 + index * 7)
            rows.append((f"2024-{month:02d}-{day:02d}", f"2024-{month:02d}-{day:02d} {8 + index:02d}:30:00",
                         country, amount, month + index, f"order {month}/{country}"))
    rows.append(("2024-02-11", "2024-02-11 12:00:00", "Portugal", None, 1, "no amount"))
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO customers VALUES (?, ?)", [(f"customer {i:02d}", 1000.0 - i * 10) for i in range(45)])
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chart") / "shop.sqlite"
    _make_shop(path)
    return path


@pytest.fixture(scope="module")
def query(shop: Path) -> Iterator[Any]:
    """Run SQL on the shop database, read-only, as the tool does; returns the QueryResult."""
    with open_database(str(shop)) as db:

        def run(sql: str) -> QueryResult:
            return db.execute(sql, limit=None)

        yield run


TOTALS = (
    "SELECT country, SUM(amount) AS total FROM orders WHERE amount IS NOT NULL GROUP BY country ORDER BY total DESC"
)
MONTHLY = "SELECT substr(order_date, 1, 7) AS month, SUM(amount) AS revenue FROM orders GROUP BY month ORDER BY month"
DAILY = "SELECT date(order_date) AS day, COUNT(*) AS orders FROM orders GROUP BY day"
PAIRS = "SELECT qty, amount FROM orders WHERE amount IS NOT NULL"


# -- choosing ------------------------------------------------------------------------------------


def test_text_and_a_number_give_a_bar_chart(query: Any) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    assert spec == ChartSpec(kind="bar", x=0, ys=(1,), x_is_time=False, title="total by country")
    assert spec.note is None


def test_iso_month_and_day_strings_give_a_line_chart(query: Any) -> None:
    for sql, title in ((MONTHLY, "revenue by month"), (DAILY, "orders by day")):
        result = query(sql)
        assert isinstance(result.rows[0][0], str)  # SQLite hands dates over as text
        spec = choose_chart(result.columns, result.rows)
        assert (spec.kind, spec.x, spec.ys, spec.x_is_time, spec.title) == ("line", 0, (1,), True, title)


def test_timestamp_strings_are_time_too(query: Any) -> None:
    result = query("SELECT ordered_at, amount, qty FROM orders WHERE country = 'Spain'")
    spec = choose_chart(result.columns, result.rows)
    assert (spec.kind, spec.x, spec.ys, spec.x_is_time) == ("line", 0, (1, 2), True)


def test_which_strings_are_dates(query: Any) -> None:
    """ISO forms SQLite's own date functions write are time; look-alikes and bare years are text."""
    timed = [
        "strftime('%Y-%m-%dT%H:%M:%SZ', order_date)",
        "strftime('%Y-%m-%dT%H:%M:%f', ordered_at)",
        "strftime('%Y-%m-%d %H:%M', ordered_at)",
        "substr(order_date, 1, 7)",
        "datetime(ordered_at)",
        "strftime('%Y-%m-%dT%H:%M:%S+02:00', order_date)",
    ]
    for expression in timed:
        result = query(f"SELECT {expression} AS at, SUM(amount) AS total FROM orders GROUP BY at")
        spec = choose_chart(result.columns, result.rows)
        assert (spec.kind, spec.x_is_time) == ("line", True), (expression, result.rows[0])
    text = ("strftime('%Y', order_date)", "replace(order_date, '-', '/')", "order_date || 'x'", "'on ' || order_date")
    for expression in text:
        result = query(f"SELECT {expression} AS at, SUM(amount) AS total FROM orders GROUP BY at")
        spec = choose_chart(result.columns, result.rows)
        assert (spec.kind, spec.x_is_time) == ("bar", False), (expression, result.rows[0])


def test_two_numbers_give_a_scatter_with_the_first_as_x(query: Any) -> None:
    result = query(PAIRS)
    spec = choose_chart(result.columns, result.rows)
    assert spec == ChartSpec(kind="scatter", x=0, ys=(1,), x_is_time=False, title="amount against qty")


def test_the_first_text_column_is_x_and_every_number_a_series(query: Any) -> None:
    result = query("SELECT note, country, SUM(amount) AS total, SUM(qty) AS items FROM orders GROUP BY country")
    spec = choose_chart(result.columns, result.rows)
    assert (spec.kind, spec.x, spec.ys, spec.title) == ("bar", 0, (2, 3), "total, items by note")


def test_one_numeric_column_is_a_bar_per_row(query: Any) -> None:
    result = query("SELECT amount FROM orders WHERE country = 'France' ORDER BY order_date")
    spec = choose_chart(result.columns, result.rows)
    assert (spec.kind, spec.x, spec.ys, spec.title) == ("bar", None, (0,), "amount")
    text = render_terminal(spec, result.columns, result.rows, width=60, height=12)
    assert all(str(number) in text for number in range(1, 7))  # the row numbers label the bars


def test_a_single_count_is_one_bar(query: Any) -> None:
    result = query("SELECT COUNT(*) AS n FROM orders")
    spec = choose_chart(result.columns, result.rows)
    assert (spec.kind, spec.x, spec.ys) == ("bar", None, (0,))
    lines = render_terminal(spec, result.columns, result.rows, width=40, height=10).splitlines()
    assert lines[0].strip() == "n" and lines[-1].strip() == "1" and "25.0┤" in "".join(lines)


def test_no_numeric_column_is_a_usage_error(query: Any) -> None:
    result = query("SELECT country, note FROM orders")
    with pytest.raises(ChartError) as caught:
        choose_chart(result.columns, result.rows)
    assert caught.value.message == "nothing to chart: the result has no numeric column"
    assert caught.value.hint and "\n" not in caught.value.message
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == ExitCode.USAGE


def test_a_column_of_nulls_is_no_numeric_column(query: Any) -> None:
    result = query("SELECT country, AVG(amount) AS average FROM orders WHERE country = 'Portugal' GROUP BY country")
    assert result.rows == [("Portugal", None)]
    with pytest.raises(ChartError, match="no numeric column"):
        choose_chart(result.columns, result.rows)


def test_an_empty_result_cannot_be_charted(query: Any) -> None:
    result = query("SELECT country, amount FROM orders WHERE 0")
    with pytest.raises(ChartError, match="no rows"):
        choose_chart(result.columns, result.rows)


def test_explicit_kinds_are_honoured(query: Any) -> None:
    totals, monthly, pairs = query(TOTALS), query(MONTHLY), query(PAIRS)
    assert choose_chart(totals.columns, totals.rows, "line").kind == "line"
    bar_over_time = choose_chart(monthly.columns, monthly.rows, "bar")
    assert (bar_over_time.kind, bar_over_time.x, bar_over_time.x_is_time) == ("bar", 0, True)
    scatter_over_time = choose_chart(monthly.columns, monthly.rows, "scatter")
    assert (scatter_over_time.kind, scatter_over_time.x, scatter_over_time.x_is_time) == ("scatter", 0, True)
    line_of_pairs = choose_chart(pairs.columns, pairs.rows, "line")
    assert (line_of_pairs.kind, line_of_pairs.x, line_of_pairs.ys) == ("line", 0, (1,))
    for kind in CHART_KINDS[1:]:  # every explicit kind draws, in the terminal and in a file
        spec = choose_chart(monthly.columns, monthly.rows, kind)
        assert render_terminal(spec, monthly.columns, monthly.rows, width=60, height=12).count("\n") == 11


def test_an_explicit_kind_that_cannot_work_says_why(query: Any) -> None:
    totals = query(TOTALS)
    with pytest.raises(ChartError) as caught:
        choose_chart(totals.columns, totals.rows, "scatter")
    assert "scatter" in caught.value.message and "'country' is text" in (caught.value.hint or "")
    with pytest.raises(ChartError, match="unknown chart kind 'pie'") as unknown:
        choose_chart(totals.columns, totals.rows, "pie")
    assert "auto, bar, line, scatter" in (unknown.value.hint or "")


def test_a_title_can_be_given(query: Any) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows, title="Revenue per country")
    assert spec.title == "Revenue per country"
    assert "Revenue per country" in render_terminal(spec, result.columns, result.rows, width=70, height=14)


# -- NULLs and too many bars -----------------------------------------------------------------------


def test_nulls_are_skipped_per_series(query: Any) -> None:
    result = query(
        "SELECT substr(order_date, 1, 7) AS month, SUM(CASE WHEN country = 'Italy' THEN amount END) AS italy,"
        " SUM(CASE WHEN country = 'Spain' THEN amount END) AS spain FROM orders GROUP BY month ORDER BY month"
    )
    months = [row[0] for row in result.rows]
    assert [row[1] is None for row in result.rows] == [False, False, True, False, False, False]
    spec = choose_chart(result.columns, result.rows)
    data = chart._prepare(spec, result.columns, result.rows)
    italy, spain = data.series
    assert [x.strftime("%Y-%m") for x in italy.xs] == [m for m in months if m != "2024-03"]
    assert len(spain.xs) == 6 and None not in italy.ys + spain.ys
    text = render_terminal(spec, result.columns, result.rows, width=72, height=16)
    assert "italy" in text and "spain" in text  # two series: a legend


def test_a_category_whose_values_are_all_null_has_no_bar(query: Any) -> None:
    result = query("SELECT country, SUM(amount) AS total, MAX(qty) AS most FROM orders GROUP BY country")
    spec = choose_chart(result.columns, result.rows, "bar")
    labels = chart._prepare(spec, result.columns, result.rows).labels
    assert labels is not None and "Portugal" in labels  # Portugal has a qty, so its category stays, with no total bar
    only_totals = query("SELECT country, SUM(amount) AS total FROM orders GROUP BY country ORDER BY country")
    spec = choose_chart(only_totals.columns, only_totals.rows)
    assert chart._prepare(spec, only_totals.columns, only_totals.rows).labels == sorted(COUNTRIES)
    assert "Portugal" not in render_terminal(spec, only_totals.columns, only_totals.rows, width=80, height=14)


def test_more_than_forty_categories_draws_the_first_forty_with_a_note(query: Any, tmp_path: Path) -> None:
    result = query("SELECT name, spent FROM customers ORDER BY spent DESC")
    assert len(result.rows) == 45
    spec = choose_chart(result.columns, result.rows)
    assert spec.kind == "bar" and spec.dropped == 5
    assert spec.note is not None and f"first {MAX_BARS} of 45 bars" in spec.note
    labels = chart._prepare(spec, result.columns, result.rows).labels
    assert labels == [f"customer {i:02d}" for i in range(40)]
    assert render_terminal(spec, result.columns, result.rows, width=120, height=20).count("\n") == 19
    assert save_chart(spec, result.columns, result.rows, tmp_path / "many.png").read_bytes().startswith(PNG_SIGNATURE)
    fewer = query("SELECT name, spent FROM customers ORDER BY spent DESC LIMIT 40")
    assert choose_chart(fewer.columns, fewer.rows).note is None


# -- the terminal ------------------------------------------------------------------------------------


def test_terminal_chart_without_colour_is_plain_text_with_the_labels(query: Any) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    text = render_terminal(spec, result.columns, result.rows, width=80, height=20, color=False)
    assert "\x1b" not in text
    assert all(country in text for country in COUNTRIES)
    assert "total by country" in text.splitlines()[0]
    assert not any(line != line.rstrip() for line in text.splitlines())


def test_terminal_chart_with_colour_has_escapes(query: Any) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    text = render_terminal(spec, result.columns, result.rows, width=80, height=20, color=True)
    assert "\x1b[" in text and "France" in text


@pytest.mark.parametrize("sql", [TOTALS, MONTHLY, DAILY, PAIRS])
@pytest.mark.parametrize("size", [(80, 20), (60, 12), (120, 30), (MIN_WIDTH, MIN_HEIGHT)])
@pytest.mark.parametrize("color", [False, True])
def test_width_and_height_are_kept(query: Any, sql: str, size: tuple[int, int], color: bool) -> None:
    """Exactly ``height`` lines, none wider than ``width`` (counted without colour escapes)."""
    import plotext  # type: ignore[import-untyped]

    result = query(sql)
    spec = choose_chart(result.columns, result.rows)
    width, height = size
    text = render_terminal(spec, result.columns, result.rows, width=width, height=height, color=color)
    lines = (plotext.uncolorize(text) if color else text).splitlines()
    assert len(lines) == height
    assert max(len(line) for line in lines) <= width


def test_tiny_sizes_are_enlarged_to_the_minimum(query: Any) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    lines = render_terminal(spec, result.columns, result.rows, width=5, height=2).splitlines()
    assert len(lines) == MIN_HEIGHT and max(map(len, lines)) <= MIN_WIDTH


def test_dates_are_written_on_the_x_axis(query: Any) -> None:
    monthly = query(MONTHLY)
    spec = choose_chart(monthly.columns, monthly.rows)
    text = render_terminal(spec, monthly.columns, monthly.rows, width=80, height=16)
    ticks = text.splitlines()[-1].split()
    assert ticks == [f"2024-{m:02d}" for m in range(1, 7)]  # one tick per month, written as a month
    daily = query(DAILY)
    text = render_terminal(choose_chart(daily.columns, daily.rows), daily.columns, daily.rows, width=80, height=16)
    assert "2024-01-0" in text  # days, written as days
    assert text.splitlines()[-1].split() == sorted(set(text.splitlines()[-1].split()))  # each day once, in order
    stamps = query("SELECT ordered_at, amount FROM orders WHERE country = 'Germany'")
    spec = choose_chart(stamps.columns, stamps.rows)
    assert (spec.kind, spec.x_is_time) == ("line", True)
    text = render_terminal(spec, stamps.columns, stamps.rows, width=100, height=16)
    assert "2024-01-08 09:30" in text.splitlines()[-1]  # timestamps keep their time of day


def test_nothing_leaks_from_one_chart_into_the_next(query: Any) -> None:
    import plotext

    totals, monthly = query(TOTALS), query(MONTHLY)
    bar_spec, line_spec = choose_chart(totals.columns, totals.rows), choose_chart(monthly.columns, monthly.rows)
    alone = render_terminal(line_spec, monthly.columns, monthly.rows, width=70, height=14)
    render_terminal(bar_spec, totals.columns, totals.rows, width=90, height=25, color=True)
    after = render_terminal(line_spec, monthly.columns, monthly.rows, width=70, height=14)
    assert after == alone and "France" not in after
    # plotext's global figure is left empty: another user of plotext starts from a clean figure
    figure = plotext.figure
    figure.plot_size(40, 10)
    leftover = figure.build().string(colorless=True)
    figure.clear()
    assert "France" not in leftover and "revenue" not in leftover


def test_control_characters_in_the_data_are_shown_not_obeyed(tmp_path: Path) -> None:
    path = tmp_path / "evil.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (label TEXT, \"v\x1b[31m\" REAL)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("Evil\x1b[2J", 3.0), ("ok", 5.0)])
    conn.commit()
    conn.close()
    with open_database(str(path)) as db:
        result = db.execute('SELECT * FROM t', limit=None)
    spec = choose_chart(result.columns, result.rows)
    text = render_terminal(spec, result.columns, result.rows, width=80, height=14)
    assert "\x1b" not in text and "\\x1b" in text
    svg = save_chart(spec, result.columns, result.rows, tmp_path / "evil.svg")
    ET.parse(svg)  # an escape character would make the SVG invalid XML


# -- real date, Decimal and boolean values (DuckDB) ------------------------------------------------------


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import duckdb

    path = tmp_path_factory.mktemp("chart") / "shop.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE sales (day DATE, sold_at TIMESTAMP, price DECIMAL(10, 2), region VARCHAR, paid BOOLEAN)")
    conn.executemany(
        "INSERT INTO sales VALUES (?, ?, ?, ?, ?)",
        [(dt.date(2024, 1, 1) + dt.timedelta(days=i), dt.datetime(2024, 1, 1, 9) + dt.timedelta(minutes=90 * i),
          decimal.Decimal(i) * decimal.Decimal("3.25"), "north" if i % 2 == 0 else "south", i % 3 == 0)
         for i in range(20)],
    )
    conn.close()
    return path


def test_real_dates_and_decimals(duck: Path, tmp_path: Path) -> None:
    with open_database(str(duck)) as db:
        daily = db.execute("SELECT day, SUM(price) AS takings FROM sales GROUP BY day ORDER BY day DESC", limit=None)
        regions = db.execute("SELECT region, SUM(price) AS takings FROM sales GROUP BY region", limit=None)
        hourly = db.execute("SELECT sold_at, price FROM sales", limit=None)
        flags = db.execute("SELECT region, paid FROM sales", limit=None)
    assert isinstance(daily.rows[0][0], dt.date) and isinstance(daily.rows[0][1], decimal.Decimal)
    spec = choose_chart(daily.columns, daily.rows)
    assert (spec.kind, spec.x_is_time) == ("line", True)
    xs = chart._prepare(spec, daily.columns, daily.rows).series[0].xs
    assert xs == sorted(xs) and xs[0] == dt.datetime(2024, 1, 1)  # a line runs in time order
    assert "2024-01-0" in render_terminal(spec, daily.columns, daily.rows, width=80, height=14)
    assert save_chart(spec, daily.columns, daily.rows, tmp_path / "daily.png").read_bytes().startswith(PNG_SIGNATURE)
    assert choose_chart(regions.columns, regions.rows).kind == "bar"
    assert isinstance(hourly.rows[0][0], dt.datetime)
    assert choose_chart(hourly.columns, hourly.rows).x_is_time
    assert isinstance(flags.rows[0][1], bool)
    with pytest.raises(ChartError, match="no numeric column"):  # a boolean is not a number to chart
        choose_chart(flags.columns, flags.rows)


# -- files ---------------------------------------------------------------------------------------------


def test_png_file(query: Any, tmp_path: Path) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    written = save_chart(spec, result.columns, result.rows, tmp_path / "totals.png")
    assert written == tmp_path / "totals.png"
    data = written.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["totals.png"]  # no temporary file left


@pytest.mark.parametrize("sql", [TOTALS, MONTHLY, PAIRS])
def test_svg_file_is_xml_with_an_svg_root(query: Any, tmp_path: Path, sql: str) -> None:
    result = query(sql)
    spec = choose_chart(result.columns, result.rows)
    path = save_chart(spec, result.columns, result.rows, tmp_path / "chart.SVG")  # the suffix in any case
    root = ET.parse(path).getroot()
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")


def test_dollar_signs_are_text_not_mathtext(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE p (item TEXT, "price $" REAL)')
    conn.executemany("INSERT INTO p VALUES (?, ?)", [("a $5 deal", 5.0), ("$x$ and $", 7.5), ("plain", 2.0)])
    conn.commit()
    conn.close()
    with open_database(str(path)) as db:
        result = db.execute('SELECT item, "price $" FROM p', limit=None)
    spec = choose_chart(result.columns, result.rows)
    assert save_chart(spec, result.columns, result.rows, tmp_path / "p.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("name", ["chart.pdf", "chart", "chart.png.txt"])
def test_a_bad_suffix_errors_and_writes_nothing(query: Any, tmp_path: Path, name: str) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    with pytest.raises(ChartError) as caught:
        save_chart(spec, result.columns, result.rows, tmp_path / name)
    assert ".png" in caught.value.message and ".svg" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_an_error(query: Any, tmp_path: Path) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    with pytest.raises(ChartError, match="does not exist"):
        save_chart(spec, result.columns, result.rows, tmp_path / "nowhere" / "chart.png")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(query: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    target = tmp_path / "chart.png"
    target.write_bytes(b"the previous chart")

    def full_disk(self: Any, handle: Any, **kwargs: Any) -> None:
        handle.write(b"\x89PNG half a chart")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    with pytest.raises(ChartError, match="No space left on device"):
        save_chart(spec, result.columns, result.rows, target)
    assert target.read_bytes() == b"the previous chart"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def test_the_file_replaces_an_older_one_with_ordinary_permissions(query: Any, tmp_path: Path) -> None:
    result = query(PAIRS)
    spec = choose_chart(result.columns, result.rows)
    target = tmp_path / "chart.png"
    target.write_bytes(b"old")
    save_chart(spec, result.columns, result.rows, target)
    assert target.read_bytes().startswith(PNG_SIGNATURE)
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_without_matplotlib_the_error_names_the_extra(
    query: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ChartError) as caught:
        save_chart(spec, result.columns, result.rows, tmp_path / "chart.png")
    assert "matplotlib" in caught.value.message
    assert caught.value.hint == "pip install 'sqlcoder-cli[charts]'"
    assert list(tmp_path.iterdir()) == []
    # the terminal chart does not need matplotlib
    assert "France" in render_terminal(spec, result.columns, result.rows, width=80, height=14)


def test_an_old_plotext_is_an_error_not_a_traceback(query: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """plotext 5 has another API (no ``plotext.figure``); pip may keep it from an older install."""
    import types

    result = query(TOTALS)
    spec = choose_chart(result.columns, result.rows)
    monkeypatch.setitem(sys.modules, "plotext", types.SimpleNamespace(__version__="5.3.2", plot=print))
    with pytest.raises(ChartError, match="plotext 5.3.2 is too old") as caught:
        render_terminal(spec, result.columns, result.rows)
    assert "plotext>=6.1" in (caught.value.hint or "")


def test_importing_the_module_loads_neither_library() -> None:
    code = (
        "import sys, sqlcoder_cli.output.chart\n"
        "loaded = [m for m in ('plotext', 'matplotlib') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
