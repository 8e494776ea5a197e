"""sqlcoder as a Model Context Protocol server: ``ask``, ``run_sql`` and ``schema`` as tools.

An MCP client (Claude Desktop, an IDE, an agent) starts ``sqlcoder mcp`` and talks JSON-RPC to it
over stdin/stdout. The server keeps one :class:`~sqlcoder_cli.pipeline.Session` for its lifetime,
so the database is opened and the model loaded once; the model only loads on the first ``ask``
(``schema`` and ``run_sql`` never need it).

Safety is the CLI's, not a copy of it: ``run_sql`` goes through :meth:`Session.prepare_sql` (the
statement guard in the database's dialect, then the read-only connection's own check) exactly like
``sqlcoder sql``, and ``ask`` through :meth:`Session.ask` like ``sqlcoder ask``. Rows are capped
per call (``max_rows``) and server-wide (``max_rows`` of :func:`build_server`), queries by the
session's ``query_timeout``. Every :class:`~sqlcoder_cli.errors.SqlcoderError` becomes a tool error
(``isError``) carrying its one-line message, never a traceback; the client's model reads it and
can try again.

Why the SDK's high-level ``MCPServer`` (FastMCP in mcp 1.x) and not the low-level ``Server``: tool
input and output schemas come from the functions' type hints, so what a client sees cannot drift
from what the code accepts. Why one worker thread: the Session (a database connection, a llama.cpp
context) is not safe to share between threads, and a blocking query or generation must not stall
the protocol loop (pings, cancellations); calls run one at a time, in order, on that thread.

No Typer or rich here: the CLI wrapper is ``cli/mcp_cmd.py``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import Field
from typing_extensions import TypedDict

from .__about__ import __version__
from .errors import SqlcoderError, UsageError
from .output.visible import visible

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult

    from .config import Config
    from .pipeline import AnswerSettings, Session

#: the most rows any tool call returns, whatever it asks for (``sqlcoder mcp --max-rows``)
DEFAULT_MAX_ROWS = 200
#: rows a tool call returns when it does not say (``max_rows``)
DEFAULT_TOOL_ROWS = 50

#: builds the server's one Session (called once, on the first tool call, on the worker thread)
SessionFactory = Callable[[], "Session"]

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_T = TypeVar("_T")

INSTRUCTIONS = (
    "sqlcoder answers questions about one SQL database, read-only. Call `schema` first to see its "
    "tables and columns. `ask` takes a question in plain English: a local text-to-SQL model writes the "
    "SQL, which is checked and run; the result shows the SQL that ran. `run_sql` runs a single read "
    "query you wrote (SELECT/WITH/VALUES) in the database's dialect. Writes, DDL and side effects are "
    "always refused. Results carry at most max_rows rows; `truncated` says more were available."
)


# The tools' arguments. Module-level names: the SDK reads the tools' (string) annotations with the
# module's globals, so the schema a client sees is built from exactly these.
Question = Annotated[str, Field(description="The question in plain English, e.g. 'How many customers are there?'")]
SQLText = Annotated[str, Field(description="One read query (SELECT, WITH ... SELECT, VALUES) in the database's dialect.")]
MaxRows = Annotated[int, Field(
    ge=1, description=f"Most rows to return (default {DEFAULT_TOOL_ROWS}); more than the server's cap "
    f"(sqlcoder mcp --max-rows, default {DEFAULT_MAX_ROWS}) are cut to the cap.",
)]
TableNames = Annotated[list[str] | None, Field(description="Only these tables or views (default: all).")]


class QueryResultDict(TypedDict):
    """What ``run_sql`` returns (``ask`` adds ``question`` and ``model``)."""

    sql: Annotated[str, Field(description="The SQL as it ran, in the database's dialect.")]
    columns: Annotated[list[str], Field(description="Column names, in order.")]
    rows: Annotated[list[list[Any]], Field(description="The rows, each a list of JSON values in column order.")]
    row_count: Annotated[int, Field(description="How many rows are in `rows`.")]
    truncated: Annotated[bool, Field(description="True when the query had more rows than were returned.")]


class AnswerDict(QueryResultDict):
    """What ``ask`` returns: the query's result, with the question and the model that wrote the SQL."""

    question: Annotated[str, Field(description="The question as asked.")]
    model: Annotated[str, Field(description="The model that wrote the SQL.")]


class SchemaDict(TypedDict):
    """What ``schema`` returns."""

    db: Annotated[str, Field(description="The database (never with a password).")]
    dialect: Annotated[str, Field(description="The database's SQL dialect (sqlglot's name).")]
    tables: Annotated[list[str], Field(description="The tables and views shown, in order.")]
    ddl: Annotated[str, Field(description="CREATE TABLE statements with comments, sample values and join hints.")]


