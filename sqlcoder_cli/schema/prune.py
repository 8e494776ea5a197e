"""Fit a large schema into the prompt's token budget by keeping what the question needs.

Why: a 500-table DDL is ~50k tokens; a 4k-context model sees a fraction of it, and the model
hallucinates columns when the right table was cut blindly. The rules are general, no per-database
tuning:

1. Words of the question (and the database notes) are split, lower-cased and stemmed
   (``OrderItems``/``order_items``/"order items" all give ``order``, ``item``) and matched against
   table and column names, comments and known values (sampled values, enum/CHECK lists). Terms that
   occur in many columns count less (an IDF weight), and a schema term that is a prefix of a question
   word counts a little (``cust`` ~ "customers").
2. Tables are ranked by their own match plus their best column's. Matched tables come first,
   then the tables they reference or that reference them (declared foreign keys, and "implied"
   ones: a key-like column with the same name in two tables), so a join path stays possible.
3. Every kept table keeps its primary-key and join columns and its matched columns first; the rest
   of the budget is filled with the remaining columns of kept tables (best-ranked table first), then
   with more tables. Ties break on schema order, so the result is deterministic.

``estimate_tokens`` is tokenizer-free; against Qwen2.5-Coder's tokenizer on the sql-eval DDLs it
overestimates by 0-16 % (see docs/schema.md), which errs on the side of fitting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .ddl import render_ddl
from .introspect import Column, Schema, Table

_PIECES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d|\s+|[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """A cheap token count: word pieces of up to 7 letters, single digits and punctuation.

    Calibrated on the sql-eval DDLs against Qwen2.5-Coder's BPE tokenizer (estimate/real between
    1.00 and 1.16; a flat 3.35 chars/token is off by -20 % .. +25 % on the same texts).
    """
    n = 0
    for piece in _PIECES.findall(text):
        c = piece[0]
        if c.isspace():
            n += 0 if piece == " " else 1
        elif c.isalpha():
            n += math.ceil(len(piece) / 7)
        else:
            n += 1
    return math.ceil(n * 0.9)


@dataclass
class PrunedSchema:
    """What the prompt shows (``schema``/``ddl``) and what was left out, for ``--show-prompt``."""

    schema: Schema
    ddl: str
    tokens: int
    dropped_tables: list[str] = field(default_factory=list)
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)
    full_tokens: int = 0

    @property
    def pruned(self) -> bool:
        return bool(self.dropped_tables or self.dropped_columns)

    def summary(self) -> str:
        """One line for humans: what was left out and why."""
        if not self.pruned:
            return f"full schema ({self.tokens} tokens)"
        n_cols = sum(len(v) for v in self.dropped_columns.values())
        return (
            f"schema pruned to {self.tokens} of {self.full_tokens} tokens: "
            f"{len(self.dropped_tables)} tables and {n_cols} columns of kept tables left out"
        )


# -- words ----------------------------------------------------------------------------------------

_STOP = set(
    """a an the of in on at to for from by with without and or not no is are was were be been being do does did
    what which who whom whose when where why how many much all any each every some me my our us we you your
    i it its this that these those there their them they than then as into per show list give find get tell
    return display please whose between over under more most less least top only also just have has had
    can could would should will one two three""".split()
)
_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+", re.UNICODE)


def stem(word: str) -> str:
    """A tiny plural/verb-form stemmer: enough to meet 'orders' with 'order' and 'cities' with 'city'."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def terms(text: str) -> list[str]:
    """Split identifiers and prose into stemmed lower-case terms (stop words dropped)."""
    out: list[str] = []
    for piece in _SPLIT.findall(text.replace("_", " ")):
        low = piece.lower()
        if low in _STOP or (len(low) < 2 and not low.isdigit()):
            continue
        out.append(stem(low))
    return out


# -- scoring --------------------------------------------------------------------------------------


@dataclass
class _Scored:
    table: Table
    index: int
    score: float = 0.0
    column_scores: dict[str, float] = field(default_factory=dict)


def _values_in(col: Column, question_low: str) -> bool:
    for value in (col.enum_values or []) + (col.sample_values or []):
        v = value.strip().lower()
        if len(v) >= 2 and re.search(r"(?<!\w)" + re.escape(v) + r"(?!\w)", question_low):
            return True
    return False


class _Matcher:
    def __init__(self, question_terms: list[str], df: dict[str, int]) -> None:
        self.q = set(question_terms)
        self.df = df

    def weight(self, term: str) -> float:
        return 1.0 / (1.0 + math.log(1 + self.df.get(term, 0)))

    def match(self, name_terms: list[str], *, idf: bool = True) -> float:
        score = 0.0
        for t in set(name_terms):
            w = self.weight(t) if idf else 1.0
            if t in self.q:
                score += w
            elif len(t) >= 3 and any(q.startswith(t) or (len(q) >= 4 and t.startswith(q)) for q in self.q):
                score += 0.5 * w
        return score


def _key_of(t: Table) -> list[str]:
    """The declared primary key, else a first column named like an id (``id``, ``uid``, ``sbCustId``)."""
    if t.primary_key:
        return t.primary_key
    if t.columns and re.search(r"(id|key|code)$", t.columns[0].name, re.I):
        return [t.columns[0].name]
    return []


