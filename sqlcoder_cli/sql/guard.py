"""Refuse anything but one read-only query, on the parsed statement, before the database sees it.

Why a parse and not a keyword check: comments, case tricks, data-modifying CTEs and side-effect
functions hide in places a regular expression misses. Anything sqlglot cannot parse is refused:
a statement we cannot understand is a statement we cannot vouch for. The connection is read-only
too (:mod:`sqlcoder_cli.db.connect`); this guard gives the clear message, the connection is the
backstop.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import UnsafeSQLError
from .transpile import first_error_line, quiet_sqlglot

ONLY = "only SELECT queries run"

#: Functions with effects outside the query: files, extensions, server state, dynamic SQL.
FORBIDDEN_FUNCTIONS: frozenset[str] = frozenset(
    {
        # SQLite
        "load_extension", "writefile", "readfile", "edit", "fts3_tokenizer", "zipfile", "sqlar_compress",
        # PostgreSQL
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_write_file",
        "pg_ls_logdir", "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir",
        "lo_import", "lo_export", "lo_unlink", "lo_create", "lo_from_bytea", "lo_put",
        "dblink", "dblink_exec", "dblink_connect", "dblink_send_query",
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
        "set_config", "pg_advisory_lock", "pg_advisory_xact_lock", "pg_promote",
        "pg_switch_wal", "pg_create_restore_point", "pg_start_backup", "pg_stop_backup",
        "pg_backup_start", "pg_backup_stop", "pg_logical_emit_message", "txid_current",
        "nextval", "setval", "query_to_xml", "query_to_json", "table_to_xml",
        "copy",
        # DuckDB file and network access, dynamic SQL
        "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
        "read_json_objects", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects", "read_text",
        "read_blob", "glob", "sniff_csv", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
        "parquet_kv_metadata", "read_xlsx", "st_read", "iceberg_scan", "delta_scan", "sqlite_scan",
        "sqlite_attach", "postgres_scan", "postgres_attach", "mysql_scan", "query", "query_table",
        "write_csv", "write_parquet", "install_extension", "load_extension", "getenv",
        # MySQL
        "load_file", "sleep", "benchmark", "get_lock", "release_lock",
        # SQL Server
        "openrowset", "opendatasource", "openquery", "xp_cmdshell",
    }
)

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
    (exp.Pragma, "PRAGMA", "can change database settings"),
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


def _refuse(what: str, why: str) -> UnsafeSQLError:
    return UnsafeSQLError(f"refused: {what} {why}; {ONLY}")


def _function_names(node: exp.Func) -> set[str]:
    names: set[str] = set()
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        names.update(n.lower() for n in type(node).sql_names())
        names.add(type(node).__name__.lower())
    return names


def _check_node(node: exp.Expression, dialect: str) -> None:
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
    if isinstance(node, exp.Func):
        bad = _function_names(node) & FORBIDDEN_FUNCTIONS
        if bad:
            raise _refuse(f"the function {sorted(bad)[0]}()", "can reach outside the query")
    if isinstance(node, exp.Table):
        this = node.this
        if isinstance(this, exp.Literal) and this.is_string:
            raise _refuse(f"reading the file {this.this!r} as a table", "can read files")
        # DuckDB reads 'file.csv' or "dir/x.parquet" as a table; elsewhere such a name is at best a
        # strange table, so it is refused in every dialect: the same SQL must get the same answer
        if isinstance(this, exp.Identifier) and (dialect == "duckdb" or this.quoted) and _FILE_TABLE_RE.search(this.name):
            raise _refuse(f"reading {this.name!r} as a table", "can read files")


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


def check_read_only(sql: str, dialect: str) -> exp.Expression:
    """Parse ``sql`` in ``dialect`` and return it if it is one read-only query; else raise.

    Raises :class:`UnsafeSQLError` (a :class:`SQLGenerationError`) with a one-line reason.
    """
    if not sql or not sql.strip():
        raise UnsafeSQLError("refused: the statement is empty")
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
    for node in root.walk():
        _check_node(node, dialect)
    if not isinstance(root, _QUERY_ROOTS):
        raise _not_a_query(sql, dialect, root)
    if isinstance(root, exp.Subquery) and not isinstance(root.unnest(), _QUERY_ROOTS):
        raise UnsafeSQLError(f"refused: this is not a query; {ONLY}", sql=sql)
    return root
