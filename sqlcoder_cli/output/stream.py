"""Write rows as they arrive, for results too big to hold (``--all``).

Why separate from :mod:`.formats`: those writers take a finished list; these take an iterator
from :meth:`sqlcoder_cli.db.Database.iter_rows` and never hold more than one row, flushing every
few thousand rows so a reader downstream (``| head``, a pipe into another tool) sees progress and
memory stays flat however many rows the query returns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from .values import json_value, text_value

#: formats that can be written one row at a time (json and the table need the whole result)
STREAM_FORMATS = ("csv", "tsv", "jsonl")
#: rows between flushes
FLUSH_EVERY = 5000


def stream_rows(
    stream: TextIO,
    fmt: str,
    columns: Sequence[str],
    rows_iter: Iterable[Sequence[Any]],
    *,
    question: str | None = None,
    flush_every: int = FLUSH_EVERY,
) -> int:
    """Write every row of ``rows_iter`` to ``stream`` in ``fmt``; return how many were written.

    csv/tsv: a header row, then one line per row (NULL is empty). jsonl: one ``{column: value}``
    object per row; with ``question`` each object also carries it under ``"question"`` (unless a
    column has that name), so lines from several questions can be told apart.
    """
    if fmt not in STREAM_FORMATS:
        raise ValueError(f"cannot stream {fmt!r}; choose one of {', '.join(STREAM_FORMATS)}")
    names = [str(c) for c in columns]
    count = 0
    if fmt in ("csv", "tsv"):
        writer = csv.writer(stream, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(names)
        for row in rows_iter:
            writer.writerow([text_value(v) for v in row])
            count += 1
            if count % flush_every == 0:
                stream.flush()
    else:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        extra = {"question": question} if question is not None and "question" not in names else {}
        for row in rows_iter:
            obj = dict(extra)
            obj.update(zip(names, (json_value(v) for v in row)))
            stream.write(dumps(obj))
            stream.write("\n")
            count += 1
            if count % flush_every == 0:
                stream.flush()
    stream.flush()
    return count
