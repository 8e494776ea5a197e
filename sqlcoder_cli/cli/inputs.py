"""What the user typed or piped in, checked before anything expensive happens.

Why here and not deeper: an empty question, a blank ``--model`` or bytes that are not UTF-8 are
usage errors (exit 2) that must be found before a database is opened or a model loads (seconds
to minutes for a 7B model), and they must read as one line that says what to type instead, not
as "no valid SQL after 3 attempts" or a ``UnicodeEncodeError`` from deep inside a driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .state import AppState

#: lone surrogates: how Python's ``surrogateescape`` error handler keeps bytes that are not UTF-8
_SURROGATES = range(0xDC80, 0xDD00)
ICONV_HINT = "convert it to UTF-8 first, e.g. iconv -f latin1 -t utf-8"


def _first_surrogate(text: str) -> int | None:
    for index, ch in enumerate(text):
        if ord(ch) in _SURROGATES:
            return index
    return None


def check_utf8(text: str, what: str) -> str:
    """``text`` unchanged, or a :class:`UsageError` when it carries bytes that were not UTF-8.

    Command-line arguments (and stdin in the C locale) arrive with undecodable bytes smuggled in
    as lone surrogates; nothing downstream can encode them again.
    """
    index = _first_surrogate(text)
    if index is not None:
        byte = ord(text[index]) - 0xDC00
        raise UsageError(f"{what} is not valid UTF-8 (byte 0x{byte:02x} at character {index + 1})", hint=ICONV_HINT)
    return text


def read_stdin(state: AppState) -> str:
    """All of stdin as text; bytes that are not UTF-8 are a usage error, not a crash."""
    try:
        text = state.env.stdin.read()
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"stdin is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})", hint=ICONV_HINT
        ) from None
    return check_utf8(text, "stdin")


def read_questions(state: AppState) -> list[str]:
    """One question per non-blank stdin line; none at all is a usage error."""
    questions = [line.strip() for line in read_stdin(state).splitlines() if line.strip()]
    if not questions:
        raise UsageError("no question on stdin (only blank lines)", hint='pipe one question per line, or: sqlcoder ask "How many customers are there?"')
    return questions


def check_question(question: str) -> str:
    """A question given as an argument: not blank, valid text."""
    check_utf8(question, "the question")
    if not question.strip():
        raise UsageError("the question is empty", hint='try: sqlcoder ask "How many customers are there?"')
    return question.strip()


def not_blank_db(value: str | None) -> str | None:
    """``--db ""`` used to mean the demo database without saying so; say what to type instead."""
    if value is not None:
        check_utf8(value, "--db")
        if not value.strip():
            raise UsageError("--db is empty", hint="use --db demo for the bundled demo database, or give a file path or a URL")
    return value


def not_blank_model(value: str | None) -> str | None:
    """``--model ""`` used to mean the default model without saying so."""
    if value is not None:
        check_utf8(value, "--model")
        if not value.strip():
            raise UsageError(
                "--model is empty",
                hint="leave it out for the default model, or give a name from `sqlcoder models list` or a .gguf path",
            )
    return value
