"""Grammar-constrained greedy decoding that checks a handful of tokens per step, not the vocabulary.

Why: llama.cpp's grammar sampler, as llama-cpp-python chains it, tests every token of the
vocabulary against the grammar at every step. With Qwen's 151,936 tokens that made generation
15-20x slower (docs/performance.md). Greedy decoding only needs the best *allowed* token, and the
model's favourite is almost always allowed, so: take the highest-scoring token, ask the grammar
about that one token, and only if it is refused walk down a short list of the next best; only when
none of those is allowed is the whole vocabulary checked. The grammar state advances with each
token actually generated. The result is the same token the full check would pick (the best allowed
one), at the cost of one or a few single-token checks per step.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

from ..errors import UsageError

#: how many of the best tokens are tried one by one before the whole vocabulary is checked
SHORTLIST = 32


class GreedyGrammarGate:
    """A llama-cpp-python logits processor: leaves the greedy choice alone when the grammar allows
    it, otherwise raises the best allowed token to the top. One gate serves one generation."""

    def __init__(self, vocab: Any, grammar_text: str, prompt_tokens: int, n_vocab: int) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar_text.encode("utf-8"), b"root")
        if not self._sampler:
            raise UsageError("the SQL grammar does not compile")
        self._accepted = prompt_tokens
        self._n_vocab = n_vocab
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self._all: Any = None
        #: steps where the favourite was refused / where the whole vocabulary had to be checked
        self.redirected = 0
        self.full_checks = 0

    def allows(self, token: int) -> bool:
        """Whether the grammar, in its current state, lets ``token`` come next."""
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one_array.size = 1
        self._lib.llama_sampler_apply(self._sampler, ctypes.byref(self._one_array))
        return not math.isinf(self._one[0].logit)

    def _advance(self, input_ids: Any) -> None:
        """Feed the grammar the tokens generated since the last step."""
        for token in input_ids[self._accepted :]:
            self._lib.llama_sampler_accept(self._sampler, int(token))
        self._accepted = len(input_ids)

    def _allowed_mask(self, scores: Any) -> Any:
        """Check every token (the slow path): a boolean array, True where the grammar allows."""
        import numpy as np

        llama_cpp = self._lib
        if self._all is None:
            self._all = (llama_cpp.llama_token_data * self._n_vocab)()
        view = np.ctypeslib.as_array(self._all)
        view["id"] = np.arange(self._n_vocab, dtype=np.int32)
        view["logit"] = 0.0
        array = llama_cpp.llama_token_data_array(data=self._all, size=self._n_vocab, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(array))
        allowed = np.zeros(len(scores), dtype=bool)
        n = int(array.size)  # the sampler may compact the array; ids say which survived
        survivors = view[:n]
        ok = survivors["id"][np.isfinite(survivors["logit"])]
        allowed[ok[ok < len(scores)]] = True
        return allowed

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        self._advance(input_ids)
        best = int(np.argmax(scores))
        if self.allows(best):
            return scores
        self.redirected += 1
        k = min(SHORTLIST, len(scores) - 1)
        shortlist = np.argpartition(-scores, k)[: k + 1]
        for token in shortlist[np.argsort(-scores[shortlist])]:
            if int(token) != best and self.allows(int(token)):
                scores[token] = scores[best] + 1.0
                return scores
        self.full_checks += 1
        allowed = self._allowed_mask(scores)
        if allowed.any():
            scores = np.where(allowed, scores, -np.inf).astype(scores.dtype)
        return scores

    def close(self) -> None:
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None

    def __del__(self) -> None:  # a generation abandoned by an exception still frees the sampler
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
