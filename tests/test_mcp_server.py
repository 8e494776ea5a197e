"""``sqlcoder mcp``: the MCP server's tools, in process and over real stdio.

In process, the SDK's own client talks to the server object (no transport); over stdio, the SDK's
``stdio_client`` starts ``python -m sqlcoder_cli mcp`` as a client would. Both run on a real
SQLite file built here; ``ask`` is answered by the test kit's scripted engine in process, and by
the real dev model in the one slow test.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from testkit.scripted_engine import ScriptedEngine

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from sqlcoder_cli.mcp_server import (  # noqa: E402
    DEFAULT_MAX_ROWS,
    SqlcoderTools,
    build_server,
    session_factory,
)

REPO = Path(__file__).resolve().parent.parent
CUSTOMERS = 6
ORDERS = 12


def _orders_written(db: Path) -> tuple[int, int, list[str]]:
    """(customers, orders, tables) read straight from the file: what a refused write must not change."""
    conn = sqlite3.connect(db)
    try:
        customers = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    finally:
        conn.close()
    return customers, orders, tables


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    """A small shop: customers (one with a BLOB badge) and their orders."""
    path = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT, badge BLOB);
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            amount NUMERIC NOT NULL,
            placed_on DATE NOT NULL
        );
        """
    )
    cities = ["Lisbon", "Oslo", "Lima"]
    conn.executemany(
        "INSERT INTO customers (id, name, city, badge) VALUES (?, ?, ?, ?)",
        [(i, f"Customer {i}", cities[i % 3], b"\x00\xffok" if i == 1 else None) for i in range(1, CUSTOMERS + 1)],
    )
    conn.executemany(
        "INSERT INTO orders (id, customer_id, amount, placed_on) VALUES (?, ?, ?, ?)",
        [(i, 1 + i % CUSTOMERS, 10.5 * i, f"2024-{1 + i % 12:02d}-15") for i in range(1, ORDERS + 1)],
    )
    conn.commit()
    conn.close()
    return path


def _tools(db: Path, engine: Any = None, *, max_rows: int = DEFAULT_MAX_ROWS, model: str | None = None, **overrides: Any) -> SqlcoderTools:
    from sqlcoder_cli.config import Config

    config = Config.load()
    options: dict[str, Any] = {"engine": engine} if engine is not None else {}
    factory = session_factory(config, db=str(db), model=model, max_rows=max_rows, **overrides, **options)
    return SqlcoderTools(factory, max_rows=max_rows)


def _serve(tools: SqlcoderTools, scenario: Any) -> Any:
    """Run ``scenario(client)`` against the server in process, then close the session."""

    async def main() -> Any:
        async with Client(build_server(tools)) as client:
            return await scenario(client)

    try:
        return asyncio.run(main())
    finally:
        tools.close()


def _text(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def _answer(text: str) -> str:
    """What the scripted model writes after the prompt's opening ```sql fence."""
    return f"{text}\n```"


# --- in process ------------------------------------------------------------------------------------


def test_lists_three_read_only_tools_with_their_schemas(sqlcoder_home: Path, shop_db: Path) -> None:
    async def scenario(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in _serve(_tools(shop_db), scenario)}
    assert set(tools) == {"ask", "run_sql", "schema"}
    ask, run_sql, schema = tools["ask"], tools["run_sql"], tools["schema"]
    assert ask.input_schema["required"] == ["question"]
    assert ask.input_schema["properties"]["question"]["type"] == "string"
    assert ask.input_schema["properties"]["max_rows"]["default"] == 50
    assert ask.input_schema["properties"]["max_rows"]["minimum"] == 1
    assert run_sql.input_schema["required"] == ["sql"]
    assert set(run_sql.input_schema["properties"]) == {"sql", "max_rows"}
    assert "required" not in schema.input_schema
    assert set(schema.input_schema["properties"]) == {"tables"}
    # output schemas: clients may check results against them
    assert set(ask.output_schema["properties"]) == {"question", "sql", "columns", "rows", "row_count", "truncated", "model"}
    assert set(run_sql.output_schema["properties"]) == {"sql", "columns", "rows", "row_count", "truncated"}
    assert set(schema.output_schema["properties"]) == {"db", "dialect", "tables", "ddl"}
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True
        assert tool.description


def test_ask_runs_the_models_sql_and_returns_real_rows(sqlcoder_home: Path, shop_db: Path) -> None:
    engine = ScriptedEngine(answers=[_answer("SELECT city, COUNT(*) AS n FROM customers GROUP BY city ORDER BY city")])

    async def scenario(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "How many customers per city?"})

    result = _serve(_tools(shop_db, engine), scenario)
    assert not result.is_error, _text(result)
    data = result.structured_content
    assert data["question"] == "How many customers per city?"
    assert data["sql"].upper().startswith("SELECT CITY, COUNT(*)")
    assert data["columns"] == ["city", "n"]
    assert data["rows"] == [["Lima", 2], ["Lisbon", 2], ["Oslo", 2]]
    assert data["row_count"] == 3 and data["truncated"] is False
    assert data["model"] == "scripted"
    assert json.loads(_text(result)) == data  # the text block carries the same JSON for older clients
    assert len(engine.calls) == 1 and "How many customers per city?" in engine.prompts[0]


