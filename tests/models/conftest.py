"""Fixtures for the models tests: an isolated HF cache and sqlcoder home, and a fake hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.fakehub import FakeHub

from sqlcoder_cli.config import Paths
from sqlcoder_cli.models.store import ModelStore

_HF_VARS = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_TOKEN")


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """SQLCODER_HOME and HF_HOME in tmp_path, in os.environ too; no inherited HF settings."""
    for var in _HF_VARS:
        monkeypatch.delenv(var, raising=False)
    env = {"SQLCODER_HOME": str(tmp_path / "sqlcoder"), "HF_HOME": str(tmp_path / "hf")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as fake:
        yield fake


@pytest.fixture
def environ(homes: dict[str, str], hub: FakeHub) -> dict[str, str]:
    return {**homes, "HF_ENDPOINT": hub.endpoint}


@pytest.fixture
def store(environ: dict[str, str]) -> ModelStore:
    return ModelStore(Paths.resolve(environ), environ=environ)


@pytest.fixture(scope="session")
def tiny_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The tiny llama GGUF as bytes, to serve as a 'catalogue model' from the fake hub."""
    from testkit.tiny_gguf import write_tiny_llama_gguf

    return write_tiny_llama_gguf(tmp_path_factory.mktemp("served") / "tiny.gguf", name="tiny-served").read_bytes()
