"""Every row of a query into a file (the REPL's ``\\export``; usable from Python): .csv, .tsv,
.json, .jsonl or .parquet, streamed from the database so a large result is never held whole
(parquet excepted: pyarrow builds its table in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..db.connect import Database

EXPORT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")


def export_rows(database: Database, sql: str, path: Path) -> int:
    """Every row of ``sql`` (not just the shown ones) into ``path``: .csv, .tsv, .json, .jsonl, .parquet."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise UsageError(f"cannot export to {path.name!r}", hint="use a .csv, .tsv, .json, .jsonl or .parquet file")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise UsageError(
                "exporting parquet needs pyarrow, which is not installed", hint="pip install pyarrow, or export .csv/.json"
            ) from None
    columns, rows = database.iter_rows(sql)
    try:
        if suffix == ".parquet":
            return _write_parquet(path, columns, rows)
        with open(path, "w", encoding="utf-8", newline="") as stream:
            if suffix in (".csv", ".tsv", ".jsonl"):
                from .stream import stream_rows

                return stream_rows(stream, suffix[1:], columns, rows)
            return _write_json_array(stream, columns, rows)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _write_json_array(stream: IO[str], columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    import json

    from .values import json_value

    count = 0
    stream.write("[")
    for row in rows:
        stream.write(",\n " if count else "\n ")
        stream.write(json.dumps(dict(zip(columns, (json_value(v) for v in row))), ensure_ascii=False))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count


def _write_parquet(path: Path, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .values import json_value

    data: list[dict[str, Any]] = [dict(zip(columns, (json_value(v) for v in row))) for row in rows]
    table = pa.Table.from_pylist(data) if data else pa.table({c: pa.array([], pa.null()) for c in columns})
    pq.write_table(table, path)
    return len(data)
