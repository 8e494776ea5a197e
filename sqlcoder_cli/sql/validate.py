"""Check a query against the introspected schema before the database sees it.

Why: a wrong column name is the most common mistake a small model makes. The database would
report it too, but only one at a time, in its own words, and sometimes with the password of the
connection in the message; a structured list of issues ("unknown column orders.total_price;
orders has: ...; did you mean total?") is what the self-correction loop feeds back to the model.

Guiding rule: a false positive (blocking SQL that would have run) is worse than a miss, because
the database catches misses anyway. So: identifiers are compared case-insensitively on both sides,
anything we cannot fully resolve (table functions, tables outside the introspected schema, sources
without known columns) is not reported, and when sqlglot's qualifier itself fails on SQL that
parsed, we report nothing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import SQLValidationError
from .transpile import first_error_line, quiet_sqlglot

#: schema qualifiers that mean "the default schema" (a table there is checked against the mapping)
_DEFAULT_SCHEMAS = {"", "public", "main", "dbo"}
#: table-name prefixes of system catalogs that are never in an introspected schema
_SYSTEM_PREFIXES = ("sqlite_", "pg_", "information_schema", "duckdb_")


@dataclass(frozen=True)
class SQLIssue:
    """One problem found in a query.

    ``kind`` is one of ``syntax``, ``unknown_table``, ``unknown_column``, ``ambiguous_column``;
    ``message`` is one human line; ``name`` the offending identifier (None for syntax errors).
    """

    kind: str
    message: str
    name: str | None = None

    def __str__(self) -> str:
        return self.message


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), candidates, n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _lower_mapping(schema_mapping: dict) -> dict[str, dict[str, str]]:
    """``{table: {column: type}}`` with lower-case names (nested catalog/db levels flattened)."""
    out: dict[str, dict[str, str]] = {}
    for table, columns in (schema_mapping or {}).items():
        if not isinstance(columns, dict):
            continue
        if columns and all(isinstance(v, dict) for v in columns.values()):
            # a db level ({db: {table: {col: type}}}): flatten, the default schema is what we query
            for name, cols in _lower_mapping(columns).items():
                out.setdefault(name, {}).update(cols)
            continue
        merged = out.setdefault(str(table).lower(), {})
        for col, typ in columns.items():
            merged[str(col).lower()] = _safe_type(typ)
    return out


def _safe_type(typ: object) -> str:
    """A type sqlglot can parse; types do not matter for qualifying, so unknown ones become TEXT."""
    text = str(typ or "").strip()
    if not text:
        return "TEXT"
    try:
        with quiet_sqlglot():
            exp.DataType.build(text)
        return text
    except (SqlglotError, ValueError, TypeError, KeyError):
        return "TEXT"


def _lowercase_identifiers(tree: exp.Expression, dialect: str) -> exp.Expression:
    """Every identifier lower-cased and unquoted: we match names case-insensitively on purpose.

    Postgres distinguishes ``"Name"`` from ``name``, but flagging that difference would be a false
    positive whenever the introspected spelling differs from the model's; the database decides.
    """

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Identifier):
            quoted = bool(node.args.get("quoted"))
            new = exp.Identifier(this=node.name.lower(), quoted=False)
            new.meta["was_quoted"] = quoted
            return new
        return node

    return tree.transform(fix, copy=True)


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE) if cte.alias_or_name}


def _checkable_table(table: exp.Table) -> bool:
    """True for a plain table reference in the default schema (not a function, file or catalog)."""
    if not isinstance(table.this, exp.Identifier):
        return False
    if table.args.get("catalog") is not None:
        return False
    db = table.text("db").lower()
    if db not in _DEFAULT_SCHEMAS:
        return False
    name = table.name.lower()
    return bool(name) and not name.startswith(_SYSTEM_PREFIXES)


def _unknown_tables(tree: exp.Expression, mapping: dict[str, dict[str, str]]) -> list[SQLIssue]:
    ctes = _cte_names(tree)
    known = sorted(mapping)
    issues: list[SQLIssue] = []
    seen: set[str] = set()
    for table in tree.find_all(exp.Table):
        if not _checkable_table(table):
            continue
        name = table.name.lower()
        if name in mapping or name in ctes or name in seen:
            continue
        seen.add(name)
        issues.append(
            SQLIssue(
                "unknown_table",
                f"unknown table {name}; the database has: {_listing(known)}{_suggest(name, known)}",
                name,
            )
        )
    return issues


def _source_columns(source: object, mapping: dict[str, dict[str, str]]) -> tuple[str, list[str]] | None:
    """(display name, columns) of one FROM source, or None when its columns are not known."""
    from sqlglot.optimizer.scope import Scope

    if isinstance(source, exp.Table):
        if not _checkable_table(source):
            return None
        cols = mapping.get(source.name.lower())
        return (source.name.lower(), list(cols)) if cols is not None else None
    if isinstance(source, Scope):
        expression = source.expression
        if isinstance(expression, (exp.Select, exp.SetOperation)):
            selects = expression.named_selects
            if "*" in selects or any(not s for s in selects):
                return None
            return "", [s.lower() for s in selects]
    return None


def _column_issues(tree: exp.Expression, mapping: dict[str, dict[str, str]], dialect: str) -> list[SQLIssue]:
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope
    from sqlglot.schema import MappingSchema

    try:
        with quiet_sqlglot():
            schema = MappingSchema(mapping, dialect=dialect, normalize=False)
            qualified = qualify(
                tree,
                schema=schema,
                dialect=dialect,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            )
            scopes = list(traverse_scope(qualified))
    except SqlglotError as exc:
        text = first_error_line(exc)
        if text.startswith("Unknown column: "):
            return _unknown_column_from_message(tree, text[len("Unknown column: ") :], mapping)
        return []  # the qualifier gave up on SQL that parsed: not our place to block it
    except Exception:  # noqa: BLE001 - sqlglot bugs on valid SQL must never block a query
        return []

    issues: list[SQLIssue] = []
    seen: set[tuple[str, str]] = set()
    for scope in scopes:
        if not isinstance(scope.expression, exp.Select) or scope.pivots:
            continue
        sources = {alias.lower(): _source_columns(src, mapping) for alias, src in scope.sources.items()}
        if any(v is None for v in sources.values()):
            continue  # a source whose columns we cannot know: stay silent rather than guess
        suspects: list[exp.Column] = []
        if not scope.is_correlated_subquery:
            suspects.extend(scope.external_columns)
        suspects.extend(scope.unqualified_columns)
        for column in suspects:
            name = column.name.lower()
            if not name or name == "*":
                continue
            if dialect == "sqlite" and not column.table and column.this.meta.get("was_quoted"):
                continue  # SQLite reads an unknown "double-quoted" name as a string literal
            issue = _classify(column, name, sources)
            # one report per column name: an unresolved name in a subquery is also a candidate
            # outer reference, and saying so twice would only confuse
            if issue is not None and (issue.kind, name) not in seen:
                seen.add((issue.kind, name))
                issues.append(issue)
    return issues


def _classify(
    column: exp.Column, name: str, sources: dict[str, tuple[str, list[str]] | None]
) -> SQLIssue | None:
    qualifier = column.table.lower()
    if qualifier:
        src = sources.get(qualifier)
        if src is None:
            if qualifier in sources:
                return None
            known = sorted(sources)
            return SQLIssue(
                "unknown_column",
                f"unknown column {qualifier}.{name}: no table or alias named {qualifier} in this query"
                f" (it has: {_listing(known)})",
                f"{qualifier}.{name}",
            )
        table, cols = src
        if name in cols:
            return None
        label = table or qualifier
        return SQLIssue(
            "unknown_column",
            f"unknown column {label}.{name}; {label} has: {_listing(cols)}{_suggest(name, cols)}",
            f"{label}.{name}",
        )
    owners = [(alias, src) for alias, src in sources.items() if src is not None and name in src[1]]
    if len(owners) > 1:
        names = ", ".join(f"{(src[0] or alias)}.{name}" for alias, src in owners)
        return SQLIssue(
            "ambiguous_column", f"ambiguous column {name}: it could be {names}; qualify it with the table", name
        )
    if owners:
        return None
    everything = sorted({c for src in sources.values() if src is not None for c in src[1]})
    tables = [src[0] or alias for alias, src in sources.items() if src is not None]
    if len(tables) == 1:
        own = next(src[1] for src in sources.values() if src is not None)
        return SQLIssue(
            "unknown_column",
            f"unknown column {tables[0]}.{name}; {tables[0]} has: {_listing(own)}{_suggest(name, own)}",
            f"{tables[0]}.{name}",
        )
    where = ", ".join(tables) if tables else "the query's tables"
    return SQLIssue(
        "unknown_column",
        f"unknown column {name}: none of {where} has it{_suggest(name, everything)}",
        name,
    )


def _unknown_column_from_message(
    tree: exp.Expression, name: str, mapping: dict[str, dict[str, str]]
) -> list[SQLIssue]:
    """Turn qualify's 'Unknown column: x' (raised for alias.x on a known table) into an issue."""
    name = name.strip().lower()
    aliases: dict[str, tuple[str, list[str]]] = {}
    for table in tree.find_all(exp.Table):
        if _checkable_table(table) and table.name.lower() in mapping:
            aliases[(table.alias_or_name or table.name).lower()] = (table.name.lower(), list(mapping[table.name.lower()]))
    for derived in tree.find_all(exp.Subquery, exp.CTE):
        alias = derived.alias_or_name.lower() if derived.alias_or_name else ""
        body = derived.this
        if alias and isinstance(body, (exp.Select, exp.SetOperation)) and "*" not in body.named_selects:
            aliases.setdefault(alias, (alias, [c.lower() for c in body.named_selects]))
    for column in tree.find_all(exp.Column):
        if column.name.lower() == name and column.table.lower() in aliases:
            label, cols = aliases[column.table.lower()]
            if name in cols:
                continue
            return [
                SQLIssue(
                    "unknown_column",
                    f"unknown column {label}.{name}; {label} has: {_listing(cols)}{_suggest(name, cols)}",
                    f"{label}.{name}",
                )
            ]
    return []


