"""Each execution-accuracy rule, on small hand-made results (plain rows and real SQLite queries)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

from sqlcoder_cli.evaluation.compare import (
    Result,
    compare_results,
    gold_is_ordered,
    has_top_level_order_by,
    normalize_value,
    score,
)


def R(columns: str, *rows: tuple) -> Result:
    return Result.of(columns.split(), rows)


# -- values -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [
        (2, 2.0),
        (0.1 + 0.2, 0.3),
        (1 / 3, 0.333333333),
        (Decimal("1.50"), 1.5),
        (True, 1),
        (123456789.123456789, 123456789.12345679),
        (dt.date(2024, 1, 5), "2024-01-05"),
        (dt.datetime(2024, 1, 5, 10, 30), "2024-01-05 10:30:00"),
        (float("nan"), None),
    ],
)
def test_equal_values(a: object, b: object) -> None:
    assert normalize_value(a) == normalize_value(b)


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.51), (None, 0), (None, ""), ("Abc", "abc"), ("1", 1), (0.333, 1 / 3)])
def test_different_values(a: object, b: object) -> None:
    assert normalize_value(a) != normalize_value(b)


# -- rows and columns ---------------------------------------------------------------------------------
def test_identical_results_match() -> None:
    assert compare_results(R("a b", (1, "x"), (2, "y")), R("a b", (1, "x"), (2, "y"))) == (True, True)


def test_row_order_is_ignored_when_unordered() -> None:
    assert compare_results(R("a", (1,), (2,)), R("a", (2,), (1,))) == (True, True)


def test_row_order_counts_when_ordered() -> None:
    assert compare_results(R("a", (1,), (2,)), R("a", (2,), (1,)), ordered=True) == (False, False)
    assert compare_results(R("a", (1,), (2,)), R("a", (1,), (2,)), ordered=True) == (True, True)


def test_column_order_and_names_are_ignored() -> None:
    gold = R("name total", ("a", 1), ("b", 2))
    pred = R("s n", (1, "a"), (2, "b"))
    assert compare_results(gold, pred) == (True, True)


def test_columns_must_stay_paired_row_by_row() -> None:
    gold = R("k v", ("a", 1), ("b", 2))
    pred = R("k v", ("a", 2), ("b", 1))  # each column has the right values, but the pairs differ
    assert compare_results(gold, pred) == (False, False)


def test_duplicate_columns_are_dropped() -> None:
    gold = R("id", (1,), (2,))
    pred = R("id id2", (1, 1), (2, 2))
    assert compare_results(gold, pred) == (True, True)


def test_duplicate_rows_are_dropped() -> None:
    assert compare_results(R("a", (1,), (2,)), R("a", (1,), (2,), (2,))) == (True, True)


def test_extra_column_is_a_subset_match_only() -> None:
    gold = R("name", ("a",), ("b",))
    pred = R("name id", ("a", 1), ("b", 2))
    assert compare_results(gold, pred) == (False, True)


def test_missing_column_is_no_match() -> None:
    assert compare_results(R("name id", ("a", 1)), R("name", ("a",))) == (False, False)


def test_different_row_counts_never_match() -> None:
    assert compare_results(R("a", (1,)), R("a", (1,), (2,))) == (False, False)


def test_float_tolerance() -> None:
    assert compare_results(R("r", (0.1 + 0.2,)), R("r", (0.3,))) == (True, True)
    assert compare_results(R("r", (0.3,)), R("r", (0.31,))) == (False, False)


def test_null_matches_only_null() -> None:
    assert compare_results(R("a b", (1, None)), R("a b", (1, None))) == (True, True)
    assert compare_results(R("a b", (1, None)), R("a b", (1, 0))) == (False, False)


def test_empty_results() -> None:
    assert compare_results(R("a"), R("b")) == (True, True)
    assert compare_results(R("a"), R("b c")) == (False, True)


def test_ordered_subset_match() -> None:
    gold = R("name", ("b",), ("a",))
    assert compare_results(gold, R("name n", ("b", 2), ("a", 1)), ordered=True) == (False, True)
    assert compare_results(gold, R("name n", ("a", 1), ("b", 2)), ordered=True) == (False, False)


# -- when order matters ---------------------------------------------------------------------------------
def test_top_level_order_by_detection() -> None:
    assert has_top_level_order_by("SELECT a FROM t ORDER BY a")
    assert not has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)")
    assert not has_top_level_order_by("SELECT a, RANK() OVER (ORDER BY b) FROM t")
    assert not has_top_level_order_by("SELECT 'order by' FROM t")
    assert has_top_level_order_by("WITH x AS (SELECT a FROM t) SELECT a FROM x ORDER BY 1 DESC LIMIT 5")


def test_order_needs_gold_order_by_and_a_question_asking_for_it() -> None:
    assert gold_is_ordered("SELECT a FROM t ORDER BY a", "List a, sorted by a")
    assert gold_is_ordered("SELECT a FROM t ORDER BY a", "Which a?", category="order_by")
    assert not gold_is_ordered("SELECT a FROM t ORDER BY a", "Which a?", category="group_by")
    assert not gold_is_ordered("SELECT a FROM t", "List a in ascending order")


# -- any gold alternative, on real SQLite queries ------------------------------------------------------------
@pytest.fixture
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.executescript(
        """
        CREATE TABLE sales (id INTEGER, region TEXT, amount REAL, day DATE);
        INSERT INTO sales VALUES (1, 'north', 10.5, '2024-01-01'), (2, 'south', 20.25, '2024-01-02'),
                                 (3, 'north', 4.5, '2024-02-01'), (4, 'east', NULL, '2024-02-03');
        """
    )
    return c


def run(conn: sqlite3.Connection, sql: str) -> Result:
    cur = conn.execute(sql)
    return Result.of([d[0] for d in cur.description], cur.fetchall())


def test_real_queries(conn: sqlite3.Connection) -> None:
    gold_sql = "SELECT region, SUM(amount) AS total FROM sales GROUP BY region"
    golds = [(gold_sql, run(conn, gold_sql))]
    # same numbers, other column order and names, other row order, AVG*COUNT float noise
    pred = run(conn, "SELECT SUM(amount) * 1.0 s, region r FROM sales GROUP BY region ORDER BY s DESC")
    assert score(golds, pred, question="Total sales per region") == (True, True)
    # an extra id column: subset only
    pred = run(conn, "SELECT region, SUM(amount), MIN(id) FROM sales GROUP BY region")
    assert score(golds, pred, question="Total sales per region") == (False, True)
    # wrong: COUNT instead of SUM
    pred = run(conn, "SELECT region, COUNT(amount) FROM sales GROUP BY region")
    assert score(golds, pred, question="Total sales per region") == (False, False)


def test_any_gold_alternative_counts(conn: sqlite3.Connection) -> None:
    alternatives = ["SELECT id FROM sales WHERE region = 'north'", "SELECT region, id FROM sales WHERE region = 'north'"]
    golds = [(sql, run(conn, sql)) for sql in alternatives]
    pred = run(conn, "SELECT id, region FROM sales WHERE region LIKE 'nor%'")
    assert score(golds, pred) == (True, True)


def test_ordered_question_on_real_queries(conn: sqlite3.Connection) -> None:
    gold_sql = "SELECT id FROM sales WHERE amount IS NOT NULL ORDER BY amount DESC"
    golds = [(gold_sql, run(conn, gold_sql))]
    asc = run(conn, "SELECT id FROM sales WHERE amount IS NOT NULL ORDER BY amount")
    assert score(golds, asc, question="Sales ids ordered by amount, largest first") == (False, False)
    assert score(golds, asc, question="Which sales have an amount?") == (True, True)


def test_dates_as_strings(conn: sqlite3.Connection) -> None:
    gold = run(conn, "SELECT day FROM sales WHERE id = 1")
    assert compare_results(gold, Result.of(["d"], [(dt.date(2024, 1, 1),)])) == (True, True)
