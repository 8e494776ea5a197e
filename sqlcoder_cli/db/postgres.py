"""PostgreSQL's read-only connection: a layer that holds by itself, even for a superuser.

A read-only transaction stops writes, but not what a superuser's functions do outside the
transaction (``pg_create_physical_replication_slot``, ``pg_stat_reset``,
``pg_terminate_backend``, ``dblink_exec``), and a superuser can leave any role it switches to
(``set_config('role', ...)``). So before a statement runs, the connection itself, independently
of the statement guard and of sqlglot:

1. parses it with PostgreSQL's own parser (libpg_query, through pglast): exactly one plain
   ``SELECT``/``VALUES``/``TABLE`` statement, no ``INTO``, no locking clause, no data-modifying
   ``WITH``;
2. asks the server's catalogue about every function the statement calls, by name or by
   attribute notation (``(x).f``), with the policy of :mod:`sqlcoder_cli.db.catalogue`: volatile,
   procedure and cursor functions are refused. This is also the transaction's first statement, so
   ``SET TRANSACTION READ WRITE`` can no longer take effect;
3. runs it through a server-side cursor, which PostgreSQL declares over the extended protocol
   (one statement only, and ``DECLARE CURSOR`` takes nothing but a query), inside a transaction
   that the session makes read-only (``default_transaction_read_only``) and that is always
   rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DatabaseError
from .execute import refused as _refuse


@dataclass(frozen=True)
class StatementCalls:
    """The functions one statement calls: by name, and by attribute notation (``(x).f``)."""

    functions: frozenset[str]
    attributes: frozenset[str]


#: pglast statement classes named as the user wrote them
_STATEMENT_WORDS = {
    "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
    "VariableSetStmt": "SET", "VariableShowStmt": "SHOW", "TransactionStmt": "BEGIN/COMMIT/ROLLBACK",
    "CopyStmt": "COPY", "ExplainStmt": "EXPLAIN", "CallStmt": "CALL", "DoStmt": "DO", "TruncateStmt": "TRUNCATE",
    "DropStmt": "DROP", "CreateStmt": "CREATE TABLE", "CreateTableAsStmt": "CREATE TABLE AS", "ViewStmt": "CREATE VIEW",
    "GrantStmt": "GRANT", "GrantRoleStmt": "GRANT", "LockStmt": "LOCK", "VacuumStmt": "VACUUM/ANALYZE",
    "PrepareStmt": "PREPARE", "ExecuteStmt": "EXECUTE", "DeclareCursorStmt": "DECLARE", "ListenStmt": "LISTEN",
    "NotifyStmt": "NOTIFY", "CheckPointStmt": "CHECKPOINT", "DiscardStmt": "DISCARD", "LoadStmt": "LOAD",
}


def _statement_word(node: object) -> str:
    name = type(node).__name__
    return _STATEMENT_WORDS.get(name) or name.removesuffix("Stmt")


def inspect_statement(sql: str) -> StatementCalls:
    """Parse ``sql`` as PostgreSQL does and return what it calls; raise if it is not one query."""
    try:
        from pglast import ast, parse_sql
        from pglast.parser import ParseError
        from pglast.visitors import Visitor
    except ImportError:
        raise DatabaseError(
            "PostgreSQL support needs the pglast package for its read-only checks",
            hint="pip install 'sqlcoder-cli[postgres]'",
        ) from None
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise _refuse(f"PostgreSQL's parser does not accept it ({exc})") from None
    except RecursionError:
        raise _refuse("it nests too deeply to be checked") from None
    if len(statements) != 1:
        raise _refuse("only one statement may run at a time")
    root = statements[0].stmt
    if not isinstance(root, ast.SelectStmt):
        raise _refuse(f"{_statement_word(root)} statements are not queries")

    functions: set[str] = set()
    attributes: set[str] = set()
    problems: list[str] = []

    class Calls(Visitor):  # type: ignore[misc]
        def visit_SelectStmt(self, _ancestors: Any, node: Any) -> None:  # noqa: N802 - pglast's naming
            if node.intoClause is not None:
                problems.append("SELECT ... INTO creates a table")
            if node.lockingClause:
                problems.append("locking clauses (FOR UPDATE/FOR SHARE) take row locks")

        def visit_CommonTableExpr(self, _ancestors: Any, node: Any) -> None:  # noqa: N802
            if not isinstance(node.ctequery, ast.SelectStmt):
                problems.append(f"WITH {node.ctename} AS ({_statement_word(node.ctequery)} ...) changes data")

        def visit_FuncCall(self, _ancestors: Any, node: Any) -> None:  # noqa: N802
            functions.add(str(node.funcname[-1].sval).lower())

        def visit_A_Indirection(self, _ancestors: Any, node: Any) -> None:  # noqa: N802
            for part in node.indirection or ():
                if isinstance(part, ast.String):
                    attributes.add(str(part.sval).lower())

        def visit_ColumnRef(self, _ancestors: Any, node: Any) -> None:  # noqa: N802
            fields = node.fields or ()
            if len(fields) >= 2 and isinstance(fields[-1], ast.String):
                attributes.add(str(fields[-1].sval).lower())

    try:
        Calls()(statements)
    except RecursionError:
        raise _refuse("it nests too deeply to be checked") from None
    if problems:
        raise _refuse(problems[0])
    return StatementCalls(frozenset(functions), frozenset(attributes))


def check_statement(dbapi_connection: Any, sql: str) -> None:
    """Refuse ``sql`` unless it is one query calling only functions the server's catalogue allows.

    Runs as the first statement of the transaction the query will run in (see the module
    docstring); raises :class:`DatabaseError`.
    """
    from .catalogue import PG_REFUSED_FUNCTIONS_SQL

    calls = inspect_statement(sql)
    names = sorted(calls.functions | calls.attributes)
    cur = dbapi_connection.cursor()
    try:
        cur.execute("SET TRANSACTION READ ONLY")
        cur.execute(PG_REFUSED_FUNCTIONS_SQL, {"names": names})
        refused = cur.fetchall()
    finally:
        cur.close()
    for name, reason in refused:
        if name in calls.functions:
            raise _refuse(f"{name}() {reason}")
        raise _refuse(f".{name} (attribute notation for {name}()) {reason}")


def on_connect(timeout_ms: int) -> Any:
    """Session settings: read-only transactions by default, a statement time limit, and standard
    string literals (so the parser above and the server read backslashes the same way)."""

    def setup(dbapi_connection: Any, _record: Any) -> None:
        autocommit = getattr(dbapi_connection, "autocommit", False)
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cur.execute("SET standard_conforming_strings = on")
            cur.execute(f"SET statement_timeout = {int(timeout_ms)}")
        finally:
            cur.close()
        if not autocommit:
            dbapi_connection.commit()

    return setup


@dataclass(frozen=True)
class Privileges:
    """What the connected role could do if nothing stopped it (for the warning and ``doctor``)."""

    role: str
    superuser: bool
    writable_tables: int

    @property
    def risky(self) -> bool:
        return self.superuser or self.writable_tables > 0

    def describe(self) -> str:
        if self.superuser:
            return f"connected as {self.role}, a superuser"
        return f"connected as {self.role}, which may change {self.writable_tables} table(s)"


PRIVILEGES_SQL = """
SELECT current_user::text,
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
       (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%'
           AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
                OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE')))
"""


def privileges(dbapi_connection: Any) -> Privileges:
    cur = dbapi_connection.cursor()
    try:
        cur.execute(PRIVILEGES_SQL)
        role, superuser, writable = cur.fetchone()
    finally:
        cur.close()
    return Privileges(str(role), bool(superuser), int(writable or 0))


#: the three lines docs/safety.md and ``doctor`` show (PostgreSQL 14 and later)
READ_ONLY_ROLE_SQL = (
    "CREATE ROLE sqlcoder_reader LOGIN PASSWORD 'choose-a-password';",
    "GRANT pg_read_all_data TO sqlcoder_reader;",
    "ALTER ROLE sqlcoder_reader SET default_transaction_read_only = on;",
)
