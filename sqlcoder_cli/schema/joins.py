"""Which columns join which tables: declared foreign keys, and the ones a schema does not declare.

Why: many analytics databases (SQLite files, DuckDB exports, the sql-eval copies) declare no foreign
keys at all, so the prompt's ``-- a.x can be joined with b.y`` hints, which SQL models are trained
with, would be missing, and pruning would not know which junction tables connect two matched
tables. Undeclared keys are recognised by convention: a key-like column name shared by a few tables
(``aid`` in ``author`` and ``writes``), or a name that points at a table (``user_id`` -> ``users``,
``sbTxCustId`` -> ``sbCustomer``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace

from .introspect import ForeignKey, Schema, Table
from .words import terms


def key_columns(t: Table) -> list[str]:
    """The declared primary key, else a first column named like an id (``id``, ``uid``, ``sbCustId``),
    else a column named after the table (``id``, ``publication_id``, ``pid`` in ``publication``)."""
    if t.primary_key:
        return t.primary_key
    if t.columns and re.search(r"(id|key|code)$", t.columns[0].name, re.I):
        return [t.columns[0].name]
    words = terms(t.name)
    if words:
        whole = "".join(words)
        own = {"id", f"{whole}id", f"{whole}_id", f"{words[-1]}id", f"{words[-1]}_id", f"{whole[0]}id"}
        for c in t.columns:
            if c.name.lower() in own:
                return [c.name]
    return []


class JoinGraph:
    """Which columns join, and which tables are one join away (declared or inferred)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.implied = same_name_keys(schema)
        self.named = named_references(schema)
        self.keys = self._join_keys()
        self.neighbours = self._neighbours()

    def _join_keys(self) -> dict[int, set[str]]:
        schema = self.schema
        keys: dict[int, set[str]] = {id(t): set(key_columns(t)) for t in schema.tables}
        for t in schema.tables:
            for fk in t.foreign_keys:
                keys[id(t)].update(fk.columns)
                ref = schema.table(fk.referred_table)
                if ref is not None:
                    keys.setdefault(id(ref), set()).update(fk.referred_columns)
        for t, col in self.implied:
            keys[id(t)].add(col)
        for t, col, _other in self.named:
            keys[id(t)].add(col)
        return keys

    def _neighbours(self) -> dict[int, list[Table]]:
        """Tables one join away: declared foreign keys both ways, then implied same-name keys."""
        schema = self.schema
        out: dict[int, list[Table]] = {id(t): [] for t in schema.tables}
        seen: set[tuple[int, int]] = set()

        def link(a: Table, b: Table) -> None:
            if a is b or (id(a), id(b)) in seen:
                return
            seen.add((id(a), id(b)))
            seen.add((id(b), id(a)))
            out[id(a)].append(b)
            out[id(b)].append(a)

        for t in schema.tables:
            for fk in t.foreign_keys:
                ref = schema.table(
                    f"{fk.referred_schema}.{fk.referred_table}" if fk.referred_schema else fk.referred_table
                )
                if ref is not None:
                    link(t, ref)
        by_name: dict[str, list[Table]] = {}
        for t, col in self.implied:
            by_name.setdefault(col.lower(), []).append(t)
        for tables in by_name.values():
            if len(tables) <= 6:  # a name on every table ('id') links nothing in particular
                for a in tables:
                    for b in tables:
                        link(a, b)
        for t, _col, other in self.named:
            link(t, other)
        return out


KEYLIKE = re.compile(r"(id|key|code|no|num|number)$", re.I)


def same_name_keys(schema: Schema) -> list[tuple[Table, str]]:
    by_name: dict[str, list[Table]] = {}
    for t in schema.tables:
        for c in t.columns:
            if KEYLIKE.search(c.name) or c.primary_key:
                by_name.setdefault(c.name.lower(), []).append(t)
    return [
        (t, c.name)
        for t in schema.tables
        for c in t.columns
        if len(by_name.get(c.name.lower(), [])) > 1
    ]


def reference_words(column: str) -> list[str]:
    """The terms a key column is named after (``sbTxCustId`` -> sb, tx, cust; ``merchant_id`` -> merchant)."""
    m = re.match(r"^(.*?)_?(id|key|code)$", column, re.I)
    return terms(m.group(1)) if m and m.group(1) else []


def _names(words: list[str], t: Table) -> bool:
    """``words`` (of a key column) name table ``t`` itself: its whole name or its last word."""
    name = terms(t.name)
    return bool(words and name) and ("".join(words) == "".join(name) or words[-1] == name[-1])


