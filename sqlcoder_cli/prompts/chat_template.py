"""Render a GGUF's chat template (a Jinja2 template) into plain prompt text.

We render it ourselves rather than through llama-cpp-python's chat handlers so the exact prompt is
a string we can show (``--show-prompt``), pin in golden tests and reuse as a cache key. The
template comes from a file the user downloaded, so it runs in Jinja2's immutable sandbox.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import ModelError

#: ChatML, for chat models behind a server that applies their real template itself and does not
#: say which it is: the prompt is then rendered with this one only to be shown and measured (the
#: server is sent the messages). Its size is close to most templates' (a few tokens per turn).
GENERIC_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _raise_exception(message: str) -> None:
    raise ModelError(f"the model's chat template refused the conversation: {message}")


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise_exception
    try:
        return env.from_string(template)
    except TemplateError as exc:
        raise ModelError(f"the model's chat template does not compile: {exc}") from exc


def render_chat(
    template: str,
    messages: list[dict[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """The conversation as the model saw such conversations in training."""
    from jinja2.exceptions import TemplateError

    try:
        return str(
            _compile(template).render(
                messages=messages,
                bos_token=bos_token,
                eos_token=eos_token,
                add_generation_prompt=add_generation_prompt,
                tools=None,
            )
        )
    except TemplateError as exc:
        raise ModelError(f"the model's chat template failed: {exc}") from exc
