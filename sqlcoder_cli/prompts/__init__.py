"""Prompt builders, one per model family.

A *family* is the prompt format a model was trained on. The catalogue names each entry's family;
for a GGUF file given by path, the family is detected from its metadata
(:func:`sqlcoder_cli.models.gguf_info.detect_family`). Every builder returns a :class:`Prompt`: the
exact text to feed the model, the stop strings that end the SQL, and the SQL dialect the model will
write (SQLCoder writes PostgreSQL whatever the target; chat models are told the target dialect).
"""

from __future__ import annotations

from .base import DIALECT_NAMES, Correction, Example, Prompt, PromptRequest
from .builders import FAMILIES, answer_dialect, build_prompt

__all__ = ["DIALECT_NAMES", "FAMILIES", "Correction", "Example", "Prompt", "PromptRequest", "answer_dialect", "build_prompt"]