def test_ask_cuts_rows_to_max_rows(sqlcoder_home: Path, shop_db: Path) -> None:
    engine = ScriptedEngine(answers=[_answer("SELECT id FROM orders ORDER BY id")])

    async def scenario(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "List the order ids", "max_rows": 4})

    data = _serve(_tools(shop_db, engine), scenario).structured_content
    assert data["rows"] == [[1], [2], [3], [4]]
    assert data["row_count"] == 4 and data["truncated"] is True


def test_ask_with_an_empty_question_is_a_tool_error_before_any_model_call(sqlcoder_home: Path, shop_db: Path) -> None:
    engine = ScriptedEngine(answers=[_answer("SELECT 1")])

    async def scenario(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "   "})

    result = _serve(_tools(shop_db, engine), scenario)
    assert result.is_error
    assert _text(result).startswith("the question is empty")
    assert "\n" not in _text(result) and "Traceback" not in _text(result)
    assert engine.calls == []


def test_ask_whose_sql_never_validates_reports_the_last_error(sqlcoder_home: Path, shop_db: Path) -> None:
    engine = ScriptedEngine(answers=[_answer("SELECT nope FROM customers")] * 3)

    async def scenario(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "What is nope?"})

    result = _serve(_tools(shop_db, engine, max_retries=1), scenario)
    assert result.is_error
    text = _text(result)
    assert "nope" in text and "(after 2 attempts)" in text and "\n" not in text
    assert len(engine.calls) == 2


def test_run_sql_returns_json_safe_rows(sqlcoder_home: Path, shop_db: Path) -> None:
    async def scenario(client: Client) -> Any:
        return await client.call_tool("run_sql", {"sql": "SELECT id, name, badge FROM customers WHERE id <= 2 ORDER BY id;"})

    result = _serve(_tools(shop_db), scenario)
    assert not result.is_error, _text(result)
    data = result.structured_content
    assert data["columns"] == ["id", "name", "badge"]
    assert data["rows"] == [[1, "Customer 1", "AP9vaw=="], [2, "Customer 2", None]]  # bytes as base64
    assert data["row_count"] == 2 and data["truncated"] is False
    assert data["sql"].upper().startswith("SELECT ID, NAME, BADGE FROM CUSTOMERS")


def test_run_sql_truncates_at_max_rows_and_at_the_servers_cap(sqlcoder_home: Path, shop_db: Path) -> None:
    async def scenario(client: Client) -> Any:
        asked = await client.call_tool("run_sql", {"sql": "SELECT id FROM orders ORDER BY id", "max_rows": 3})
        capped = await client.call_tool("run_sql", {"sql": "SELECT id FROM orders ORDER BY id", "max_rows": 1000})
        everything = await client.call_tool("run_sql", {"sql": "SELECT id FROM customers"})
        zero = await client.call_tool("run_sql", {"sql": "SELECT id FROM orders", "max_rows": 0})
        return asked, capped, everything, zero

    asked, capped, everything, zero = _serve(_tools(shop_db, max_rows=5), scenario)
    assert asked.structured_content["rows"] == [[1], [2], [3]]
    assert asked.structured_content["truncated"] is True and asked.structured_content["row_count"] == 3
    assert capped.structured_content["row_count"] == 5 and capped.structured_content["truncated"] is True
    assert everything.structured_content["row_count"] == 5  # the cap, even below the default of 50
    assert zero.is_error  # below the schema's minimum


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM customers",
        "DROP TABLE orders",
        "INSERT INTO customers (id, name) VALUES (99, 'Mallory')",
        "UPDATE orders SET amount = 0",
        "SELECT 1; DELETE FROM customers",
        "ATTACH DATABASE 'other.sqlite' AS other",
        "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone",
    ],
)
def test_run_sql_refuses_writes_with_the_guards_message(sqlcoder_home: Path, shop_db: Path, sql: str) -> None:
    from sqlcoder_cli.errors import SqlcoderError
    from sqlcoder_cli.output.visible import visible
    from sqlcoder_cli.sql.guard import check_read_only

    before = _orders_written(shop_db)
    with pytest.raises(SqlcoderError) as refused:
        check_read_only(sql, "sqlite")

    async def scenario(client: Client) -> Any:
        refusal = await client.call_tool("run_sql", {"sql": sql})
        after = await client.call_tool("run_sql", {"sql": "SELECT COUNT(*) FROM customers"})
        return refusal, after

    refusal, after = _serve(_tools(shop_db), scenario)
    assert refusal.is_error
    assert _text(refusal) == visible(str(refused.value), one_line=True)  # the guard's own line
    assert _text(refusal).startswith("refused")
    assert refusal.structured_content is None
    assert after.structured_content["rows"] == [[CUSTOMERS]]  # the server goes on after a refusal
    assert _orders_written(shop_db) == before


