"""A scripted :class:`~sqlcoder_cli.engine.base.Engine` for tests (like llm's MockModel).

It answers each ``generate`` with the next queued text and records every prompt it was given, so a
test can drive the retry path, follow-ups and failures through the real pipeline (schema, prompt,
extraction, guard, transpile, validation, database) without a model. Token counts are words: the
pruner sees sizes that grow with the text, which is all it needs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlcoder_cli.engine.base import Generation, ModelTraits, TokenCallback, out_of_time


@dataclass
class Call:
    """One ``generate`` call as the engine received it."""

    prompt: str
    messages: list[dict[str, str]] | None
    stop: tuple[str, ...]
    max_tokens: int
    answer_prefix: str
    grammar: str | None
    time_limit_s: float | None


@dataclass
class ScriptedEngine:
    """Answers from ``answers`` in order; an answer that is an exception instance is raised."""

    answers: list[Any] = field(default_factory=list)
    family: str = "chat"
    name: str = "scripted"
    n_ctx: int = 4096
    chat_template: str | None = (
        "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    #: seconds each answer takes (to test time limits and concurrency)
    delay_s: float = 0.0
    load_s: float = 0.0
    supports_grammar: bool = False
    calls: list[Call] = field(default_factory=list)
    closed: bool = False

    @property
    def traits(self) -> ModelTraits:
        return ModelTraits(name=self.name, family=self.family, chat_template=self.chat_template)

    @property
    def prompts(self) -> list[str]:
        return [call.prompt for call in self.calls]

    def queue(self, *answers: Any) -> ScriptedEngine:
        self.answers.extend(answers)
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

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
        state_cache: Any = None,
        grammar: str | None = None,
    ) -> Generation:
        self.calls.append(
            Call(prompt, [dict(m) for m in messages] if messages else None, tuple(stop), max_tokens, answer_prefix, grammar, time_limit_s)
        )
        if not self.answers:
            raise AssertionError(f"the scripted engine has no answer left for call {len(self.calls)}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        started = time.perf_counter()
        if self.delay_s:
            time.sleep(self.delay_s)
        text = str(answer)
        finish = "eos"
        hits = [text.find(s) for s in stop if s in text]
        if hits:
            text, finish = text[: min(hits)], "stop"
        elapsed = time.perf_counter() - started
        generation = Generation(
            text=text,
            prompt_tokens=self.count_tokens(prompt),
            cached_tokens=0,
            generated_tokens=self.count_tokens(text),
            prompt_s=0.0,
            generate_s=elapsed,
            finish_reason=finish,
        )
        if time_limit_s and elapsed > time_limit_s:
            raise out_of_time(replace(generation, finish_reason="time"))
        if on_token is not None and text:
            on_token(text)
        return generation

    def close(self) -> None:
        self.closed = True