def _join_keys(schema: Schema) -> dict[int, set[str]]:
    """Columns that join: declared FK columns, PKs, and key-like names shared by several tables."""
    keys: dict[int, set[str]] = {id(t): set(_key_of(t)) for t in schema.tables}
    for t in schema.tables:
        for fk in t.foreign_keys:
            keys[id(t)].update(fk.columns)
            ref = schema.table(fk.referred_table)
            if ref is not None:
                keys.setdefault(id(ref), set()).update(fk.referred_columns)
    for t, col in _implied_pairs(schema):
        keys[id(t)].add(col)
    for t, col, _other in _named_references(schema):
        keys[id(t)].add(col)
    return keys


_KEYLIKE = re.compile(r"(id|key|code|no|num|number)$", re.I)


def _implied_pairs(schema: Schema) -> list[tuple[Table, str]]:
    by_name: dict[str, list[Table]] = {}
    for t in schema.tables:
        for c in t.columns:
            if _KEYLIKE.search(c.name) or c.primary_key:
                by_name.setdefault(c.name.lower(), []).append(t)
    return [
        (t, c.name)
        for t in schema.tables
        for c in t.columns
        if len(by_name.get(c.name.lower(), [])) > 1
    ]


def _neighbours(schema: Schema) -> dict[int, list[Table]]:
    """Tables one join away: declared foreign keys both ways, then implied same-name keys."""
    out: dict[int, list[Table]] = {id(t): [] for t in schema.tables}

    def link(a: Table, b: Table) -> None:
        if a is not b and b not in out[id(a)]:
            out[id(a)].append(b)
        if a is not b and a not in out[id(b)]:
            out[id(b)].append(a)

    for t in schema.tables:
        for fk in t.foreign_keys:
            ref = schema.table(f"{fk.referred_schema}.{fk.referred_table}" if fk.referred_schema else fk.referred_table)
            if ref is not None:
                link(t, ref)
    by_name: dict[str, list[Table]] = {}
    for t, col in _implied_pairs(schema):
        by_name.setdefault(col.lower(), []).append(t)
    for tables in by_name.values():
        if len(tables) <= 6:  # a name on every table ('id') links nothing in particular
            for a in tables:
                for b in tables:
                    link(a, b)
    for t, _col, other in _named_references(schema):
        link(t, other)
    return out


def _named_references(schema: Schema) -> list[tuple[Table, str, Table]]:
    """Undeclared foreign keys by naming convention: ``user_id`` → ``users``, ``sbTxCustId`` → ``sbCustomer``.

    The word before the ``id``/``key``/``code`` suffix must equal the last word of a table's name
    or be a prefix (3+ letters) of it.
    """
    found: list[tuple[Table, str, Table]] = []
    last: list[tuple[str, str, Table]] = []
    for t in schema.tables:
        name_terms = terms(t.name)
        if name_terms:
            last.append((name_terms[-1], "".join(name_terms), t))
    for t in schema.tables:
        for c in t.columns:
            m = re.match(r"^(.*?)_?(id|key|code)$", c.name, re.I)
            if not m or not m.group(1):
                continue
            words = terms(m.group(1))
            if not words:
                continue
            word, joined = words[-1], "".join(words)
            for tail, whole, other in last:
                if other is t:
                    continue
                if joined == whole or word == tail or (len(word) >= 3 and tail.startswith(word)):
                    found.append((t, c.name, other))
    return found


def _score(schema: Schema, question: str, notes: str) -> list[_Scored]:
    text = f"{question}\n{notes}" if notes else question
    q_terms = terms(text)
    q_low = text.lower()
    df: dict[str, int] = {}
    for t in schema.tables:
        for c in t.columns:
            for term in set(terms(c.name)):
                df[term] = df.get(term, 0) + 1
    m = _Matcher(q_terms, df)
    scored: list[_Scored] = []
    for i, t in enumerate(schema.tables):
        s = _Scored(t, i)
        name_score = m.match(terms(t.name), idf=False)
        comment_score = m.match(terms(t.comment or ""))
        for c in t.columns:
            cs = 3.0 * m.match(terms(c.name)) + 1.0 * m.match(terms(c.comment or ""))
            if _values_in(c, q_low):
                cs += 3.0
            s.column_scores[c.name] = cs
        best = max(s.column_scores.values(), default=0.0)
        s.score = 4.0 * name_score + comment_score + 0.5 * best + 0.1 * sum(s.column_scores.values())
        scored.append(s)
    return scored


# -- selection ------------------------------------------------------------------------------------


