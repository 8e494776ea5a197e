"""Constrained decoding: with the schema grammar, the model can only write allowed words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqlcoder_cli.engine.base import EngineOptions
from sqlcoder_cli.engine.grammar import FUNCTIONS, KEYWORDS, sql_grammar
from sqlcoder_cli.engine.llama import LlamaEngine

NAMES = ["customers", "customer_id", "city", "order items"]


def _words_allowed(text: str) -> bool:
    allowed = {w.lower() for w in [*KEYWORDS, *FUNCTIONS, *NAMES]}
    without_strings = re.sub(r"'(?:[^']|'')*'", "''", text)
    without_quoted = re.sub(r'"(?:[^"]|"")*"', '""', without_strings)
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", without_quoted):
        if word.lower() not in allowed and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,2}", word):
            return False
    return True


def test_grammar_compiles_and_quotes_odd_names() -> None:
    from llama_cpp import LlamaGrammar

    text = sql_grammar([*NAMES, 'say "hi"', "Ünïcode"])
    assert '"\\"" "say \\"\\"hi\\"\\"" "\\""' in text
    LlamaGrammar.from_string(text, verbose=False)


@pytest.mark.parametrize("seed_text", ["SELECT", "SELECT count(*) FROM", "list every customer"])
def test_the_tiny_model_can_only_write_allowed_words(tiny_gguf_path: Path, seed_text: str) -> None:
    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=256, n_threads=1)) as engine:
        free = engine.generate(seed_text, max_tokens=24)
        constrained = engine.generate(seed_text, max_tokens=24, grammar=sql_grammar(NAMES))
    assert _words_allowed(constrained.text), constrained.text
    assert constrained.text != free.text or _words_allowed(free.text)


def test_glued_words_are_impossible() -> None:
    assert not _words_allowed("SELECT totalprice FROM customers")
    assert _words_allowed("SELECT c.city FROM customers c WHERE city = 'anything at all'")
