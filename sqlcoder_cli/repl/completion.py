"""Tab completion: meta-commands at the start of a line, then table and column names.

The names come from a callable (the session's schema, read once and cached on disk), so the
completer never blocks on the model and a database switch is picked up at the next Tab.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..output.formats import FORMATS
from .commands import ALIASES, META_COMMANDS

if TYPE_CHECKING:
    from ..schema.introspect import Schema

#: meta-commands whose argument is a file name
_FILE_COMMANDS = {"save", "export"}
_EXPORT_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet")


def schema_names(schema: Schema | None) -> tuple[list[str], dict[str, list[str]]]:
    """(table names, {table: column names}) of a schema; empty when there is none."""
    if schema is None:
        return [], {}
    tables = [t.qualified_name for t in schema.tables]
    columns = {t.qualified_name: [c.name for c in t.columns] for t in schema.tables}
    return tables, columns


def candidates(text_before_cursor: str, tables: Iterable[str], columns: dict[str, list[str]]) -> list[str]:
    """The completions for the word before the cursor (plain strings, for tests and the completer).

    - ``\\sch`` / ``.sch`` at the start → meta-commands (in the spelling typed);
    - after ``\\schema `` → table names; after ``\\format `` → formats;
    - ``table.co`` → that table's columns;
    - any other word → tables first, then columns of every table (each name once).
    """
    tables = list(tables)
    stripped = text_before_cursor.lstrip()
    meta = re.match(r"^([\\.])([\w-]*)$", stripped)
    if meta:
        prefix = meta.group(2).lower()
        names = [n for n in [*META_COMMANDS, *ALIASES] if n.startswith(prefix)]
        # the full names first, aliases after
        return [meta.group(1) + n for n in dict.fromkeys(names)]
    arg = re.match(r"^[\\.](\w+)\s+(\S*)$", stripped)
    if arg:
        command, word = arg.group(1).lower(), arg.group(2)
        if command == "schema":
            return [t for t in tables if t.lower().startswith(word.lower())]
        if command == "format":
            return [f for f in FORMATS if f.startswith(word.lower())]
        if command in _FILE_COMMANDS:
            return []
    dotted = re.search(r"([\w]+)\.([\w]*)$", text_before_cursor)
    if dotted:
        table, prefix = dotted.group(1), dotted.group(2).lower()
        match = next((t for t in tables if t.lower() == table.lower()), None)
        if match is not None:
            return [c for c in columns.get(match, []) if c.lower().startswith(prefix)]
    word_match = re.search(r"(\w+)$", text_before_cursor)
    if not word_match:
        return []
    word = word_match.group(1).lower()
    found = [t for t in tables if t.lower().startswith(word)]
    for table in tables:
        found += [c for c in columns.get(table, []) if c.lower().startswith(word)]
    return [name for name in dict.fromkeys(found) if name.lower() != word]


class ReplCompleter(Completer):
    """prompt_toolkit completer over :func:`candidates`, plus file names for ``\\save``/``\\export``."""

    def __init__(self, get_schema: Callable[[], Schema | None]) -> None:
        self._get_schema = get_schema
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        file_arg = re.match(r"^\s*[\\.](\w+)\s+(\S*)$", before)
        if file_arg and file_arg.group(1).lower() in _FILE_COMMANDS:
            sub = Document(file_arg.group(2), len(file_arg.group(2)))
            yield from self._paths.get_completions(sub, complete_event)
            return
        try:
            schema = self._get_schema()
        except Exception:  # noqa: BLE001 - completion must never break the prompt
            schema = None
        tables, columns = schema_names(schema)
        meta = re.match(r"^\s*([\\.][\w-]*)$", before)
        if meta:
            word = meta.group(1)
        else:
            m = re.search(r"(\w*)$", before)
            word = m.group(1) if m else ""
        for name in candidates(before, tables, columns):
            meta_text = "meta-command" if name[:1] in "\\." else ("table" if name in tables else "column")
            yield Completion(name, start_position=-len(word), display_meta=meta_text)
