"""Model faults, as a user meets them: one clear line on stderr and the documented exit code.

Every case runs the real ``sqlcoder`` in a subprocess on the bundled demo database with a real file
written for the fault (tests/testkit/gguf_faults.py): missing, not a GGUF, cut short, an
architecture llama.cpp does not know, bigger than this machine's free memory, a model that writes
no SQL, and a model that writes without end (bounded by tokens, and by time).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from testkit.cli_proc import assert_clean, assert_one_line_error, isolated_env, run_sqlcoder
from testkit.gguf_faults import truncated_copy, write_huge_sparse_gguf, write_unknown_arch_gguf

from sqlcoder_cli.engine.base import EngineOptions
from sqlcoder_cli.errors import AnswerFailed

QUESTION = "How many customers are there?"
#: one thread; twice the tiny model's 512-token training context, so that a retry's prompt (which
#: quotes the failed answer) fits: see test_a_model_that_writes_no_sql_at_its_trained_context
ENGINE_FLAGS = ["--threads", "1", "--ctx", "1024"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


def ask(model: Path | str, env: dict[str, str], *extra: str):  # noqa: ANN201 - CompletedProcess
    return run_sqlcoder(["ask", QUESTION, "--model", str(model), *ENGINE_FLAGS, *extra], env)


def test_missing_model_file(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "models" / "nowhere.gguf"
    assert_one_line_error(ask(missing, env), 3, rf"^error: {missing}: file not found$")


def test_a_file_that_is_not_gguf(tmp_path: Path, env: dict[str, str]) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("<html>404 Not Found</html>\n")  # what a wrong download link saves
    assert_one_line_error(ask(text, env), 3, rf"^error: {text} is not a GGUF model file$")


def test_a_gguf_cut_in_its_header(tmp_path: Path, env: dict[str, str], tiny_gguf_path: Path) -> None:
    cut = truncated_copy(tiny_gguf_path, tmp_path / "cut-header.gguf", 3000)
    assert_one_line_error(ask(cut, env), 3, rf"^error: {cut} is a truncated or corrupt GGUF file$")


def test_a_gguf_cut_in_its_weights(tmp_path: Path, env: dict[str, str], tiny_gguf_path: Path) -> None:
    """The header is whole, the weights are not (a download or copy cut short): refused before
    llama.cpp, with the sizes; ``models add`` refuses it too and registers nothing."""
    size = tiny_gguf_path.stat().st_size
    cut = truncated_copy(tiny_gguf_path, tmp_path / "cut-weights.gguf", size // 2)
    expected = rf"^error: {cut} is incomplete: {size // 2:,} bytes of the {size:,} its header describes \(the download or copy was cut short; download or copy it again\)$"
    assert_one_line_error(ask(cut, env), 3, expected)
    assert_one_line_error(run_sqlcoder(["models", "add", str(cut), "--name", "cut"], env), 3, expected)
    assert not (Path(env["SQLCODER_HOME"]) / "data" / "models.json").exists()


def test_an_architecture_llama_cpp_does_not_know(tmp_path: Path, env: dict[str, str]) -> None:
    model = write_unknown_arch_gguf(tmp_path / "mystery.gguf", arch="mystery-arch")
    added = run_sqlcoder(["models", "add", str(model), "--name", "mystery"], env)  # a valid GGUF: registered
    assert_clean(added)
    line = assert_one_line_error(
        ask("mystery", env),
        3,
        r"^error: mystery\.gguf: this llama\.cpp \(llama-cpp-python [\d.]+\) does not support the model "
        r"architecture 'mystery-arch' \(upgrade it with `pip install -U llama-cpp-python`, or use a GGUF of a "
        r"supported model, see `sqlcoder models list`\)$",
    )
    assert "Failed to load model from file" not in line


def test_a_model_bigger_than_free_memory_is_refused_before_loading(tmp_path: Path, env: dict[str, str]) -> None:
    """A real GGUF whose header declares more weights than this machine has free memory (a sparse
    file: no disk used). Refused from the header, before llama.cpp maps a byte, with the advice to
    use a smaller quantization."""
    import psutil

    free = psutil.virtual_memory().available
    huge = write_huge_sparse_gguf(tmp_path / "huge-q8_0.gguf", 2 * free + (1 << 30))
    started = time.perf_counter()
    result = ask(huge, env, "--gpu-layers", "0")
    elapsed = time.perf_counter() - started
    assert_one_line_error(
        result,
        3,
        r"^error: huge-q8_0\.gguf needs about [\d.]+ GB of memory with a 1024-token context, but only [\d.]+ GB "
        r"is free \(use a smaller quantization such as sqlcoder-7b-2:q4_k_m .*, a smaller --ctx, or close other programs\)$",
    )
    assert elapsed < 60, elapsed


def test_a_model_that_writes_no_sql(env: dict[str, str], tiny_gguf_path: Path) -> None:
    """The tiny random model writes gibberish: every attempt fails, exit 4, one line, no traceback."""
    result = ask(tiny_gguf_path, env, "--max-tokens", "32")
    assert_one_line_error(result, 4, r"^error: .+\(after 3 attempts\)$")
    assert result.stdout == ""


def test_a_model_that_writes_no_sql_at_its_trained_context(env: dict[str, str], tiny_gguf_path: Path) -> None:
    """At the model's own 512-token context, each retry quotes the failed answer cut to fit."""
    result = run_sqlcoder(["ask", QUESTION, "--model", str(tiny_gguf_path), "--threads", "1", "--ctx", "512"], env)
    assert_one_line_error(result, 4, r"^error: .+\(after 3 attempts\)$")


