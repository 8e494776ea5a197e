"""``sqlcoder sql``: run your own SQL through the same guard, limits and output as ``ask``.

Why: to check what the model wrote, try a variation, or export a result, without leaving the tool
and without giving up its safety: the statement guard (in the database's own dialect), the
read-only connection, the time limit and Ctrl-C all apply exactly as for generated SQL.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import ExitCode, SqlcoderError, UsageError
from . import options
from .inputs import check_utf8, read_stdin
from ..frontend.charts import ChartRequest, chart_request, show_chart
from ..frontend.render import note_rows, stream_result, write_result
from .state import get_state, warn_if_privileged

#: formats that need the whole result in memory, so ``--all`` cannot stream them
_WHOLE_RESULT_FORMATS = ("table", "json", "markdown")


def _read_sql(sql: Optional[str], state: Any) -> str:
    from_stdin = sql == "-" or (sql is None and not state.env.stdin_isatty)
    if from_stdin:
        text = read_stdin(state)
    elif sql is None:
        raise UsageError("no SQL given", hint='try: sqlcoder sql "SELECT COUNT(*) FROM customers"')
    else:
        text = check_utf8(sql, "the SQL")
    text = text.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise UsageError("the SQL is empty", hint='try: sqlcoder sql "SELECT COUNT(*) FROM customers"')
    return text


def sql_command(
    ctx: typer.Context,
    sql: Optional[str] = typer.Argument(
        None, help="The SQL to run. Use '-' (or pipe it with no argument) to read it from stdin.", show_default=False
    ),
    db: Optional[str] = options.DbOption,
    fmt: Optional[str] = options.FormatOption,
    limit: Optional[int] = options.LimitOption,
    all_rows: bool = typer.Option(
        False, "--all", help="Stream every row (csv, tsv or jsonl only); no row limit, constant memory."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write this to the history log."),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", min=0, max=options.MAX_TIMEOUT_S, help="Cancel the query after this many seconds; 0 = no limit (default: config query_timeout, 30).",
        show_default=False,
    ),
    chart: bool = options.ChartOption,
    chart_type: Optional[str] = options.ChartTypeOption,
    chart_out: Optional[Path] = options.ChartOutOption,
) -> int:
    """Run a read-only SQL query you wrote (refused unless it is a single read query)."""
    state = get_state(ctx)
    fmt = fmt or "table"
    chart_wanted = chart_request(chart, chart_type, chart_out)
    if chart_wanted is not None and all_rows:
        raise UsageError("--all streams rows it never holds, so it cannot draw them", hint="use --limit N with a chart")
    if all_rows and fmt in _WHOLE_RESULT_FORMATS:
        raise UsageError(
            f"--all cannot be used with --format {fmt}: it needs the whole result in memory",
            hint="use --format csv, tsv or jsonl to stream every row, or --limit N",
        )
    if all_rows and limit is not None:
        raise UsageError("--all and --limit contradict each other; give one of them")
    text = _read_sql(sql, state)

    from ..db.connect import open_database

    config = state.config
    timeout_s = float(timeout) if timeout is not None else float(config.query_timeout)
    database = open_database(db if db is not None else (config.default_db or None), timeout_s=timeout_s or None)
    history = state.history_log(no_log=no_log)
    try:
        _run(state, database, text, fmt=fmt, limit=limit, all_rows=all_rows, history=history, chart=chart_wanted)
    except SqlcoderError as exc:
        if history is not None:
            history.record_failure(None, exc, db=database.target.display, model=None, sql=text, source="sql")
        raise
    return int(ExitCode.OK)


def _run(
    state: Any, database: Any, text: str, *, fmt: str, limit: Optional[int], all_rows: bool, history: Any,
    chart: ChartRequest | None = None,
) -> None:
    config = state.config
    with database:
        database.guard(text)  # the database's dialect and its function catalogue
        warn_if_privileged(state, database)
        out = state.data
        started = time.perf_counter()
        if all_rows:
            columns, rows = database.iter_rows(text)
            count = stream_result(state, fmt, columns, rows)
            if state.verbose:
                state.info(f"{count} rows · query and output {time.perf_counter() - started:.3f}s")
            if history is not None:
                history.record(source="sql", outcome="ok", sql=text, db=database.target.display, row_count=count)
            return
        row_limit = limit if limit is not None else config.row_limit
        result = database.execute(text, limit=row_limit)
        if fmt in ("json", "jsonl"):
            from ..output import formats
            from ..output.values import json_value

            payload = {
                "sql": text,
                "columns": list(result.columns),
                "rows": [[json_value(v) for v in row] for row in result.rows],
                "row_count": result.row_count,
                "truncated": result.truncated,
                "db": database.target.display,
                "timings": {"execute_s": round(result.elapsed_s, 4)},
            }
            if fmt == "json":
                formats.write_json(out, payload)
            else:
                formats.write_jsonl_line(out, payload)
        else:
            write_result(state, fmt, result.columns, result.rows)
        note_rows(state, fmt, result.row_count, result.truncated)
        if chart is not None:
            show_chart(state, chart, result.columns, result.rows, on_stderr=fmt != "table")
        if state.verbose:
            state.info(f"query {result.elapsed_s:.3f}s on {database.target.display}")
        if history is not None:
            history.record(
                source="sql", outcome="ok", sql=text, db=database.target.display, row_count=result.row_count,
                timings={"execute_s": round(result.elapsed_s, 4)},
            )


def register(app: typer.Typer) -> None:
    app.command("sql")(sql_command)
