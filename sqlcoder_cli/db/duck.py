"""DuckDB's read-only connection: its own settings, and a check with DuckDB's own parser.

The file is opened ``read_only`` with ``enable_external_access = false`` (no files, network or
extensions) and ``lock_configuration = true`` (``SET`` cannot undo that). Those settings stop
writes and file access, but not every side effect (``EXPORT DATABASE`` creates its folder before
the permission check fails). So, independently of the statement guard and of sqlglot, the
connection asks DuckDB's own parser what a statement is before running it: exactly one
``SELECT`` (``extract_statements``), and every function it calls (``json_serialize_sql``, which
gives DuckDB's parse tree) must be one the catalogue allows (:mod:`sqlcoder_cli.db.catalogue`);
a table function must be on the reviewed list of generators and catalogue views.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ..sql.functions import DUCKDB_READ_PRAGMAS
from .execute import refused as _refuse

_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_PRAGMA = re.compile(r"PRAGMA\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<rest>.*)$", re.S | re.I)

#: the connection settings (passed to duckdb.connect through duckdb_engine)
CONNECT_ARGS: dict[str, Any] = {
    "read_only": True,
    "config": {"enable_external_access": False, "lock_configuration": True},
}


def _calls(node: Any, in_table: bool = False) -> Iterator[tuple[str, bool]]:
    """(function name, used as a table) for every call in DuckDB's JSON parse tree."""
    if isinstance(node, dict):
        if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            function = node["function"]
            if function.get("function_name"):
                yield str(function["function_name"]).lower(), True
            for key, value in function.items():
                if key != "function_name":
                    yield from _calls(value)
            for key, value in node.items():
                if key != "function":
                    yield from _calls(value)
            return
        if node.get("class") == "FUNCTION" and node.get("function_name") and not node.get("is_operator"):
            yield str(node["function_name"]).lower(), in_table
        for value in node.values():
            yield from _calls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _calls(value)


def _reading_pragma(sql: str) -> bool:
    """``PRAGMA table_info('t')``, ``PRAGMA show_tables``: a PRAGMA that only reads, not set."""
    match = _PRAGMA.match(_LEADING_COMMENTS.sub("", sql, count=1).rstrip().rstrip(";").rstrip())
    if match is None or match.group("name").lower() not in DUCKDB_READ_PRAGMAS:
        return False
    rest = match.group("rest").strip()
    return rest == "" or (rest.startswith("(") and rest.endswith(")") and "=" not in rest.split("(", 1)[0])


def check_statement(dbapi_connection: Any, sql: str, catalogue: Any) -> None:
    """Refuse ``sql`` unless DuckDB parses it as one SELECT calling only allowed functions."""
    try:
        statements = dbapi_connection.extract_statements(sql)
    except Exception as exc:  # noqa: BLE001 - DuckDB raises its ParserException family
        raise _refuse(f"DuckDB's parser does not accept it ({str(exc).splitlines()[0]})") from None
    if len(statements) != 1:
        raise _refuse("only one statement may run at a time")
    kind = str(getattr(statements[0], "type", "")).rsplit(".", 1)[-1]
    if kind == "PRAGMA" and _reading_pragma(sql):
        return
    if kind != "SELECT":
        raise _refuse(f"{kind or 'this'} statements are not queries")
    row = dbapi_connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(row[0]) if row and row[0] else {"error": True}
    if tree.get("error"):
        raise _refuse(f"DuckDB could not show what it calls ({tree.get('error_message', 'no parse tree')})")
    for name, as_table in _calls(tree.get("statements", [])):
        reason = catalogue.refusal(name, table_function=as_table)
        if reason:
            raise _refuse(f"{name}() {reason}")