def test_endless_text_is_bounded_by_tokens(env: dict[str, str], tiny_gguf_path: Path, tmp_path: Path) -> None:
    """A model that never ends its answer (the tiny one never says EOS) stops at --max-tokens."""
    started = time.perf_counter()
    result = ask(tiny_gguf_path, env, "--max-tokens", "48", "--retries", "0")
    assert_one_line_error(result, 4, r"^error: ")
    assert time.perf_counter() - started < 120

    with _session(tiny_gguf_path, tmp_path, EngineOptions(n_ctx=1024, n_threads=1), max_new_tokens=48) as session:
        with pytest.raises(AnswerFailed) as caught:
            session.ask(QUESTION)
    generation = caught.value.generations[-1]
    assert (generation.finish_reason, generation.generated_tokens) == ("length", 48)


def _session(model: Path, tmp_path: Path, options: EngineOptions, *, max_new_tokens: int):  # noqa: ANN202
    from sqlcoder_cli.config import Config, Paths
    from sqlcoder_cli.pipeline import Session

    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    config = Config(paths=paths, max_new_tokens=max_new_tokens, kv_cache_mb=0, memory=False, max_retries=0)
    return Session(model=str(model), config=config, engine_options=options)


def test_endless_text_is_bounded_by_time(tiny_gguf_path: Path, tmp_path: Path) -> None:
    """The time limit (AnswerSettings.generation_timeout), through the real pipeline: the
    attempt is stopped between two tokens and the question fails with exit 4 and one line, without
    retries (a model that ran out of time would only run out again)."""
    options = EngineOptions(n_ctx=2048, n_threads=1)
    with _session(tiny_gguf_path, tmp_path, options, max_new_tokens=100_000) as session:
        session.settings = session.settings.with_overrides(max_retries=2, generation_timeout=0.02)
        started = time.perf_counter()
        with pytest.raises(AnswerFailed) as caught:
            session.ask(QUESTION)
        elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert re.match(r"stopped the model after [\d.]+ s: it was still writing \(\d+ tokens\) without finishing its answer", message)
    assert "attempts" not in message
    assert "\n" not in message and caught.value.exit_code == 4
    assert elapsed < 30
