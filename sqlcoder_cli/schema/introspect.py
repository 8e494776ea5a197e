"""Read the database's schema into plain dataclasses.

Why dataclasses and not SQLAlchemy's MetaData: they are cheap to cache as JSON, to prune for the
prompt, and to hand to sqlglot, and they do not tie the prompt code to a live connection.

Three readers share one result shape:

- SQLite: the PRAGMAs plus the ``CREATE TABLE`` text SQLite keeps in ``sqlite_master``; that text is
  also where ``-- comments``, ``CHECK (x IN (...))`` lists and the like live, since SQLite has no
  comment catalog. Direct PRAGMAs are ~10x faster than SQLAlchemy's inspector on 500 tables.
- DuckDB: its ``duckdb_*()`` catalog functions (duckdb-engine's inspector queries pg_catalog tables
  that DuckDB 1.x/2.x no longer has).
- Everything else (PostgreSQL, MySQL, ...): SQLAlchemy's ``get_multi_*`` inspector calls, which
  Postgres answers with one catalog query per kind instead of one per table. On MySQL/MariaDB a
  "schema" is a database: only the one the URL names is read (the server may hold many), and
  CHECK constraints come from ``information_schema`` (SQLAlchemy sees only table-level ones).

Tables in the default schema (``main``/``public``/``search_path``) have ``Table.schema = None``;
tables of other schemas carry their schema name and are written qualified in the DDL.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError

if TYPE_CHECKING:
    from ..db.connect import Database

#: bumped when the JSON shape changes, so old cache files are rebuilt rather than misread
SCHEMA_FORMAT = 3  # 3: tables keep the database's own CREATE text and order

_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None
    comment: str | None = None
    #: all distinct values of a low-cardinality text column (None: not sampled or too many)
    sample_values: list[str] | None = None
    #: the complete list of allowed values (a Postgres/DuckDB ENUM or a ``CHECK (c IN (...))``)
    enum_values: list[str] | None = None
    #: a single-column UNIQUE constraint or unique index
    unique: bool = False


@dataclass
class ForeignKey:
    columns: list[str]
    referred_table: str
    referred_columns: list[str]
    #: None when the referred table is in the default schema
    referred_schema: str | None = None
    #: not declared by the database but implied by names (schema/joins.py); pruning drops these
    #: hints before any content when the budget is tight
    inferred: bool = False


@dataclass
class Index:
    name: str
    columns: list[str]
    unique: bool = False


@dataclass
class Table:
    name: str
    columns: list[Column]
    #: None for the default schema; else the namespace the table lives in
    schema: str | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    comment: str | None = None
    is_view: bool = False
    #: multi-column UNIQUE constraints (single-column ones are ``Column.unique``)
    unique_constraints: list[list[str]] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    #: rows, exact or the catalog's estimate; None when unknown
    row_count: int | None = None
    #: the statement that created the table as the database keeps it (SQLite's ``sqlite_master.sql``,
    #: comments and FOREIGN KEY clauses included), and its place in the order the tables were
    #: created: what ``--raw`` shows the bare model. None where the database keeps no text.
    source_ddl: str | None = None
    created_order: int | None = None

    def column(self, name: str) -> Column | None:
        """Case-insensitive column lookup (exact match preferred)."""
        for c in self.columns:
            if c.name == name:
                return c
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    @property
    def qualified_name(self) -> str:
        """``schema.name`` outside the default schema, else ``name`` (unquoted; for messages/keys)."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.columns if c.primary_key]


