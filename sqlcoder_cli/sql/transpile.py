"""Translate the model's SQL dialect into the database's, and name dialects consistently.

SQLCoder was trained on PostgreSQL, so it writes ``ILIKE``, ``DATE_TRUNC`` and ``::`` casts even when
the database is SQLite; sqlglot rewrites those so the query runs where it is sent. The one mapping
from SQLAlchemy backend names to sqlglot dialect names lives here so ``db`` and ``sql`` agree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, build_scope

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


#: ``{table: {column: type}}`` as :meth:`sqlcoder_cli.schema.Schema.as_sqlglot_mapping` produces it
#: (``{schema: {table: {column: type}}}`` is accepted too).
SchemaMapping = Mapping[str, Mapping[str, Any]]


#: constructs a model writes for SQLite that only Postgres/MySQL understand
_FOREIGN_TO_SQLITE = re.compile(r"\bINTERVAL\b|\bDATE_TRUNC\s*\(|\bEXTRACT\s*\(|\bDATE_(?:ADD|SUB)\s*\(|\bAGE\s*\(|::", re.I)


def transpile_sql(
    sql: str, *, source: str, target: str, schema: SchemaMapping | None = None, mend_dates: bool = True
) -> str:
    """Rewrite one statement from dialect ``source`` to dialect ``target``.

    Identity (only stripped, trailing ``;`` dropped) when both dialects are the same, so a query
    that already runs is never reformatted needlessly; except SQLite "SQL" that carries Postgres or
    MySQL date arithmetic, which SQLite would reject: that is read as Postgres and rewritten
    (``mend_dates=False`` keeps it as written, for measuring the bare model).

    ``schema`` (``{table: {column: type}}`` of the target database) lets the SQLite rewrite know
    which columns hold dates and timestamps, so Postgres date arithmetic between columns
    (``end_date - start_date``, ``ts + INTERVAL '1 day'``, ``EXTRACT(EPOCH FROM a - b)``) keeps
    its meaning; without it only expressions whose type is evident (``CURRENT_DATE``, casts,
    ``DATE_TRUNC``) are rewritten.
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SQLGenerationError("the model returned no SQL")
    if source == target:
        if target != "sqlite" or not mend_dates or not _FOREIGN_TO_SQLITE.search(text):
            return text
        # Models asked for SQLite still write Postgres/MySQL date arithmetic (INTERVAL, DATE_SUB,
        # DATE_TRUNC, EXTRACT) that SQLite cannot run; read those as Postgres and rewrite them.
        try:
            return transpile_sql(text, source="postgres", target="sqlite", schema=schema)
        except SQLGenerationError:
            return text
    try:
        with quiet_sqlglot():
            trees = [t for t in sqlglot.parse(text, read=source) if t is not None]
            if target == "sqlite":
                trees = [_to_sqlite(t, schema) for t in trees]
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


# --- SQLite has no DATE_TRUNC, EXTRACT, interval arithmetic or date types; sqlglot leaves those as
# they are. SQLCoder writes them constantly (it learned Postgres), so rewrite them to SQLite's date
# functions. Dates are 'YYYY-MM-DD' text and timestamps 'YYYY-MM-DD HH:MM:SS' text in SQLite; a
# Postgres interval becomes a REAL number of days (what JULIANDAY differences give).

_UNIT_ALIASES = {
    "YEARS": "YEAR", "Y": "YEAR", "YR": "YEAR", "YRS": "YEAR",
    "MONTHS": "MONTH", "MON": "MONTH", "MONS": "MONTH",
    "WEEKS": "WEEK", "W": "WEEK",
    "DAYS": "DAY", "D": "DAY",
    "HOURS": "HOUR", "H": "HOUR", "HR": "HOUR", "HRS": "HOUR",
    "MINUTES": "MINUTE", "MIN": "MINUTE", "MINS": "MINUTE", "M": "MINUTE",
    "SECONDS": "SECOND", "SEC": "SECOND", "SECS": "SECOND", "S": "SECOND",
    "MILLISECONDS": "MILLISECOND", "MS": "MILLISECOND", "MSEC": "MILLISECOND", "MSECS": "MILLISECOND",
    "MICROSECONDS": "MICROSECOND", "US": "MICROSECOND", "USEC": "MICROSECOND", "USECS": "MICROSECOND",
    "QUARTERS": "QUARTER", "QTR": "QUARTER",
    "DECADES": "DECADE", "CENTURIES": "CENTURY",
    "DAYOFWEEK": "DOW", "DAYOFYEAR": "DOY",
}


