"""The llama.cpp backend on a tiny real GGUF (fast) and on the real dev model (slow)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from testkit.gguf_faults import truncated_copy, write_huge_sparse_gguf, write_tensorless_gguf, write_unknown_arch_gguf

from sqlcoder_cli.engine.base import EngineOptions
from sqlcoder_cli.engine.base import held_back as _held_back
from sqlcoder_cli.engine.llama import LlamaEngine
from sqlcoder_cli.errors import ModelLoadError, SQLGenerationError, UsageError


@pytest.fixture(scope="module")
def tiny_engine(tiny_gguf_path: Path, tmp_path_factory: pytest.TempPathFactory) -> LlamaEngine:
    log = tmp_path_factory.mktemp("log") / "llama.log"
    engine = LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=256, n_threads=1, log_file=log))
    yield engine
    engine.close()


def test_loads_and_generates_greedily_and_deterministically(tiny_engine: LlamaEngine) -> None:
    first = tiny_engine.generate("SELECT name FROM customers", max_tokens=8)
    second = tiny_engine.generate("SELECT name FROM customers", max_tokens=8)
    assert first.text == second.text  # greedy: same prompt, same answer
    assert 1 <= first.generated_tokens <= 8
    assert first.prompt_tokens > 3
    assert first.finish_reason in {"length", "eos", "stop"}
    assert tiny_engine.load_s > 0
    assert tiny_engine.n_ctx == 256


def test_prompt_prefix_is_reused_in_process(tiny_engine: LlamaEngine) -> None:
    base = "### Task the schema of customers and orders " * 4
    tiny_engine.generate(base + "question one", max_tokens=2)
    again = tiny_engine.generate(base + "question two", max_tokens=2)
    assert again.cached_tokens >= tiny_engine.count_tokens(base) - 2
    assert again.cached_tokens < again.prompt_tokens


def test_streamed_pieces_add_up_to_the_text(tiny_engine: LlamaEngine) -> None:
    pieces: list[str] = []
    result = tiny_engine.generate("list the orders", max_tokens=10, on_token=pieces.append)
    assert "".join(pieces) == result.text


def test_stop_strings_end_generation_and_are_not_streamed(tiny_engine: LlamaEngine) -> None:
    free = tiny_engine.generate("SELECT", max_tokens=12)
    if len(free.text) < 2:
        pytest.skip("the tiny model ended at once")
    stop = free.text[1:3]
    pieces: list[str] = []
    stopped = tiny_engine.generate("SELECT", max_tokens=12, stop=(stop,), on_token=pieces.append)
    assert stopped.finish_reason == "stop"
    assert stopped.text == free.text[: free.text.find(stop)]
    assert "".join(pieces) == stopped.text


def test_held_back_keeps_possible_stop_prefixes() -> None:
    assert _held_back("SELECT 1 [/S", ("[/SQL]",)) == 3
    assert _held_back("SELECT 1", ("[/SQL]", ";")) == 0
    assert _held_back("abc`", ("```",)) == 1


def test_prompt_longer_than_context_is_a_clear_error(tiny_engine: LlamaEngine) -> None:
    with pytest.raises(UsageError, match="context window"):
        tiny_engine.generate("customers " * 400)


def test_llama_log_goes_to_the_log_file_not_the_terminal(
    tiny_gguf_path: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "llama.log"
    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=128, n_threads=1, log_file=log)) as engine:
        engine.generate("hello", max_tokens=2)
    captured = capfd.readouterr()
    assert "llama" not in captured.err.lower()
    assert log.exists() and log.stat().st_size > 0


def test_a_damaged_file_is_a_model_load_error(tmp_path: Path, tiny_gguf_path: Path) -> None:
    broken = truncated_copy(tiny_gguf_path, tmp_path / "broken.gguf", 4096)  # the header is cut
    with pytest.raises(ModelLoadError, match="broken.gguf is a truncated or corrupt GGUF file"):
        LlamaEngine(broken, EngineOptions(n_ctx=128, n_threads=1))
    # the header is whole but the weights are cut: caught before llama.cpp, with the sizes
    cut = truncated_copy(tiny_gguf_path, tmp_path / "cut.gguf", tiny_gguf_path.stat().st_size - 1000)
    with pytest.raises(ModelLoadError, match=r"cut.gguf is incomplete: [\d,]+ bytes of the [\d,]+ its header describes"):
        LlamaEngine(cut, EngineOptions(n_ctx=128, n_threads=1))


def test_llama_cpp_load_errors_say_why(tmp_path: Path) -> None:
    """llama-cpp-python only says "Failed to load model from file"; llama.cpp's log says why."""
    unknown = write_unknown_arch_gguf(tmp_path / "mystery.gguf")
    with pytest.raises(ModelLoadError, match=r"does not support the model architecture 'mystery-arch'") as caught:
        LlamaEngine(unknown, EngineOptions(n_ctx=128, n_threads=1))
    assert "pip install -U llama-cpp-python" in (caught.value.hint or "")
    empty = write_tensorless_gguf(tmp_path / "empty.gguf")
    with pytest.raises(ModelLoadError, match=r"could not load empty.gguf: .*token_embd.weight") as caught:
        LlamaEngine(empty, EngineOptions(n_ctx=128, n_threads=1))
    assert "mystery" not in str(caught.value)  # only this load's own log lines count