def json_rows(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as JSON values (dates as ISO text, bytes as base64, decimals as numbers), like the
    CLI's ``--format json``."""
    from .output.values import json_value

    return [[json_value(value) for value in row] for row in rows]


def error_text(error: SqlcoderError) -> str:
    """The one line a tool error carries: the message and its hint, control characters escaped."""
    return visible(str(error), one_line=True)


def session_factory(
    config: Config,
    *,
    db: str | None = None,
    model: str | None = None,
    settings: AnswerSettings | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    query_timeout: float | None = None,
    **session_options: Any,
) -> SessionFactory:
    """The factory ``sqlcoder mcp`` uses: a Session with ``settings`` (default: the config's), the
    server's row cap as its row limit and ``query_timeout`` in seconds (None keeps the settings').
    Other keywords (``engine``, ``engine_options``, ``server``) go to :class:`Session` as they are."""

    def make() -> Session:
        from .pipeline import AnswerSettings, Session

        base = settings if settings is not None else AnswerSettings.from_config(config)
        chosen = base.with_overrides(row_limit=max_rows, query_timeout=query_timeout)
        return Session(config, db=db, model=model, settings=chosen, **session_options)

    return make


class _Worker:
    """One daemon thread running submitted calls in order.

    Why not a ThreadPoolExecutor: its threads are joined when the interpreter exits, so Ctrl-C
    during a two-minute generation would wait for it. A daemon thread lets an interrupted server
    exit at once; on a normal stop (EOF) :meth:`SqlcoderTools.close` still waits for the call.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="sqlcoder-mcp", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        future: Future[_T] = Future()
        self._jobs.put((future, fn, args))
        return future

    def stop(self) -> None:
        """No more calls; the thread ends after the ones already queued."""
        self._jobs.put(None)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited: never run
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
                future.set_exception(exc)
            else:
                future.set_result(result)


class SqlcoderTools:
    """The tools' work, synchronous and protocol-free (the MCP layer in :func:`build_server` only
    moves it onto the worker thread and turns errors into tool errors).

    ``factory`` builds the one Session on first use; ``max_rows`` caps every call's rows.
    """

    def __init__(self, factory: SessionFactory, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if max_rows < 1:
            raise UsageError(f"the row cap must be at least 1, not {max_rows}")
        self._factory = factory
        self._session: Session | None = None
        self.max_rows = max_rows
        self._worker = _Worker()
        self._closed = False

    # --- the session ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    @property
    def session_started(self) -> bool:
        return self._session is not None

    def rows_for(self, max_rows: int) -> int:
        """``max_rows`` held to [1, the server's cap]."""
        return max(1, min(int(max_rows), self.max_rows))

    # --- the tools (synchronous; run on the worker thread) -------------------------------------
    def ask(self, question: str, max_rows: int = DEFAULT_TOOL_ROWS) -> dict[str, Any]:
        if not question.strip():
            # before the session, the database or the model: nothing to ask
            raise UsageError("the question is empty", hint='ask something, e.g. "How many customers are there?"')
        limit = self.rows_for(max_rows)
        answer = self.session.ask(question.strip())
        rows = list(answer.rows[:limit])
        return {
            "question": answer.question,
            "sql": answer.sql,
            "columns": list(answer.columns),
            "rows": json_rows(rows),
            "row_count": len(rows),
            "truncated": bool(answer.truncated or len(answer.rows) > limit),
            "model": answer.model,
        }

    def run_sql(self, sql: str, max_rows: int = DEFAULT_TOOL_ROWS) -> dict[str, Any]:
        text = sql.strip()
        while text.endswith(";"):
            text = text[:-1].rstrip()
        if not text:
            raise UsageError("the SQL is empty", hint="give one read query, e.g. SELECT COUNT(*) FROM customers")
        session = self.session
        prepared = session.prepare_sql(text)  # the statement guard, as for `sqlcoder sql`
        result = session.run_sql(prepared, limit=self.rows_for(max_rows))  # the read-only connection
        return {
            "sql": prepared,
            "columns": list(result.columns),
            "rows": json_rows(result.rows),
            "row_count": result.row_count,
            "truncated": bool(result.truncated),
        }

    def schema(self, tables: list[str] | None = None) -> dict[str, Any]:
        from .schema.ddl import render_ddl

        session = self.session
        schema = session.schema
        if tables:
            unknown = [name for name in tables if schema.table(name) is None]
            if unknown:
                known = ", ".join(t.qualified_name for t in schema.tables) or "none"
                raise UsageError(f"no such table: {', '.join(unknown)}", hint=f"the tables are: {known}")
            chosen = [schema.table(name) for name in tables]
            schema = type(schema)(
                schema.dialect, [t for t in schema.tables if any(t is c for c in chosen)], schema.default_schema
            )
        return {
            "db": session.database.target.display,
            "dialect": schema.dialect,
            "tables": [t.qualified_name for t in schema.tables],
            "ddl": render_ddl(schema),
        }

    # --- running on the worker thread ----------------------------------------------------------
    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on the worker thread: one call at a time, in arrival order. A call
        cancelled while it waits never runs; one already running finishes (its time limit holds)."""
        if self._closed:
            raise UsageError("the server is shutting down")
        return await asyncio.wrap_future(self._worker.submit(fn, *args))

    def run_blocking(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on the worker thread and wait for it (for the CLI, before serving)."""
        return self._worker.submit(fn, *args).result()

    def close(self, *, wait: bool = True) -> None:
        """Close the session (database, model) on the worker thread, after the call it may be
        running. ``wait=False`` (Ctrl-C, SIGTERM) returns at once: the process is ending, and a
        running call must not hold it."""
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._session is not None:
                self._session.close()
                self._session = None

        done = self._worker.submit(shut)
        self._worker.stop()
        if wait:
            done.result()


def _tool_error(error: SqlcoderError) -> CallToolResult:
    """A tool error (``isError``) whose text is exactly the error's one line (raising the SDK's
    ToolError would prefix it with 'Error executing tool …')."""
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=error_text(error))], is_error=True)


