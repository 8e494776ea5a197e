"""What the model needs to know about the database: tables, columns, keys, comments, values."""

from __future__ import annotations

from .cache import database_key, load_schema
from .ddl import render_ddl
from .introspect import Column, ForeignKey, Index, Schema, Table, introspect
from .notes import NotesStore
from .prune import PrunedSchema, estimate_tokens, prune_schema

__all__ = [
    "Column",
    "ForeignKey",
    "Index",
    "NotesStore",
    "PrunedSchema",
    "Schema",
    "Table",
    "database_key",
    "estimate_tokens",
    "introspect",
    "load_schema",
    "prune_schema",
    "render_ddl",
]
