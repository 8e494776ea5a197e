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


@pytest.mark.parametrize("seed_text", ["SELECT", "SELECT count(*) FROM", "list every customer", "WHERE city ="])
def test_the_lazy_gate_picks_what_the_full_grammar_check_picks(tiny_gguf_path: Path, seed_text: str) -> None:
    # llama.cpp's own grammar sampler (every token checked, every step) is the reference
    import llama_cpp
    from llama_cpp import LlamaGrammar

    grammar = sql_grammar(NAMES)
    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=256, n_threads=1)) as engine:
        ours = engine.generate(seed_text, max_tokens=24, grammar=grammar)
        llm = engine._llm
        llm.reset()
        reference: list[int] = []
        for token in llm.generate(engine.tokenize(seed_text), top_k=1, temp=0.0, repeat_penalty=1.0,
                                  grammar=LlamaGrammar.from_string(grammar, verbose=False)):
            if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token) or len(reference) >= ours.generated_tokens:
                break
            reference.append(token)
        expected = llm.detokenize(reference).decode("utf-8", errors="ignore")
    assert ours.text == expected[: len(ours.text)] and len(expected) >= len(ours.text)


def test_the_gate_refuses_and_redirects(tiny_gguf_path: Path) -> None:
    import numpy as np

    from sqlcoder_cli.engine.constrained import GreedyGrammarGate

    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=256, n_threads=1)) as engine:
        vocab = engine._llm._model.vocab
        n_vocab = engine._llm.n_vocab()
        gate = GreedyGrammarGate(vocab, 'root ::= "SELECT 1"', prompt_tokens=0, n_vocab=n_vocab)
        try:
            scores = np.zeros(n_vocab, dtype=np.float32)
            bad = engine.tokenize("zzz")[-1]
            scores[bad] = 10.0  # the model's favourite is not allowed by the grammar
            out = gate(np.array([], dtype=np.intc), scores.copy())
            chosen = int(np.argmax(out))
            assert chosen != bad and gate.allows(chosen) and not gate.allows(bad)
            assert gate.redirected == 1
        finally:
            gate.close()
