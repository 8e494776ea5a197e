from __future__ import annotations

from pathlib import Path

import pytest

from sqlcoder_cli.errors import UsageError
from sqlcoder_cli.memory import Memory, words


def test_words_normalise_plurals_and_drop_stopwords() -> None:
    assert words("How many Orders were shipped by the categories?") == ["many", "order", "shipped", "category"]


def test_add_list_replace_remove_clear(tmp_path: Path) -> None:
    memory = Memory(tmp_path / "memory.sqlite")
    assert memory.list() == [] and not (tmp_path / "memory.sqlite").exists()
    memory.add("shop", "How many customers?", "SELECT count(*) FROM customers;")
    memory.add("shop", "How many customers?", "SELECT count(customer_id) FROM customers")
    memory.add("other", "How many rows?", "SELECT count(*) FROM t")
    items = memory.list("shop")
    assert [(i.question, i.sql) for i in items] == [("How many customers?", "SELECT count(customer_id) FROM customers")]
    assert len(memory.list()) == 2
    removed = memory.remove(items[0].id)
    assert removed.question == "How many customers?"
    with pytest.raises(UsageError):
        memory.remove(999)
    assert memory.clear() == 1


def test_similar_finds_related_questions_within_bounds(tmp_path: Path) -> None:
    memory = Memory(tmp_path / "memory.sqlite")
    memory.add("shop", "Total revenue per month in 2024", "SELECT strftime('%m', order_date), sum(x) FROM orders GROUP BY 1")
    memory.add("shop", "How many customers live in Berlin?", "SELECT count(*) FROM customers WHERE city = 'Berlin'")
    memory.add("shop", "Which products are out of stock?", "SELECT name FROM products WHERE stock_quantity = 0")
    memory.add("elsewhere", "Total revenue per month", "SELECT 1")
    found = memory.similar("shop", "What was the revenue per month in 2023?")
    assert [i.question for i in found][:1] == ["Total revenue per month in 2024"]
    assert all(i.db_key == "shop" for i in found)
    assert all(i.score >= 0.2 for i in found)
    assert memory.similar("shop", "zebra giraffe") == []
    assert len(memory.similar("shop", "customers revenue products stock Berlin month", limit=2, min_score=0.0)) == 2
    assert memory.similar("shop", "revenue per month", max_chars=10) == []
