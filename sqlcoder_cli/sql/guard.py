"""Refuse anything but one read-only query, on the parsed statement, before the database sees it.

Why a parse and not a keyword check: comments, case tricks, data-modifying CTEs and side-effect
functions hide in places a regular expression misses. Anything sqlglot cannot parse is refused:
a statement we cannot understand is a statement we cannot vouch for. Function calls are checked
against an allowlist read from the database's own catalogue (:mod:`sqlcoder_cli.sql.functions`):
volatile, side-effecting and unknown functions are refused, wherever they hide (LIMIT, VALUES,
a CTE, PostgreSQL's attribute notation ``(x).f``). The connection is read-only too
(:mod:`sqlcoder_cli.db.connect`), and holds on its own; this guard gives the clear message.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import UnsafeSQLError
from .functions import (
    CALL_SYNTAX,
    DUCKDB_READ_PRAGMAS,
    SQLITE_PRAGMAS_BARE,
    SQLITE_PRAGMAS_WITH_TARGET,
    FunctionCatalogue,
    candidate_names,
    names_by_class,
)
from .transpile import first_error_line, quiet_sqlglot

ONLY = "only SELECT queries run"

#: root statement types that are queries
_QUERY_ROOTS = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)

#: node type -> (what to call it, why it is refused)
_REFUSED_NODES: list[tuple[type[exp.Expression], str, str]] = [
    (exp.Insert, "INSERT", "can change data"),
    (exp.Update, "UPDATE", "can change data"),
    (exp.Delete, "DELETE", "can change data"),
    (exp.Merge, "MERGE", "can change data"),
    (exp.TruncateTable, "TRUNCATE", "can change data"),
    (exp.Create, "CREATE", "can change the schema"),
    (exp.Drop, "DROP", "can change the schema"),
    (exp.Alter, "ALTER", "can change the schema"),
    (exp.Comment, "COMMENT", "can change the schema"),
    (exp.Grant, "GRANT", "can change permissions"),
    (exp.Revoke, "REVOKE", "can change permissions"),
    (exp.Attach, "ATTACH", "can open other databases"),
    (exp.Detach, "DETACH", "can change attached databases"),
    (exp.Copy, "COPY", "can read or write files"),
    (exp.Export, "EXPORT", "can write files"),
    (exp.LoadData, "LOAD DATA", "can read files and change data"),
    (exp.Set, "SET", "can change session settings"),
    (exp.Install, "INSTALL", "can install extensions"),
    (exp.Use, "USE", "can change the session's database"),
    (exp.Transaction, "BEGIN", "can change the transaction's mode"),
    (exp.Commit, "COMMIT", "can change the transaction's mode"),
    (exp.Rollback, "ROLLBACK", "can change the transaction's mode"),
    (exp.Cache, "CACHE", "can change session state"),
    (exp.Uncache, "UNCACHE", "can change session state"),
    (exp.Refresh, "REFRESH", "can change session state"),
    (exp.Kill, "KILL", "can stop other sessions"),
    (exp.Declare, "DECLARE", "can change session state"),
    (exp.Execute, "EXECUTE", "can run dynamic SQL"),
    (exp.Analyze, "ANALYZE", "can change database statistics"),
]

_FILE_TABLE_RE = re.compile(
    r"[/\\]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|xlsx|arrow|db|sqlite|sqlite3|duckdb)$",
    re.IGNORECASE,
)


def _refuse(what: str, why: str, only: str = ONLY) -> UnsafeSQLError:
    return UnsafeSQLError(f"refused: {what} {why}; {only}")


#: the rule a refused function call broke
ONLY_READING_FUNCTIONS = "a query may only call functions that read"


def _refuse_call(name: str, why: str, *, attribute: bool = False) -> UnsafeSQLError:
    shown = f".{name} (attribute notation for {name}())" if attribute else f"{name}()"
    return _refuse(shown, why, ONLY_READING_FUNCTIONS)


def _pragma_parts(node: exp.Pragma) -> tuple[str, bool]:
    """(the PRAGMA's name, whether it has an argument): ``table_info(t)``, ``user_version = 7``."""
    this = node.this
    has_arg = False
    if isinstance(this, exp.EQ):
        this, has_arg = this.this, True
    elif isinstance(this, exp.Anonymous):
        has_arg = bool(this.expressions)
        return str(this.name).lower(), has_arg
    if isinstance(this, exp.Dot):  # PRAGMA main.table_info(t): the schema does not matter
        this = this.expression
    return str(getattr(this, "name", "") or "").lower(), has_arg


def _check_pragma(node: exp.Pragma, dialect: str) -> None:
    """Only PRAGMAs that read pass; one that is given a value changes a setting."""
    name, has_arg = _pragma_parts(node)
    if dialect == "sqlite":
        if name in SQLITE_PRAGMAS_WITH_TARGET or (name in SQLITE_PRAGMAS_BARE and not has_arg):
            return
    elif dialect == "duckdb":
        if name in DUCKDB_READ_PRAGMAS and not (has_arg and name not in ("table_info", "show", "storage_info")):
            return
    shown = f"PRAGMA {name}" + (" with a value" if has_arg else "")
    raise _refuse(f"{shown}", "can change database settings (only PRAGMAs that read run)")


def _spelled(names: frozenset[str], sql: str) -> list[str]:
    """``names`` ordered so that those written as calls in ``sql`` (``substring(``) come first."""
    def written(name: str) -> bool:
        return re.search(rf"\b{re.escape(name)}\s*\(", sql, re.IGNORECASE) is not None

    return sorted(names, key=lambda name: (not written(name), name))


def _in_from(node: exp.Expression) -> bool:
    """True for a call used as a table: ``FROM f()``, ``JOIN f() ON``, ``LATERAL f()``."""
    return isinstance(node.parent, (exp.Table, exp.Lateral, exp.From, exp.Join))


def _check_function(node: exp.Expression, sql: str, dialect: str, functions: FunctionCatalogue) -> None:
    """Refuse a call unless the catalogue says it only reads (see :mod:`..sql.functions`).

    ``node`` is a function, or an operator that the dialect also accepts written as a call
    (``like(a, b)``), which is judged by every name that can produce it.
    """
    if isinstance(node.parent, exp.Pragma):
        return  # PRAGMA table_info('t') is judged as a PRAGMA
    as_table = _in_from(node)
    written, names = candidate_names(node, sql, dialect)
    if written is None and isinstance(node, exp.Anonymous):
        written = str(node.name)
    if written is not None:
        # the spelling is known: judge what the database will run; a name its catalogue does not
        # list must be SQL syntax that only looks like a call (COALESCE on PostgreSQL)
        if written.lower() in CALL_SYNTAX and not as_table and not functions.is_refused(written):
            return
        reason = functions.refusal(written, table_function=as_table)
        if reason:
            raise _refuse_call(written, reason)
        return
    # a typed call without its spelling: refuse if any name that makes this expression is refused
    for name in _spelled(names, sql):
        reason = functions.refusal(name, table_function=as_table) if name in functions.known else None
        if reason:
            raise _refuse_call(name, reason)


def _check_attribute_call(node: exp.Expression, functions: FunctionCatalogue) -> None:
    """PostgreSQL runs ``(x).f`` and ``t.f`` as ``f(x)`` / ``f(t)`` when no column ``f`` exists."""
    name = None
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        name = node.expression.name
    elif isinstance(node, exp.Column) and node.table:
        name = node.name
    if name and functions.is_refused(name):
        raise _refuse_call(name, functions.refusal(name) or "", attribute=True)


def _check_node(node: exp.Expression, sql: str, dialect: str, functions: FunctionCatalogue | None) -> None:
    for cls, what, why in _REFUSED_NODES:
        if isinstance(node, cls):
            raise _refuse(f"{what} statements", why)
    if isinstance(node, exp.Command):
        keyword = str(node.this or "this statement").upper()
        raise _refuse(f"{keyword} statements", "are not queries")
    if isinstance(node, exp.Into):
        raise _refuse("SELECT ... INTO", "creates a table")
    if isinstance(node, exp.Lock):
        raise _refuse("locking clauses (FOR UPDATE/FOR SHARE)", "take row locks")
    if isinstance(node, (exp.DML, exp.DDL)):
        raise _refuse(f"{type(node).__name__.upper()} statements", "can change data or the schema")
    if isinstance(node, exp.Pragma):
        _check_pragma(node, dialect)
    if dialect == "mysql":
        _check_mysql_node(node)
    if functions is not None:
        if isinstance(node, exp.Func) or type(node) in names_by_class(dialect):
            _check_function(node, sql, dialect, functions)
        if functions.backend == "postgresql" and isinstance(node, (exp.Dot, exp.Column)):
            _check_attribute_call(node, functions)
    if isinstance(node, exp.Table):
        this = node.this
        if isinstance(this, exp.Literal) and this.is_string:
            raise _refuse(f"reading the file {this.this!r} as a table", "can read files")
        if this is not None and not isinstance(this, (exp.Identifier, exp.Func, exp.Literal, exp.Dot)):
            # an operator written as a call (``FROM mod(1, 2)``): name it as the user wrote it
            written = _spelled(candidate_names(this, sql, dialect)[1], sql)
            shown = f"{written[0]}()" if written else this.sql(dialect=dialect or None)[:60]
            raise _refuse(f"reading from {shown} as a table", "is not a table or a table function")
        alias = node.args.get("alias")
        if functions is not None and isinstance(alias, exp.TableAlias) and not alias.this and alias.columns:
            # ``FROM match('x')``: a call the parser took for a table with an unnamed column list
            reason = functions.refusal(node.name, table_function=True)
            if reason:
                raise _refuse_call(node.name, reason)
        # DuckDB reads 'file.csv' or "dir/x.parquet" as a table; elsewhere such a name is at best a
        # strange table, so it is refused in every dialect: the same SQL must get the same answer
        if isinstance(this, exp.Identifier) and (dialect == "duckdb" or this.quoted) and _FILE_TABLE_RE.search(this.name):
            raise _refuse(f"reading {this.name!r} as a table", "can read files")


def _check_mysql_node(node: exp.Expression) -> None:
    """MySQL/MariaDB: optimizer hints (``/*+ SET_VAR(...) MAX_EXECUTION_TIME(0) */``) change
    session settings for the statement, and ``@v := x`` assigns a session variable."""
    if isinstance(node, exp.Hint):
        raise _refuse("optimizer hints (/*+ ... */)", "can change session settings")
    if isinstance(node, exp.PropertyEQ) and isinstance(node.this, (exp.Parameter, exp.SessionParameter)):
        raise _refuse("assigning a variable (:=)", "changes the session")


def _check_mysql_comments(sql: str) -> None:
    """MySQL/MariaDB run what a versioned comment holds (``/*!50000 ... */``, MariaDB's ``/*M!``)
    while sqlglot, like every other parser, skips it: such a statement cannot be vouched for."""
    try:
        with quiet_sqlglot():
            tokens = sqlglot.Dialect.get_or_raise("mysql").tokenize(sql)
    except (SqlglotError, ValueError):
        return  # the parse already succeeded; an untokenizable text cannot get here
    for tok in tokens:
        for comment in tok.comments or ():
            if comment.startswith(("!", "M!", "m!", "+")):
                raise UnsafeSQLError(
                    f"refused: versioned comments and hints (/*!...*/, /*M!...*/, /*+...*/) are run by the "
                    f"server; {ONLY}",
                    sql=sql,
                )


def _first_word(sql: str, dialect: str) -> str:
    """The statement's first keyword, comments skipped ('INSTALL'), for a message that names it."""
    from sqlglot.tokens import TokenType

    try:
        with quiet_sqlglot():
            tokens = sqlglot.Dialect.get_or_raise(dialect or None).tokenize(sql)
    except (SqlglotError, ValueError):
        return ""
    for tok in tokens:
        if tok.token_type not in (TokenType.SEMICOLON, TokenType.L_PAREN):
            word = tok.text.strip().upper()
            return word if word.replace("_", "").isalpha() else ""
    return ""


def _not_a_query(sql: str, dialect: str, root: exp.Expression) -> UnsafeSQLError:
    word = _first_word(sql, dialect)
    if word and word not in ("SELECT", "WITH", "VALUES", "FROM", "TABLE"):
        return UnsafeSQLError(f"refused: {word} statements are not queries; {ONLY}", sql=sql)
    return UnsafeSQLError(f"refused: this is not a query (parsed as {type(root).__name__}); {ONLY}", sql=sql)


def check_read_only(sql: str, dialect: str, *, functions: FunctionCatalogue | None = None) -> exp.Expression:
    """Parse ``sql`` in ``dialect`` and return it if it is one read-only query; else raise.

    ``functions`` is the database's catalogue (``Database.functions``): every call must be one the
    catalogue allows. Without it only the statement's shape is checked, which is right for SQL
    that is not yet in the database's dialect (the model's own SQL before translation); SQL that
    is about to run is always checked with it.

    Raises :class:`UnsafeSQLError` (a :class:`SQLGenerationError`) with a one-line reason.
    """
    if not sql or not sql.strip():
        raise UnsafeSQLError("refused: the statement is empty")
    try:
        return _check(sql, dialect, functions)
    except RecursionError:
        raise UnsafeSQLError(
            "refused: the statement nests too deeply to be checked", sql=sql,
            hint="simplify the nested parentheses or subqueries",
        ) from None


def _check(sql: str, dialect: str, functions: FunctionCatalogue | None) -> exp.Expression:
    try:
        with quiet_sqlglot():
            parsed = sqlglot.parse(sql, read=dialect or None)
    except SqlglotError as exc:
        word = _first_word(sql, dialect)
        named = f"{word} statement: " if word and word not in ("SELECT", "WITH", "VALUES", "FROM") else ""
        raise UnsafeSQLError(
            f"refused: {named}the SQL does not parse ({first_error_line(exc)})", sql=sql
        ) from exc
    statements = [s for s in parsed if s is not None]
    if not statements:
        raise UnsafeSQLError("refused: the statement is empty", sql=sql)
    if len(statements) > 1:
        raise UnsafeSQLError("refused: only one statement may run at a time", sql=sql)
    root = statements[0]
    if dialect == "mysql":
        _check_mysql_comments(sql)
    try:
        for node in root.walk():
            _check_node(node, sql, dialect, functions)
    except UnsafeSQLError as exc:
        exc.sql = sql
        raise
    if isinstance(root, exp.Pragma):
        return root  # a reading PRAGMA (it passed _check_pragma)
    if not isinstance(root, _QUERY_ROOTS):
        raise _not_a_query(sql, dialect, root)
    if isinstance(root, exp.Subquery) and not isinstance(root.unnest(), _QUERY_ROOTS):
        raise UnsafeSQLError(f"refused: this is not a query; {ONLY}", sql=sql)
    return root
