"""`sqlcoder models ...` end to end, in-process (fake terminal or pipe) and once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitest import invoke
from testkit.fakehub import FakeHub
from testkit.tiny_gguf import write_tiny_llama_gguf

from sqlcoder_cli.models.catalogue import find_entry

ENTRY = find_entry("qwen2.5-coder-0.5b")
assert ENTRY is not None
_HF_VARS = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "SQLCODER_MODEL")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Isolated homes, in the CLI's environ and in os.environ; no inherited HF settings."""
    for var in _HF_VARS:
        monkeypatch.delenv(var, raising=False)
    environ = {
        "SQLCODER_HOME": str(tmp_path / "sqlcoder"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: no test reaches the internet
        "NO_COLOR": "1",
        "CI": "",
    }
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return environ


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fake hub serving a tiny GGUF as the qwen2.5-coder-0.5b catalogue file."""
    data = write_tiny_llama_gguf(tmp_path / "served.gguf", chat_template="{{ messages }}").read_bytes()
    with FakeHub() as hub:
        hub.add_file(ENTRY.repo_id, ENTRY.filename, data)
        env["HF_ENDPOINT"] = hub.endpoint
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


def test_list_in_a_pipe_is_plain_and_marks_the_default(env: dict[str, str]) -> None:
    result = invoke("models", "list", environ=env)
    assert result.exit_code == 0, result.stderr
    assert "sqlcoder-7b-2 (default)" in result.stdout
    assert "llama-3-sqlcoder-8b:q4_k_m" in result.stdout and "\x1b[" not in result.stdout
    assert "models pull sqlcoder-7b-2" in result.stderr


def test_list_json(env: dict[str, str]) -> None:
    result = invoke("models", "list", "--format", "json", environ={**env, "SQLCODER_MODEL": "qwen2.5-coder-1.5b"})
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows if r["default"]] == ["qwen2.5-coder-1.5b"]
    assert {r["name"] for r in rows} >= {"sqlcoder-7b-2", "qwen2.5-coder-0.5b"}
    assert all(r["on_disk"] is False and r["path"] is None for r in rows)


def test_bad_format_is_a_usage_error(env: dict[str, str]) -> None:
    assert invoke("models", "list", "--format", "xml", environ=env).exit_code == 2


def test_add_info_rm_of_a_local_file(env: dict[str, str], tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "mine.gguf", chat_template="{{ messages }}")
    result = invoke("models", "add", str(model), "--name", "mine", environ=env)
    assert result.exit_code == 0, result.stderr
    for text in ("added mine", "architecture:   llama", "context length: 4096", "chat template:  yes", "prompt family:  chat"):
        assert text in result.stdout

    rows = json.loads(invoke("models", "list", "--format", "json", environ=env).stdout)
    mine = next(r for r in rows if r["name"] == "mine")
    assert mine["source"] == "local" and mine["on_disk"] and mine["path"] == str(model.resolve())

    info = json.loads(invoke("models", "info", "mine", "--format", "json", environ=env).stdout)
    assert info["architecture"] == "llama" and info["chat_template"] is True
    table = invoke("models", "info", "mine", environ=env).stdout
    assert "architecture" in table and "llama" in table

    result = invoke("models", "rm", "mine", environ=env)  # no confirmation needed: the file stays
    assert result.exit_code == 0 and "unregistered mine" in result.stdout and model.is_file()


def test_add_with_a_prompt_family_overrides_detection(env: dict[str, str], tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "tuned.gguf", chat_template="{{ messages }}")
    result = invoke("models", "add", str(model), "--name", "tuned", "--family", "sqlcoder", environ=env)
    assert result.exit_code == 0, result.stderr
    assert "prompt family:  sqlcoder" in result.stdout
    bad = invoke("models", "add", str(model), "--family", "poetry", environ=env)
    assert bad.exit_code != 0 and "unknown prompt family 'poetry'" in bad.stderr


def test_add_a_text_file_fails_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = invoke("models", "add", str(text), environ=env)
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [f"error: {text} is not a GGUF model file"]


def test_pull_prints_the_path_and_one_status_line(env: dict[str, str], served: FakeHub) -> None:
    result = invoke("models", "pull", "qwen2.5-coder-0.5b", environ=env)
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_file() and str(path).startswith(env["HF_HOME"])
    assert result.stderr.count("\n") == 1 and "downloaded qwen2.5-coder-0.5b" in result.stderr

    again = invoke("models", "pull", "qwen2.5-coder-0.5b", environ=env)
    assert again.stdout == result.stdout and "already downloaded" in again.stderr

    rows = json.loads(invoke("models", "list", "--format", "json", environ=env).stdout)
    assert next(r for r in rows if r["name"] == "qwen2.5-coder-0.5b")["path"] == str(path)


def test_pull_on_a_terminal_draws_a_progress_bar(env: dict[str, str], served: FakeHub) -> None:
    result = invoke("models", "pull", "qwen2.5-coder-0.5b", stderr_isatty=True, environ=env)
    assert result.exit_code == 0, result.stderr
    assert "pulling qwen2.5-coder-0.5b" in result.stderr and "kB" in result.stderr
    assert Path(result.stdout.strip()).is_file()


def test_pull_errors_are_one_line_and_exit_3(env: dict[str, str], served: FakeHub) -> None:
    unknown = invoke("models", "pull", "gpt-17", environ=env)
    assert unknown.exit_code == 3 and unknown.stderr.startswith("error: unknown model 'gpt-17'")
    offline = invoke("models", "pull", "qwen2.5-coder-0.5b", environ={**env, "HF_HUB_OFFLINE": "1"})
    assert offline.exit_code == 3 and "offline mode is on" in offline.stderr
    missing = invoke("models", "pull", "sqlcoder-7b-2", environ=env)
    assert missing.exit_code == 3 and "repository defog/sqlcoder-7b-2 was not found" in missing.stderr


def test_rm_of_a_download_needs_confirmation(env: dict[str, str], served: FakeHub) -> None:
    path = Path(invoke("models", "pull", "qwen2.5-coder-0.5b", environ=env).stdout.strip())

    refused = invoke("models", "rm", "qwen2.5-coder-0.5b", environ=env)
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr and path.is_file()

    kept = invoke("models", "rm", "qwen2.5-coder-0.5b", stdin="n\n", stdin_isatty=True, stderr_isatty=True, environ=env)
    assert kept.exit_code == 0 and path.is_file()

    asked = invoke("models", "rm", "qwen2.5-coder-0.5b", stdin="y\n", stdin_isatty=True, stderr_isatty=True, environ=env)
    assert asked.exit_code == 0 and "deleted qwen2.5-coder-0.5b" in asked.stdout and not path.exists()

    invoke("models", "pull", "qwen2.5-coder-0.5b", environ=env)
    forced = invoke("models", "rm", "qwen2.5-coder-0.5b", "--yes", environ=env)
    assert forced.exit_code == 0 and not path.exists()


def test_a_real_process_lists_the_models(env: dict[str, str], tmp_path: Path) -> None:
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    model = write_tiny_llama_gguf(tmp_path / "proc.gguf")
    add = subprocess.run(
        [sys.executable, "-m", "sqlcoder_cli", "models", "add", str(model)], capture_output=True, text=True, env=proc_env, timeout=60
    )
    assert add.returncode == 0, add.stderr
    done = subprocess.run(
        [sys.executable, "-m", "sqlcoder_cli", "models", "list", "--format", "json"],
        capture_output=True, text=True, env=proc_env, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert any(r["name"] == "proc" and r["on_disk"] for r in rows)
    info = subprocess.run(
        [sys.executable, "-m", "sqlcoder_cli", "models", "info", "sqlcoder-7b-2"], capture_output=True, text=True, env=proc_env, timeout=60
    )
    assert info.returncode == 0 and "defog/sqlcoder-7b-2" in info.stdout
