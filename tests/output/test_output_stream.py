from __future__ import annotations

import datetime as dt
import decimal
import io
import json

import pytest

from sqlcoder_cli.output.stream import STREAM_FORMATS, stream_rows

ROWS = [(1, "a,b", None, decimal.Decimal("2.50")), (2, 'say "hi"', dt.date(2024, 1, 2), 3.5)]


class CountingFlush(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_csv() -> None:
    out = io.StringIO()
    assert stream_rows(out, "csv", ["id", "name", "d", "v"], iter(ROWS)) == 2
    assert out.getvalue() == 'id,name,d,v\n1,"a,b",,2.5\n2,"say ""hi""",2024-01-02,3.5\n'


def test_tsv() -> None:
    out = io.StringIO()
    stream_rows(out, "tsv", ["id", "name"], [(1, "x")])
    assert out.getvalue() == "id\tname\n1\tx\n"


def test_jsonl_one_object_per_row() -> None:
    out = io.StringIO()
    stream_rows(out, "jsonl", ["id", "name", "d", "v"], iter(ROWS), question="q?")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        {"question": "q?", "id": 1, "name": "a,b", "d": None, "v": 2.5},
        {"question": "q?", "id": 2, "name": 'say "hi"', "d": "2024-01-02", "v": 3.5},
    ]


def test_jsonl_without_question_and_empty() -> None:
    out = io.StringIO()
    assert stream_rows(out, "jsonl", ["a"], iter([])) == 0
    assert out.getvalue() == ""
    stream_rows(out, "jsonl", ["a"], [(1,)])
    assert out.getvalue() == '{"a":1}\n'


def test_flushes_periodically_and_is_lazy() -> None:
    out = CountingFlush()
    seen = []

    def gen():
        for i in range(25):
            seen.append(i)
            yield (i,)

    assert stream_rows(out, "csv", ["i"], gen(), flush_every=10) == 25
    assert out.flushes >= 3 and seen == list(range(25))


def test_refuses_formats_that_need_the_whole_result() -> None:
    assert STREAM_FORMATS == ("csv", "tsv", "jsonl")
    for fmt in ("json", "table", "markdown"):
        with pytest.raises(ValueError):
            stream_rows(io.StringIO(), fmt, ["a"], [])
