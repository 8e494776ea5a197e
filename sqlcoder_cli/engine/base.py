"""What every backend takes and returns: the :class:`Engine` protocol and its data.

The pipeline never builds a backend's request itself; it hands an :class:`Engine` the prompt
(text, and the conversation it was rendered from for chat models) and gets a :class:`Generation`
back. :class:`~sqlcoder_cli.engine.llama.LlamaEngine` runs a GGUF in this process;
:class:`~sqlcoder_cli.engine.openai.OpenAIEngine` asks an OpenAI-compatible server (vLLM,
llama-server, Ollama, LM Studio); the test kit's scripted engine answers from a queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..errors import SQLGenerationError
    from .kv_cache import KVStateCache

#: Called with each new piece of generated text as it arrives (for streaming to a terminal).
TokenCallback = Callable[[str], None]


def seconds_text(value: float) -> str:
    """0.02 → "0.02", 7.46 → "7.5", 125.3 → "125": as precise as a person needs."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def out_of_time(generation: Generation) -> SQLGenerationError:
    """The error for a generation stopped by its time limit (a model that loops); it carries the
    partial generation as ``.generation`` so the pipeline still counts its time."""
    from ..errors import SQLGenerationError

    error = SQLGenerationError(
        f"stopped the model after {seconds_text(generation.generate_s)} s: it was still writing "
        f"({generation.generated_tokens} tokens) without finishing its answer",
        hint="a model that repeats itself needs another model; a slow machine a smaller model or a longer time limit",
    )
    error.generation = generation  # type: ignore[attr-defined]
    return error


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of ``text`` that could still grow into a stop string (streamed
    text holds it back until it is known not to be the start of one)."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def first_stop(text: str, stops: tuple[str, ...]) -> int:
    """Where the first stop string in ``text`` starts, or -1."""
    return min((text.find(s) for s in stops if s in text), default=-1)


class StreamedText:
    """An answer as it streams in: cut at the first stop string, and handed to ``on_token`` piece
    by piece, holding back an end that could still grow into a stop string (every engine streams
    the same way, so what a terminal shows is exactly what the answer is)."""

    def __init__(self, stops: tuple[str, ...], on_token: TokenCallback | None) -> None:
        self.stops = stops
        self.on_token = on_token
        self.text = ""
        self._emitted = 0

    def update(self, text: str) -> bool:
        """The answer so far is ``text``; True when it reached a stop string (then cut there)."""
        hit = first_stop(text, self.stops)
        if hit >= 0:
            self.text = text[:hit]
            return True
        self.text = text
        if self.on_token is not None:
            safe_end = len(text) - held_back(text, self.stops)
            if safe_end > self._emitted:
                self.on_token(text[self._emitted:safe_end])
                self._emitted = safe_end
        return False

    def flush(self) -> str:
        """Hand over what was held back (the answer is complete); returns the answer."""
        if self.on_token is not None and len(self.text) > self._emitted:
            self.on_token(self.text[self._emitted:])
            self._emitted = len(self.text)
        return self.text


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
    #: a generation stopped by its ``time_limit_s`` raises instead (its partial
    #: Generation, finish_reason "time", rides on the error as ``.generation``)
    finish_reason: str
    #: where the prompt's constant prefix came from: "memory" (still in the context), "disk"
    #: (restored KV state), "saved" (computed now and saved for next time) or "skipped"
    prefix_cache: str = "skipped"


@dataclass(frozen=True)
class ModelTraits:
    """What the prompt builder needs to know about the model behind an engine."""

    #: the name answers report (``Answer.model``)
    name: str
    #: prompt family (prompts/builders.py): sqlcoder, llama3-sqlcoder, duckdb-nsql or chat
    family: str
    #: the model's own chat template (Jinja2), when known; a server-side chat model may have none
    #: here (the server applies it), and the prompt is then rendered with a generic one for show
    chat_template: str | None = None
    bos_token: str = ""
    eos_token: str = ""
    #: the engine sends chat prompts as messages to a server that applies the model's template
    #: itself (the text we render is then only shown and measured)
    server_renders_chat: bool = False


@runtime_checkable
class Engine(Protocol):
    """A model that continues prompts greedily. Implementations: LlamaEngine, OpenAIEngine and the
    test kit's ScriptedEngine; ``Session(engine=...)`` accepts any of them."""

    #: the context window in tokens (prompt + answer)
    n_ctx: int
    #: seconds it took to make the engine ready (loading a model; 0 for a server)
    load_s: float
    traits: ModelTraits
    #: whether ``generate`` honours a GBNF ``grammar`` (constrained decoding)
    supports_grammar: bool

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes as a prompt (the schema pruner keeps prompts within ``n_ctx``)."""
        ...

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int = 512,
        stop: tuple[str, ...] = (),
        on_token: TokenCallback | None = None,
        time_limit_s: float | None = None,
        messages: Sequence[dict[str, str]] | None = None,
        answer_prefix: str = "",
        stable_prefix: str | None = None,
        state_cache: KVStateCache | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """Greedy completion of ``prompt`` until a stop string, the end, ``max_tokens`` or
        ``time_limit_s`` seconds of writing (then :class:`SQLGenerationError` with the partial
        generation as ``.generation``). ``messages`` is the conversation ``prompt`` was rendered
        from (chat models; a server may prefer it to the text), ``answer_prefix`` the text the
        prompt already wrote into the answer. ``stable_prefix``/``state_cache`` and ``grammar``
        are hints an engine may ignore."""
        ...

    def close(self) -> None: ...
