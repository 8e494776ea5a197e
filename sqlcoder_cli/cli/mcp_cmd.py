"""``sqlcoder mcp``: serve the database to an MCP client (Claude Desktop, an IDE, an agent) over stdio.

The protocol owns stdout: nothing else may be written there, so every line of ours (the start-up
note, warnings, errors) goes to stderr, which clients keep as the server's log. The database is
opened before serving, so a wrong ``--db`` is one red line and exit 1, not a server that fails
every call; the model loads on the first ``ask`` only. Closing stdin (what clients do) ends the
server with exit 0; Ctrl-C and SIGTERM end it as they end every command (130, 143).
The tools themselves are in ``sqlcoder_cli/mcp_server.py`` (docs/mcp.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import typer

from ..config import MAX_ROW_LIMIT
from ..errors import ExitCode, SqlcoderError
from . import options
from .settings_flags import answer_options, engine_options, settings_from
from .state import AppState, get_state, warn_if_privileged

if TYPE_CHECKING:
    from ..mcp_server import SqlcoderTools

#: the server-wide row cap when --max-rows is not given (mcp_server.DEFAULT_MAX_ROWS; not
#: imported, so that ``sqlcoder --help`` does not import pydantic)
DEFAULT_MAX_ROWS = 200


def _prepare(state: AppState, tools: SqlcoderTools) -> str:
    """Open the database (and say what is wrong with the model) before the first call; runs on the
    server's worker thread, where every later call runs. Returns the database's display name."""
    session = tools.session
    database = session.database
    warn_if_privileged(state, database)
    if session.uses_local_model:
        try:
            _ = session.model  # resolves a name or a path; loads nothing
        except SqlcoderError as exc:
            state.warn(f"{exc}; `ask` fails until that is fixed (`schema` and `run_sql` work)")
    return database.target.display


def mcp_command(
    ctx: typer.Context,
    db: Optional[str] = options.DbOption,
    model: Optional[str] = options.ModelOption,
    max_rows: int = typer.Option(
        DEFAULT_MAX_ROWS, "--max-rows", min=1, max=MAX_ROW_LIMIT,
        help="Most rows any tool call returns; a call asking for more gets this many.",
    ),
    engine_flags: dict[str, Any] | None = None,
    settings_flags: dict[str, Any] | None = None,
) -> int:
    """Serve the database over the Model Context Protocol (stdio): tools ask, run_sql and schema."""
    import anyio

    from ..mcp_server import SqlcoderTools, build_server, session_factory

    state = get_state(ctx)
    config = state.config
    engine_options = options.configure_engine(config, **(engine_flags or {}))
    settings = settings_from(config, settings_flags or {})
    factory = session_factory(config, db=db, model=model, settings=settings, max_rows=max_rows, engine_options=engine_options)
    tools = SqlcoderTools(factory, max_rows=max_rows)
    try:
        display = tools.run_blocking(_prepare, state, tools)
        level = "ERROR" if state.quiet else ("INFO" if state.verbose else "WARNING")
        server = build_server(tools, log_level=level, on_call=state.info if state.verbose else None)
        state.info(f"sqlcoder MCP server on stdio for {display}; tools: ask, run_sql, schema (close stdin to stop)")
        if state.env.stdin_isatty:
            state.info("it speaks JSON-RPC on stdin/stdout: start it from an MCP client (docs/mcp.md), not by hand")
        anyio.run(server.run_stdio_async)
    except BaseException:
        tools.close(wait=False)  # an error, Ctrl-C or SIGTERM: a call still running must not hold the exit
        raise
    tools.close()  # stdin closed: the call in progress (if any) finishes first
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    # --max-rows is the row limit here (a cap on every call), so the settings' --limit is left out
    app.command("mcp")(engine_options()(answer_options(skip=("row_limit",))(mcp_command)))