def test_run_sql_errors_are_one_line_tool_errors(sqlcoder_home: Path, shop_db: Path) -> None:
    async def scenario(client: Client) -> Any:
        unknown = await client.call_tool("run_sql", {"sql": "SELECT nope FROM customers"})
        empty = await client.call_tool("run_sql", {"sql": " ; "})
        return unknown, empty

    unknown, empty = _serve(_tools(shop_db), scenario)
    assert unknown.is_error and "nope" in _text(unknown) and "\n" not in _text(unknown)
    assert empty.is_error and _text(empty).startswith("the SQL is empty")


def test_run_sql_obeys_the_query_time_limit(sqlcoder_home: Path, shop_db: Path) -> None:
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"

    async def scenario(client: Client) -> Any:
        slow = await client.call_tool("run_sql", {"sql": forever})
        quick = await client.call_tool("run_sql", {"sql": "SELECT COUNT(*) FROM orders"})
        return slow, quick

    slow, quick = _serve(_tools(shop_db, query_timeout=0.3), scenario)
    assert slow.is_error, _text(slow)
    assert "\n" not in _text(slow) and "Traceback" not in _text(slow)
    assert quick.structured_content["rows"] == [[ORDERS]]


def test_schema_is_the_ddl_the_model_sees(sqlcoder_home: Path, shop_db: Path) -> None:
    async def scenario(client: Client) -> Any:
        everything = await client.call_tool("schema", {})
        one = await client.call_tool("schema", {"tables": ["ORDERS"]})
        unknown = await client.call_tool("schema", {"tables": ["orders", "invoices"]})
        return everything, one, unknown

    everything, one, unknown = _serve(_tools(shop_db), scenario)
    data = everything.structured_content
    assert data["tables"] == ["customers", "orders"]
    assert data["dialect"] == "sqlite"
    assert "shop.sqlite" in data["db"]
    assert "CREATE TABLE customers" in data["ddl"] and "CREATE TABLE orders" in data["ddl"]
    assert one.structured_content["tables"] == ["orders"]
    assert "CREATE TABLE orders" in one.structured_content["ddl"]
    assert "CREATE TABLE customers" not in one.structured_content["ddl"]
    assert unknown.is_error and _text(unknown).startswith("no such table: invoices")
    assert "customers, orders" in _text(unknown)


