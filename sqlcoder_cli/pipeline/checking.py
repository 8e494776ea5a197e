"""Making SQL fit to run: the read-only guard in the SQL's own dialect, translation to the
database's dialect, the connection's own guard, and the schema check (with mending).

Mending changes a query without asking the model again (a column moved to the alias that has it,
Postgres date arithmetic rewritten for SQLite), so what it changed is returned with the SQL
(:class:`PreparedSQL`): users are told, and the JSON says so (``mended``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SQLValidationError

if TYPE_CHECKING:
    from .session import Session

#: what a date mend is reported as (one line, for stderr and the JSON's ``mended``)
DATE_MEND = "date arithmetic SQLite lacks (INTERVAL, DATE_SUB, DATE_TRUNC, EXTRACT, ::) rewritten with SQLite's date functions"


@dataclass(frozen=True)
class PreparedSQL:
    """SQL ready to run on the database, and what mending changed to get there."""

    sql: str
    mended: tuple[str, ...] = ()


def prepare_sql(session: Session, sql: str, *, source_dialect: str | None = None) -> str:
    """Guard ``sql`` in its own dialect, translate it to the database's, guard and validate again."""
    return prepare(session, sql, source_dialect=source_dialect).sql


def prepare(session: Session, sql: str, *, source_dialect: str | None = None) -> PreparedSQL:
    """:func:`prepare_sql`, saying what mending changed."""
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
    mended: list[str] = []
    # in one dialect translation is the identity (stripped, no trailing ';'), so any other change
    # is the date mend; across dialects a rewrite is the translation itself (--show-dialect)
    if source == target and settings.mend and native != sql.strip().rstrip(";").strip():
        mended.append(DATE_MEND)
    database.guard(native)
    if settings.validate:
        checked = check_and_mend(session, native)
        native = checked.sql
        mended.extend(checked.mended)
    return PreparedSQL(native, tuple(mended))


def check_against_schema(session: Session, sql: str) -> str:
    """The SQL to run after the schema check (see :func:`check_and_mend`)."""
    return check_and_mend(session, sql).sql


def check_and_mend(session: Session, sql: str) -> PreparedSQL:
    """Unknown tables or columns are caught here, before the database sees the query; with
    ``mend``, columns on the wrong alias are first moved to the one table of their SELECT that
    has them (sql/repair.py), when the mended query then validates clean."""
    from ..sql.validate import validate_sql

    mapping = session.schema.as_sqlglot_mapping()
    dialect = session.database.target.sqlglot_dialect
    issues = validate_sql(sql, mapping, dialect=dialect)
    if not issues:
        return PreparedSQL(sql)
    if session.settings.mend and any(issue.kind == "unknown_column" for issue in issues):
        from ..sql.repair import requalify

        mended = requalify(sql, mapping, dialect=dialect)
        if mended is not None and not validate_sql(mended.sql, mapping, dialect=dialect):
            return PreparedSQL(mended.sql, tuple(f"column on the wrong alias: {move}" for move in mended.moves))
    raise SQLValidationError(issues, sql=sql)
