"""Fit a large schema into the prompt's token budget by keeping what the question needs.

Why: a 500-table DDL is ~50k tokens; a 4k-context model sees a fraction of it, and the model
hallucinates columns when the right table was cut blindly. The rules are general, no per-database
tuning:

1. Words of the question (and the database notes) are split, lower-cased and stemmed
   (``OrderItems``/``order_items``/"order items" all give ``order``, ``item``; common irregular verbs
   map to their base form, "sold" -> ``sell``) and matched against table and column names, comments and
   known values (sampled values, enum/CHECK lists; "stocks" meets the value 'stock'). A schema term
   also meets a question word with the same root ("sender" ~ "sent", "participation" ~ "participated"),
   as a prefix ("cust" ~ "customers") or as a consonant abbreviation ("qty", "amt", "dt"). Terms that
   occur in many columns, or in the comments of many tables, count less (IDF); a table name's match
   is divided by the square root of its word count. Temporal questions (dates, years, month/day names, "last", "since", ...) favour each
   kept table's date/time columns; aggregate questions ("total", "how many", ...) its numeric ones.
2. The best-matched tables (score >= 0.3 x the best, at most 6) form the core; a core table that does
   not join another core table directly brings the tables on the shortest join path (<= 3 joins) to
   them (junction tables such as ``writes``). Joins are declared foreign keys, key-like columns with
   the same name in a few tables, and names such as ``user_id`` -> ``users``, ``sbTxCustId`` ->
   ``sbCustomer``.
3. Selection, while the budget lasts: core tables with their key, join and label (``name``/``title``)
   columns and strongly matched columns; the other matched columns of kept tables (score x table
   relevance); the other related tables (score >= 0.2 x the best) and the tables they join; the
   remaining columns of kept tables; more whole tables; sampled values of unmatched columns last.
   Ties break on schema order, so the result is deterministic.
   Pruning stops at relevance, not at the budget: tables the question is not about come in only as
   a hedge against words that missed a table, and at most as many tokens of them as of the related
   part. In a 500-table warehouse "How many invoices are unpaid?" keeps ``invoices``, the table it
   joins and two others (~340 tokens), not the first hundred tables that would fit.
4. Token costs are counted once per table header and per column line and summed (scaled so the
   whole schema's sum equals the full DDL's real count); the chosen DDL is then counted for real and
   the selection redone with a corrected limit, so ``tokens <= budget`` holds without re-rendering
   the DDL for every candidate.

``estimate_tokens`` is tokenizer-free; against Qwen2.5-Coder's tokenizer on the sql-eval DDLs it
overestimates by 0-16 % (see docs/schema.md), which errs on the side of fitting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .ddl import _referred, _render_table, join_hint_line, render_ddl
from .introspect import Column, Schema, Table
from .joins import JoinGraph
from .words import term_similarity, terms

#: a matched table counts as related to the question at this fraction of the best table's score
RELATED = 0.2
#: unrelated tables may add at most this share of the related part's tokens
UNRELATED_SHARE = 1.0

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
# -- question features ----------------------------------------------------------------------------

_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday weekday weekend"
_TEMPORAL = re.compile(
    r"\b(?:date|dates|time|times|timestamp|day|days|daily|week|weeks|weekly|month|months|monthly|year|years|"
    r"yearly|annual|annually|quarter|quarters|quarterly|hour|hours|hourly|minute|minutes|recent|recently|"
    r"latest|earliest|oldest|newest|since|ago|before|after|until|during|past|previous|last|current|today|"
    r"yesterday|tomorrow|now|currently|period|duration|when|ytd|mtd|" + "|".join((_MONTHS + " " + _DAYS).split()) + r"s?)\b"
    r"|\b(?:19|20)\d\d\b",
    re.I,
)
_AGGREGATE = re.compile(
    r"\b(?:total|totals|sum|average|avg|mean|median|count|number|how many|how much|most|least|highest|"
    r"lowest|largest|smallest|biggest|top|max|maximum|min|minimum|ratio|percentage|percent|proportion|"
    r"share|rate|more than|less than|greater|fewer)\b",
    re.I,
)
_TEMPORAL_TYPE = re.compile(r"DATE|TIME", re.I)
_TEMPORAL_NAME = {"date", "time", "dt", "ts", "timestamp", "datetime", "year", "month", "day", "week", "at", "on"}
_NUMERIC_TYPE = re.compile(r"INT|REAL|NUM|DEC|FLOAT|DOUBLE|MONEY", re.I)


def _is_temporal(col: Column, name_terms: list[str]) -> bool:
    return bool(_TEMPORAL_TYPE.search(col.type or "")) or bool(set(name_terms) & _TEMPORAL_NAME) and not (
        set(name_terms) & {"id", "key", "code"}
    )


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
        self.q = sorted(set(question_terms))
        self.df = df
        self._sim: dict[str, float] = {}

    def weight(self, term: str) -> float:
        return 1.0 / (1.0 + math.log(1 + self.df.get(term, 0)))

    def similarity(self, term: str) -> float:
        """Best similarity of a schema term to any question term (memoised)."""
        got = self._sim.get(term)
        if got is None:
            got = max((term_similarity(term, q) for q in self.q), default=0.0)
            self._sim[term] = got
        return got

    def match(self, name_terms: list[str], *, idf: bool = True) -> float:
        score = 0.0
        for t in set(name_terms):
            sim = self.similarity(t)
            if sim:
                score += sim * (self.weight(t) if idf else 1.0)
        return score

    def value_match(self, col: Column) -> float:
        """Single-word known values the question names in another form ('stocks' ~ 'stock',
        'successful' ~ 'success')."""
        best = 0.0
        for value in (col.enum_values or []) + (col.sample_values or []):
            words = terms(value)
            if len(words) == 1 and len(words[0]) >= 3 and not words[0].isdigit():
                best = max(best, self.similarity(words[0]))
        return best if best >= 0.6 else 0.0


_LABEL_TERMS = {"name", "title", "label"}


def _label_of(t: Table) -> list[str]:
    """The column that names a row (``name``, ``title``, ``diag_name``, ``sbCustName``): questions
    ask for "each program" and mean its name."""
    for c in t.columns:
        low = c.name.lower()
        if (_LABEL_TERMS & set(terms(c.name)) or low.endswith(tuple(_LABEL_TERMS))) and not _NUMERIC_TYPE.search(c.type or ""):
            return [c.name]
    return []


def _score(schema: Schema, question: str, notes: str) -> list[_Scored]:
    text = f"{question}\n{notes}" if notes else question
    q_terms = terms(text)
    q_low = text.lower()
    temporal = bool(_TEMPORAL.search(text))
    aggregate = bool(_AGGREGATE.search(text))
    df: dict[str, int] = {}
    col_terms: dict[tuple[int, str], list[str]] = {}
    comment_df: dict[str, int] = {}
    for i, t in enumerate(schema.tables):
        described: set[str] = set(terms(t.comment or ""))
        for c in t.columns:
            ts = terms(c.name)
            col_terms[(i, c.name)] = ts
            for term in set(ts):
                df[term] = df.get(term, 0) + 1
            described.update(terms(c.comment or ""))
        for term in described:  # a word every table's comments use ("entity", "display") tells little
            comment_df[term] = comment_df.get(term, 0) + 1
    for term, n in comment_df.items():
        df[term] = max(df.get(term, 0), n)
    m = _Matcher(q_terms, df)
    scored: list[_Scored] = []
    for i, t in enumerate(schema.tables):
        s = _Scored(t, i)
        table_terms = terms(t.name)
        name_score = m.match(table_terms, idf=False) / math.sqrt(max(1, len(set(table_terms))))
        comment_score = m.match(terms(t.comment or "")) if t.comment else 0.0
        for c in t.columns:
            names = col_terms[(i, c.name)]
            cs = 3.0 * m.match(names)
            if c.comment:
                cs += m.match(terms(c.comment))
            if c.sample_values or c.enum_values:
                if _values_in(c, q_low):
                    cs += 3.0
                else:
                    cs += 2.0 * m.value_match(c)
            s.column_scores[c.name] = cs
        best = max(s.column_scores.values(), default=0.0)
        s.score = 4.0 * name_score + comment_score + 0.5 * best + 0.1 * sum(s.column_scores.values())
        # kind bonuses: they order a kept table's columns, they do not pick tables
        for c in t.columns:
            names = col_terms[(i, c.name)]
            if temporal and _is_temporal(c, names):
                s.column_scores[c.name] += 1.0
            elif aggregate and _NUMERIC_TYPE.search(c.type or "") and not c.primary_key:
                s.column_scores[c.name] += 0.25
        scored.append(s)
    return scored


# -- token costs ----------------------------------------------------------------------------------


class _Costs:
    """Tokens of each table's header/footer and of each column line (with and without its sampled
    values), counted once; a selection's cost is their sum, scaled so the whole schema's sum equals
    the real count of the full DDL. The final DDL is always counted for real."""

    def __init__(self, schema: Schema, count_tokens: Callable[[str], int], full_tokens: int) -> None:
        self.header: dict[int, float] = {}
        self.line: dict[tuple[int, str], float] = {}
        self.line_bare: dict[tuple[int, str], float] = {}
        self.hints: dict[int, list[tuple[int, float]]] = {}
        d = schema.dialect
        total = 0.0
        for t in schema.tables:
            with_samples = _render_table(t, d).split("\n")
            bare_table = replace(t, columns=[replace(c, sample_values=None) if c.sample_values else c for c in t.columns])
            bare = _render_table(bare_table, d).split("\n") if bare_table.columns != t.columns else with_samples
            first = (1 if t.comment else 0) + 1
            n = len(t.columns)
            if len(with_samples) == len(bare) and len(with_samples) >= first + n + 1:
                head = with_samples[:first] + with_samples[first + n :]
                self.header[id(t)] = count_tokens("\n".join(head) + "\n\n")
                for j, c in enumerate(t.columns):
                    self.line[(id(t), c.name)] = count_tokens(with_samples[first + j] + "\n")
                    self.line_bare[(id(t), c.name)] = (
                        count_tokens(bare[first + j] + "\n") if bare is not with_samples else self.line[(id(t), c.name)]
                    )
            else:  # a line break inside a name: spread the table's cost evenly
                whole = count_tokens("\n".join(with_samples) + "\n\n")
                self.header[id(t)] = whole / (n + 1)
                for c in t.columns:
                    self.line[(id(t), c.name)] = self.line_bare[(id(t), c.name)] = whole / (n + 1)
            total += self.header[id(t)] + sum(self.line[(id(t), c.name)] for c in t.columns)
        by_key = {id(t): t for t in schema.tables}
        for t in schema.tables:
            for fk in t.foreign_keys:
                ref = _referred(schema, fk, t)
                if ref is None or id(ref) not in by_key:
                    continue
                for col, ref_col in zip(fk.columns, fk.referred_columns):
                    cost = float(count_tokens(join_hint_line(t, col, ref, ref_col, d) + "\n"))
                    total += cost
                    if fk.inferred:  # not charged while choosing: shed first if the result is over
                        continue
                    self.hints.setdefault(id(t), []).append((id(ref), cost))
                    if ref is not t:
                        self.hints.setdefault(id(ref), []).append((id(t), cost))
        self.scale = full_tokens / total if total > 0 else 1.0

    def table(self, s: _Scored, cols: list[str], shown: Callable[[str], bool], kept: set[int]) -> float:
        t = s.table
        cost = self.header[id(t)] + sum(self.column(t, c, shown(c)) for c in cols)
        cost += sum(c for other, c in self.hints.get(id(t), []) if other in kept or other == id(t))
        return cost * self.scale

    def column(self, t: Table, name: str, with_samples: bool) -> float:
        return (self.line if with_samples else self.line_bare)[(id(t), name)]


# -- selection ------------------------------------------------------------------------------------


def _connectors(
    core: list[_Scored], neighbours: dict[int, list[Table]], by_id: dict[int, _Scored], max_hops: int = 3
) -> dict[int, list[_Scored]]:
    """Tables that connect each core table to the better-ranked ones when they do not join
    directly (a junction such as ``writes(author_id, paper_id)``): the shortest path (at most
    ``max_hops`` joins, best-scored tables first on ties), keyed by the core table it serves."""
    out: dict[int, list[_Scored]] = {}
    linked: set[int] = set()
    for s in core:
        if not linked or any(id(n) in linked for n in neighbours[id(s.table)]):
            linked.add(id(s.table))
            continue
        parent: dict[int, int | None] = {id(s.table): None}
        frontier = [s.table]
        hit: int | None = None
        for _ in range(max_hops):
            nxt: list[Table] = []
            for t in frontier:
                for n in sorted(neighbours[id(t)], key=lambda x: (-by_id[id(x)].score, by_id[id(x)].index)):
                    if id(n) in parent:
                        continue
                    parent[id(n)] = id(t)
                    if id(n) in linked:
                        hit = id(n)
                        break
                    nxt.append(n)
                if hit is not None:
                    break
            if hit is not None or not nxt:
                break
            frontier = nxt
        linked.add(id(s.table))
        if hit is None:
            continue
        step = parent[hit]
        while step is not None and step != id(s.table):
            out.setdefault(id(s.table), []).append(by_id[step])
            linked.add(step)
            step = parent[step]
    return out


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
    graph = JoinGraph(schema)
    keys, neighbours = graph.keys, graph.neighbours
    ranked = sorted(scored, key=lambda s: (-s.score, s.index))
    by_id = {id(s.table): s for s in scored}
    costs = _Costs(schema, count_tokens, full_tokens)
    q_low = (f"{question}\n{notes}" if notes else question).lower()
    value_hit: set[tuple[int, str]] = {
        (id(s.table), c.name) for s in scored for c in s.table.columns if c.sample_values and _values_in(c, q_low)
    }

    # table order: matched tables (each followed by the junction tables that link it to a better one),
    # then their neighbours, then the rest
    matched = [s for s in ranked if s.score > 0]
    top = matched[0].score if matched else 0.0
    core_tables = [s for s in matched if s.score >= 0.3 * top][:6]
    bridges = _connectors(core_tables, neighbours, by_id)
    order: list[_Scored] = []
    seen: set[int] = set()

    def push(s: _Scored) -> None:
        if id(s.table) not in seen:
            seen.add(id(s.table))
            order.append(s)

    for s in core_tables:
        for b in bridges.get(id(s.table), []):
            push(b)
        push(s)
    core = list(order)
    for s in matched:
        push(s)
    for s in matched:
        for nb in sorted(neighbours[id(s.table)], key=lambda t: (-by_id[id(t)].score, by_id[id(t)].index)):
            push(by_id[id(nb)])
    for s in ranked:
        push(s)
    # what the question is about: matched tables scoring at least RELATED x the best (a word that
    # every table's comments share matches them all, weakly), and the tables they join directly
    related = {id(m.table) for m in matched if m.score >= RELATED * top}
    near = {id(n) for m in matched if id(m.table) in related for n in neighbours[id(m.table)]}

    def relevance(s: _Scored) -> float:
        return 0.5 + 0.5 * min(1.0, s.score / top) if top > 0 else 1.0

    def essentials(s: _Scored, *, strong: bool = False) -> list[str]:
        must = keys.get(id(s.table), set()) | set(_label_of(s.table))
        cut = 1.0 if strong else 0.0
        cols = [c.name for c in s.table.columns if c.name in must or s.column_scores.get(c.name, 0) > cut]
        return cols or ([s.table.columns[0].name] if s.table.columns else [])

    def select(limit: float) -> tuple[dict[int, list[str]], list[_Scored], set[tuple[int, str]]]:
        kept: dict[int, list[str]] = {}
        kept_order: list[_Scored] = []
        samples = set(value_hit)
        added: list[tuple[str, int, str]] = []  # what was added, in order: ("table"|"column"|"values", table, column)
        used = 0.0

        def shown(s: _Scored) -> Callable[[str], bool]:
            return lambda name: (id(s.table), name) in samples

        def try_table(s: _Scored, cols: list[str]) -> bool:
            nonlocal used
            cost = costs.table(s, cols, shown(s), set(kept))
            if cost > budget_tokens and not kept_order:  # the best table must stay: its keys alone, bare
                must = keys.get(id(s.table), set())
                cols = [c for c in cols if c in must] or cols[:1]
                samples.difference_update({(id(s.table), c) for c in cols})
                cost = costs.table(s, cols, shown(s), set(kept))
            if used + cost <= limit or not kept_order:
                kept[id(s.table)] = list(cols)
                kept_order.append(s)
                added.append(("table", id(s.table), ""))
                used += cost
                return True
            return False

        def try_column(s: _Scored, name: str) -> bool:
            nonlocal used
            cost = costs.column(s.table, name, (id(s.table), name) in samples) * costs.scale
            if used + cost <= limit:
                kept[id(s.table)].append(name)
                added.append(("column", id(s.table), name))
                used += cost
                return True
            return False

        # 1: best-matched tables and junctions with their keys and strongly matched columns
        for s in core:
            try_table(s, essentials(s, strong=True))
        # 2: every other matched column of kept tables, best first
        pending = sorted(
            ((s, c.name) for s in kept_order for c in s.table.columns
             if c.name not in kept[id(s.table)] and s.column_scores.get(c.name, 0) > 0),
            key=lambda p: (-p[0].column_scores[p[1]] * relevance(p[0]), p[0].index, p[0].table.columns.index(p[0].table.column(p[1]))),  # type: ignore[arg-type]
        )
        for s, name in pending:
            try_column(s, name)
        # 3: the other matched tables, then neighbours of matched tables, with keys and matched columns
        for s in order:
            if id(s.table) not in kept and (id(s.table) in related or id(s.table) in near):
                try_table(s, essentials(s))
        # 4: the other columns of kept tables, best table and best column first
        for s in list(kept_order):
            rest = [c for c in s.table.columns if c.name not in kept[id(s.table)]]
            rest.sort(key=lambda c: (-s.column_scores.get(c.name, 0.0), s.table.columns.index(c)))
            for c in rest:
                try_column(s, c.name)
        # 5: further tables, whole (or keys and matches), while they fit; a run of misses ends it
        # unrelated tables only as a hedge against words that missed a table, and never more of
        # them than of what the question is about: stop at relevance, not at the budget
        misses = 0
        relevant_used: float | None = None
        for s in order:
            if id(s.table) in kept:
                continue
            if id(s.table) not in related and id(s.table) not in near:
                if relevant_used is None:
                    relevant_used = used
                if used >= (1 + UNRELATED_SHARE) * relevant_used:
                    break
            if misses >= 12:
                break
            misses += 1
            if try_table(s, [c.name for c in s.table.columns]) or try_table(s, essentials(s)):
                misses = 0
        # 6: sampled values back, best table first
        for s in kept_order:
            for name in kept[id(s.table)]:
                key = (id(s.table), name)
                if key in samples or not s.table.column(name).sample_values:  # type: ignore[union-attr]
                    continue
                extra = (costs.line[key] - costs.line_bare[key]) * costs.scale
                if used + extra <= limit:
                    samples.add(key)
                    added.append(("values", id(s.table), name))
                    used += extra
        return kept, kept_order, samples, added

    def render(kept: dict[int, list[str]], kept_order: list[_Scored], samples: set[tuple[int, str]]) -> tuple[Schema, str]:
        sub_tables = []
        for s in sorted(kept_order, key=lambda s: s.index):
            names = set(kept[id(s.table)])
            cols = [
                c if not c.sample_values or (id(s.table), c.name) in samples else replace(c, sample_values=None)
                for c in s.table.columns
                if c.name in names
            ]
            sub_tables.append(replace(s.table, columns=cols,
                                      unique_constraints=[u for u in s.table.unique_constraints if set(u) <= names]))
        sub = replace(schema, tables=sub_tables)
        return sub, render_ddl(sub)

    def shed_inferred_hints(sub: Schema, ddl: str, real: int, kept_order: list[_Scored]) -> tuple[Schema, str, int]:
        """Drop inferred join hints, least relevant table first, until the DDL fits (or none are left):
        a hint the database never declared is worth less than a column."""
        rank = {s.table.qualified_name: i for i, s in enumerate(kept_order)}
        tables = list(sub.tables)
        for i in sorted(range(len(tables)), key=lambda i: -rank.get(tables[i].qualified_name, 0)):
            if not any(fk.inferred for fk in tables[i].foreign_keys):
                continue
            tables[i] = replace(tables[i], foreign_keys=[fk for fk in tables[i].foreign_keys if not fk.inferred])
            sub = replace(sub, tables=list(tables))
            ddl = render_ddl(sub)
            real = count_tokens(ddl)
            if real <= budget_tokens:
                break
        return sub, ddl, real

    # the per-line sum is an estimate: count the result for real and tighten (or loosen) the limit
    best: tuple[int, Schema, str, dict[int, list[str]]] | None = None
    fallback: tuple[int, dict[int, list[str]], list[_Scored], set[tuple[int, str]], list[tuple[str, int, str]]] | None = None
    limit = float(budget_tokens)
    tried: set[int] = set()
    for _ in range(6):
        kept, kept_order, samples, added = select(limit)
        sub, ddl = render(kept, kept_order, samples)
        real = count_tokens(ddl)
        if real > budget_tokens:
            sub, ddl, real = shed_inferred_hints(sub, ddl, real, kept_order)
        if real <= budget_tokens:
            if best is None or real > best[0]:
                best = (real, sub, ddl, kept)
            if budget_tokens - real <= max(2, budget_tokens // 100):
                break
            step = budget_tokens - real
        else:
            if fallback is None or real < fallback[0]:
                fallback = (real, kept, kept_order, samples, added)
            step = budget_tokens - real - 1
        limit += step
        if int(limit) in tried:
            break
        tried.add(int(limit))
    if best is None:  # every estimate overshot: take back the last additions until it fits
        assert fallback is not None
        real, kept, kept_order, samples, added = fallback
        sub, ddl = render(kept, kept_order, samples)
        while real > budget_tokens and len(added) > 1:
            kind, tid, name = added.pop()
            if kind == "values":
                samples.discard((tid, name))
            elif kind == "column":
                kept[tid].remove(name)
            else:
                del kept[tid]
                kept_order = [s for s in kept_order if id(s.table) != tid]
            sub, ddl = render(kept, kept_order, samples)
            real = count_tokens(ddl)
        best = (real, sub, ddl, kept)
    tokens, sub, ddl, kept = best
    dropped_tables = [t.qualified_name for t in schema.tables if id(t) not in kept]
    dropped_columns = {
        t.qualified_name: [c.name for c in t.columns if c.name not in kept[id(t)]]
        for t in schema.tables
        if id(t) in kept and len(kept[id(t)]) < len(t.columns)
    }
    return PrunedSchema(sub, ddl, tokens, dropped_tables, dropped_columns, full_tokens)