def test_a_model_bigger_than_free_memory_is_refused_before_loading(tmp_path: Path) -> None:
    from sqlcoder_cli.engine.hardware import available_memory

    free = available_memory()
    if free is None:
        pytest.skip("psutil cannot tell the free memory here")
    huge = write_huge_sparse_gguf(tmp_path / "huge.gguf", 2 * free + (1 << 30))
    started = time.perf_counter()
    with pytest.raises(ModelLoadError, match=r"huge.gguf needs about [\d.]+ GB of memory .* but only [\d.]+ GB is free") as caught:
        LlamaEngine(huge, EngineOptions(n_ctx=256, n_threads=1, n_gpu_layers=0))
    assert "smaller quantization" in (caught.value.hint or "")
    assert time.perf_counter() - started < 5  # refused from the header, nothing was read


def test_generation_stops_at_the_time_limit(tiny_gguf_path: Path) -> None:
    options = EngineOptions(n_ctx=512, n_threads=1)
    with LlamaEngine(tiny_gguf_path, options) as engine:
        free = engine.generate("SELECT", max_tokens=1, time_limit_s=1e-9)  # one token: never over time
        assert free.generated_tokens == 1
        pieces: list[str] = []
        with pytest.raises(SQLGenerationError, match=r"stopped the model after [\d.]+ s: it was still writing \(1 tokens\)") as caught:
            engine.generate("SELECT name FROM customers", max_tokens=400, on_token=pieces.append, time_limit_s=1e-9)
    partial = caught.value.generation  # type: ignore[attr-defined]
    assert partial.finish_reason == "time" and partial.generated_tokens == 1
    assert "".join(pieces) == partial.text  # what was streamed is what the error carries
    assert caught.value.exit_code == 4


def test_the_time_limit_is_generous_by_default_and_can_be_off(tiny_engine: LlamaEngine) -> None:
    from sqlcoder_cli.config import Config
    from sqlcoder_cli.pipeline import AnswerSettings

    assert AnswerSettings().generation_timeout == 120.0 == float(Config().generation_timeout)
    for off in (None, 0):
        result = tiny_engine.generate("SELECT", max_tokens=20, time_limit_s=off)
        assert result.finish_reason in {"length", "eos"}


@pytest.mark.slow
def test_dev_model_writes_sql(dev_model: Path) -> None:
    from sqlcoder_cli.models.gguf_info import read_gguf_info
    from sqlcoder_cli.prompts import PromptRequest, build_prompt

    info = read_gguf_info(dev_model)
    ddl = "CREATE TABLE customers (\n  customer_id INTEGER PRIMARY KEY,\n  city TEXT\n);"
    prompt = build_prompt("chat", PromptRequest("How many customers are there?", ddl, "sqlite"), chat_template=info.chat_template)
    with LlamaEngine(dev_model, EngineOptions(n_ctx=1024)) as engine:
        result = engine.generate(prompt.text, stop=prompt.stop, max_tokens=64)
    assert "count" in result.text.lower() and "customers" in result.text.lower()
    assert result.finish_reason in {"stop", "eos"}


def test_memory_estimate_and_shortfall(tiny_gguf_path: Path, dev_model: Path) -> None:
    from sqlcoder_cli.engine.hardware import memory_shortfall
    from sqlcoder_cli.models.gguf_info import read_gguf_info

    info = read_gguf_info(dev_model)
    # Qwen2.5-0.5B: 24 layers, 2 of 14 heads for K/V of width 896 -> 128; f16 K and V
    assert info.kv_cache_bytes(4096) == 2 * 24 * 4096 * 128 * 2
    needed = info.memory_needed(4096)
    assert info.size_bytes < needed < info.size_bytes + 400_000_000
    assert memory_shortfall(needed, needed + 1) == 0
    assert memory_shortfall(needed, 1_000) == needed - 1_000
    assert memory_shortfall(needed, None) == 0
    tiny = read_gguf_info(tiny_gguf_path)
    assert tiny.block_count and tiny.kv_cache_bytes(256) > 0


def test_prompt_lookup_drafting_takes_prompts_longer_than_a_batch(tiny_gguf_path: Path) -> None:
    # llama-cpp-python keeps every logit when drafting; with a 512-token batch a longer prompt
    # failed ("could not broadcast ... into shape (0,)"), so drafting evaluates the prompt in one batch
    prompt = "SELECT count(*) FROM customers WHERE city = 'x';\n" * 20
    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=2048, n_threads=1, draft="prompt-lookup")) as engine:
        assert engine.count_tokens(prompt) > 600
        out = engine.generate(prompt, max_tokens=8)
    assert out.prompt_tokens > 600 and out.generated_tokens > 0