def validate_sql(sql: str, schema_mapping: dict, *, dialect: str) -> list[SQLIssue]:
    """Every problem found in ``sql`` against ``schema_mapping`` (``Schema.as_sqlglot_mapping()``).

    An empty list means nothing was found, not that the query is right. Never raises for valid
    SQL: when sqlglot cannot analyse a statement that parses, no issues are reported.
    """
    if not sql or not sql.strip():
        return [SQLIssue("syntax", "the SQL is empty")]
    try:
        with quiet_sqlglot():
            trees = [t for t in sqlglot.parse(sql, read=dialect or None) if t is not None]
    except SqlglotError as exc:
        return [SQLIssue("syntax", f"syntax error: {first_error_line(exc)}")]
    if not trees:
        return [SQLIssue("syntax", "the SQL is empty")]
    mapping = _lower_mapping(schema_mapping)
    if not mapping:
        return []  # nothing known about the schema: nothing to check against
    issues: list[SQLIssue] = []
    for raw in trees:
        if isinstance(raw, exp.Command):
            continue  # sqlglot did not understand it; the guard decides about such statements
        try:
            tree = _lowercase_identifiers(raw, dialect)
        except Exception:  # noqa: BLE001
            continue
        tables = _unknown_tables(tree, mapping)
        if tables:
            issues.extend(tables)
            continue  # columns of an unknown table would only repeat the same problem
        issues.extend(_column_issues(tree, mapping, dialect))
    return [_with_owners(issue, mapping) for issue in issues]


