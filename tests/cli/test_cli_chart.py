"""``--chart``, ``--chart-type``, ``--chart-out`` on ``sql`` and ``ask``, and the REPL's ``\\chart``,
on real query results from the demo database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clitest import invoke

PER_STATUS = "SELECT status, COUNT(*) AS orders FROM orders GROUP BY status ORDER BY 2 DESC"
PER_MONTH = "SELECT substr(order_date, 1, 7) AS month, COUNT(*) AS orders FROM orders GROUP BY 1 ORDER BY 1"


def test_a_table_and_its_bar_chart_on_stdout(sqlcoder_home: Path) -> None:
    result = invoke("sql", PER_STATUS, "--chart", environ={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    table, chart = result.stdout.split("orders by status")
    assert "delivered" in table and "2103" in table
    assert "┤" in chart and "delivered" in chart and "\x1b[" not in chart  # no colour in a pipe
    assert len(chart.strip("\n").splitlines()) >= 12


def test_with_csv_the_chart_goes_to_stderr(sqlcoder_home: Path) -> None:
    result = invoke("sql", PER_MONTH, "--format", "csv", "--chart-type", "line")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("month,orders\n") and "┤" not in result.stdout
    assert "orders by month" in result.stderr and "2023-01" in result.stderr


def test_chart_out_writes_a_png_and_says_so(sqlcoder_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "per-status.png"
    result = invoke("sql", PER_STATUS, "--chart-out", str(target))
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"wrote the chart to {target}" in result.stderr
    assert "┤" not in result.stdout  # a file instead of the terminal drawing


def test_a_result_without_numbers_is_one_line_and_exit_2(sqlcoder_home: Path) -> None:
    result = invoke("sql", "SELECT first_name, last_name FROM customers LIMIT 3", "--chart")
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no numeric column" in errors[0]


def test_a_chart_needs_rows_it_holds(sqlcoder_home: Path) -> None:
    streamed = invoke("sql", PER_STATUS, "--all", "--format", "csv", "--chart")
    assert streamed.exit_code == 2 and "--all" in streamed.stderr
    unknown = invoke("sql", PER_STATUS, "--chart-type", "pie")
    assert unknown.exit_code == 2 and "auto, bar, line, scatter" in unknown.stderr


def test_ask_refuses_a_chart_of_sql_that_does_not_run(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    result = invoke("ask", "orders per status", "--model", str(tiny_gguf_path), "--sql-only", "--chart")
    assert result.exit_code == 2
    assert "a chart needs one question whose SQL runs" in result.stderr


def test_the_repl_charts_the_last_result(sqlcoder_home: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "repl"))
    from repltest import make_repl

    shell = make_repl(sqlcoder_home, db="demo")
    _, err = shell.send("\\chart")
    assert "no result to chart yet" in err
    shell.send(PER_MONTH)
    out, _ = shell.send("\\chart line")
    assert "orders by month" in out and "┤" in out
    out, err = shell.send("\\chart pie")
    assert "\\chart does not know 'pie'" in err and not out
    if sys.modules.get("matplotlib") is not None or _has_matplotlib():
        target = tmp_path / "months.svg"
        _, err = shell.send(f"\\chart bar {target}")
        assert target.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
        assert f"wrote the chart to {target}" in err


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
