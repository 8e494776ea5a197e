"""The one rule for control characters shown to people (issue 12, defect 10)."""

from __future__ import annotations

import io

import pytest

from sqlcoder_cli.output.visible import VisibleStream, visible


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("\x1b[2Jx", "\\x1b[2Jx"),
        ("a\x00b\x07c\x08d\re", "a\\x00b\\x07c\\x08d\\x0de"),
        ("del\x7f", "del\\x7f"),
        ("c1\x85\x9b31m", "c1\\x85\\x9b31m"),
        ("txt\u202eexe.doc", "txt\\u202eexe.doc"),
        ("\u2066iso\u2069 \u202a\u202b\u202c\u202d", "\\u2066iso\\u2069 \\u202a\\u202b\\u202c\\u202d"),
        ("lines\nand\ttabs stay", "lines\nand\ttabs stay"),
        ("café ünïcödé 数据 \u00a0 \u200b", "café ünïcödé 数据 \u00a0 \u200b"),
    ],
)
def test_control_characters_become_escapes(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_one_line_escapes_newlines_too() -> None:
    assert visible("a\nb\tc\x1b", one_line=True) == "a\\x0ab\tc\\x1b"


def test_the_stream_escapes_however_the_text_is_split() -> None:
    target = io.StringIO()
    stream = VisibleStream(target)
    for piece in ("\x1b", "[2J", "ok\n", "\u202e"):
        assert stream.write(piece) == len(piece)
    stream.flush()
    assert target.getvalue() == "\\x1b[2Jok\n\\u202e"
