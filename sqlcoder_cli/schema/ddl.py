"""Render a schema as the CREATE TABLE text SQLCoder was trained on.

Defog's sql-eval shows SQLCoder one ``CREATE TABLE`` block per table with Postgres-style types and
``--`` comments, followed by ``-- a.x can be joined with b.y`` hints. Matching that format is worth
accuracy points, so this renderer follows it rather than any database's own DDL.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError

from .introspect import Column, ForeignKey, Schema, Table

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
    return _normalize_type(type_text or "", dialect or "")


@lru_cache(maxsize=4096)  # a schema repeats a few dozen type names; parsing each is ~70 µs
def _normalize_type(type_text: str, dialect: str) -> str:
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


def _literal(value: str) -> str:
    return "'" + _one_line(value).replace("'", "''") + "'"


def table_ref(table: Table, dialect: str) -> str:
    """The table's name as the model should write it: qualified outside the default schema."""
    name = quote_identifier(table.name, dialect)
    return f"{quote_identifier(table.schema, dialect)}.{name}" if table.schema else name


#: longest default rendered in the DDL; longer ones (sequences, expressions) are noise to the model
_MAX_DEFAULT_LEN = 24


def _column_comment(col: Column, max_values: int) -> str:
    parts: list[str] = []
    if col.comment:
        parts.append(_one_line(col.comment))
    if col.enum_values:
        shown = col.enum_values[:max_values]
        more = ", ..." if len(col.enum_values) > len(shown) else ""
        parts.append("one of " + ", ".join(_literal(v) for v in shown) + more)
    elif col.sample_values:
        parts.append("e.g. " + ", ".join(_literal(v) for v in col.sample_values[:max_values]))
    return "; ".join(parts)


def _render_table(table: Table, dialect: str, *, indexes: bool = False, max_values: int = 8) -> str:
    lines: list[str] = []
    if table.comment:
        lines.append(f"-- {_one_line(table.comment)}")
    lines.append(f"CREATE TABLE {table_ref(table, dialect)} (")
    pk = table.primary_key
    body: list[tuple[str, str]] = []  # (definition, trailing comment)
    for col in table.columns:
        line = f"  {quote_identifier(col.name, dialect)} {normalize_type(col.type, dialect)}"
        if col.primary_key and len(pk) == 1:
            line += " PRIMARY KEY"
        elif not col.nullable and not col.primary_key:
            line += " NOT NULL"
        if col.unique and not col.primary_key:
            line += " UNIQUE"
        default = (col.default or "").strip()
        if default and len(default) <= _MAX_DEFAULT_LEN and "nextval(" not in default.lower() and not col.primary_key:
            line += f" DEFAULT {_one_line(default)}"
        body.append((line, _column_comment(col, max_values)))
    if len(pk) > 1:
        body.append(("  PRIMARY KEY (" + ", ".join(quote_identifier(c, dialect) for c in pk) + ")", ""))
    for cols in table.unique_constraints:
        body.append(("  UNIQUE (" + ", ".join(quote_identifier(c, dialect) for c in cols) + ")", ""))
    n = len(body)
    for i, (line, comment) in enumerate(body):
        if i < n - 1:
            line += ","
        if comment:
            line += f" -- {comment}"
        lines.append(line)
    lines.append(");")
    if indexes:
        for idx in table.indexes:
            cols = ", ".join(quote_identifier(c, dialect) for c in idx.columns)
            kind = "unique index" if idx.unique else "index"
            lines.append(f"-- {kind} {quote_identifier(idx.name, dialect)} on ({cols})")
    return "\n".join(lines)


def _referred(schema: Schema, fk: ForeignKey, owner: Table) -> Table | None:
    """The table a foreign key points at (same schema as ``owner`` unless it names another)."""
    ref_schema = fk.referred_schema
    for t in schema.tables:
        if t.name == fk.referred_table and t.schema == ref_schema:
            return t
    return schema.table(f"{ref_schema}.{fk.referred_table}" if ref_schema else fk.referred_table)


def join_hint_line(table: Table, column: str, referred: Table, referred_column: str, dialect: str) -> str:
    """``-- a.x can be joined with b.y``: the line SQLCoder was trained with for a foreign key."""
    return (
        f"-- {table_ref(table, dialect)}.{quote_identifier(column, dialect)} can be joined with "
        f"{table_ref(referred, dialect)}.{quote_identifier(referred_column, dialect)}"
    )


def join_hints(schema: Schema, tables: list[str] | None = None) -> list[str]:
    """``-- a.x can be joined with b.y`` lines for each foreign-key column pair among ``tables``."""
    chosen = _choose(schema, tables)
    ids = {id(t) for t in chosen}
    hints: list[str] = []
    d = schema.dialect
    for t in chosen:
        for fk in t.foreign_keys:
            ref = _referred(schema, fk, t)
            if ref is None or id(ref) not in ids:
                continue
            for col, ref_col in zip(fk.columns, fk.referred_columns):
                if t.column(col) is None or ref.column(ref_col) is None:
                    continue
                hint = join_hint_line(t, col, ref, ref_col, d)
                if hint not in hints:
                    hints.append(hint)
    return hints


def _choose(schema: Schema, tables: list[str] | None) -> list[Table]:
    if tables is None:
        return list(schema.tables)
    chosen: list[Table] = []
    for name in tables:
        t = schema.table(name)
        if t is not None and t not in chosen:
            chosen.append(t)
    return chosen


def render_ddl(schema: Schema, tables: list[str] | None = None, *, indexes: bool = False) -> str:
    """CREATE TABLE blocks for ``tables`` (all when None, in schema order), then join hints.

    Columns carry ``NOT NULL``/``UNIQUE``/short defaults inline and their comment, enum/CHECK value
    list or sampled values as a trailing ``--`` comment; ``indexes`` adds one comment line per index
    (off by default: it costs tokens and rarely changes the SQL a model writes).
    """
    blocks = [_render_table(t, schema.dialect, indexes=indexes) for t in _choose(schema, tables)]
    text = "\n\n".join(blocks)
    hints = join_hints(schema, tables)
    if hints:
        text += "\n\n" + "\n".join(hints)
    return text + "\n" if text else ""


def original_ddl(schema: Schema, tables: list[str] | None = None) -> str | None:
    """The tables' ``CREATE`` statements as the database itself keeps them, in the order they were
    created (``--raw``: the bare model sees the schema as the database states it, with its own
    comments and FOREIGN KEY clauses, not our rendering). None when any chosen table has no stored
    text (only SQLite keeps it), so the caller renders the DDL instead."""
    chosen = _choose(schema, tables)
    if not chosen or any(t.source_ddl is None for t in chosen):
        return None
    ordered = sorted(chosen, key=lambda t: (t.created_order is None, t.created_order or 0))
    return "\n\n".join(str(t.source_ddl).strip().rstrip(";").rstrip() + ";" for t in ordered) + "\n"
