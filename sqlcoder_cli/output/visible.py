"""Make control characters from data visible before they reach a terminal.

Why: a database value, a column name, a file path or a question is data, and data can hold
``ESC [2J`` (clear the screen), ``ESC ]0;title BEL``, a carriage return that overwrites the line
before it, or a right-to-left override that shows ``txt.exe`` as ``exe.txt``. A terminal obeys
them. So everything meant for a person (tables, error and warning lines, SQL echoed on a terminal,
the REPL, csv/json written to a terminal) shows them as escapes, ``\\x1b`` or ``\\u202e``, while data
on a pipe or in a file stays byte-exact (the CLI only wraps streams that are terminals).

One function, :func:`visible`, used everywhere, so there is one rule for what is escaped:
C0 controls (except newline and tab where lines are allowed), DEL, C1 controls U+0080-U+009F and
the bidirectional overrides and isolates U+202A-U+202E, U+2066-U+2069.
"""

from __future__ import annotations

from typing import Any, TextIO


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _table(*, keep: str) -> dict[int, str]:
    codes = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    return {code: _escape(code) for code in codes if chr(code) not in keep}


#: text with lines (table cells, SQL, multi-line output): newline and tab stay
_MULTILINE = _table(keep="\n\t")
#: one line (error, warning and status lines): a newline in a path or message is shown as \x0a
_ONE_LINE = _table(keep="\t")


def visible(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character that a terminal would obey written as an escape.

    ``one_line`` also escapes newlines, for messages that must stay on one line.
    """
    return text.translate(_ONE_LINE if one_line else _MULTILINE)


class VisibleStream:
    """A text stream wrapper that writes :func:`visible` text (for data written to a terminal).

    The mapping is per character, so however a writer splits its output into ``write`` calls the
    result is the same. Everything else (``flush``, ``fileno``, ``isatty``) is the wrapped stream's.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(visible(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
