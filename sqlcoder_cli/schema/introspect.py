"""Read the database's schema through SQLAlchemy's inspector into plain dataclasses.

Why dataclasses and not SQLAlchemy's MetaData: they are cheap to cache as JSON, to prune for the
prompt, and to hand to sqlglot, and they do not tie the prompt code to a live connection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError

if TYPE_CHECKING:
    from ..db.connect import Database


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None
    comment: str | None = None


@dataclass
class ForeignKey:
    columns: list[str]
    referred_table: str
    referred_columns: list[str]
    referred_schema: str | None = None


@dataclass
class Table:
    name: str
    columns: list[Column]
    schema: str | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    comment: str | None = None
    is_view: bool = False

    def column(self, name: str) -> Column | None:
        """Case-insensitive column lookup."""
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)


@dataclass
class Schema:
    """All tables of one database, sorted by name; ``dialect`` is the sqlglot dialect."""

    dialect: str
    tables: list[Table]

    def table(self, name: str) -> Table | None:
        """Case-insensitive table lookup (exact match preferred)."""
        for t in self.tables:
            if t.name == name:
                return t
        low = name.lower()
        return next((t for t in self.tables if t.name.lower() == low), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        tables = []
        for t in d.get("tables", []):
            tables.append(
                Table(
                    name=t["name"],
                    columns=[Column(**c) for c in t.get("columns", [])],
                    schema=t.get("schema"),
                    foreign_keys=[ForeignKey(**fk) for fk in t.get("foreign_keys", [])],
                    comment=t.get("comment"),
                    is_view=bool(t.get("is_view", False)),
                )
            )
        return cls(dialect=d["dialect"], tables=tables)

    def as_sqlglot_mapping(self) -> dict[str, dict[str, str]]:
        """``{table: {column: type}}`` as sqlglot's optimizer (qualify, annotate_types) expects."""
        return {t.name: {c.name: c.type for c in t.columns} for t in self.tables}


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


def introspect(db: Database, *, include_views: bool = True) -> Schema:
    """The schema of ``db``'s default schema (``main`` for SQLite/DuckDB, ``public`` for Postgres)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from ..db.execute import one_line_error

    engine = db.engine
    try:
        with db.connect() as conn:
            if db.target.backend == "duckdb":
                # duckdb-engine's inspector queries pg_catalog tables DuckDB 2 no longer has;
                # DuckDB's own catalog functions are complete and fast.
                tables = _introspect_duckdb(conn, include_views)
                conn.rollback()
                return Schema(dialect=db.target.sqlglot_dialect, tables=tables)
            insp = inspect(conn)
            names = [(n, False) for n in insp.get_table_names()]
            if include_views:
                try:
                    names += [(n, True) for n in insp.get_view_names()]
                except NotImplementedError:
                    pass
            seen: set[str] = set()
            tables: list[Table] = []
            for name, is_view in sorted(names, key=lambda x: (x[0].lower(), x[0])):
                if name in seen:
                    continue
                seen.add(name)
                tables.append(_read_table(insp, name, is_view, engine.dialect))
            conn.rollback()
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot read the schema of {db.target.display}: {one_line_error(exc, [])}"
        ) from None
    return Schema(dialect=db.target.sqlglot_dialect, tables=tables)


def _safe(call: Any, default: Any) -> Any:

    try:
        return call()
    except NotImplementedError:
        return default


def _read_table(insp: Any, name: str, is_view: bool, dialect: Any) -> Table:
    cols = insp.get_columns(name)
    pk = _safe(lambda: insp.get_pk_constraint(name), {}) or {}
    pk_cols = set(pk.get("constrained_columns") or [])
    fks_raw = [] if is_view else (_safe(lambda: insp.get_foreign_keys(name), []) or [])
    comment = _safe(lambda: insp.get_table_comment(name), {}) or {}
    columns = [
        Column(
            name=c["name"],
            type=type_string(c["type"], dialect),
            nullable=bool(c.get("nullable", True)) and c["name"] not in pk_cols,
            primary_key=c["name"] in pk_cols,
            default=_default_string(c.get("default")),
            comment=c.get("comment") or None,
        )
        for c in cols
    ]
    foreign_keys = [
        ForeignKey(
            columns=list(fk.get("constrained_columns") or []),
            referred_table=fk["referred_table"],
            referred_columns=list(fk.get("referred_columns") or []),
            referred_schema=fk.get("referred_schema"),
        )
        for fk in fks_raw
        if fk.get("referred_table")
    ]
    return Table(
        name=name,
        columns=columns,
        foreign_keys=foreign_keys,
        comment=comment.get("text") or None,
        is_view=is_view,
    )


def _introspect_duckdb(conn: Any, include_views: bool) -> list[Table]:
    scope = "schema_name = current_schema() AND database_name = current_database()"

    def q(sql: str) -> list[Any]:
        return list(conn.exec_driver_sql(sql).fetchall())

    names: list[tuple[str, bool, str | None]] = [
        (r[0], False, r[1]) for r in q(f"SELECT table_name, comment FROM duckdb_tables() WHERE {scope}")
    ]
    if include_views:
        names += [
            (r[0], True, r[1])
            for r in q(f"SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND {scope}")
        ]
    columns: dict[str, list[tuple[Any, ...]]] = {}
    for r in q(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, comment "
        f"FROM duckdb_columns() WHERE {scope} ORDER BY table_name, column_index"
    ):
        columns.setdefault(r[0], []).append(r)
    pks: dict[str, set[str]] = {}
    fks: dict[str, list[ForeignKey]] = {}
    for table, kind, cols, ref_table, ref_cols in q(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        f"referenced_column_names FROM duckdb_constraints() WHERE {scope} ORDER BY table_name, constraint_index"
    ):
        if kind == "PRIMARY KEY":
            pks.setdefault(table, set()).update(cols or [])
        elif kind == "FOREIGN KEY" and ref_table:
            fks.setdefault(table, []).append(ForeignKey(list(cols or []), ref_table, list(ref_cols or [])))
    tables = []
    for name, is_view, comment in sorted(names, key=lambda x: (x[0].lower(), x[0])):
        pk = pks.get(name, set())
        tables.append(
            Table(
                name=name,
                columns=[
                    Column(
                        name=c[1],
                        type=str(c[2]),
                        nullable=bool(c[3]) and c[1] not in pk,
                        primary_key=c[1] in pk,
                        default=_default_string(c[4]),
                        comment=c[5] or None,
                    )
                    for c in columns.get(name, [])
                ],
                foreign_keys=fks.get(name, []),
                comment=comment or None,
                is_view=is_view,
            )
        )
    return tables