@dataclass
class Schema:
    """All tables of one database, sorted by (schema, name); ``dialect`` is the sqlglot dialect."""

    dialect: str
    tables: list[Table]
    #: the schema unqualified names resolve to ('main', 'public', ...); informational
    default_schema: str | None = None

    def table(self, name: str) -> Table | None:
        """Case-insensitive lookup by ``name`` or ``schema.name`` (exact match preferred)."""
        for t in self.tables:
            if t.name == name or t.qualified_name == name:
                return t
        low = name.lower()
        found = next((t for t in self.tables if t.qualified_name.lower() == low), None)
        if found is None:
            found = next((t for t in self.tables if t.schema is None and t.name.lower() == low), None)
        if found is None:
            found = next((t for t in self.tables if t.name.lower() == low), None)
        return found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so older readers keep working."""

        def pick(klass: Any, data: dict[str, Any]) -> dict[str, Any]:
            names = klass.__dataclass_fields__.keys()
            return {k: v for k, v in data.items() if k in names}

        tables = []
        for t in d.get("tables", []):
            tables.append(
                Table(
                    name=t["name"],
                    columns=[Column(**pick(Column, c)) for c in t.get("columns", [])],
                    schema=t.get("schema"),
                    foreign_keys=[ForeignKey(**pick(ForeignKey, fk)) for fk in t.get("foreign_keys", [])],
                    comment=t.get("comment"),
                    is_view=bool(t.get("is_view", False)),
                    unique_constraints=[list(u) for u in t.get("unique_constraints", [])],
                    indexes=[Index(**pick(Index, i)) for i in t.get("indexes", [])],
                    row_count=t.get("row_count"),
                    source_ddl=t.get("source_ddl"),
                    created_order=t.get("created_order"),
                )
            )
        return cls(dialect=d["dialect"], tables=tables, default_schema=d.get("default_schema"))

    def as_sqlglot_mapping(self) -> dict[str, Any]:
        """``{table: {column: type}}`` as sqlglot's optimizer expects (``{schema: {table: ...}}``
        entries are added for qualified tables only when no unqualified name would be shadowed)."""
        mapping: dict[str, Any] = {}
        for t in self.tables:
            if t.schema is None:
                mapping[t.name] = {c.name: c.type for c in t.columns}
        return mapping


def type_string(sa_type: Any, dialect: Any = None) -> str:
    """A readable SQL type for a SQLAlchemy type object ('VARCHAR(20)', 'NUMERIC(10, 2)')."""
    try:
        text = sa_type.compile(dialect=dialect) if dialect is not None else str(sa_type)
    except Exception:  # noqa: BLE001 - NullType and exotic driver types cannot compile
        text = getattr(sa_type, "__visit_name__", None) or type(sa_type).__name__
        text = "" if text in ("null", "NullType") else str(text).upper()
    return text


def _default_string(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _sort_key(t: Table) -> tuple[int, str, str, str]:
    return (0 if t.schema is None else 1, (t.schema or "").lower(), t.name.lower(), t.name)


def introspect(
    db: Database,
    *,
    include_views: bool = True,
    sample_values: bool = True,
    sample_budget_s: float = 2.0,
) -> Schema:
    """The schema of ``db``: the default schema plus any other user schemas.

    ``sample_values`` reads a bounded set of distinct values of low-cardinality text columns (see
    :mod:`.samples`); ``sample_budget_s`` caps the time spent on that for the whole database.
    """
    from ..db.execute import driver_errors

    backend = db.target.backend
    try:
        with db.connect() as conn:
            if backend == "sqlite":
                schema = Schema(db.target.sqlglot_dialect, _introspect_sqlite(conn, include_views), "main")
            elif backend == "duckdb":
                tables, default = _introspect_duckdb(conn, include_views)
                schema = Schema(db.target.sqlglot_dialect, tables, default)
            else:
                tables, default = _introspect_inspector(conn, include_views)
                schema = Schema(db.target.sqlglot_dialect, tables, default)
            conn.rollback()
            if sample_values:
                from .samples import sample_schema_values

                sample_schema_values(conn, schema, backend=backend, budget_s=sample_budget_s)
                conn.rollback()
    except driver_errors() as exc:
        raise DatabaseError(f"cannot read the schema of {db.target.display}: {db.explain_error(exc)}") from None
    return schema


# -- CHECK (... IN (...)) value lists ------------------------------------------------------------

_ANY_ARRAY = re.compile(
    r"^\(*\s*\(?\s*(?P<col>\"(?:[^\"]|\"\")+\"|[\w$]+)\s*\)?(?:::[\w ]+)?\s*=\s*ANY\s*\(\s*\(?\s*ARRAY\s*\[(?P<vals>.*)\]",
    re.I | re.S,
)
_PG_LITERAL = re.compile(r"'((?:[^']|'')*)'(?:::[\w ]+(?:\[\])?)?")


def check_value_lists(check_sql: str, dialect: str = "") -> dict[str, list[str]]:
    """``{column: [allowed values]}`` for ``col IN ('a', 'b')`` and Postgres' ``col = ANY (ARRAY[...])``.

    Why: a coded column's allowed values are what the model most often guesses wrong ('Shipped'
    vs 'shipped'); a CHECK list is the authoritative answer and costs a few tokens.
    """
    found: dict[str, list[str]] = {}
    text = check_sql.strip()
    m = _ANY_ARRAY.match(text)
    if m:
        col = m.group("col")
        col = col[1:-1].replace('""', '"') if col.startswith('"') else col
        vals = [v.replace("''", "'") for v in _PG_LITERAL.findall(m.group("vals"))]
        if vals:
            found[col] = vals
        return found
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(text, dialect=dialect or None)
    except (SqlglotError, ValueError):
        return found
    for node in tree.find_all(exp.In):
        if not isinstance(node.this, exp.Column) or node.args.get("query") or isinstance(node.parent, exp.Not):
            continue
        values = []
        for e in node.expressions:
            while isinstance(e, exp.Cast):
                e = e.this
            if not (isinstance(e, exp.Literal) and e.is_string):
                values = []
                break
            values.append(e.this)
        if values:
            found[node.this.name] = values
    return found


# -- SQLite --------------------------------------------------------------------------------------

_CONSTRAINT_WORDS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
_BARE_NAME = re.compile(r"[^\s(),]+")


@dataclass
class _CreateInfo:
    table_comment: str | None = None
    column_comments: dict[str, str] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


def _first_name(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    closers = {'"': '"', "`": "`", "[": "]"}
    if text[0] in closers:
        close = closers[text[0]]
        out, i = [], 1
        while i < len(text):
            if text[i] == close:
                if close != "]" and i + 1 < len(text) and text[i + 1] == close:
                    out.append(close)
                    i += 2
                    continue
                return "".join(out)
            out.append(text[i])
            i += 1
        return "".join(out)
    if text[0] == "'":
        return _first_name('"' + text[1:].replace("'", '"'))
    m = _BARE_NAME.match(text)
    return m.group(0) if m else None


def parse_create_table(sql: str) -> _CreateInfo:
    """Comments and CHECK expressions from a ``CREATE TABLE`` statement's text.

    SQLite keeps the statement exactly as written, so ``name TEXT, -- what it means`` comments are
    the only column documentation a SQLite database can carry. A comment on the same line as a
    column definition belongs to it (also when the comma comes first); a comment on a line of its
    own belongs to the next definition; comments before the opening parenthesis (or on its line)
    describe the table.
    """
    info = _CreateInfo()
    table_comments: list[str] = []
    defs: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    cur: list[str] = []
    cur_comments: list[str] = []
    cur_code_line = -1
    prev_end_line = -1
    open_line = -1
    depth = 0
    line = 0
    i, n = 0, len(sql)

    def attach(text: str, own_line: bool) -> None:
        if not text:
            return
        if depth == 0:
            if open_line < 0:
                table_comments.append(text)
            return
        if depth > 1 or (cur_code_line == line and "".join(cur).strip()):
            cur_comments.append(text)
        elif defs and prev_end_line == line:
            defs[-1][1].append(text)
        elif not defs and not "".join(cur).strip() and line == open_line:
            table_comments.append(text)
        else:
            pending.append(text)

    def finish() -> None:
        nonlocal cur, cur_comments
        text = "".join(cur).strip()
        if text:
            defs.append((text, cur_comments))
        cur, cur_comments = [], []

    while i < n:
        ch = sql[i]
        if ch == "\n":
            line += 1
            if depth >= 1:
                cur.append(" ")
            i += 1
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            attach(sql[i + 2 : j].strip(), True)
            i = j
            continue
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j
            body = sql[i + 2 : j]
            attach(" ".join(body.split()), True)
            line += body.count("\n")
            i = j + 2
            continue
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            j = i + 1
            while j < n:
                if sql[j] == close:
                    if close != "]" and j + 1 < n and sql[j + 1] == close:
                        j += 2
                        continue
                    break
                j += 1
            chunk = sql[i : j + 1]
            line += chunk.count("\n")
            if depth >= 1:
                if not "".join(cur).strip() and pending:
                    cur_comments.extend(pending)
                    pending.clear()
                cur.append(chunk)
                cur_code_line = line
            i = j + 1
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                open_line = line
                i += 1
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                finish()
                i += 1
                continue
        elif ch == "," and depth == 1:
            finish()
            prev_end_line = line
            i += 1
            continue
        if depth >= 1:
            if not ch.isspace():
                if not "".join(cur).strip() and pending:
                    cur_comments.extend(pending)
                    pending.clear()
                cur_code_line = line
            cur.append(ch)
        i += 1

    info.table_comment = " ".join(table_comments) or None
    for text, comments in defs:
        first = text.split(None, 1)[0].upper() if text.split() else ""
        for m in re.finditer(r"\bCHECK\s*\(", text, re.I):
            start = m.end() - 1
            level, k = 0, start
            while k < len(text):
                if text[k] == "(":
                    level += 1
                elif text[k] == ")":
                    level -= 1
                    if level == 0:
                        break
                k += 1
            info.checks.append(text[start + 1 : k])
        if first in _CONSTRAINT_WORDS:
            continue
        name = _first_name(text)
        if name and comments:
            info.column_comments[name] = " ".join(comments)
    return info


def _introspect_sqlite(conn: Any, include_views: bool) -> list[Table]:
    raw = conn.connection.dbapi_connection

    def q(sql: str) -> list[Any]:
        return list(raw.execute(sql).fetchall())

    def lit(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    kinds = ("table", "view") if include_views else ("table",)
    objects = [
        (name, kind, sql or "")
        for name, kind, sql in q("SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY rowid")
        if kind in kinds and not name.startswith("sqlite_")
    ]
    tables: list[Table] = []
    for order, (name, kind, create_sql) in enumerate(objects):
        is_view = kind == "view"
        info = parse_create_table(create_sql) if not is_view else _CreateInfo()
        cols_raw = q(f"PRAGMA table_xinfo({lit(name)})")
        # cid, name, type, notnull, dflt_value, pk, hidden
        pk_cols = sorted((r for r in cols_raw if r[5]), key=lambda r: r[5])
        pk_names = {r[1] for r in pk_cols}
        checks: dict[str, list[str]] = {}
        for expr in info.checks:
            for col, values in check_value_lists(expr, "sqlite").items():
                checks[col.lower()] = values
        columns = [
            Column(
                name=r[1],
                type=r[2] or "",
                nullable=not r[3] and r[1] not in pk_names,
                primary_key=r[1] in pk_names,
                default=_default_string(r[4]),
                comment=info.column_comments.get(r[1]) or None,
                enum_values=checks.get(r[1].lower()),
            )
            for r in cols_raw
            if len(r) < 7 or r[6] in (0, 2, 3)
        ]
        fks: dict[int, ForeignKey] = {}
        if not is_view:
            for r in sorted(q(f"PRAGMA foreign_key_list({lit(name)})"), key=lambda r: (r[0], r[1])):
                # id, seq, table, from, to, on_update, on_delete, match
                fk = fks.setdefault(r[0], ForeignKey([], r[2], []))
                fk.columns.append(r[3])
                fk.referred_columns.append(r[4])
        for fk in fks.values():  # "REFERENCES t" without columns means t's primary key
            if any(c is None for c in fk.referred_columns):
                target_pk = [
                    r[1] for r in sorted(q(f"PRAGMA table_info({lit(fk.referred_table)})"), key=lambda r: r[5]) if r[5]
                ]
                fk.referred_columns = target_pk[: len(fk.columns)] or [c or "" for c in fk.referred_columns]
        uniques: list[list[str]] = []
        indexes: list[Index] = []
        if not is_view:
            for r in q(f"PRAGMA index_list({lit(name)})"):
                # seq, name, unique, origin ('c' create index, 'u' unique, 'pk'), partial
                idx_name, unique, origin = r[1], bool(r[2]), r[3]
                if origin == "pk":
                    continue
                cols = [c[2] for c in sorted(q(f"PRAGMA index_info({lit(idx_name)})"), key=lambda c: c[0])]
                if any(c is None for c in cols):
                    continue  # expression index
                if unique:
                    if len(cols) == 1:
                        col = next((c for c in columns if c.name == cols[0]), None)
                        if col is not None:
                            col.unique = True
                    elif cols not in uniques:
                        uniques.append(cols)
                if origin == "c":
                    indexes.append(Index(idx_name, cols, unique))
        tables.append(
            Table(
                name=name,
                columns=columns,
                foreign_keys=list(fks.values()),
                comment=info.table_comment,
                is_view=is_view,
                unique_constraints=uniques,
                indexes=sorted(indexes, key=lambda x: x.name),
                source_ddl=create_sql.strip() or None,
                created_order=order,
            )
        )
    return sorted(tables, key=_sort_key)


# -- DuckDB --------------------------------------------------------------------------------------

_DUCK_ENUM = re.compile(r"^ENUM\((.*)\)$", re.S | re.I)


def _introspect_duckdb(conn: Any, include_views: bool) -> tuple[list[Table], str]:
    def q(sql: str) -> list[Any]:
        return list(conn.exec_driver_sql(sql).fetchall())

    default = q("SELECT current_schema()")[0][0]
    scope = (
        "database_name = current_database() AND schema_name NOT IN ('information_schema', 'pg_catalog')"
    )

    def sch(s: str) -> str | None:
        return None if s == default else s

    names: list[tuple[str | None, str, bool, str | None, int | None]] = [
        (sch(r[0]), r[1], False, r[2], r[3])
        for r in q(f"SELECT schema_name, table_name, comment, estimated_size FROM duckdb_tables() WHERE {scope}")
    ]
    if include_views:
        names += [
            (sch(r[0]), r[1], True, r[2], None)
            for r in q(f"SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal AND {scope}")
        ]
    columns: dict[tuple[str | None, str], list[tuple[Any, ...]]] = {}
    for r in q(
        "SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default, comment "
        f"FROM duckdb_columns() WHERE {scope} ORDER BY schema_name, table_name, column_index"
    ):
        columns.setdefault((sch(r[0]), r[1]), []).append(r[2:])
    pks: dict[tuple[str | None, str], list[str]] = {}
    fks: dict[tuple[str | None, str], list[ForeignKey]] = {}
    uniques: dict[tuple[str | None, str], list[list[str]]] = {}
    checks: dict[tuple[str | None, str], dict[str, list[str]]] = {}
    for s, table, kind, cols, ref_table, ref_cols, expression in q(
        "SELECT schema_name, table_name, constraint_type, constraint_column_names, referenced_table, "
        f"referenced_column_names, expression FROM duckdb_constraints() WHERE {scope} "
        "ORDER BY schema_name, table_name, constraint_index"
    ):
        key = (sch(s), table)
        if kind == "PRIMARY KEY":
            pks[key] = [c for c in (cols or []) if c not in pks.get(key, [])] + pks.get(key, [])
        elif kind == "FOREIGN KEY" and ref_table:
            fk = ForeignKey(list(cols or []), ref_table, list(ref_cols or []), referred_schema=key[0])
            if fk not in fks.setdefault(key, []):
                fks[key].append(fk)
        elif kind == "UNIQUE" and cols:
            if list(cols) not in uniques.setdefault(key, []):
                uniques[key].append(list(cols))
        elif kind == "CHECK" and expression:
            checks.setdefault(key, {}).update(
                {c.lower(): v for c, v in check_value_lists(expression, "duckdb").items()}
            )
    indexes: dict[tuple[str | None, str], list[Index]] = {}
    try:
        for s, table, idx_name, unique, expr in q(
            f"SELECT schema_name, table_name, index_name, is_unique, expressions FROM duckdb_indexes() WHERE {scope}"
        ):
            cols = [c.strip().strip('"') for c in str(expr or "").strip("[]").split(",") if c.strip()]
            indexes.setdefault((sch(s), table), []).append(Index(idx_name, cols, bool(unique)))
    except Exception:  # noqa: BLE001 - older DuckDB versions lack the expressions column
        conn.rollback()
    tables = []
    for s, name, is_view, comment, size in names:
        key = (s, name)
        pk = set(pks.get(key, []))
        single_unique = {u[0] for u in uniques.get(key, []) if len(u) == 1}
        table_checks = checks.get(key, {})
        cols = []
        for c in columns.get(key, []):
            col_name, data_type = c[0], str(c[1])
            m = _DUCK_ENUM.match(data_type)
            enum_values = [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(1))] if m else None
            cols.append(
                Column(
                    name=col_name,
                    type="ENUM" if m else data_type,
                    nullable=bool(c[2]) and col_name not in pk,
                    primary_key=col_name in pk,
                    default=_default_string(c[3]),
                    comment=c[4] or None,
                    enum_values=enum_values or table_checks.get(col_name.lower()),
                    unique=col_name in single_unique,
                )
            )
        tables.append(
            Table(
                name=name,
                columns=cols,
                schema=s,
                foreign_keys=fks.get(key, []),
                comment=comment or None,
                is_view=is_view,
                unique_constraints=[u for u in uniques.get(key, []) if len(u) > 1],
                indexes=sorted(indexes.get(key, []), key=lambda x: x.name),
                row_count=int(size) if size is not None else None,
            )
        )
    return sorted(tables, key=_sort_key), default


# -- SQLAlchemy inspector (PostgreSQL, MySQL, ...) -------------------------------------------------


def _introspect_inspector(conn: Any, include_views: bool) -> tuple[list[Table], str | None]:
    from sqlalchemy import inspect
    from sqlalchemy.engine.reflection import ObjectKind

    insp = inspect(conn)
    dialect = conn.dialect
    default = insp.default_schema_name
    mysql = dialect.name in ("mysql", "mariadb")
    try:
        schema_names = [s for s in insp.get_schema_names() if s not in _SYSTEM_SCHEMAS and not s.startswith("pg_")]
    except NotImplementedError:
        schema_names = [default]
    if mysql and default is not None:
        schema_names = [default]  # the database the URL names, not every database on the server
    if default not in schema_names:
        schema_names.insert(0, default)
    # SQLAlchemy reads MySQL's names from SHOW CREATE TABLE and keeps a backquote doubled there
    name_of = (lambda n: n.replace("``", "`") if isinstance(n, str) else n) if mysql else (lambda n: n)
    mysql_checks = _mysql_check_clauses(conn) if mysql else {}
    kind = ObjectKind.TABLE | (ObjectKind.VIEW | ObjectKind.MATERIALIZED_VIEW if include_views else ObjectKind.TABLE)

    def multi(method: str, s: str | None) -> dict[Any, Any]:
        try:
            return dict(getattr(insp, f"get_multi_{method}")(schema=s, kind=kind))
        except NotImplementedError:
            return {}

    estimates = _row_estimates(conn) if dialect.name == "postgresql" else {}
    tables: list[Table] = []
    for s in schema_names:
        arg = None if s == default else s
        views: set[str] = set()
        if include_views:
            for getter in ("get_view_names", "get_materialized_view_names"):
                try:
                    views.update(getattr(insp, getter)(schema=arg))
                except NotImplementedError:
                    pass
        cols_all = multi("columns", arg)
        pks_all = multi("pk_constraint", arg)
        fks_all = multi("foreign_keys", arg)
        comments_all = multi("table_comment", arg)
        uniques_all = multi("unique_constraints", arg)
        checks_all = multi("check_constraints", arg)
        indexes_all = multi("indexes", arg)
        for key, cols in cols_all.items():
            name = key[1]
            pk = [name_of(c) for c in (pks_all.get(key) or {}).get("constrained_columns") or []]
            check_lists: dict[str, list[str]] = {}
            clauses = [str(chk.get("sqltext") or "") for chk in checks_all.get(key, []) or []]
            for clause in clauses + mysql_checks.get((s, name), []):
                for col, values in check_value_lists(clause, "mysql" if mysql else "postgres").items():
                    check_lists[col.lower()] = values
            for c in cols:
                c["name"] = name_of(c["name"])
            uniq = [[name_of(c) for c in u.get("column_names") or []] for u in uniques_all.get(key, []) or []]
            idx = [
                Index(str(i.get("name")), [name_of(c) for c in (i.get("column_names") or []) if c], bool(i.get("unique")))
                for i in indexes_all.get(key, []) or []
                if i.get("name") and all(i.get("column_names") or [None])
            ]
            uniq_single = {u[0] for u in uniq if len(u) == 1} | {
                i.columns[0] for i in idx if i.unique and len(i.columns) == 1
            }
            columns = []
            for c in cols:
                enums = getattr(c["type"], "enums", None)
                columns.append(
                    Column(
                        name=c["name"],
                        type=getattr(c["type"], "name", None) or type_string(c["type"], dialect)
                        if enums
                        else type_string(c["type"], dialect),
                        nullable=bool(c.get("nullable", True)) and c["name"] not in pk,
                        primary_key=c["name"] in pk,
                        default=_default_string(c.get("default")),
                        comment=c.get("comment") or None,
                        enum_values=list(enums) if enums else check_lists.get(c["name"].lower()),
                        unique=c["name"] in uniq_single and c["name"] not in pk,
                    )
                )
            fks = [
                ForeignKey(
                    columns=[name_of(c) for c in fk.get("constrained_columns") or []],
                    referred_table=name_of(fk["referred_table"]),
                    referred_columns=[name_of(c) for c in fk.get("referred_columns") or []],
                    referred_schema=None if fk.get("referred_schema") in (None, default) else fk.get("referred_schema"),
                )
                for fk in fks_all.get(key, []) or []
                if fk.get("referred_table")
            ]
            comment = (comments_all.get(key) or {}).get("text")
            tables.append(
                Table(
                    name=name,
                    columns=columns,
                    schema=arg,
                    foreign_keys=fks,
                    comment=comment or None,
                    is_view=name in views,
                    unique_constraints=[u for u in uniq if len(u) > 1],
                    indexes=sorted((i for i in idx if not (i.unique and i.columns in uniq)), key=lambda x: x.name),
                    row_count=estimates.get((s, name)),
                )
            )
    return sorted(tables, key=_sort_key), default


def _mysql_check_clauses(conn: Any) -> dict[tuple[str, str], list[str]]:
    """``{(database, table): [CHECK clause]}`` of the connection's database, column-level checks
    included (MariaDB 10.2+ and MySQL 8.0.16+ list them; older servers: none)."""
    queries = (
        # MariaDB names the table in CHECK_CONSTRAINTS (constraint names repeat across tables)
        "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = DATABASE()",
        "SELECT tc.TABLE_SCHEMA, tc.TABLE_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc"
        " JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA"
        " AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = DATABASE()",
    )
    from ..db.execute import driver_errors

    for query in queries:
        try:  # a failed statement leaves a MySQL transaction usable
            rows = conn.exec_driver_sql(query).fetchall()
        except driver_errors():
            continue
        found: dict[tuple[str, str], list[str]] = {}
        for schema, table, clause in rows:
            found.setdefault((str(schema), str(table)), []).append(str(clause))
        return found
    return {}


def _row_estimates(conn: Any) -> dict[tuple[str, str], int]:
    """Postgres' planner estimate (``reltuples``; -1 or 0 before the first ANALYZE means unknown)."""
    rows = conn.exec_driver_sql(
        "SELECT n.nspname, c.relname, c.reltuples::bigint FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm')"
    ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows if r[2] is not None and r[2] > 0}
