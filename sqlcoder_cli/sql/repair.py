"""Mend one frequent slip of small models before spending a retry on it: a column on the wrong alias.

Why: with two or three tables in a query, small models write ``T2.rating`` where ``rating`` lives
in ``T1``; SQLite answers "no such column" and a retry often repeats the slip. When the column
exists in exactly one other table of the same SELECT, the intended reference is not in doubt, so
it is re-qualified with that table's alias. Nothing else changes; a column no table of the SELECT
has, or several have, is left for validation and the model's retry. A join condition that would
end up comparing a column with itself is not mended either: that would turn a join into a cross
join.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .transpile import quiet_sqlglot


def _columns_by_source(select: exp.Select, mapping: dict[str, dict[str, str]]) -> dict[str, tuple[str, set[str]]]:
    """Lower-case alias (or table name) -> (the alias as written, lower-case column names), for the
    plain tables this SELECT reads."""
    sources: dict[str, tuple[str, set[str]]] = {}
    from_ = select.args.get("from") or select.args.get("from_")
    tables = []
    if from_ is not None:
        tables.extend(from_.find_all(exp.Table))
    for join in select.args.get("joins") or []:
        if isinstance(join.this, exp.Table):
            tables.append(join.this)
    for table in tables:
        if table.find_ancestor(exp.Subquery) not in (None, select.find_ancestor(exp.Subquery)):
            continue  # a table inside a derived table belongs to that scope
        columns = mapping.get(table.name.lower())
        if columns is None:
            continue
        written = table.alias_or_name or table.name
        sources[written.lower()] = (written, {c.lower() for c in columns})
    return sources


@dataclass(frozen=True)
class Requalified:
    """The mended SQL and what moved, one ``"T2.rating -> T1.rating"`` per column reference."""

    sql: str
    moves: tuple[str, ...]


def requalify_columns(sql: str, schema_mapping: dict, *, dialect: str) -> str | None:
    """``sql`` with each column on the wrong alias moved to the one table of its SELECT that has it,
    or None when there is nothing to mend (or it cannot be parsed)."""
    mended = requalify(sql, schema_mapping, dialect=dialect)
    return None if mended is None else mended.sql


def requalify(sql: str, schema_mapping: dict, *, dialect: str) -> Requalified | None:
    """Like :func:`requalify_columns`, saying which references moved (users are told what was mended)."""
    mapping = {str(t).lower(): {str(c).lower(): str(v) for c, v in cols.items()} for t, cols in schema_mapping.items()
               if isinstance(cols, dict)}
    try:
        with quiet_sqlglot():
            tree = sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None
    if tree is None:
        return None
    moves: list[str] = []
    for select in tree.find_all(exp.Select):
        sources = _columns_by_source(select, mapping)
        if len(sources) < 2:
            continue
        for column in select.find_all(exp.Column):
            if column.find_ancestor(exp.Select) is not select:
                continue  # belongs to a nested SELECT, handled in its own turn
            qualifier = column.table.lower()
            name = column.name.lower()
            if not qualifier or qualifier not in sources or name in sources[qualifier][1]:
                continue
            owners = [alias for alias, (_, cols) in sources.items() if name in cols]
            if len(owners) != 1:
                continue
            condition = column.find_ancestor(exp.Join)
            if condition is not None and isinstance(column.parent, exp.Binary):
                other = column.parent.right if column.parent.left is column else column.parent.left
                if isinstance(other, exp.Column) and other.table.lower() == owners[0] and other.name.lower() == name:
                    continue  # would compare the column with itself
            moved_to = sources[owners[0]][0]
            moves.append(f"{column.table}.{column.name} -> {moved_to}.{column.name}")
            column.set("table", exp.to_identifier(moved_to))
    if not moves:
        return None
    with quiet_sqlglot():
        # one move per column, however often the query names it (SELECT and GROUP BY)
        return Requalified(tree.sql(dialect=dialect or None), tuple(dict.fromkeys(moves)))
