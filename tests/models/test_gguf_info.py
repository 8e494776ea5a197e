"""Reading GGUF headers: the tiny model, a real model, and files that are not GGUF."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from testkit.tiny_gguf import write_tiny_llama_gguf

from sqlcoder_cli.errors import ModelError, NotGGUFError
from sqlcoder_cli.models.gguf_info import FILE_TYPES, detect_family, is_gguf, read_gguf_info

QWEN = Path("/root/.cache/sqlcoder-dev-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
LLAMA3_TEMPLATE = "{{ '<|begin_of_text|>' }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>{{ m.content }}<|eot_id|>{% endfor %}"


def test_tiny_model_without_template(tiny_gguf_path: Path) -> None:
    info = read_gguf_info(tiny_gguf_path)
    assert info.architecture == "llama" and info.name == "tiny-llama"
    assert info.context_length == 4096 and info.chat_template is None
    assert info.quantization == "F32"
    assert (info.bos_token, info.eos_token) == ("<s>", "</s>")
    assert info.size_bytes == tiny_gguf_path.stat().st_size
    assert info.parameter_count and info.parameter_count > 100_000
    assert detect_family(info) == "sqlcoder"  # a plain completion model gets the completion prompt


def test_tiny_model_with_template(tmp_path: Path) -> None:
    path = write_tiny_llama_gguf(tmp_path / "t.gguf", name="chatty", chat_template="{{ messages }}", context_length=1024)
    info = read_gguf_info(path)
    assert info.chat_template == "{{ messages }}" and info.context_length == 1024 and info.name == "chatty"
    assert detect_family(info) == "chat"


def test_agrees_with_the_gguf_package(tiny_chat_gguf_path: Path) -> None:
    from gguf import GGUFReader

    reader = GGUFReader(tiny_chat_gguf_path)
    info = read_gguf_info(tiny_chat_gguf_path)
    assert info.chat_template == reader.fields["tokenizer.chat_template"].contents()
    assert info.context_length == reader.fields["llama.context_length"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"]
    eos = reader.fields["tokenizer.ggml.eos_token_id"].contents()
    assert info.eos_token == tokens.contents(eos)
    assert info.parameter_count == sum(int(t.n_elements) for t in reader.tensors)


def test_file_type_names_match_gguf() -> None:
    from gguf import LlamaFileType

    for member in LlamaFileType:
        if member.value in FILE_TYPES:
            assert member.name.replace("MOSTLY_", "").replace("ALL_", "") == FILE_TYPES[member.value]


def test_family_detection(tiny_gguf_path: Path) -> None:
    base = read_gguf_info(tiny_gguf_path)
    assert detect_family(replace(base, name="defog sqlcoder-7b-2")) == "sqlcoder"
    assert detect_family(replace(base, path=Path("sqlcoder-7b-q5_k_m.gguf"), name="LLaMA v2")) == "sqlcoder"
    assert detect_family(replace(base, name="llama-3-sqlcoder-8b", chat_template=LLAMA3_TEMPLATE)) == "llama3-sqlcoder"
    assert detect_family(replace(base, name="llama-3-sqlcoder-8b", eos_token="<|eot_id|>")) == "llama3-sqlcoder"
    assert detect_family(replace(base, name="Qwen2.5 Coder", chat_template="{{ x }}")) == "chat"
    assert detect_family(replace(base, name="some base model")) == "sqlcoder"
    assert detect_family(replace(base, name="DuckDB-NSQL-7B-v0.1", chat_template="{{ x }}")) == "duckdb-nsql"


def test_text_and_empty_files_are_not_gguf(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("hello, I am not a model\n")
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    for path in (text, empty):
        with pytest.raises(NotGGUFError, match="is not a GGUF model file"):
            read_gguf_info(path)
        assert not is_gguf(path)
    with pytest.raises(NotGGUFError):
        read_gguf_info(tmp_path)  # a directory


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="file not found") as caught:
        read_gguf_info(tmp_path / "nope.gguf")
    assert not isinstance(caught.value, NotGGUFError)


def test_truncated_header_is_a_clear_error(tmp_path: Path, tiny_chat_gguf_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_chat_gguf_path.read_bytes()[:300])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        read_gguf_info(broken)


@pytest.mark.skipif(not QWEN.is_file(), reason="the Qwen2.5-Coder-0.5B dev GGUF is not on this machine")
def test_real_qwen_model_is_read_fast() -> None:
    started = time.perf_counter()
    info = read_gguf_info(QWEN)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f}s"
    assert info.architecture == "qwen2" and info.context_length == 32768 and info.quantization == "Q4_K_M"
    assert info.chat_template and "<|im_start|>" in info.chat_template
    assert info.eos_token == "<|im_end|>" and info.bos_token == "<|endoftext|>"
    assert info.size_bytes == 491_400_064
    assert detect_family(info) == "chat"
