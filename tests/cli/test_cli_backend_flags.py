"""Choosing the engine from the command line and the config: the server backend's flags, its key
(never shown), and the one-line errors when it is misconfigured or down. No model runs here: the
server is the fake one from the test kit, or none at all."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.cli_proc import assert_one_line_error, isolated_env, run_sqlcoder
from testkit.fake_openai import FakeOpenAI, free_port

SECRET = "sk-test-0123456789abcdef"


def test_the_openai_backend_without_an_address_is_a_usage_error(tmp_path: Path) -> None:
    result = run_sqlcoder(["ask", "How many customers?", "--backend", "openai"], isolated_env(tmp_path))
    assert_one_line_error(result, 2, r"^error: the openai backend needs --base-url and --api-model")


def test_an_unknown_backend_is_a_usage_error(tmp_path: Path) -> None:
    result = run_sqlcoder(["ask", "How many customers?", "--backend", "gpt"], isolated_env(tmp_path))
    assert_one_line_error(result, 2, r"^error: backend must be one of llama, openai")


def test_a_server_that_is_down_is_one_line_and_exit_3_without_the_key(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = isolated_env(tmp_path, {"SQLCODER_API_KEY": SECRET})
    result = run_sqlcoder(
        ["ask", "How many customers?", "--base-url", f"http://127.0.0.1:{port}/v1", "--api-model", "m"], env, timeout=120
    )
    assert_one_line_error(result, 3, r"^error: cannot reach the model server at http://127\.0\.0\.1:\d+")
    assert SECRET not in result.stderr + result.stdout


def test_the_api_key_is_never_shown(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    saved = run_sqlcoder(["config", "set", "api_key", SECRET], env)
    assert saved.returncode == 0 and SECRET not in saved.stderr + saved.stdout
    shown = run_sqlcoder(["config", "show", "--json"], env)
    assert json.loads(shown.stdout)["api_key"] == "(set; not shown)" and SECRET not in shown.stdout
    from_env = run_sqlcoder(["config", "show", "--json"], isolated_env(tmp_path / "other", {"SQLCODER_API_KEY": SECRET}))
    assert SECRET not in from_env.stdout


def test_ask_through_a_fake_server_sends_the_key_and_greedy_chat(tmp_path: Path) -> None:
    """The whole pipeline behind a scripted server: the question's SQL comes back, runs on the demo
    database, the key travels only as a header."""
    with FakeOpenAI(models=("team-chat",), chat_pieces=("```sql\n", "SELECT COUNT(*) FROM customers", "\n```")) as server:
        env = isolated_env(tmp_path, {"SQLCODER_API_KEY": SECRET})
        result = run_sqlcoder(
            ["ask", "How many customers?", "--format", "json", "--base-url", server.base_url, "--api-model", "team-chat"],
            env, timeout=120,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["sql"] == "SELECT COUNT(*) FROM customers" and answer["rows"] == [[500]]
        assert answer["model"] == "team-chat"
        [request] = server.requests_to("/v1/chat/completions")
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers.get("authorization") == f"Bearer {SECRET}"
        assert request.body["temperature"] == 0 and request.body["messages"][0]["role"] == "system"
        assert SECRET not in json.dumps(request.body)


def test_a_chat_model_whose_template_is_known_here_gets_the_local_prompt(tmp_path: Path, tiny_chat_gguf_path: Path) -> None:
    """api_model naming a GGUF on this machine (llama_cpp.server's own naming): the prompt is
    rendered here with that file's template, the answer's opening written in, and sent as text to
    /v1/completions, so the server continues exactly what the local engine would."""
    with FakeOpenAI(models=(str(tiny_chat_gguf_path),), pieces=("SELECT COUNT(*) FROM customers", "\n```")) as server:
        result = run_sqlcoder(
            ["ask", "How many customers?", "--format", "json", "--base-url", server.base_url, "--api-model", str(tiny_chat_gguf_path)],
            isolated_env(tmp_path), timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["rows"] == [[500]]
        assert server.requests_to("/v1/chat/completions") == []
        [request] = server.requests_to("/v1/completions")
        assert request.body["prompt"].endswith("```sql\n") and "Question: How many customers?" in request.body["prompt"]


def test_doctor_checks_the_model_server(tmp_path: Path) -> None:
    with FakeOpenAI(models=("team-chat",)) as server:
        ok = run_sqlcoder(["doctor", "--base-url", server.base_url, "--api-model", "team-chat"], isolated_env(tmp_path), timeout=120)
        missing = run_sqlcoder(["doctor", "--base-url", server.base_url, "--api-model", "other"], isolated_env(tmp_path), timeout=120)
    assert "model server: http://127.0.0.1" in ok.stdout and "serves team-chat" in ok.stdout
    assert "!! model server" in missing.stdout and "has no model other" in missing.stdout and "team-chat" in missing.stdout


def test_a_gguf_named_as_the_api_model_gives_its_own_family(tmp_path: Path, tiny_chat_gguf_path: Path) -> None:
    """The family comes from the file, as for the local engine, not from the folders in its path."""
    from sqlcoder_cli.config import Config, Paths

    inside = tmp_path / "sqlcoder-models"
    inside.mkdir()
    model = inside / "tiny-chat.gguf"
    model.write_bytes(tiny_chat_gguf_path.read_bytes())
    config = Config(paths=Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k"), backend="openai",
                    base_url="http://127.0.0.1:9/v1", api_model=str(model))
    server = config.server_options()
    assert server is not None and server.family == "chat" and server.chat_template