def named_references(schema: Schema) -> list[tuple[Table, str, Table]]:
    """Undeclared foreign keys by naming convention: ``user_id`` → ``users``, ``sbTxCustId`` → ``sbCustomer``.

    The word before the ``id``/``key``/``code`` suffix must equal the last word of a table's name
    or be a prefix (3+ letters) of it. Indexed by last word so 500 tables stay cheap.
    """
    by_tail: dict[str, list[Table]] = {}
    by_whole: dict[str, list[Table]] = {}
    for t in schema.tables:
        name_terms = terms(t.name)
        if name_terms:
            by_tail.setdefault(name_terms[-1], []).append(t)
            by_whole.setdefault("".join(name_terms), []).append(t)
    tails = sorted(by_tail)
    found: list[tuple[Table, str, Table]] = []
    for t in schema.tables:
        for c in t.columns:
            words = reference_words(c.name)
            if not words:
                continue
            word, joined = words[-1], "".join(words)
            targets: list[Table] = list(by_whole.get(joined, []))
            if len(word) >= 3:
                i = bisect.bisect_left(tails, word)
                while i < len(tails) and tails[i].startswith(word):
                    targets.extend(by_tail[tails[i]])
                    i += 1
            else:
                targets.extend(by_tail.get(word, []))
            done: set[int] = set()
            for other in sorted(targets, key=lambda x: schema.tables.index(x) if len(schema.tables) < 64 else 0):
                if other is t or id(other) in done:
                    continue
                done.add(id(other))
                found.append((t, c.name, other))
    return found


def _is_junction(t: Table) -> bool:
    """Every column is key-like (``domain_author(aid, did)``): the table links others, it names nothing."""
    return bool(t.columns) and all(KEYLIKE.search(c.name) for c in t.columns)


def infer_foreign_keys(schema: Schema) -> Schema:
    """A copy of ``schema`` with the foreign keys its naming implies, when it declares none at all.

    A schema that declares some foreign keys is taken at its word (it is returned as is). Otherwise
    a column becomes a foreign key when its name points at exactly one table (``coupons.merchant_id``
    -> ``merchants.mid``, that table's key), or else when exactly one table owns its name as key (its
    first, id-like column, in a table that is not itself a pure junction of keys: ``writes.aid`` ->
    ``author.aid``). Ambiguous names get no foreign key: a wrong join hint
    misleads the model more than a missing one.
    """
    if any(t.foreign_keys for t in schema.tables):
        return schema
    inferred: dict[int, list[ForeignKey]] = {id(t): [] for t in schema.tables}
    covered: set[tuple[int, str]] = set()

    def add(t: Table, column: str, target: Table, target_column: str) -> None:
        if target is t or (id(t), column.lower()) in covered:
            return
        covered.add((id(t), column.lower()))
        inferred[id(t)].append(
            ForeignKey(columns=[column], referred_table=target.name, referred_columns=[target_column],
                       referred_schema=target.schema if target.schema != t.schema else None, inferred=True)
        )

    targets: dict[tuple[int, str], list[Table]] = {}
    for t, column, other in named_references(schema):
        targets.setdefault((id(t), column), []).append(other)
    by_id = {id(t): t for t in schema.tables}
    for (tid, column), found in targets.items():
        t = by_id[tid]
        words = reference_words(column)
        if _names(words, t) and column in key_columns(t):
            continue  # the table's own id (``fare.fare_id``), not a reference to ``flight_fare``
        exact = [o for o in found if "".join(terms(o.name)) == "".join(words)]
        found = exact or found
        if len(found) != 1:
            continue
        key = key_columns(found[0])
        if len(key) == 1:
            add(t, column, found[0], key[0])
    owners: dict[str, list[Table]] = {}
    for t in schema.tables:
        key = key_columns(t)
        if len(key) == 1 and not _is_junction(t):
            owners.setdefault(key[0].lower(), []).append(t)
    for t, column in same_name_keys(schema):
        found = owners.get(column.lower(), [])
        if len(found) == 1 and found[0] is not t:
            add(t, column, found[0], key_columns(found[0])[0])

    if not any(inferred.values()):
        return schema
    tables = [replace(t, foreign_keys=inferred[id(t)]) if inferred[id(t)] else t for t in schema.tables]
    return replace(schema, tables=tables)
