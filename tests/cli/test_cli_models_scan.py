"""``sqlcoder models scan`` and ``sqlcoder models add --from-ollama``, in-process, with HOME,
HF_HOME and OLLAMA_MODELS pointed at fake folders (the real home is never read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitest import invoke
from testkit.fake_model_dirs import FakeWorld, build_fake_world

_VARS = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "SQLCODER_MODEL", "OLLAMA_MODELS", "XDG_CACHE_HOME")


@pytest.fixture
def world(tmp_path: Path, tiny_gguf_path: Path, tiny_chat_gguf_path: Path) -> FakeWorld:
    return build_fake_world(tmp_path / "world", tiny_gguf_path, tiny_chat_gguf_path)


@pytest.fixture
def env(world: FakeWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environ and os.environ both point at the fake world."""
    for var in _VARS:
        monkeypatch.delenv(var, raising=False)
    environ = {
        **world.environ,
        "SQLCODER_HOME": str(tmp_path / "sqlcoder"),
        "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: no test reaches the internet
        "NO_COLOR": "1",
        "CI": "",
    }
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return environ


def test_scan_table_lists_every_source_and_the_problems(env: dict[str, str], world: FakeWorld) -> None:
    result = invoke("models", "scan", "--dir", str(world.folder), environ=env)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("source", "registered", "problem", "org/tiny-GGUF/tiny-q8.gguf", "publisher/tiny-chat-GGUF/tiny-chat.gguf",
                 "tinyllama:latest", "sqlcoder:7b", "cut/truncated.gguf", "incomplete:", "not a GGUF model file",
                 str(world.ollama_blob), "lmstudio", "ollama", "folder", "llama", "F32", "chat"):  # fmt: skip
        assert text in out, text
    assert "\x1b[" not in out
    assert "4 not registered yet; register one with: sqlcoder models add " in result.stderr


def test_scan_json(env: dict[str, str], world: FakeWorld) -> None:
    result = invoke("models", "scan", "--format", "json", "--dir", str(world.folder), environ=env)
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    ollama = rows["tinyllama:latest"]
    assert (ollama["source"], ollama["path"], ollama["architecture"], ollama["ok"]) == ("ollama", str(world.ollama_blob), "llama", True)
    assert ollama["registered"] is False and ollama["registered_as"] is None
    assert rows["publisher/tiny-chat-GGUF/tiny-chat.gguf"]["family"] == "chat"
    assert rows["org/tiny-GGUF/tiny-q8.gguf"]["source"] == "hf"
    assert rows["notes.gguf"]["ok"] is False and rows["notes.gguf"]["error"] == "not a GGUF model file"
    assert rows["cut/truncated.gguf"]["error"].startswith("incomplete:")
    assert result.stderr == ""


def test_scan_with_nothing_to_find(tmp_path: Path, env: dict[str, str]) -> None:
    empty = {**env, "HOME": str(tmp_path / "nobody"), "HF_HOME": str(tmp_path / "no-hf"), "OLLAMA_MODELS": str(tmp_path / "none")}
    result = invoke("models", "scan", environ=empty)
    assert result.exit_code == 0 and result.stdout == ""
    assert "no GGUF files found" in result.stderr
    assert json.loads(invoke("models", "scan", "-f", "json", environ=empty).stdout) == []
    missing = invoke("models", "scan", "--dir", str(tmp_path / "typo"), environ=empty)
    assert missing.exit_code == 0 and f"warning: {tmp_path / 'typo'}: no such folder" in missing.stderr


def test_add_from_ollama_registers_the_blob_without_copying(env: dict[str, str], world: FakeWorld) -> None:
    blobs_before = sorted(p.name for p in (world.ollama / "blobs").iterdir())
    result = invoke("models", "add", "--from-ollama", "tinyllama", environ=env)
    assert result.exit_code == 0, result.stderr
    assert f"added tinyllama -> {world.ollama_blob.resolve()}" in result.stdout
    assert "from Ollama:    tinyllama (its file, not a copy)" in result.stdout
    assert "use it with: sqlcoder ask --model tinyllama" in result.stdout
    assert sorted(p.name for p in (world.ollama / "blobs").iterdir()) == blobs_before
    assert not list((Path(env["SQLCODER_HOME"])).rglob("sha256*"))

    listed = {r["name"]: r for r in json.loads(invoke("models", "list", "-f", "json", environ=env).stdout)}
    assert listed["tinyllama"]["path"] == str(world.ollama_blob.resolve()) and listed["tinyllama"]["on_disk"]

    scanned = {r["name"]: r for r in json.loads(invoke("models", "scan", "-f", "json", environ=env).stdout)}
    assert scanned["tinyllama:latest"]["registered_as"] == "tinyllama"
    table = invoke("models", "scan", environ=env).stdout
    assert "yes: tinyllama" in table

    tagged = invoke("models", "add", "--from-ollama", "sqlcoder:7b", environ=env)
    assert tagged.exit_code == 0 and "added sqlcoder-7b ->" in tagged.stdout and "prompt family:  sqlcoder" in tagged.stdout
    named = invoke("models", "add", "--from-ollama", "sqlcoder:7b", "--name", "mine", "--family", "chat", environ=env)
    assert named.exit_code == 0 and "added mine ->" in named.stdout and "prompt family:  chat" in named.stdout


def test_add_from_ollama_not_found_is_one_line(env: dict[str, str], world: FakeWorld) -> None:
    result = invoke("models", "add", "--from-ollama", "mistral:7b", environ=env)
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [
        f"error: Ollama model mistral:7b not found in {world.ollama}; it has: sqlcoder:7b, tinyllama:latest"
    ]


def test_add_needs_exactly_one_of_path_and_from_ollama(env: dict[str, str], world: FakeWorld) -> None:
    both = invoke("models", "add", str(world.lm_file), "--from-ollama", "tinyllama", environ=env)
    assert both.exit_code == 2 and "not both" in both.stderr
    neither = invoke("models", "add", environ=env)
    assert neither.exit_code == 2 and "--from-ollama" in neither.stderr
    by_path = invoke("models", "add", str(world.lm_file), "--name", "lm", environ=env)
    assert by_path.exit_code == 0 and f"added lm -> {world.lm_file.resolve()}" in by_path.stdout
