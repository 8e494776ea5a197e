"""Execution accuracy: does a predicted result match a gold result? (Defog sql-eval's rules)

A prediction is **correct** when its result matches the result of ANY gold alternative:

1. **Values are normalised** (:func:`normalize_value`): NULL stays NULL (equal only to NULL);
   booleans are 0/1; numbers (int, float, Decimal, numeric types) are compared with tolerance:
   rounded to 12 significant digits (removes float-sum noise), then to 5 decimal places, and a
   whole number is the same as the equal integer (``2 == 2.0``); dates and times become ISO
   strings (``YYYY-MM-DD[ HH:MM:SS]``), so a SQLite text date equals a DuckDB date; bytes become
   hex; text is compared exactly (case and spaces count).
2. **Duplicate columns are dropped** (a column whose values equal an earlier column's), and
   **duplicate rows are dropped** (keeping the first), as sql-eval's ``normalize_table`` does.
3. **Column order and names are ignored**: the gold columns are matched to prediction columns by
   their values (any one-to-one assignment that makes the rows agree).
4. **Rows are compared as a multiset unless order matters.** Order matters only when the gold SQL
   has a top-level ``ORDER BY`` *and* the question asks for an order (its category is ``order_by``
   or the question says order, sort or arrange,
   also as -ed/-ing) - sql-eval's ``normalize_table`` rule (category or
   question words; it then orders by the SQL's ORDER BY). "Top 5 by revenue" without order words
   compares the five rows as a set. See :func:`gold_is_ordered`.
5. **Exact match**: same number of (distinct) rows and columns. **Subset match**: every gold
   column appears in the prediction, which may have extra columns (sql-eval's ``subset_df``).
   Exact implies subset. The headline accuracy is the exact match.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: At most this many column assignments are tried per comparison (a guard against pathological
#: results with many identical-looking columns).
MAX_ASSIGNMENTS = 20_000


@dataclass(frozen=True)
class Result:
    """Rows of one query (column names are kept for reports only; matching ignores them)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def of(cls, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Result:
        return cls(tuple(columns), tuple(tuple(r) for r in rows))


def normalize_value(value: Any) -> Any:
    """A hashable, comparable form of one cell (see rule 1 of the module doc)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int,)):
        return value
    if isinstance(value, (float, Decimal)):
        number = float(value)
        if number != number:  # NaN behaves like NULL
            return None
        if number in (float("inf"), float("-inf")):
            return number
        number = round(float(f"{number:.12g}"), 5)
        if number == int(number):
            return int(number)
        return number
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, str):
        return value
    try:  # numpy scalars and the like
        return normalize_value(value.item())
    except AttributeError:
        return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def _row_key(row: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    return tuple(_sort_key(v) for v in row)


def normalize_result(result: Result) -> tuple[list[tuple[Any, ...]], int]:
    """Rows with normalised values, duplicate columns and duplicate rows dropped; and the width."""
    rows = [tuple(normalize_value(v) for v in row) for row in result.rows]
    width = len(result.columns) if result.columns else (len(rows[0]) if rows else 0)
    # duplicate columns (same values in every row) are dropped
    keep: list[int] = []
    seen_cols: set[tuple[Any, ...]] = set()
    for i in range(width):
        column = tuple(row[i] for row in rows)
        if column in seen_cols and rows:
            continue
        seen_cols.add(column)
        keep.append(i)
    if len(keep) != width:
        rows = [tuple(row[i] for i in keep) for row in rows]
    # duplicate rows are dropped (first kept, order preserved)
    unique: list[tuple[Any, ...]] = []
    seen_rows: set[tuple[Any, ...]] = set()
    for row in rows:
        if row not in seen_rows:
            seen_rows.add(row)
            unique.append(row)
    return unique, len(keep)


#: sql-eval's words (``utils_eval.normalize_table``), with their -ed/-ing forms
_ORDER_WORDS = re.compile(r"\b(order(ed|ing)?|sort(ed|ing)?|arrange(d)?)\b", re.IGNORECASE)


def has_top_level_order_by(sql: str) -> bool:
    """True when ``sql`` ends in an ORDER BY that orders the whole result (not one in a subquery,
    CTE or window ``OVER (... ORDER BY ...)``)."""
    depth = 0
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:  # doubled quote
                end = sql.find(ch, end + 2)
            i = n if end == -1 else end + 1
            out.append(" ")
            continue
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
        i += 1
    return re.search(r"\border\s+by\b", "".join(out), re.IGNORECASE) is not None


def gold_is_ordered(gold_sql: str, question: str = "", category: str = "") -> bool:
    """Whether rows must come in the gold's order (rule 4): the gold orders its result at the top
    level, and the question asks for an order (category ``order_by`` or order words)."""
    if not has_top_level_order_by(gold_sql):
        return False
    return "order_by" in category.lower() or _ORDER_WORDS.search(question) is not None


def _match(
    gold_rows: list[tuple[Any, ...]], gold_width: int, pred_rows: list[tuple[Any, ...]], pred_width: int, ordered: bool
) -> bool:
    """Is there a one-to-one map of gold columns onto prediction columns under which the rows agree?"""
    if gold_width > pred_width:
        return False
    if not gold_rows:  # both empty: any columns match
        return True
    gold_cols = [tuple(r[i] for r in gold_rows) for i in range(gold_width)]
    pred_cols = [tuple(r[j] for r in pred_rows) for j in range(pred_width)]
    if ordered:
        fingerprint = lambda col: col  # noqa: E731
    else:
        fingerprint = lambda col: tuple(sorted(Counter(col).items(), key=lambda kv: _sort_key(kv[0])))  # noqa: E731
    pred_prints = [fingerprint(c) for c in pred_cols]
    candidates = []
    for col in gold_cols:
        fp = fingerprint(col)
        options = [j for j, p in enumerate(pred_prints) if p == fp]
        if not options:
            return False
        candidates.append(options)
    order = sorted(range(gold_width), key=lambda i: len(candidates[i]))
    target = gold_rows if ordered else sorted(gold_rows, key=_row_key)
    tries = 0
    assignment: dict[int, int] = {}

    def check() -> bool:
        cols = [assignment[i] for i in range(gold_width)]
        projected = [tuple(r[j] for j in cols) for r in pred_rows]
        if not ordered:
            projected.sort(key=_row_key)
        return projected == target

    def search(k: int, used: set[int]) -> bool:
        nonlocal tries
        if k == len(order):
            tries += 1
            return check()
        gi = order[k]
        for j in candidates[gi]:
            if j in used:
                continue
            assignment[gi] = j
            used.add(j)
            if search(k + 1, used):
                return True
            used.discard(j)
            if tries >= MAX_ASSIGNMENTS:
                return False
        return False

    return search(0, set())


def compare_results(gold: Result, pred: Result, *, ordered: bool = False) -> tuple[bool, bool]:
    """``(exact, subset)`` for one gold result and one prediction (see the module doc)."""
    gold_rows, gold_width = normalize_result(gold)
    pred_rows, pred_width = normalize_result(pred)
    if len(gold_rows) != len(pred_rows):
        return False, False
    subset = _match(gold_rows, gold_width, pred_rows, pred_width, ordered)
    return subset and gold_width == pred_width, subset


def canonical(result: Result) -> tuple[int, tuple[Any, ...]]:
    """A key equal for results that match each other exactly, unordered (for voting): the width
    and the sorted multiset of columns, each column's values sorted."""
    rows, width = normalize_result(result)
    columns = sorted(
        (tuple(sorted((r[i] for r in rows), key=_sort_key)) for i in range(width)),
        key=lambda col: tuple(_sort_key(v) for v in col),
    )
    return width, (len(rows), tuple(columns))


def score(
    golds: Sequence[tuple[str, Result]], pred: Result, *, question: str = "", category: str = ""
) -> tuple[bool, bool]:
    """``(correct, subset_correct)`` of a prediction against every gold alternative ``(sql, result)``."""
    exact_any = subset_any = False
    for sql, result in golds:
        exact, subset = compare_results(result, pred, ordered=gold_is_ordered(sql, question, category))
        exact_any = exact_any or exact
        subset_any = subset_any or subset
        if exact_any:
            break
    return exact_any, subset_any