def prune_schema(
    schema: Schema,
    question: str,
    *,
    budget_tokens: int,
    count_tokens: Callable[[str], int] = estimate_tokens,
    notes: str = "",
) -> PrunedSchema:
    """The part of ``schema`` worth showing for ``question`` within ``budget_tokens``.

    When the whole DDL fits, everything is kept. Otherwise tables and columns are chosen as the
    module docstring describes; the result's ``tokens`` never exceeds the budget unless even the
    best table's key columns alone do not fit (then that one table is returned).
    """
    full_ddl = render_ddl(schema)
    full_tokens = count_tokens(full_ddl)
    if full_tokens <= budget_tokens:
        return PrunedSchema(schema, full_ddl, full_tokens, [], {}, full_tokens)

    scored = _score(schema, question, notes)
    keys = _join_keys(schema)
    neighbours = _neighbours(schema)
    ranked = sorted(scored, key=lambda s: (-s.score, s.index))
    by_id = {id(s.table): s for s in scored}

    # table order: matched tables, each followed by its not-yet-listed neighbours; then the rest
    order: list[_Scored] = []
    seen: set[int] = set()

    def push(s: _Scored) -> None:
        if id(s.table) not in seen:
            seen.add(id(s.table))
            order.append(s)

    matched = [s for s in ranked if s.score > 0]
    for s in matched:
        push(s)
    for s in matched:
        for nb in sorted(neighbours[id(s.table)], key=lambda t: (-by_id[id(t)].score, by_id[id(t)].index)):
            push(by_id[id(nb)])
    for s in ranked:
        push(s)

    kept: dict[int, list[str]] = {}  # table id -> kept column names
    kept_order: list[_Scored] = []

    q_low = (f"{question}\n{notes}" if notes else question).lower()
    with_samples: set[tuple[int, str]] = {
        (id(s.table), c.name) for s in scored for c in s.table.columns if c.sample_values and _values_in(c, q_low)
    }

    def show(s: _Scored, c: Column) -> Column:
        if c.sample_values and (id(s.table), c.name) not in with_samples:
            return replace(c, sample_values=None)
        return c

    def render(selection: dict[int, list[str]], tables: list[_Scored]) -> tuple[Schema, str]:
        sub_tables = []
        for s in sorted(tables, key=lambda s: s.index):
            names = set(selection[id(s.table)])
            sub_tables.append(replace(s.table, columns=[show(s, c) for c in s.table.columns if c.name in names],
                                      unique_constraints=[u for u in s.table.unique_constraints if set(u) <= names]))
        sub = replace(schema, tables=sub_tables)
        return sub, render_ddl(sub)

    def fits(selection: dict[int, list[str]], tables: list[_Scored]) -> bool:
        return count_tokens(render(selection, tables)[1]) <= budget_tokens

    def essentials(s: _Scored) -> list[str]:
        must = keys.get(id(s.table), set())
        return [c.name for c in s.table.columns if c.name in must or s.column_scores.get(c.name, 0) > 0]

    # phase 1: matched tables and their neighbours, with key and matched columns
    near = {id(n) for m in matched for n in neighbours[id(m.table)]}
    first_pass = [s for s in order if s.score > 0 or id(s.table) in near]
    for s in first_pass:
        cols = essentials(s) or [s.table.columns[0].name] if s.table.columns else []
        trial = dict(kept)
        trial[id(s.table)] = cols
        if fits(trial, kept_order + [s]) or not kept_order:
            kept, kept_order = trial, kept_order + [s]

    # phase 2: the other columns of kept tables, best table and best column first
    def fill_columns(tables: list[_Scored]) -> None:
        nonlocal kept
        for s in tables:
            rest = [c for c in s.table.columns if c.name not in kept[id(s.table)]]
            rest.sort(key=lambda c: (-s.column_scores.get(c.name, 0.0), s.table.columns.index(c)))
            for c in rest:
                trial = dict(kept)
                trial[id(s.table)] = kept[id(s.table)] + [c.name]
                if fits(trial, kept_order):
                    kept = trial

    fill_columns(list(kept_order))

    # phase 3: further tables, whole, while they fit (give up after a run of misses: the budget is full)
    misses = 0
    for s in order:
        if id(s.table) in kept:
            continue
        if misses >= 12:
            break
        misses += 1
        trial = dict(kept)
        trial[id(s.table)] = [c.name for c in s.table.columns]
        if fits(trial, kept_order + [s]):
            kept, kept_order = trial, kept_order + [s]
            misses = 0
            continue
        cols = essentials(s)
        if cols:
            trial[id(s.table)] = cols
            if fits(trial, kept_order + [s]):
                kept, kept_order = trial, kept_order + [s]
                misses = 0

    # phase 4: sampled values back, best table first, while they fit
    for s in kept_order:
        for c in s.table.columns:
            if c.sample_values and c.name in kept[id(s.table)] and (id(s.table), c.name) not in with_samples:
                with_samples.add((id(s.table), c.name))
                if not fits(kept, kept_order):
                    with_samples.discard((id(s.table), c.name))

    sub, ddl = render(kept, kept_order)
    dropped_tables = [t.qualified_name for t in schema.tables if id(t) not in kept]
    dropped_columns = {
        t.qualified_name: [c.name for c in t.columns if c.name not in kept[id(t)]]
        for t in schema.tables
        if id(t) in kept and len(kept[id(t)]) < len(t.columns)
    }
    return PrunedSchema(sub, ddl, count_tokens(ddl), dropped_tables, dropped_columns, full_tokens)