def test_schema_and_run_sql_never_load_the_model(sqlcoder_home: Path, shop_db: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model.gguf")

    async def scenario(client: Client) -> Any:
        schema = await client.call_tool("schema", {})
        rows = await client.call_tool("run_sql", {"sql": "SELECT COUNT(*) FROM orders"})
        ask = await client.call_tool("ask", {"question": "How many orders are there?"})
        return schema, rows, ask

    tools = _tools(shop_db, model=missing)
    schema, rows, ask = _serve(tools, scenario)
    assert not schema.is_error and not rows.is_error
    assert rows.structured_content["rows"] == [[ORDERS]]
    assert ask.is_error and "no-such-model.gguf" in _text(ask)  # only ask reaches for the model
    assert "Traceback" not in _text(ask)


def test_one_session_serves_concurrent_calls_in_turn(sqlcoder_home: Path, shop_db: Path) -> None:
    made: list[Any] = []
    tools = _tools(shop_db)
    factory = tools._factory

    def counting() -> Any:
        made.append(factory())
        return made[-1]

    tools._factory = counting

    async def scenario(client: Client) -> Any:
        calls = [client.call_tool("run_sql", {"sql": f"SELECT {i} AS n, COUNT(*) FROM orders"}) for i in range(6)]
        return await asyncio.gather(*calls, client.call_tool("schema", {}))

    results = _serve(tools, scenario)
    assert [r.structured_content["rows"] for r in results[:6]] == [[[i, ORDERS]] for i in range(6)]
    assert not results[6].is_error
    assert len(made) == 1  # one Session for the server's lifetime


def test_the_session_is_closed_with_the_server(sqlcoder_home: Path, shop_db: Path) -> None:
    engine = ScriptedEngine(answers=[_answer("SELECT COUNT(*) FROM customers")])
    tools = _tools(shop_db, engine)
    factory = tools._factory
    closed: list[bool] = []

    def spied() -> Any:
        session = factory()
        real_close = session.close

        def close() -> None:
            closed.append(True)
            real_close()

        session.close = close  # type: ignore[method-assign]
        return session

    tools._factory = spied

    async def scenario(client: Client) -> Any:
        return await client.call_tool("ask", {"question": "How many customers are there?"})

    assert _serve(tools, scenario).structured_content["rows"] == [[CUSTOMERS]]
    assert closed == [True]
    assert not tools.session_started


def test_the_commands_default_cap_is_the_servers() -> None:
    from sqlcoder_cli.cli import mcp_cmd

    assert mcp_cmd.DEFAULT_MAX_ROWS == DEFAULT_MAX_ROWS


# --- over stdio, as a client starts it ------------------------------------------------------------


def _mcp_registered() -> bool:
    from sqlcoder_cli.cli.app import app

    return any(info.name == "mcp" for info in app.registered_commands)


def _server_command(tmp_path: Path) -> list[str]:
    """``python -m sqlcoder_cli mcp``; until cli/app.py registers the command, a wrapper that
    registers it on the real app first and runs the real entry point."""
    if _mcp_registered():
        return [sys.executable, "-m", "sqlcoder_cli", "mcp"]
    wrapper = tmp_path / "sqlcoder_with_mcp.py"
    wrapper.write_text(
        "from sqlcoder_cli.cli import app as cli_app, mcp_cmd\n"
        "mcp_cmd.register(cli_app.app)\n"
        "cli_app.main()\n",
        encoding="utf-8",
    )
    return [sys.executable, str(wrapper), "mcp"]


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLCODER_")}
    env.update({"SQLCODER_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    for key in ("SQLCODER_DEV_MODEL", "SQLCODER_DEV_MODEL_1_5B"):
        env.pop(key, None)
    return env


def _stdio(tmp_path: Path, *args: str) -> StdioServerParameters:
    command = _server_command(tmp_path)
    return StdioServerParameters(
        command=command[0], args=[*command[1:], *args], env=_server_env(tmp_path / "home"), cwd=str(tmp_path)
    )


def test_stdio_server_lists_tools_shows_schema_runs_sql_and_refuses_writes(tmp_path: Path, shop_db: Path) -> None:
    params = _stdio(tmp_path, "--db", str(shop_db), "--max-rows", "5", "--model", str(tmp_path / "absent.gguf"))

    async def main() -> Any:
        # mode="legacy": the initialize handshake today's clients (Claude Desktop, IDEs) use
        async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=30) as client:
            names = sorted(tool.name for tool in (await client.list_tools()).tools)
            schema = await client.call_tool("schema", {"tables": ["customers"]})
            rows = await client.call_tool("run_sql", {"sql": "SELECT id FROM orders ORDER BY id", "max_rows": 100})
            refusal = await client.call_tool("run_sql", {"sql": "DELETE FROM orders"})
            return names, schema, rows, refusal

    before = _orders_written(shop_db)
    names, schema, rows, refusal = asyncio.run(main())
    assert names == ["ask", "run_sql", "schema"]
    assert schema.structured_content["tables"] == ["customers"]
    assert "CREATE TABLE customers" in schema.structured_content["ddl"]
    assert rows.structured_content["rows"] == [[1], [2], [3], [4], [5]]  # --max-rows 5 caps it
    assert rows.structured_content["truncated"] is True
    assert refusal.is_error and _text(refusal).startswith("refused") and "DELETE" in _text(refusal)
    assert _orders_written(shop_db) == before


def _rpc(*messages: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def test_stdio_stdout_carries_only_the_protocol_and_eof_ends_the_server(tmp_path: Path, shop_db: Path) -> None:
    """A raw client: initialize, list tools, call one, read the replies, close stdin. Every stdout
    line must be a JSON-RPC message; the server must exit 0 on EOF, its notes (with --verbose, a
    line per call) on stderr, no traceback."""
    import threading

    *program, _ = _server_command(tmp_path)
    process = subprocess.Popen(
        [*program, "--verbose", "mcp", "--db", str(shop_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_server_env(tmp_path / "home"), cwd=tmp_path,
    )
    watchdog = threading.Timer(60, process.kill)  # a hung server fails the test instead of hanging it
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        process.stdin.write(_rpc(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "run_sql", "arguments": {"sql": "SELECT COUNT(*) FROM customers"}}},
        ))
        process.stdin.flush()
        replies = [json.loads(process.stdout.readline()) for _ in range(3)]
        process.stdin.close()  # EOF: what a client does to stop its server
        rest = process.stdout.read()
        stderr = process.stderr.read().decode(errors="replace")
        status = process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert status == 0, stderr
    assert rest.strip() == b""  # nothing but the replies ever reached stdout
    assert [r.get("id") for r in replies] == [1, 2, 3]
    assert replies[0]["result"]["serverInfo"]["name"] == "sqlcoder"
    assert sorted(t["name"] for t in replies[1]["result"]["tools"]) == ["ask", "run_sql", "schema"]
    assert replies[2]["result"]["structuredContent"]["rows"] == [[CUSTOMERS]]
    assert "sqlcoder MCP server on stdio" in stderr and "shop.sqlite" in stderr
    assert "run_sql: 1 row (" in stderr  # --verbose: one line per call
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("signal_name", "status", "line"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_stdio_server_stops_at_once_on_ctrl_c_or_sigterm_even_mid_query(
    tmp_path: Path, shop_db: Path, signal_name: str, status: int, line: str
) -> None:
    """A query that would run for a minute must not hold the exit: one line on stderr, the
    command's usual status, no traceback."""
    import signal
    import time

    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    process = subprocess.Popen(
        [*_server_command(tmp_path), "--db", str(shop_db), "--timeout", "60"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=_server_env(tmp_path / "home"), cwd=tmp_path,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(_rpc(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "run_sql", "arguments": {"sql": forever}}},
        ))
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 1
        time.sleep(0.5)  # the query is running on the worker thread
        started = time.monotonic()
        process.send_signal(getattr(signal, signal_name))
        _, err = process.communicate(timeout=20)
        waited = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    stderr = err.decode(errors="replace")
    assert process.returncode == status, stderr
    assert stderr.rstrip().splitlines()[-1] == line
    assert "Traceback" not in stderr
    assert waited < 10


def test_stdio_server_with_a_missing_database_fails_at_once(tmp_path: Path) -> None:
    command = _server_command(tmp_path)
    done = subprocess.run(
        [*command, "--db", str(tmp_path / "missing.sqlite")], input=b"", capture_output=True, timeout=60,
        env=_server_env(tmp_path / "home"), cwd=tmp_path,
    )
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 1, stderr
    assert done.stdout == b""
    assert stderr.startswith("error:") and "missing.sqlite" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "missing.sqlite").exists()


def test_stdio_ask_with_a_server_backend(tmp_path: Path, shop_db: Path) -> None:
    """The docs' --backend openai set-up, against the test kit's scripted OpenAI-compatible server."""
    from testkit.fake_openai import FakeOpenAI

    with FakeOpenAI(pieces=("SELECT", " COUNT(*)", " FROM", " customers", "\n")) as fake:
        params = _stdio(
            tmp_path, "--db", str(shop_db), "--backend", "openai", "--base-url", fake.base_url, "--api-model", "fake-model"
        )

        async def main() -> Any:
            async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=30) as client:
                return await client.call_tool("ask", {"question": "How many customers are there?"})

        result = asyncio.run(main())
        asked = [r.path for r in fake.requests if r.path.endswith("completions")]
    assert not result.is_error, _text(result)
    assert result.structured_content["rows"] == [[CUSTOMERS]]
    assert result.structured_content["model"] == "fake-model"
    assert len(asked) == 1


@pytest.mark.slow
def test_stdio_ask_with_the_real_dev_model_on_the_demo_database(tmp_path: Path, dev_model: Path) -> None:
    params = _stdio(tmp_path, "--model", str(dev_model))

    async def main() -> Any:
        async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=600) as client:
            return await client.call_tool("ask", {"question": "How many customers are there?"})

    result = asyncio.run(main())
    assert not result.is_error, _text(result)
    data = result.structured_content
    assert "customers" in data["sql"].lower()
    assert data["rows"] and data["row_count"] >= 1
    assert data["model"]
