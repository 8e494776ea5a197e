"""Errors of the quantize tools: part of sqlcoder's one hierarchy, so the command line turns each
into one red line and a documented exit code (2: bad input; 3: a model file problem)."""

from __future__ import annotations

from sqlcoder_cli.errors import ModelError, UsageError


class ConversionError(ModelError):
    """A checkpoint that cannot be converted: missing or truncated shard, unsupported
    architecture or dtype, a tokenizer that does not match the model (exit 3)."""


class QuantizeError(ModelError):
    """llama.cpp's quantizer refused or failed (exit 3)."""


class QuantizeUsageError(UsageError):
    """A request that makes no sense (an unknown type, requantizing without --allow-requantize)."""