def build_server(
    tools: SqlcoderTools,
    *,
    name: str = "sqlcoder",
    log_level: LogLevel = "WARNING",
    on_call: Callable[[str], None] | None = None,
) -> MCPServer[Any]:
    """An MCP server whose ``ask``, ``run_sql`` and ``schema`` tools run on ``tools``.

    ``log_level``: the SDK's own log lines (on stderr; it sets up logging only if nothing else has).
    ``on_call``: told one line per finished call (``sqlcoder --verbose mcp`` prints it on stderr).
    """
    import time

    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server: MCPServer[Any] = MCPServer(name, version=__version__, instructions=INSTRUCTIONS, log_level=log_level)

    async def run(fn: Callable[..., dict[str, Any]], *args: Any) -> Any:
        """The tool's result (checked against its output schema), or an error result, which the
        SDK passes on unchecked."""
        started = time.perf_counter()
        try:
            result = await tools.call(fn, *args)
        except SqlcoderError as exc:
            if on_call is not None:
                on_call(f"{fn.__name__}: {error_text(exc)} ({time.perf_counter() - started:.3f}s)")
            return _tool_error(exc)
        if on_call is not None:
            count, noun = (result["row_count"], "row") if "row_count" in result else (len(result["tables"]), "table")
            on_call(f"{fn.__name__}: {count} {noun}{'' if count == 1 else 's'} ({time.perf_counter() - started:.3f}s)")
        return result

    @server.tool(
        name="ask",
        title="Ask the database a question",
        annotations=ToolAnnotations(title="Ask the database a question", read_only_hint=True, open_world_hint=False),
    )
    async def ask(question: Question, max_rows: MaxRows = DEFAULT_TOOL_ROWS) -> AnswerDict:
        """Answer a question about the database: a text-to-SQL model writes one read-only SQL query,
        which is checked and run. Returns the SQL that ran and its rows. If the SQL is wrong, rephrase
        the question, or fix the SQL and use run_sql."""
        return await run(tools.ask, question, max_rows)

    @server.tool(
        name="run_sql",
        title="Run a read-only SQL query",
        annotations=ToolAnnotations(
            title="Run a read-only SQL query", read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def run_sql(sql: SQLText, max_rows: MaxRows = DEFAULT_TOOL_ROWS) -> QueryResultDict:
        """Run one read-only SQL query and return its rows. Anything that could change the database
        (INSERT, UPDATE, DELETE, DDL, PRAGMA writes, ATTACH, functions with side effects, several
        statements) is refused with the reason."""
        return await run(tools.run_sql, sql, max_rows)

    @server.tool(
        name="schema",
        title="Show the database schema",
        annotations=ToolAnnotations(
            title="Show the database schema", read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def schema(tables: TableNames = None) -> SchemaDict:
        """The database's tables and columns as CREATE TABLE statements, with comments, sample
        values and join hints: what the text-to-SQL model sees."""
        return await run(tools.schema, tables)

    return server


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve on stdin/stdout until the client closes stdin (EOF)."""
    await server.run_stdio_async()
