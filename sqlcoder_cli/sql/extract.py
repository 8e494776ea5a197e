"""Pull the SQL statement out of a model's free-form answer.

Models wrap SQL in Markdown fences, ``[SQL]`` tags, introductory prose or trailing explanations.
The pipeline needs exactly one statement, so this module removes the wrapping and keeps the first
statement; deciding whether that statement is allowed to run is :mod:`.guard`'s job.

Reasoning models (OmniSQL, Arctic-Text2SQL-R1, Qwen3 ...) think first, in ``<think>...</think>``,
and may draft queries there; their answer is what follows the thinking (inside ``<answer>`` tags
when they use them), and of several SQL blocks in it, the last is the final one.
"""

from __future__ import annotations

import re

from sqlglot.errors import SqlglotError
from sqlglot.tokens import Tokenizer, TokenType

from ..errors import SQLGenerationError

_FENCE_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_TAG_RE = re.compile(r"\[SQL\](.*?)(?:\[/SQL\]|\Z)", re.DOTALL | re.IGNORECASE)
_START_KEYWORDS = (
    "select|with|values|insert|update|delete|create|drop|alter|pragma|attach|detach|explain|"
    "replace|merge|truncate|copy|set|install|load|grant|revoke|vacuum|call|table|from"
)
#: a statement keyword at the start of a line
_LINE_START_RE = re.compile(rf"(?im)^[ \t]*(?:{_START_KEYWORDS})\b")
#: a SELECT or WITH ... AS ( anywhere, for "Here is the query: SELECT ..."
_INLINE_RE = re.compile(r"(?i)\bselect\b|\bwith\s+(?:recursive\s+)?[\w\"`]+\s+as\s*\(")
#: first words of a paragraph or line that ends the SQL (model explanations)
_PROSE_RE = re.compile(
    r"(?i)^\s*(?:this|the|here|explanation|note|it|in this|i |i'|we |assuming|please|these|"
    r"that|above|hope|let me|output|result)\b"
)
_THINK_OPEN = re.compile(r"<think>", re.I)
_THINK_CLOSE = re.compile(r"</think>", re.I)
_ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL | re.I)
_SQL_FENCE_LANGS = {"sql", "sqlite", "postgres", "postgresql", "mysql", "duckdb", "tsql", "plsql", "psql"}


def strip_reasoning(text: str) -> tuple[str, bool]:
    """The answer after a model's thinking, and whether there was thinking at all.

    ``<think>`` without ``</think>`` means the model stopped while still thinking: there is no
    answer yet (:class:`SQLGenerationError`, so the user is told to allow more tokens)."""
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    elif _THINK_OPEN.search(text):
        raise SQLGenerationError(
            "the model stopped while still reasoning, before it wrote its answer",
            hint="allow it more tokens (--max-tokens), or use a model that answers without reasoning",
        )
    else:
        return _answer_part(text), False
    return _answer_part(text), True


def _answer_part(text: str) -> str:
    answer = _ANSWER_RE.search(text)
    return answer.group(1) if answer else text


def _unwrap(text: str, *, last: bool = False) -> str:
    """Remove ``[SQL]`` tags and Markdown fences, preferring a block labelled as SQL (the first, or
    with ``last`` the last one: a reasoning answer's final query)."""
    tag = _TAG_RE.search(text)
    if tag:
        text = tag.group(1)
    fences = list(_FENCE_RE.finditer(text))
    if fences:
        labelled = [m for m in fences if m.group(1).lower() in _SQL_FENCE_LANGS and m.group(2).strip()]
        filled = [m for m in fences if m.group(2).strip()]
        if last:
            labelled.reverse()
            filled.reverse()
        chosen = labelled[0] if labelled else next(iter(filled), None)
        if chosen is not None:
            return chosen.group(2)
        if text.strip().startswith("```"):
            return ""
    # A closing fence alone (the prompt opened the fence, the model closed it).
    if "```" in text:
        text = text.split("```", 1)[0]
    return text


def _skip_prose(text: str) -> str:
    """Drop leading prose such as 'Here is the query:' before the statement."""
    if _LINE_START_RE.match(text):
        return text
    m = _LINE_START_RE.search(text)
    inline = _INLINE_RE.search(text)
    if m and (not inline or m.start() <= inline.start()):
        return text[m.start() :]
    if inline:
        return text[inline.start() :]
    return text


def _cut_first_statement(text: str) -> str:
    """Cut at the first ``;`` that is a statement separator (not inside a string or comment)."""
    try:
        tokens = Tokenizer().tokenize(text)
    except (SqlglotError, ValueError, IndexError):
        tokens = None
    if tokens is not None:
        for tok in tokens:
            if tok.token_type == TokenType.SEMICOLON:
                return text[: tok.start]
        return text
    # Fallback: a small scanner that respects quotes.
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            return text[:i]
    return text


def _drop_trailing_prose(text: str) -> str:
    """Stop at the first line after the statement that reads like an explanation."""
    lines = text.splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and _PROSE_RE.match(line) and kept:
            break
        kept.append(line)
    return "\n".join(kept)


def extract_sql(text: str) -> str:
    """The first SQL statement in ``text``, stripped, without a trailing ``;``.

    Raises :class:`SQLGenerationError` when nothing that looks like SQL is left.
    """
    if not text or not text.strip():
        raise SQLGenerationError("the model returned no SQL")
    answer, reasoned = strip_reasoning(text.replace("\r\n", "\n"))
    body = _unwrap(answer, last=reasoned)
    body = _skip_prose(body.strip())
    body = _drop_trailing_prose(body)
    body = _cut_first_statement(body).strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    if not body or not re.search(r"[A-Za-z]", body):
        raise SQLGenerationError("the model returned no SQL")
    return body
