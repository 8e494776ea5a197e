"""The on-disk KV-state cache of prompt prefixes, on the tiny real GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlcoder_cli.engine.base import EngineOptions
from sqlcoder_cli.engine.kv_cache import KVStateCache, model_fingerprint
from sqlcoder_cli.engine.llama import LlamaEngine

PREFIX = "### Database Schema\nCREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n" * 3
OPTIONS = EngineOptions(n_ctx=512, n_threads=1)


def _engine(path: Path) -> LlamaEngine:
    return LlamaEngine(path, OPTIONS)


def test_a_new_process_restores_the_prefix_and_answers_the_same(tiny_gguf_path: Path, tmp_path: Path) -> None:
    cache = KVStateCache(tmp_path / "kv")
    prompt = PREFIX + "Question: how many customers?"
    with _engine(tiny_gguf_path) as cold:
        first = cold.generate(prompt, max_tokens=8, stable_prefix=PREFIX, state_cache=cache)
    assert first.prefix_cache == "saved" and first.cached_tokens == 0
    assert len(list((tmp_path / "kv").glob("*.kvstate"))) == 1
    with _engine(tiny_gguf_path) as plain:
        reference = plain.generate(prompt, max_tokens=8)
    with _engine(tiny_gguf_path) as warm:
        second = warm.generate(prompt, max_tokens=8, stable_prefix=PREFIX, state_cache=cache)
        assert second.prefix_cache == "disk"
        assert second.cached_tokens >= warm.count_tokens(PREFIX) - 2
        assert second.text == first.text == reference.text  # restoring changes nothing but speed
        third = warm.generate(PREFIX + "Question: list cities", max_tokens=8, stable_prefix=PREFIX, state_cache=cache)
        assert third.prefix_cache == "memory"


def test_a_corrupt_state_file_is_rebuilt_not_fatal(tiny_gguf_path: Path, tmp_path: Path) -> None:
    cache = KVStateCache(tmp_path / "kv")
    prompt = PREFIX + "Question: names?"
    with _engine(tiny_gguf_path) as engine:
        good = engine.generate(prompt, max_tokens=6, stable_prefix=PREFIX, state_cache=cache)
    (state,) = (tmp_path / "kv").glob("*.kvstate")
    state.write_bytes(b"garbage" * 100)
    with _engine(tiny_gguf_path) as engine:
        again = engine.generate(prompt, max_tokens=6, stable_prefix=PREFIX, state_cache=cache)
    assert again.prefix_cache == "saved" and again.text == good.text
    assert state.stat().st_size > 1000  # rebuilt


def test_short_prefixes_are_not_cached(tiny_gguf_path: Path, tmp_path: Path) -> None:
    cache = KVStateCache(tmp_path / "kv")
    with _engine(tiny_gguf_path) as engine:
        result = engine.generate("### Task\nQuestion: hi", max_tokens=4, stable_prefix="### Task\n", state_cache=cache)
    assert result.prefix_cache == "skipped"
    assert not (tmp_path / "kv").exists()


def test_keys_depend_on_model_context_and_tokens(tiny_gguf_path: Path, tiny_chat_gguf_path: Path, tmp_path: Path) -> None:
    cache = KVStateCache(tmp_path)
    a, b = model_fingerprint(tiny_gguf_path), model_fingerprint(tiny_chat_gguf_path)
    assert a != b
    assert cache.path_for(a, 512, [1, 2, 3]) != cache.path_for(b, 512, [1, 2, 3])
    assert cache.path_for(a, 512, [1, 2, 3]) != cache.path_for(a, 1024, [1, 2, 3])
    assert cache.path_for(a, 512, [1, 2, 3]) != cache.path_for(a, 512, [1, 2, 4])


def test_least_recently_used_files_are_evicted_beyond_the_budget(tmp_path: Path) -> None:
    import os
    import time

    cache = KVStateCache(tmp_path, budget_bytes=2500)
    for i in range(4):
        path = tmp_path / f"m-{i}.kvstate"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (time.time() + i, time.time() + i))
    assert cache.evict() == 2
    assert sorted(p.name for p in tmp_path.glob("*.kvstate")) == ["m-2.kvstate", "m-3.kvstate"]


@pytest.mark.slow
def test_second_process_prefills_only_the_question_with_the_dev_model(dev_model: Path, tmp_path: Path) -> None:
    from sqlcoder_cli.models.gguf_info import read_gguf_info
    from sqlcoder_cli.prompts import PromptRequest, build_prompt

    info = read_gguf_info(dev_model)
    ddl = "\n".join(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT, amount REAL, created DATE);" for i in range(60))

    def prompt(question: str) -> tuple[str, str]:
        text = build_prompt("chat", PromptRequest(question, ddl, "sqlite"), chat_template=info.chat_template).text
        other = build_prompt("chat", PromptRequest("\u2063" + question, ddl, "sqlite"), chat_template=info.chat_template).text
        import os

        return text, os.path.commonprefix([text, other])

    cache = KVStateCache(tmp_path / "kv")
    text, stable = prompt("How many rows does t3 have?")
    with LlamaEngine(dev_model, EngineOptions(n_ctx=4096)) as engine:
        cold = engine.generate(text, max_tokens=24, stop=("```", ";"), stable_prefix=stable, state_cache=cache)
    text2, stable2 = prompt("What is the total amount in t7?")
    assert stable2 == stable
    with LlamaEngine(dev_model, EngineOptions(n_ctx=4096)) as engine:
        warm = engine.generate(text2, max_tokens=24, stop=("```", ";"), stable_prefix=stable2, state_cache=cache)
    assert cold.prompt_tokens > 1000
    assert warm.prefix_cache == "disk"
    assert warm.prompt_s * 5 <= cold.prompt_s, (warm.prompt_s, cold.prompt_s)