def _unit(node: exp.Expression | None) -> str:
    name = node.name if node is not None else ""
    name = name.strip().upper()
    return _UNIT_ALIASES.get(name, name)


# Kinds of values, as Postgres types them and SQLite stores them.
_DATE = "date"  # Postgres date; SQLite 'YYYY-MM-DD'
_TS = "timestamp"  # Postgres timestamp; SQLite 'YYYY-MM-DD HH:MM:SS'
_MTS = "midnight"  # Postgres timestamp at midnight (DATE_TRUNC('month', d), d + INTERVAL '1 day'); SQLite 'YYYY-MM-DD'
_IV = "interval"  # Postgres interval; SQLite REAL days
_NUM = "number"
_TEXT = "text"
_TIME = "time"
_TEMPORAL = (_DATE, _TS, _MTS)
_DATE_TEXT = (_DATE, _MTS)  # stored as 'YYYY-MM-DD' in SQLite

_DAY_UNITS = {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY"}


def _type_kind(type_text: str) -> str | None:
    t = type_text.strip().upper()
    if not t:
        return None
    if "INTERVAL" in t:
        return _IV
    if "TIMESTAMP" in t or "DATETIME" in t:
        return _TS
    if t.startswith("DATE"):
        return _DATE
    if t.startswith("TIME"):
        return _TIME
    if any(k in t for k in ("INT", "REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL", "SERIAL", "MONEY")):
        return _NUM
    if any(k in t for k in ("CHAR", "TEXT", "CLOB", "STRING")):
        return _TEXT
    return None


def _flat_schema(schema: SchemaMapping | None) -> dict[str, dict[str, str | None]]:
    """``{table_lower: {column_lower: kind}}``; nested ``{db: {table: {...}}}`` mappings are flattened."""
    out: dict[str, dict[str, str | None]] = {}

    def add(table: str, cols: Mapping[str, Any]) -> None:
        if all(isinstance(v, Mapping) for v in cols.values()) and cols:
            for sub, subcols in cols.items():
                add(sub, subcols)
            return
        kinds = {str(c).lower(): _type_kind(str(t)) for c, t in cols.items() if not isinstance(t, Mapping)}
        out.setdefault(str(table).lower(), kinds)

    for table, cols in (schema or {}).items():
        if isinstance(cols, Mapping):
            add(table, cols)
    return out


_MISSING = "missing"


class _Kinds:
    """Postgres types of the expressions of one statement, from the schema and the expressions."""

    def __init__(self, tree: exp.Expression, schema: SchemaMapping | None) -> None:
        self.schema = _flat_schema(schema)
        self.col_scope: dict[int, Scope] = {}
        self.cache: dict[int, str | None] = {}
        self.busy: set[int] = set()
        if self.schema:
            try:
                root = build_scope(tree)
            except Exception:  # noqa: BLE001 - scoping is best effort; unknown kinds are left alone
                root = None
            if root is not None:
                for scope in root.traverse():
                    for column in scope.columns:
                        self.col_scope[id(column)] = scope

    def kind(self, node: exp.Expression | None) -> str | None:
        if node is None:
            return None
        key = id(node)
        if key in self.cache:
            return self.cache[key]
        if key in self.busy:
            return None
        self.busy.add(key)
        try:
            result = self._kind(node)
        finally:
            self.busy.discard(key)
        self.cache[key] = result
        return result

    def _first(self, nodes: list[exp.Expression | None]) -> str | None:
        for n in nodes:
            k = self.kind(n)
            if k is not None:
                return k
        return None

    def _kind(self, node: exp.Expression) -> str | None:  # noqa: PLR0911, PLR0912 - one case per node type
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self.kind(node.this)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, exp.CurrentDate):
            return _DATE
        if isinstance(node, (exp.CurrentTimestamp, exp.Localtimestamp, exp.CurrentDatetime, exp.UnixToTime, exp.StrToTime)):
            return _TS
        if isinstance(node, (exp.Date, exp.TsOrDsToDate, exp.DateStrToDate, exp.StrToDate)):
            return _DATE
        if isinstance(node, (exp.Cast, exp.TryCast)):
            return _type_kind(node.to.sql(dialect="postgres"))
        if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc)):
            return _MTS if _unit(node.args.get("unit")) in _DAY_UNITS else _TS
        if isinstance(node, exp.Interval):
            return _IV
        if isinstance(node, exp.Anonymous) and node.name.upper() == "AGE":
            return _IV
        if isinstance(node, (exp.Extract, exp.Count, exp.Length)):
            return _NUM
        if isinstance(node, exp.Literal):
            return None if node.is_string else _NUM
        if isinstance(node, (exp.Min, exp.Max, exp.AnyValue, exp.First, exp.Last, exp.Sum, exp.Avg, exp.Abs, exp.Neg)):
            return self.kind(node.this)
        if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
            return self._first([node.this, *node.expressions])
        if isinstance(node, exp.Nullif):
            return self.kind(node.this)
        if isinstance(node, exp.Case):
            return self._first([i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")])
        if isinstance(node, exp.If):
            return self._first([node.args.get("true"), node.args.get("false")])
        if isinstance(node, (exp.Window, exp.Filter)):
            return self.kind(node.this)
        if isinstance(node, (exp.ExplodingGenerateSeries, exp.GenerateSeries)):
            start = self.kind(node.args.get("start"))
            step = _interval_parts(node.args.get("step"))
            if start in _DATE_TEXT and step is not None and all(u in _DAY_UNITS for _, u in step):
                return _MTS
            return _TS if start in _TEMPORAL else start
        if isinstance(node, (exp.Add, exp.Sub)):
            return self._arith(node)
        if isinstance(node, (exp.Mul, exp.Div)):
            a, b = self.kind(node.this), self.kind(node.expression)
            return _IV if _IV in (a, b) else (_NUM if a == b == _NUM else None)
        return None

    def _arith(self, node: exp.Add | exp.Sub) -> str | None:
        a, b = self.kind(node.this), self.kind(node.expression)
        if isinstance(node, exp.Add) and a in (_IV, _NUM) and b in _TEMPORAL:
            a, b = b, a
            node_interval = node.this
        else:
            node_interval = node.expression
        if a in _TEMPORAL and b in _TEMPORAL:
            if isinstance(node, exp.Sub):
                return _NUM if a == b == _DATE else _IV
            return None
        if a in _TEMPORAL and b == _IV:
            parts = _interval_parts(node_interval)
            if a in _DATE_TEXT and parts is not None and all(u in _DAY_UNITS for _, u in parts):
                return _MTS
            return _TS
        if a == _DATE and b == _NUM:
            return _DATE
        if a == b and a in (_IV, _NUM):
            return a
        return None

    # columns -----------------------------------------------------------------------------------

    def _column(self, column: exp.Column) -> str | None:
        scope = self.col_scope.get(id(column))
        name = column.name.lower()
        if scope is not None:
            if column.table:
                source = _get_ci(scope.sources, column.table)
                found = self._source_column(source, name) if source is not None else _MISSING
                return None if found == _MISSING else found
            hits = [k for src in scope.sources.values() if (k := self._source_column(src, name)) != _MISSING]
            if len(hits) == 1:
                return hits[0]
            if hits:
                return None
        if column.table:
            return None
        # a reference to a select-list alias (ORDER BY days, or an alias reused in the same select)
        select = column.find_ancestor(exp.Select)
        if select is not None:
            for projection in select.expressions:
                if isinstance(projection, exp.Alias) and projection.alias.lower() == name:
                    return self.kind(projection.this)
        return None

    def _source_column(self, source: Any, name: str) -> str | None:
        if isinstance(source, exp.Table):
            cols = self.schema.get(source.name.lower())
            if cols is None or name not in cols:
                return _MISSING
            return cols[name]
        if isinstance(source, Scope):
            select = source.expression
            while isinstance(select, exp.SetOperation):
                select = select.this
            if not isinstance(select, exp.Select):
                return _MISSING
            for projection in select.expressions:
                if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
                    hits = [k for src in source.sources.values() if (k := self._source_column(src, name)) != _MISSING]
                    if len(hits) == 1:
                        return hits[0]
                    continue
                if projection.alias_or_name.lower() == name:
                    return self.kind(projection)
        return _MISSING


def _get_ci(mapping: Mapping[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    low = key.lower()
    for k, v in mapping.items():
        if k.lower() == low:
            return v
    return None


# --- intervals ---------------------------------------------------------------------------------------

_INTERVAL_TOKEN = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*([a-zA-Z]+)")


def _interval_parts(node: exp.Expression | None) -> list[tuple[float, str]] | None:
    """``INTERVAL '2 hours 30 minutes'`` -> ``[(2, 'HOUR'), (30, 'MINUTE')]``; None when not a literal.

    Weeks become days, quarters months, decades/centuries years and milli-/microseconds seconds.
    """
    if isinstance(node, exp.Paren):
        return _interval_parts(node.this)
    if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.is_type("interval") and isinstance(node.this, exp.Literal):
        text, unit_node = node.this.name, None
    elif isinstance(node, exp.Interval) and isinstance(node.this, exp.Literal):
        text, unit_node = node.this.name, node.args.get("unit")
    else:
        return None
    text = text.strip()
    if unit_node is not None:
        text = f"{text} {unit_node.name}"
    tokens = _INTERVAL_TOKEN.findall(text)
    if not tokens or _INTERVAL_TOKEN.sub("", text).strip():
        return None
    parts = []
    for amount_text, unit_text in tokens:
        amount = float(amount_text)
        unit = _UNIT_ALIASES.get(unit_text.upper(), unit_text.upper())
        if unit == "WEEK":
            amount, unit = amount * 7, "DAY"
        elif unit == "QUARTER":
            amount, unit = amount * 3, "MONTH"
        elif unit == "DECADE":
            amount, unit = amount * 10, "YEAR"
        elif unit == "CENTURY":
            amount, unit = amount * 100, "YEAR"
        elif unit == "MILLISECOND":
            amount, unit = amount / 1000, "SECOND"
        elif unit == "MICROSECOND":
            amount, unit = amount / 1_000_000, "SECOND"
        if unit not in {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"}:
            return None
        parts.append((amount, unit))
    return parts


_FIXED_DAYS = {"DAY": 1.0, "HOUR": 1 / 24, "MINUTE": 1 / 1440, "SECOND": 1 / 86400}


def _interval_days(parts: list[tuple[float, str]], *, compare: bool = False) -> float | None:
    """Length of an interval in days; months and years only when ``compare`` (Postgres compares
    intervals with 30-day months), otherwise None for them."""
    total = 0.0
    for amount, unit in parts:
        if unit in _FIXED_DAYS:
            total += amount * _FIXED_DAYS[unit]
        elif compare and unit == "MONTH":
            total += amount * 30
        elif compare and unit == "YEAR":
            total += amount * 360
        else:
            return None
    return total


def _modifiers(parts: list[tuple[float, str]], sign: int) -> list[str]:
    out = []
    for amount, unit in parts:
        value = amount * sign
        number = f"{value:+.6f}".rstrip("0").rstrip(".") if unit == "SECOND" and value != int(value) else f"{value:+g}"
        out.append(f"{number} {unit.lower()}s")
    return out


def _shift(value: exp.Expression, parts: list[tuple[float, str]], sign: int, *, date_only: bool) -> exp.Expression:
    """``value ± interval`` as SQLite ``DATE``/``DATETIME`` with modifiers.

    Whole months and years are added as Postgres does: the day is kept and clamped to the end of the
    month (Jan 31 + 1 month = Feb 28), where SQLite's ``'+1 months'`` would overflow into March.
    """
    func = "DATE" if date_only else "DATETIME"
    months = sum(a * 12 if u == "YEAR" else a for a, u in parts if u in ("YEAR", "MONTH"))
    others = [(a, u) for a, u in parts if u not in ("YEAR", "MONTH")]
    if months and months == int(months) and not value.meta.get("first_of_month"):
        m = int(months) * sign
        back = "'-' || (CAST(STRFTIME('%d', __v__) AS INTEGER) - 1) || ' days'"
        forth = "'+' || (CAST(STRFTIME('%d', __v__) AS INTEGER) - 1) || ' days'"
        clamped = (
            f"MIN({func}(__v__, {back}, '{m:+d} months', {forth}),"
            f" {func}(__v__, {back}, '{m + 1:+d} months', '-1 days'))"
        )
        if not others:
            return _tpl(clamped, v=value)
        mods = ", ".join(f"'{x}'" for x in _modifiers(others, sign))
        return _tpl(f"{func}({clamped}, {mods})", v=value)
    mods = ", ".join(f"'{x}'" for x in _modifiers(parts, sign))
    return _tpl(f"{func}(__v__, {mods})", v=value)


def _num(value: float) -> exp.Expression:
    text = f"{value:.12g}"
    node: exp.Expression = exp.Literal.number(text.lstrip("-"))
    return exp.Neg(this=node) if text.startswith("-") else node


# --- building SQLite expressions ---------------------------------------------------------------------

_ATOMIC = (exp.Column, exp.Literal, exp.Func, exp.Paren, exp.Identifier, exp.Null, exp.Boolean, exp.Cast)


def _tpl(template: str, **nodes: exp.Expression) -> exp.Expression:
    """Parse SQLite ``template`` and put copies of ``nodes`` where columns named ``__name__`` stand."""
    tree = sqlglot.parse_one(template, read="sqlite")
    for column in list(tree.find_all(exp.Column)):
        key = column.name
        if column.table or not (key.startswith("__") and key.endswith("__")):
            continue
        node = nodes[key[2:-2]].copy()
        if not isinstance(node, _ATOMIC):
            node = exp.Paren(this=node)
        column.replace(node)
    return tree


def _trunc_sqlite(value: exp.Expression, unit: str) -> exp.Expression | None:
    templates = {
        "YEAR": "DATE(__v__, 'start of year')",
        "MONTH": "DATE(__v__, 'start of month')",
        "DAY": "DATE(__v__)",
        "WEEK": "DATE(__v__, '-' || ((CAST(STRFTIME('%w', __v__) AS INTEGER) + 6) % 7) || ' days')",
        "QUARTER": (
            "DATE(__v__, 'start of month', '-' || ((CAST(STRFTIME('%m', __v__) AS INTEGER) - 1) % 3)"
            " || ' months')"
        ),
        "HOUR": "STRFTIME('%Y-%m-%d %H:00:00', __v__)",
        "MINUTE": "STRFTIME('%Y-%m-%d %H:%M:00', __v__)",
        "SECOND": "STRFTIME('%Y-%m-%d %H:%M:%S', __v__)",
    }
    tpl = templates.get(unit)
    return _tpl(tpl, v=value) if tpl else None


def _extract_sqlite(value: exp.Expression, unit: str) -> exp.Expression | None:
    fmt = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d", "HOUR": "%H", "MINUTE": "%M", "DOW": "%w",
           "DOY": "%j", "WEEK": "%W", "EPOCH": "%s"}.get(unit)
    if fmt:
        return _tpl(f"CAST(STRFTIME('{fmt}', __v__) AS INTEGER)", v=value)
    if unit == "SECOND":
        return _tpl("CAST(STRFTIME('%S', __v__) AS REAL)", v=value)
    if unit == "QUARTER":
        return _tpl("((CAST(STRFTIME('%m', __v__) AS INTEGER) + 2) / 3)", v=value)
    return None


def _extract_interval(days: exp.Expression, unit: str) -> exp.Expression | None:
    """EXTRACT from an interval held as REAL days (fields truncate toward zero, as in Postgres)."""
    secs = "ROUND(__d__ * 86400.0, 3)"  # JULIANDAY differences carry float noise below a millisecond
    templates = {
        "EPOCH": secs,
        "DAY": f"CAST({secs} / 86400 AS INTEGER)",
        "HOUR": f"CAST({secs} / 3600 AS INTEGER) % 24",
        "MINUTE": f"CAST({secs} / 60 AS INTEGER) % 60",
        "SECOND": f"ROUND({secs} - CAST({secs} / 60 AS INTEGER) * 60, 3)",
    }
    tpl = templates.get(unit)
    return _tpl(tpl, d=days) if tpl else None


def _extract_age(a: exp.Expression, b: exp.Expression, unit: str) -> exp.Expression | None:
    """EXTRACT(YEAR | MONTH FROM AGE(a, b)): whole years, and months past them, from b to a (a >= b)."""
    months = (
        "((CAST(STRFTIME('%Y', __a__) AS INTEGER) * 12 + CAST(STRFTIME('%m', __a__) AS INTEGER))"
        " - (CAST(STRFTIME('%Y', __b__) AS INTEGER) * 12 + CAST(STRFTIME('%m', __b__) AS INTEGER))"
        " - (STRFTIME('%d %H:%M:%f', __a__) < STRFTIME('%d %H:%M:%f', __b__)))"
    )
    if unit == "YEAR":
        return _tpl(f"({months} / 12)", a=a, b=b)
    if unit == "MONTH":
        return _tpl(f"({months} % 12)", a=a, b=b)
    return None


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _str_to_date(node: exp.StrToDate | exp.StrToTime) -> exp.Expression | None:
    fmt = node.args.get("format")
    if not isinstance(fmt, exp.Literal):
        return None
    f = fmt.name.strip()
    func = "DATETIME" if isinstance(node, exp.StrToTime) else "DATE"
    if f in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        return _tpl(f"{func}(__v__)", v=node.this)
    if f == "%Y%m%d":
        return _tpl(f"{func}(SUBSTR(__v__, 1, 4) || '-' || SUBSTR(__v__, 5, 2) || '-' || SUBSTR(__v__, 7, 2))", v=node.this)
    if f == "%Y-%m":
        return _tpl(f"{func}(__v__ || '-01')", v=node.this)
    if f in ("%B", "%b") or f.upper().removeprefix("FM") in ("MONTH", "MON"):
        # Postgres reads a month name alone as that month of year 1
        whens = " ".join(f"WHEN '{m}' THEN '0001-{i:02d}-01'" for i, m in enumerate(_MONTHS, 1))
        suffix = " 00:00:00" if func == "DATETIME" else ""
        if suffix:
            whens = whens.replace("-01'", f"-01{suffix}'")
        return _tpl(f"CASE SUBSTR(LOWER(TRIM(__v__)), 1, 3) {whens} END", v=node.this)
    return None


_REGEX_LITERAL = re.compile(r"(?:\\[^A-Za-z0-9]|[^\\.^$|()\[\]{}*+?])")


def _regex_to_globs(pattern: str) -> list[str] | None:
    """GLOB patterns equivalent to a simple regular expression (literals, ``.``, ``.*``, ``^``, ``$``
    and top-level alternation, optionally in one group), or None."""
    p = pattern
    if p.startswith("^(") and p.endswith(")$"):
        inner, anchor_start, anchor_end = p[2:-2], True, True
    elif p.startswith("(") and p.endswith(")"):
        inner, anchor_start, anchor_end = p[1:-1], False, False
    else:
        inner, anchor_start, anchor_end = p, False, False
    if inner.startswith("?:"):
        inner = inner[2:]
    if "(" in inner or ")" in inner:
        return None
    globs = []
    for branch in inner.split("|"):
        start, end = anchor_start, anchor_end
        if branch.startswith("^"):
            start, branch = True, branch[1:]
        if branch.endswith("$") and not branch.endswith("\\$"):
            end, branch = True, branch[:-1]
        out = []
        i = 0
        while i < len(branch):
            if branch.startswith(".*", i):
                out.append("*")
                i += 2
            elif branch[i] == ".":
                out.append("?")
                i += 1
            else:
                m = _REGEX_LITERAL.match(branch, i)
                if not m:
                    return None
                ch = m.group(0)[-1]
                out.append(f"[{ch}]" if ch in "*?[" else ch)
                i = m.end()
        body = "".join(out)
        if not body and not (start and end):
            return None
        globs.append(("" if start else "*") + body + ("" if end else "*"))
    return globs


def _regex_sqlite(node: exp.RegexpLike | exp.RegexpILike) -> exp.Expression | None:
    pattern = node.expression
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        return None
    globs = _regex_to_globs(pattern.name)
    if not globs:
        return None
    insensitive = isinstance(node, exp.RegexpILike)
    subject = exp.Lower(this=node.this.copy()) if insensitive else node.this.copy()
    tests: list[exp.Expression] = [
        exp.Glob(this=subject.copy(), expression=exp.Literal.string(g.lower() if insensitive else g)) for g in globs
    ]
    result = tests[0]
    for t in tests[1:]:
        result = exp.Or(this=result, expression=t)
    return exp.Paren(this=result)


# --- the rewrite ---------------------------------------------------------------------------------------


def _to_sqlite(tree: exp.Expression, schema: SchemaMapping | None) -> exp.Expression:
    """Rewrite the Postgres-only constructs of ``tree`` (parsed as Postgres) for SQLite, bottom-up."""
    kinds = _Kinds(tree, schema)
    nodes = list(tree.walk(bfs=True))
    for node in nodes:
        node.meta["pg_kind"] = kinds.kind(node)
    for node in reversed(nodes):  # children before their parents
        new = _sqlite_rule(node)
        if new is None or new is node:
            continue
        new.meta.setdefault("pg_kind", node.meta.get("pg_kind"))
        if node is tree:
            tree = new
        else:
            node.replace(new)
    return tree


def _k(node: exp.Expression | None) -> str | None:
    return node.meta.get("pg_kind") if node is not None else None


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)


def _sqlite_rule(node: exp.Expression) -> exp.Expression | None:  # noqa: PLR0911, PLR0912
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale") and not node.args.get("format"):
        # Postgres TO_TIMESTAMP(epoch seconds)
        return _tpl("DATETIME(__v__, 'unixepoch')", v=node.this)
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = _unit(node.args.get("unit"))
        new = _trunc_sqlite(node.this, unit)
        if new is not None and unit in ("YEAR", "QUARTER", "MONTH"):
            new.meta["first_of_month"] = True
        return new
    if isinstance(node, exp.Table) and isinstance(node.this, (exp.ExplodingGenerateSeries, exp.GenerateSeries)):
        return _series_table(node)
    if isinstance(node, exp.Select):
        return _series_projection(node)
    if isinstance(node, exp.Extract):
        unit = _unit(node.this)
        value = _unparen(node.expression)
        age = node.expression.meta.get("age_args") or value.meta.get("age_args")
        if age is not None:
            return _extract_age(*age, unit)
        if _k(node.expression) == _IV and _interval_parts(value) is None:
            return _extract_interval(node.expression, unit)
        return _extract_sqlite(node.expression, unit)
    if isinstance(node, exp.Anonymous) and node.name.upper() == "AGE" and 1 <= len(node.expressions) <= 2:
        args = node.expressions
        a, b = (args[0], args[1]) if len(args) == 2 else (exp.CurrentDate(), args[0])
        new = _tpl("(JULIANDAY(__a__) - JULIANDAY(__b__))", a=a, b=b)
        new.meta["age_args"] = (a, b)
        return new
    if isinstance(node, (exp.StrToDate, exp.StrToTime)):
        return _str_to_date(node)
    if isinstance(node, (exp.RegexpLike, exp.RegexpILike)):
        return _regex_sqlite(node)
    if isinstance(node, (exp.Add, exp.Sub)):
        return _arith_sqlite(node)
    if isinstance(node, (exp.DateAdd, exp.DateSub)) and isinstance(node.expression, exp.Interval):
        # MySQL's DATE_SUB(d, INTERVAL 1 WEEK) is d - INTERVAL 1 WEEK
        op = exp.Sub if isinstance(node, exp.DateSub) else exp.Add
        return _arith_sqlite(op(this=node.this, expression=node.expression))
    if isinstance(node, (*_COMPARISONS, exp.Between)):
        return _compare_sqlite(node)
    return None


def _arith_sqlite(node: exp.Add | exp.Sub) -> exp.Expression | None:  # noqa: PLR0911
    a, b = node.this, node.expression
    if isinstance(node, exp.Add) and (_interval_parts(a) is not None or _k(a) in (_IV, _NUM)) and _k(b) in _TEMPORAL:
        a, b = b, a  # INTERVAL '1 day' + d, 7 + d
    ka, kb = _k(a), _k(b)
    sign = -1 if isinstance(node, exp.Sub) else 1
    parts = _interval_parts(b)
    if parts is not None:
        if ka == _IV and _interval_parts(a) is None:
            days = _interval_days(parts)
            if days is None:
                return None
            return exp.Paren(this=node.__class__(this=a.copy(), expression=_num(days)))
        if ka not in _TEMPORAL and ka is not None and not isinstance(_unparen(a), exp.Literal):
            return None
        date_only = ka in _DATE_TEXT and all(u in _DAY_UNITS for _, u in parts)
        return _shift(a, parts, sign, date_only=date_only)
    if ka in _TEMPORAL and kb in _TEMPORAL:
        if sign > 0:
            return None
        if ka == kb == _DATE:
            return _tpl("CAST(JULIANDAY(__a__) - JULIANDAY(__b__) AS INTEGER)", a=a, b=b)
        return _tpl("(JULIANDAY(__a__) - JULIANDAY(__b__))", a=a, b=b)
    if ka == _DATE and kb == _NUM:
        lit = _unparen(b)
        if isinstance(lit, exp.Literal) and not lit.is_string:
            return _tpl(f"DATE(__a__, '{float(lit.name) * sign:+g} days')", a=a)
        if sign > 0:
            return _tpl("DATE(__a__, __n__ || ' days')", a=a, n=b)
        return _tpl("DATE(__a__, -__n__ || ' days')", a=a, n=b)
    if ka in _TEMPORAL and kb == _IV:
        if sign > 0:
            return _tpl("DATETIME(__a__, __n__ || ' days')", a=a, n=b)
        return _tpl("DATETIME(__a__, -__n__ || ' days')", a=a, n=b)
    return None


def _series_cte(series: exp.Expression, column: str, anchor: exp.Select | None) -> exp.Expression | None:
    """``(WITH RECURSIVE ... SELECT value AS column FROM _series)`` for Postgres GENERATE_SERIES.

    ``anchor`` (the FROM / WHERE of the select the series came from) gives the start and stop their
    rows; without it they are evaluated once.
    """
    start, stop, step = series.args.get("start"), series.args.get("end"), series.args.get("step")
    if start is None or stop is None:
        return None
    kind = _k(series)
    if kind in _TEMPORAL:
        parts = _interval_parts(step)
        if not parts or any(a <= 0 for a, _ in parts):
            return None  # only literal, positive steps: the stop test below assumes ascending
        date_only = kind in _DATE_TEXT
        func = "DATE" if date_only else "DATETIME"
        first = _tpl(f"{func}(__v__)", v=start)
        last = _tpl(f"{func}(__v__)", v=stop)
        nxt = _shift(exp.column("value"), parts, 1, date_only=date_only)
    else:
        increment = _unparen(step) if step is not None else exp.Literal.number(1)
        if not (isinstance(increment, exp.Literal) and not increment.is_string and float(increment.name) > 0):
            return None
        first, last = start.copy(), stop.copy()
        nxt = exp.Add(this=exp.column("value"), expression=increment.copy())
    base = exp.select(exp.alias_(first, "value"), exp.alias_(last, "stop"))
    if anchor is not None:
        for key in ("from_", "joins", "where"):
            if anchor.args.get(key) is not None:
                base.set(key, anchor.args[key].copy())
    step_select = exp.select(exp.alias_(nxt, "value"), "stop").from_("_series").where(
        exp.LTE(this=nxt.copy(), expression=exp.column("stop"))
    )
    body = exp.union(base, step_select, distinct=False)
    cte = exp.CTE(
        this=body,
        alias=exp.TableAlias(this=exp.to_identifier("_series"), columns=[exp.to_identifier("value"), exp.to_identifier("stop")]),
    )
    inner = exp.select(exp.alias_(exp.column("value"), column)).from_("_series")
    inner.set("with_", exp.With(expressions=[cte], recursive=True))
    return inner


def _series_table(table: exp.Table) -> exp.Expression | None:
    """``FROM generate_series(a, b, step) AS g(d)`` -> ``FROM (WITH RECURSIVE ...) AS g``."""
    alias = table.args.get("alias")
    name = alias.name if alias is not None and alias.name else "generate_series"
    columns = alias.columns if alias is not None else []
    column = columns[0].name if columns else name
    inner = _series_cte(table.this, column, None)
    if inner is None:
        return None
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _series_projection(select: exp.Select) -> exp.Expression | None:
    """``SELECT generate_series(a, b, step) AS d [FROM ...]`` (the only projection) ->
    ``SELECT _series.d AS d FROM (WITH RECURSIVE ...) AS _series``."""
    found = [
        n for n in select.find_all(exp.ExplodingGenerateSeries, exp.GenerateSeries)
        if n.find_ancestor(exp.Select) is select and not isinstance(n.parent, exp.Table)
    ]
    if len(found) != 1 or len(select.expressions) != 1:
        return None
    if any(select.args.get(k) for k in ("group", "having", "order", "limit", "offset", "distinct", "qualify")):
        return None
    series = found[0]
    projection = select.expressions[0]
    column = projection.alias_or_name or "generate_series"
    inner = _series_cte(series, "value", select)
    if inner is None:
        return None
    # the projection may wrap the series (``::DATE``); a bare UNNEST around it goes too
    target = series.parent if isinstance(series.parent, (exp.Unnest, exp.Explode)) else series
    expr = projection.this.copy() if isinstance(projection, exp.Alias) else projection.copy()
    if target is (projection.this if isinstance(projection, exp.Alias) else projection):
        expr = exp.column("value", table="_series")
    else:
        for n in expr.find_all(exp.ExplodingGenerateSeries, exp.GenerateSeries):
            holder = n.parent if isinstance(n.parent, (exp.Unnest, exp.Explode)) else n
            holder.replace(exp.column("value", table="_series"))
    out = exp.select(exp.alias_(expr, column)).from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_series"))))
    if select.args.get("with_") is not None:
        out.set("with_", select.args["with_"].copy())
    return out


def _compare_sqlite(node: exp.Expression) -> exp.Expression | None:
    keys = ["this", "low", "high"] if isinstance(node, exp.Between) else ["this", "expression"]
    operands = {key: node.args.get(key) for key in keys if node.args.get(key) is not None}
    kinds = {key: _k(value) for key, value in operands.items()}
    changed = False
    if _TS in kinds.values():
        # Postgres compares a date with a timestamp as that day's midnight
        for key, value in operands.items():
            if kinds[key] in _DATE_TEXT and not isinstance(_unparen(value), exp.Literal):
                node.set(key, _tpl("DATETIME(__v__)", v=value))
                changed = True
    if _IV in kinds.values():
        # an interval held as days compared with an interval literal
        for key, value in operands.items():
            parts = _interval_parts(value)
            days = _interval_days(parts, compare=True) if parts is not None else None
            if days is not None:
                node.set(key, _num(days))
                changed = True
    return node if changed else None
