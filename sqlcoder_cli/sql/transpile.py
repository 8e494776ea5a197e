"""Translate the model's SQL dialect into the database's, and name dialects consistently.

SQLCoder was trained on PostgreSQL, so it writes ``ILIKE``, ``DATE_TRUNC`` and ``::`` casts even when
the database is SQLite; sqlglot rewrites those so the query runs where it is sent. The one mapping
from SQLAlchemy backend names to sqlglot dialect names lives here so ``db`` and ``sql`` agree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from ..errors import SQLGenerationError

#: Dialect used when a backend is unknown to sqlglot. Postgres is the most standard of sqlglot's
#: dialects and what SQLCoder writes, so it is the least surprising default.
DEFAULT_DIALECT = "postgres"

#: SQLAlchemy backend name (``make_url(url).get_backend_name()``) -> sqlglot dialect name.
BACKEND_TO_SQLGLOT: dict[str, str] = {
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "postgres": "postgres",
    "cockroachdb": "postgres",
    "redshift": "redshift",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "trino": "trino",
    "presto": "presto",
    "awsathena": "athena",
    "clickhouse": "clickhouse",
    "clickhousedb": "clickhouse",
    "databricks": "databricks",
    "hive": "hive",
    "spark": "spark",
    "teradatasql": "teradata",
    "teradata": "teradata",
    "drill": "drill",
    "druid": "druid",
    "doris": "doris",
    "starrocks": "starrocks",
    "singlestoredb": "singlestore",
    "risingwave": "risingwave",
    "materialize": "materialize",
    "exasol": "exasol",
}


def sqlglot_dialect_for(backend: str) -> str:
    """sqlglot dialect name for a SQLAlchemy backend name.

    Unknown backends map to themselves when sqlglot has a dialect of that name, otherwise to
    :data:`DEFAULT_DIALECT` (``postgres``), so callers always get a usable dialect.
    """
    key = backend.lower().split("+", 1)[0]
    if key in BACKEND_TO_SQLGLOT:
        return BACKEND_TO_SQLGLOT[key]
    if key and key in Dialect.classes:
        return key
    return DEFAULT_DIALECT


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's 'falling back to parsing as a Command' warnings while we parse.

    Why: without logging configured, Python prints them to stderr, which would garble the CLI's
    output; we report unparseable or unsupported SQL ourselves.
    """
    logger = logging.getLogger("sqlglot")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def first_error_line(exc: BaseException) -> str:
    """The first line of an exception's message (sqlglot's messages carry a multi-line excerpt)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def transpile_sql(sql: str, *, source: str, target: str) -> str:
    """Rewrite one statement from dialect ``source`` to dialect ``target``.

    Identity (only stripped, trailing ``;`` dropped) when both dialects are the same, so a query
    that already runs is never reformatted needlessly.
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SQLGenerationError("the model returned no SQL")
    if source == target:
        return text
    try:
        with quiet_sqlglot():
            trees = [t for t in sqlglot.parse(text, read=source) if t is not None]
            if target == "sqlite":
                trees = [t.transform(_sqlite_fixup) for t in trees]
            out = [t.sql(dialect=target, pretty=False) for t in trees]
    except SqlglotError as exc:
        raise SQLGenerationError(f"cannot parse the SQL: {first_error_line(exc)}", sql=text) from exc
    out = [s for s in out if s and s.strip()]
    if not out:
        raise SQLGenerationError("the model returned no SQL", sql=text)
    if len(out) > 1:
        # Transpile statement by statement would hide a second statement from the guard's error
        # message; keep them joined so the guard refuses them with the right reason.
        return "; ".join(out)
    return out[0]


# --- SQLite has no DATE_TRUNC, EXTRACT or interval arithmetic; sqlglot leaves them as they are.
# SQLCoder writes them constantly (it learned Postgres), so rewrite them to SQLite's date functions.

_UNIT_ALIASES = {
    "YEARS": "YEAR", "Y": "YEAR", "YR": "YEAR", "YRS": "YEAR",
    "MONTHS": "MONTH", "MON": "MONTH", "MONS": "MONTH",
    "WEEKS": "WEEK", "W": "WEEK",
    "DAYS": "DAY", "D": "DAY",
    "HOURS": "HOUR", "H": "HOUR",
    "MINUTES": "MINUTE", "MIN": "MINUTE", "MINS": "MINUTE",
    "SECONDS": "SECOND", "SEC": "SECOND", "SECS": "SECOND", "S": "SECOND",
    "QUARTERS": "QUARTER", "QTR": "QUARTER",
    "DAYOFWEEK": "DOW", "DAYOFYEAR": "DOY",
}


