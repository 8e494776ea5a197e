"""Making SQL fit to run: the read-only guard in the SQL's own dialect, translation to the
database's dialect, the connection's own guard, and the schema check (with mending)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SQLValidationError

if TYPE_CHECKING:
    from .session import Session


def prepare_sql(session: Session, sql: str, *, source_dialect: str | None = None) -> str:
    """Guard ``sql`` in its own dialect, translate it to the database's, guard and validate again."""
    from ..sql.guard import check_read_only
    from ..sql.transpile import transpile_sql

    settings = session.settings
    database = session.database
    target = database.target.sqlglot_dialect
    source = source_dialect or target
    check_read_only(sql, source)
    # column types let Postgres date arithmetic become the target's (e.g. SQLite's JULIANDAY)
    mapping = session.schema.as_sqlglot_mapping() if source != target else None
    native = transpile_sql(sql, source=source, target=target, schema=mapping, mend_dates=settings.mend)
    database.guard(native)
    if settings.validate:
        native = check_against_schema(session, native)
    return native


def check_against_schema(session: Session, sql: str) -> str:
    """Unknown tables or columns are caught here, before the database sees the query; with
    ``mend``, columns on the wrong alias are first moved to the one table of their SELECT that
    has them (sql/repair.py), when the mended query then validates clean. Returns the SQL to run."""
    from ..sql.validate import validate_sql

    mapping = session.schema.as_sqlglot_mapping()
    dialect = session.database.target.sqlglot_dialect
    issues = validate_sql(sql, mapping, dialect=dialect)
    if not issues:
        return sql
    if session.settings.mend and any(issue.kind == "unknown_column" for issue in issues):
        from ..sql.repair import requalify_columns

        mended = requalify_columns(sql, mapping, dialect=dialect)
        if mended is not None and not validate_sql(mended, mapping, dialect=dialect):
            return mended
    raise SQLValidationError(issues, sql=sql)
