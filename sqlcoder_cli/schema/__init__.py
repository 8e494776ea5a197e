"""What the model needs to know about the database: tables, columns, keys, comments."""

from __future__ import annotations

from .ddl import render_ddl
from .introspect import Column, ForeignKey, Schema, Table, introspect

__all__ = ["Column", "ForeignKey", "Schema", "Table", "introspect", "render_ddl"]
