"""ModelStore without the network: add, list, resolve, remove, and the errors that guide the user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testkit.tiny_gguf import write_tiny_llama_gguf

from sqlcoder_cli.errors import ModelError, ModelNotDownloadedError, NotGGUFError, UnknownModelError
from sqlcoder_cli.models.store import ModelStore


def test_add_list_resolve_remove_round_trip(store: ModelStore, tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "files" / "my-model.gguf", chat_template="{{ messages }}")
    added = store.add(model)
    assert (added.name, added.family, added.path) == ("my-model", "chat", model.resolve())

    registry = json.loads(store.paths.registry_file.read_text())
    assert registry["models"]["my-model"]["path"] == str(model.resolve())

    rows = {row.name: row for row in store.list_models()}
    assert rows["my-model"].source == "local" and rows["my-model"].on_disk
    assert rows["my-model"].size_bytes == model.stat().st_size
    assert not rows["sqlcoder-7b-2"].on_disk and rows["sqlcoder-7b-2"].source == "catalogue"

    resolved = store.resolve("MY-MODEL")
    assert resolved.path == model.resolve() and resolved.family == "chat" and resolved.context_length == 4096

    message = store.remove("my-model")
    assert "unregistered my-model" in message and model.is_file()  # the user's file stays
    with pytest.raises(UnknownModelError):
        store.resolve("my-model")


def test_add_with_a_name_and_replace(store: ModelStore, tmp_path: Path) -> None:
    first = write_tiny_llama_gguf(tmp_path / "a.gguf")
    second = write_tiny_llama_gguf(tmp_path / "b.gguf", seed=1)
    store.add(first, name="mine")
    store.add(second, name="mine")
    assert store.resolve("mine").path == second.resolve()
    assert [r.name for r in store.list_models() if r.source == "local"] == ["mine"]


def test_add_refuses_non_gguf_and_catalogue_names(store: ModelStore, tmp_path: Path) -> None:
    text = tmp_path / "readme.gguf"
    text.write_text("not a model")
    with pytest.raises(NotGGUFError):
        store.add(text)
    with pytest.raises(ModelError, match="file not found"):
        store.add(tmp_path / "missing.gguf")
    model = write_tiny_llama_gguf(tmp_path / "m.gguf")
    with pytest.raises(ModelError, match="catalogue"):
        store.add(model, name="SQLCoder-7B-2")
    assert not store.paths.registry_file.exists()


def test_resolve_a_path_reads_the_header(store: ModelStore, tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "x.gguf")
    resolved = store.resolve(str(model))
    assert resolved.name == "x" and resolved.family == "sqlcoder" and resolved.entry is None
    text = tmp_path / "y.gguf"
    text.write_text("nope")
    with pytest.raises(NotGGUFError):
        store.resolve(str(text))
    with pytest.raises(ModelError, match="file not found"):
        store.resolve(str(tmp_path / "gone.gguf"))


def test_resolve_errors_tell_what_to_do(store: ModelStore) -> None:
    with pytest.raises(ModelNotDownloadedError) as missing:
        store.resolve("sqlcoder-7b-2")
    assert missing.value.model_name == "sqlcoder-7b-2"
    hint = missing.value.hint
    assert hint is not None and "sqlcoder models pull sqlcoder-7b-2" in hint  # with internet
    assert "--model PATH.gguf" in hint and "sqlcoder models add PATH.gguf" in hint  # without it
    with pytest.raises(UnknownModelError) as unknown:
        store.resolve("gpt-17")
    assert "sqlcoder models list" in str(unknown.value)


def test_registered_file_that_vanished(store: ModelStore, tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "v.gguf")
    store.add(model)
    model.unlink()
    with pytest.raises(ModelError, match="gone"):
        store.resolve("v")
    assert not next(r for r in store.list_models() if r.name == "v").on_disk


def test_info_of_a_local_model_and_of_a_catalogue_entry(store: ModelStore, tmp_path: Path) -> None:
    model = write_tiny_llama_gguf(tmp_path / "i.gguf")
    store.add(model)
    data = store.info("i")
    assert data["architecture"] == "llama" and data["source"] == "local" and data["gguf_context_length"] == 4096
    data = store.info("qwen2.5-coder-1.5b")
    assert data["repo_id"] == "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF" and data["on_disk"] is False
    assert "architecture" not in data


def test_corrupt_registry_is_a_clear_error(store: ModelStore) -> None:
    store.paths.registry_file.parent.mkdir(parents=True)
    store.paths.registry_file.write_text("{ not json")
    with pytest.raises(ModelError, match="registry"):
        store.list_models()


def test_importing_the_store_is_light() -> None:
    code = "import sys, sqlcoder_cli.models.store; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ.copy()).stdout
    for heavy in ("huggingface_hub", "numpy", "gguf", "llama_cpp", "rich", "typer"):
        assert f"'{heavy}'" not in out
