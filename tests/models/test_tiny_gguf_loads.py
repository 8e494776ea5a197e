"""The tiny test GGUF is a real model: llama.cpp loads it and generates from it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from testkit.tiny_gguf import write_tiny_llama_gguf


def test_written_fast_and_small(tmp_path: Path) -> None:
    started = time.perf_counter()
    path = write_tiny_llama_gguf(tmp_path / "m.gguf", seed=3)
    assert time.perf_counter() - started < 1.0
    assert path.stat().st_size < 3_000_000


def test_llama_cpp_loads_and_generates(tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    path = write_tiny_llama_gguf(tmp_path / "m.gguf", chat_template=None)
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False)
    tokens = llm.tokenize("SELECT name FROM customers WHERE city = 'Zürich';".encode())
    assert tokens[0] == llm.token_bos() and len(tokens) > 5
    out = llm("SELECT * FROM", max_tokens=5, temperature=0.0)
    assert out["usage"]["completion_tokens"] >= 1
    assert out["usage"]["completion_tokens"] <= 5
