"""Render a schema as the CREATE TABLE text SQLCoder was trained on.

Defog's sql-eval shows SQLCoder one ``CREATE TABLE`` block per table with Postgres-style types and
``--`` comments, followed by ``-- a.x can be joined with b.y`` hints. Matching that format is worth
accuracy points, so this renderer follows it rather than any database's own DDL.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError

from .introspect import Schema, Table

#: dialects that fold unquoted identifiers, so mixed-case names must be quoted to be found
_FOLDING_DIALECTS = {"postgres", "redshift", "oracle", "snowflake", "materialize", "risingwave"}
_SIMPLE_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOWER_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

_DT = exp.DataType.Type
_TYPE_NAMES: dict[exp.DataType.Type, str] = {
    _DT.TINYINT: "SMALLINT",
    _DT.SMALLINT: "SMALLINT",
    _DT.INT: "INTEGER",
    _DT.MEDIUMINT: "INTEGER",
    _DT.BIGINT: "BIGINT",
    _DT.FLOAT: "REAL",
    _DT.DOUBLE: "DOUBLE PRECISION",
    _DT.TEXT: "TEXT",
    _DT.MEDIUMTEXT: "TEXT",
    _DT.LONGTEXT: "TEXT",
    _DT.DATE: "DATE",
    _DT.DATETIME: "TIMESTAMP",
    _DT.TIMESTAMP: "TIMESTAMP",
    _DT.TIMESTAMPNTZ: "TIMESTAMP",
    _DT.TIMESTAMPTZ: "TIMESTAMPTZ",
    _DT.TIMESTAMPLTZ: "TIMESTAMPTZ",
    _DT.TIME: "TIME",
    _DT.BOOLEAN: "BOOLEAN",
    _DT.BLOB: "BYTEA",
    _DT.VARBINARY: "BYTEA",
    _DT.BINARY: "BYTEA",
    _DT.JSON: "JSON",
    _DT.JSONB: "JSONB",
    _DT.UUID: "UUID",
    _DT.INTERVAL: "INTERVAL",
}
_SIZED = {_DT.VARCHAR: "VARCHAR", _DT.NVARCHAR: "VARCHAR", _DT.CHAR: "CHAR", _DT.NCHAR: "CHAR",
          _DT.DECIMAL: "NUMERIC"}


#: names kept as written (sqlglot would rename them to something less familiar)
_PASS_THROUGH = {"REAL", "HUGEINT", "UHUGEINT", "BIGSERIAL", "SERIAL"}


def normalize_type(type_text: str, dialect: str = "") -> str:
    """A readable Postgres-ish name for a column type; unknown types are passed through."""
    raw = (type_text or "").strip()
    if not raw:
        return "TEXT"
    if raw.upper() in _PASS_THROUGH:
        return raw.upper()
    try:
        dt = exp.DataType.build(raw, dialect=dialect or None, udt=True)
    except (SqlglotError, ValueError, TypeError):
        return raw.upper()
    kind = dt.this
    params = [p.sql() for p in dt.expressions]
    if kind in _SIZED:
        name = _SIZED[kind]
        return f"{name}({', '.join(params)})" if params else ("TEXT" if name == "VARCHAR" else name)
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    if kind == _DT.USERDEFINED:
        return raw.upper()
    try:
        return dt.sql(dialect="postgres")
    except SqlglotError:
        return raw.upper()


def quote_identifier(name: str, dialect: str = "postgres") -> str:
    """``name`` as written in the prompt: bare when safe, else double-quoted with ``""`` escapes."""
    simple = _LOWER_IDENT.match(name) or (
        dialect not in _FOLDING_DIALECTS and _SIMPLE_IDENT.match(name) is not None
    )
    reserved = name.upper() in Postgres.Generator.RESERVED_KEYWORDS or name.lower() in _EXTRA_RESERVED
    if simple and not reserved:
        return name
    return '"' + name.replace('"', '""') + '"'


#: words Postgres reserves that sqlglot's postgres generator does not list
_EXTRA_RESERVED = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case",
    "cast", "check", "collate", "column", "constraint", "create", "current_catalog", "current_date",
    "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable",
    "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from",
    "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit",
    "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing",
    "primary", "references", "returning", "select", "session_user", "some", "symmetric", "table",
    "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where",
    "window", "with", "join", "left", "right", "inner", "outer", "full", "cross", "natural", "is",
    "like", "ilike", "between", "values", "by", "key",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _render_table(table: Table, dialect: str) -> str:
    lines: list[str] = []
    if table.comment:
        lines.append(f"-- {_one_line(table.comment)}")
    lines.append(f"CREATE TABLE {quote_identifier(table.name, dialect)} (")
    n = len(table.columns)
    for i, col in enumerate(table.columns):
        line = f"  {quote_identifier(col.name, dialect)} {normalize_type(col.type, dialect)}"
        if col.primary_key:
            line += " PRIMARY KEY"
        if i < n - 1:
            line += ","
        if col.comment:
            line += f" -- {_one_line(col.comment)}"
        lines.append(line)
    lines.append(");")
    return "\n".join(lines)


def join_hints(schema: Schema, tables: list[str] | None = None) -> list[str]:
    """``-- a.x can be joined with b.y`` lines for each foreign-key column pair among ``tables``."""
    chosen = _choose(schema, tables)
    names = {t.name.lower() for t in chosen}
    hints: list[str] = []
    d = schema.dialect
    for t in chosen:
        for fk in t.foreign_keys:
            if fk.referred_table.lower() not in names:
                continue
            for col, ref in zip(fk.columns, fk.referred_columns):
                hint = (
                    f"-- {quote_identifier(t.name, d)}.{quote_identifier(col, d)} can be joined with "
                    f"{quote_identifier(fk.referred_table, d)}.{quote_identifier(ref, d)}"
                )
                if hint not in hints:
                    hints.append(hint)
    return hints


def _choose(schema: Schema, tables: list[str] | None) -> list[Table]:
    if tables is None:
        return list(schema.tables)
    chosen = []
    for name in tables:
        t = schema.table(name)
        if t is not None and t not in chosen:
            chosen.append(t)
    return chosen


def render_ddl(schema: Schema, tables: list[str] | None = None) -> str:
    """CREATE TABLE blocks for ``tables`` (all when None, in schema order), then join hints."""
    blocks = [_render_table(t, schema.dialect) for t in _choose(schema, tables)]
    text = "\n\n".join(blocks)
    hints = join_hints(schema, tables)
    if hints:
        text += "\n\n" + "\n".join(hints)
    return text + "\n" if text else ""
