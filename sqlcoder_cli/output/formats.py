"""Writers for the machine-readable formats. Each writes to a text stream and nothing else."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from .values import text_value

#: Every ``--format`` value; ``table`` is drawn by the CLI with rich, the rest are written here.
FORMATS = ("table", "csv", "tsv", "json", "jsonl", "markdown")


def write_delimited(
    stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, delimiter: str = ","
) -> None:
    """RFC 4180 csv (or tsv) with a header row."""
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([text_value(v) for v in row])


def _markdown_cell(value: Any) -> str:
    return text_value(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def write_markdown(stream: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A GitHub-flavoured markdown table."""
    stream.write("| " + " | ".join(_markdown_cell(c) for c in columns) + " |\n")
    stream.write("|" + "|".join(" --- " for _ in columns) + "|\n")
    for row in rows:
        stream.write("| " + " | ".join(_markdown_cell(v) for v in row) + " |\n")


def write_json(stream: TextIO, obj: Any, *, indent: int | None = 2) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False, indent=indent))
    stream.write("\n")


def write_jsonl_line(stream: TextIO, obj: Any) -> None:
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    stream.write("\n")
    stream.flush()