def _unit(node: exp.Expression | None) -> str:
    name = node.name if node is not None else ""
    name = name.strip().upper()
    return _UNIT_ALIASES.get(name, name)


def _sql(node: exp.Expression) -> str:
    """SQLite text of ``node`` with its own sub-expressions rewritten first (nested date math)."""
    return node.transform(_sqlite_fixup).sql(dialect="sqlite")


def _trunc_sqlite(value: exp.Expression, unit: str) -> exp.Expression | None:
    v = _sql(value)
    templates = {
        "YEAR": f"DATE({v}, 'start of year')",
        "MONTH": f"DATE({v}, 'start of month')",
        "DAY": f"DATE({v})",
        "WEEK": f"DATE({v}, '-' || ((CAST(STRFTIME('%w', {v}) AS INTEGER) + 6) % 7) || ' days')",
        "QUARTER": (
            f"DATE({v}, 'start of month', '-' || ((CAST(STRFTIME('%m', {v}) AS INTEGER) - 1) % 3)"
            " || ' months')"
        ),
        "HOUR": f"STRFTIME('%Y-%m-%d %H:00:00', {v})",
        "MINUTE": f"STRFTIME('%Y-%m-%d %H:%M:00', {v})",
        "SECOND": f"STRFTIME('%Y-%m-%d %H:%M:%S', {v})",
    }
    tpl = templates.get(unit)
    return sqlglot.parse_one(tpl, read="sqlite") if tpl else None


def _extract_sqlite(value: exp.Expression, unit: str) -> exp.Expression | None:
    v = _sql(value)
    fmt = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "DOW": "%w",
           "DOY": "%j", "WEEK": "%W", "EPOCH": "%s"}.get(unit)
    if fmt:
        return sqlglot.parse_one(f"CAST(STRFTIME('{fmt}', {v}) AS INTEGER)", read="sqlite")
    if unit == "SECOND":
        return sqlglot.parse_one(f"CAST(STRFTIME('%S', {v}) AS REAL)", read="sqlite")
    if unit == "QUARTER":
        return sqlglot.parse_one(f"((CAST(STRFTIME('%m', {v}) AS INTEGER) + 2) / 3)", read="sqlite")
    return None


def _interval_modifier(interval: exp.Interval, sign: str) -> str | None:
    """'+30 days' style modifier for SQLite's date functions, or None when not a simple interval."""
    text = interval.this.name if interval.this is not None else ""
    unit = _unit(interval.args.get("unit"))
    parts = text.split()
    if not unit and len(parts) == 2:
        text, unit = parts[0], _UNIT_ALIASES.get(parts[1].upper(), parts[1].upper())
    try:
        amount = float(text)
    except ValueError:
        return None
    if unit == "WEEK":
        amount, unit = amount * 7, "DAY"
    elif unit == "QUARTER":
        amount, unit = amount * 3, "MONTH"
    if unit not in {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"}:
        return None
    if sign == "-":
        amount = -amount
    number = f"{amount:+g}"
    return f"{number} {unit.lower()}s"


def _is_date_like(node: exp.Expression) -> bool:
    if isinstance(node, exp.CurrentDate):
        return True
    if isinstance(node, exp.Cast) and node.to.is_type("date"):
        return True
    return isinstance(node, (exp.Date, exp.DateStrToDate, exp.TsOrDsToDate))


def _sqlite_fixup(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale") and not node.args.get("format"):
        # Postgres TO_TIMESTAMP(epoch seconds)
        return sqlglot.parse_one(f"DATETIME({_sql(node.this)}, 'unixepoch')", read="sqlite")
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = _unit(node.args.get("unit"))
        value = node.this
        return _trunc_sqlite(value, unit) or node
    if isinstance(node, exp.Extract):
        unit = _unit(node.this)
        return _extract_sqlite(node.expression, unit) or node
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        modifier = _interval_modifier(node.expression, "-" if isinstance(node, exp.Sub) else "+")
        if modifier is None:
            return node
        func = "DATE" if _is_date_like(node.this) else "DATETIME"
        return sqlglot.parse_one(f"{func}({_sql(node.this)}, '{modifier}')", read="sqlite")
    return node
