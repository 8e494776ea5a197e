from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json

from sqlcoder_cli.output.formats import write_delimited, write_json, write_jsonl_line, write_markdown
from sqlcoder_cli.output.values import json_value, text_value

COLUMNS = ["name", "total", "day", "note"]
ROWS = [
    ("Ann, \"the\" buyer", decimal.Decimal("12.50"), dt.date(2024, 1, 31), None),
    ("Bob|Tab\tby", 3, dt.datetime(2024, 2, 1, 8, 30), "multi\nline"),
]


def test_csv_round_trips_through_the_csv_module() -> None:
    out = io.StringIO()
    write_delimited(out, COLUMNS, ROWS)
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert parsed[0] == COLUMNS
    assert parsed[1] == ['Ann, "the" buyer', "12.5", "2024-01-31", ""]
    assert parsed[2] == ["Bob|Tab\tby", "3", "2024-02-01T08:30:00", "multi\nline"]


def test_tsv_uses_tabs() -> None:
    out = io.StringIO()
    write_delimited(out, ["a", "b"], [(1, 2)], delimiter="\t")
    assert out.getvalue() == "a\tb\n1\t2\n"


def test_markdown_escapes_pipes_and_newlines() -> None:
    out = io.StringIO()
    write_markdown(out, COLUMNS, ROWS)
    lines = out.getvalue().splitlines()
    assert lines[0] == "| name | total | day | note |"
    assert lines[1] == "| --- | --- | --- | --- |"
    assert "Bob\\|Tab" in lines[3] and "multi line" in lines[3]
    assert len(lines) == 4


def test_json_and_jsonl() -> None:
    out = io.StringIO()
    write_json(out, {"rows": [[json_value(v) for v in ROWS[0]]]})
    assert json.loads(out.getvalue()) == {"rows": [['Ann, "the" buyer', 12.5, "2024-01-31", None]]}
    out = io.StringIO()
    write_jsonl_line(out, {"a": 1})
    write_jsonl_line(out, {"b": "é"})
    assert out.getvalue() == '{"a":1}\n{"b":"é"}\n'


def test_value_conversions() -> None:
    assert json_value(decimal.Decimal("10")) == 10
    assert json_value(decimal.Decimal("1E+2")) == 100
    assert json_value(decimal.Decimal("0.1")) == 0.1
    assert json_value(float("nan")) == "nan"
    assert json_value(b"\x00\x01") == "AAE="
    assert text_value(b"\x00\x01") == "0x0001"
    assert text_value(None) == ""
    assert text_value(0.1) == "0.1"
    assert json_value(dt.timedelta(minutes=1)) == 60.0
