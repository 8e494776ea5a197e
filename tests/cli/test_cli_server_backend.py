"""The whole tool through a real OpenAI-compatible server: llama-cpp-python's ``python -m
llama_cpp.server`` with the 0.5B dev model on 127.0.0.1. ``ask``, a REPL session, ``eval`` (with
``--concurrency``) and the MCP ``ask`` tool all answer through it; killing it mid-question is one
error line and exit 3. Slow (a real model), run in CI."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit.cli_proc import assert_one_line_error, isolated_env, run_sqlcoder, start_sqlcoder
from testkit.llama_server import llama_server, running_llama_server

pytestmark = pytest.mark.slow

API_MODEL = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def server(dev_model: Path) -> Iterator[str]:
    with llama_server(dev_model, n_ctx=4096, n_threads=2) as base_url:
        yield base_url


def backend(base_url: str) -> list[str]:
    return ["--backend", "openai", "--base-url", base_url, "--api-model", API_MODEL]


def test_ask_answers_through_the_server(server: str, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    result = run_sqlcoder(["ask", "How many customers are there?", "--format", "json", *backend(server)], env, timeout=300)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == API_MODEL and answer["executed"]
    assert "customers" in answer["sql"].lower() and answer["rows"] and answer["timings"]["generated_tokens"] > 0
    assert answer["timings"]["prompt_tokens"] > 100  # counted by the server's own tokenizer


def test_a_repl_session_through_the_server(server: str, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    lines = "How many customers are there?\n\\model\n\\quit\n"
    result = run_sqlcoder(["repl", *backend(server)], env, input=lines, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "count" in result.stdout.lower() or result.stdout.strip()
    assert f"model {API_MODEL}" in result.stdout and f"on the server {server}" in result.stdout
    assert "Traceback" not in result.stderr


def test_eval_through_the_server_with_concurrency(server: str, tmp_path: Path, sql_eval_dir: Path) -> None:
    env = isolated_env(tmp_path)
    out = tmp_path / "preds.jsonl"
    result = run_sqlcoder(
        ["eval", str(sql_eval_dir / "questions.jsonl"), "--dbs", str(sql_eval_dir / "dbs"), "--limit", "5",
         "--out", str(out), "--concurrency", "2", *backend(server)],
        env, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    predictions = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(predictions) == 5 and all(p["sql"] for p in predictions)
    assert not any("model server" in (p["error"] or "") for p in predictions)  # no transport failure
    report = json.loads(out.with_name("preds_report.json").read_text())
    assert report["options"]["concurrency"] == 2 and report["model"] == API_MODEL


def test_the_mcp_ask_tool_through_the_server(server: str, tmp_path: Path) -> None:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = isolated_env(tmp_path)
    params = StdioServerParameters(command=sys.executable, args=["-m", "sqlcoder_cli", "mcp", *backend(server)], env=env)

    async def main() -> Any:
        async with Client(stdio_client(params), mode="legacy", read_timeout_seconds=300) as client:
            return await client.call_tool("ask", {"question": "How many customers are there?"})

    result = asyncio.run(main())
    assert not result.is_error, result
    content = result.structured_content
    assert "customers" in content["sql"].lower() and content["rows"]


def test_killing_the_server_mid_question_is_one_error_line(dev_model: Path, tmp_path: Path) -> None:
    """A server of its own (the module's keeps serving the others), killed while it answers."""
    env = isolated_env(tmp_path)
    with running_llama_server(dev_model, n_ctx=4096) as (base_url, process):
        # a long answer: the model is still writing when the server goes
        asking = start_sqlcoder(
            ["ask", "Write a query listing every column of every table, each on its own line with a comment",
             "--max-tokens", "2000", "--no-validate", *backend(base_url)], env,
        )
        time.sleep(4)
        process.send_signal(signal.SIGKILL)
        stdout, stderr = asking.communicate(timeout=120)
    result = subprocess.CompletedProcess(asking.args, asking.returncode, stdout, stderr)
    assert_one_line_error(result, 3, r"^error: .*model server")
    assert base_url.split("//")[1] in stderr and "Traceback" not in stderr
