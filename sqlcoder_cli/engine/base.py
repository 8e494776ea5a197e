"""What every backend takes and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Called with each new piece of generated text as it arrives (for streaming to a terminal).
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class EngineOptions:
    """How to load a model. Zero/negative values mean "decide for this machine"."""

    #: context window in tokens; 0 = the model's training context capped at ``DEFAULT_MAX_CTX``
    n_ctx: int = 0
    #: 0 = number of physical cores
    n_threads: int = 0
    #: -1 = all layers on the GPU when llama.cpp has GPU support, else 0
    n_gpu_layers: int = -1
    #: llama.cpp's own log lines go here instead of the terminal (None: discarded)
    log_file: Path | None = None
    #: refuse to load a model that does not fit in free RAM (CPU only) instead of swapping
    check_memory: bool = True
    #: speculative decoding: "none", or "prompt-lookup" (drafts copied from the prompt, e.g. the
    #: schema's identifiers; greedy output stays identical, only the speed changes)
    draft: str = "none"
    #: tokens a prompt-lookup draft proposes at a time
    draft_tokens: int = 10
    #: llama.cpp's CPU weight repacking: faster generation (+11-27 %), but slower loads and prefill
    #: and more memory (+2.9 GB for a 7B Q4_K_M); off by default (docs/performance.md)
    weight_repack: bool = False
    #: seconds the model may spend writing one answer (after reading the prompt), checked between
    #: tokens; a model that loops is stopped with a clear error instead of running for minutes.
    #: ``max_tokens`` bounds the answer's length, this its time. 0 or None = no limit.
    generation_timeout_s: float | None = 120.0


@dataclass(frozen=True)
class Generation:
    """One completion and what it cost."""

    text: str
    prompt_tokens: int
    #: prompt tokens whose KV state was reused instead of computed
    cached_tokens: int
    generated_tokens: int
    #: seconds to evaluate the (uncached part of the) prompt, i.e. until the first token
    prompt_s: float
    #: seconds spent generating after the first token
    generate_s: float
    #: "stop" (a stop string), "eos" (the model ended), "length" (max_tokens reached);
    #: a generation stopped by ``EngineOptions.generation_timeout_s`` raises instead (its partial
    #: Generation, finish_reason "time", rides on the error as ``.generation``)
    finish_reason: str
    #: where the prompt's constant prefix came from: "memory" (still in the context), "disk"
    #: (restored KV state), "saved" (computed now and saved for next time) or "skipped"
    prefix_cache: str = "skipped"