def _with_owners(issue: SQLIssue, mapping: dict[str, dict[str, str]]) -> SQLIssue:
    """Say which tables do have an unknown column's name: a small model that put ``citation_num``
    on the wrong table fixes the join when told where the column lives, rarely from the list alone."""
    if issue.kind != "unknown_column" or not issue.name:
        return issue
    label, _, column = issue.name.rpartition(".")
    owners = sorted(t for t, cols in mapping.items() if column in cols and t != label)
    if not owners:
        return issue
    where = ", ".join(owners[:4]) + (f" and {len(owners) - 4} more" if len(owners) > 4 else "")
    verb = "has" if len(owners) == 1 else "have"
    return SQLIssue(issue.kind, f"{issue.message}; {where} {verb} a column {column}", issue.name)


def check_sql(sql: str, schema_mapping: dict, *, dialect: str) -> None:
    """Raise :class:`SQLValidationError` when :func:`validate_sql` finds anything."""
    issues = validate_sql(sql, schema_mapping, dialect=dialect)
    if issues:
        raise SQLValidationError(issues, sql=sql)


def issues_as_feedback(issues: list[SQLIssue]) -> str:
    """The issues as text for the model's next attempt: one bullet per problem."""
    if not issues:
        return ""
    lines = ["The SQL has these problems:"]
    lines.extend(f"- {issue.message}" for issue in issues)
    return "\n".join(lines)
