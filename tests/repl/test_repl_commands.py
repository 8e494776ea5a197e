"""Fast tests of what the REPL makes of a line: meta-commands, follow-ups, SQL, completeness, completion."""

from __future__ import annotations

import pytest

from sqlcoder_cli.repl.commands import (
    META_COMMANDS,
    help_text,
    input_is_complete,
    is_follow_up,
    join_continued,
    looks_like_sql,
    mentions_table,
    parse_meta,
)
from sqlcoder_cli.repl.completion import candidates

TABLES = ["categories", "customers", "order_items", "orders", "products"]
COLUMNS = {
    "customers": ["customer_id", "first_name", "last_name", "email", "city", "country", "signup_date"],
    "orders": ["order_id", "customer_id", "order_date", "status", "shipping_cost"],
    "products": ["product_id", "name", "category_id", "unit_price", "stock_quantity", "is_active"],
    "categories": ["category_id", "name", "parent_category_id"],
    "order_items": ["order_item_id", "order_id", "product_id", "quantity", "unit_price", "discount"],
}


@pytest.mark.parametrize("prefix", ["\\", "."])
@pytest.mark.parametrize("name", list(META_COMMANDS))
def test_every_meta_command_parses_in_both_spellings(prefix: str, name: str) -> None:
    meta = parse_meta(f"{prefix}{name}")
    assert meta is not None and meta.name == name and meta.arg == "" and meta.known


@pytest.mark.parametrize(
    ("line", "name", "arg"),
    [
        ("\\schema orders", "schema", "orders"),
        (".schema   orders  ", "schema", "orders"),
        ("\\db postgresql://u:p@h/db", "db", "postgresql://u:p@h/db"),
        ("  .export out.csv", "export", "out.csv"),
        ("\\q", "quit", ""),
        (".exit", "quit", ""),
        ("\\?", "help", ""),
        ("\\dt", "tables", ""),
        ("\\LIMIT 5", "limit", "5"),
    ],
)
def test_meta_arguments_and_aliases(line: str, name: str, arg: str) -> None:
    meta = parse_meta(line)
    assert meta is not None and (meta.name, meta.arg) == (name, arg)


@pytest.mark.parametrize("line", ["How many customers?", ".5 of the orders", "select 1", "", "...", "\\"])
def test_not_meta(line: str) -> None:
    assert parse_meta(line) is None


def test_unknown_meta_is_parsed_but_not_known() -> None:
    meta = parse_meta("\\bogus x")
    assert meta is not None and not meta.known and meta.raw == "\\bogus"


def test_help_lists_every_command_and_the_keys() -> None:
    text = help_text()
    for name in META_COMMANDS:
        assert f"\\{name}" in text
    assert "Ctrl-X Ctrl-E" in text and "Ctrl-R" in text and "Ctrl-D" in text


@pytest.mark.parametrize(
    "question",
    [
        "only for 2024",
        "now only active ones",
        "sort it by revenue descending",
        "only for Germany",
        "and by month?",
        "But exclude cancelled orders",
        "what about 2023?",
        "How about Germany",
        "per country",
        "same for products",  # cue word wins even though a table is named
        "in 2023",
        "for Germany?",
        "just the top 3",
        "instead, count them",
    ],
)
def test_follow_ups(question: str) -> None:
    assert is_follow_up(question, TABLES)


@pytest.mark.parametrize(
    "question",
    [
        "How many customers are there?",
        "Show the 5 most expensive products",
        "Total revenue per category",
        "list all orders",  # short, but names a table
        "customers in Germany",
        "What is the average order value?",
        "Which product sold best in 2024?",
        "Show me all customers from Germany",
        "",
    ],
)
def test_new_questions(question: str) -> None:
    assert not is_follow_up(question, TABLES)


def test_mentions_table_handles_plural_and_underscores() -> None:
    assert mentions_table("each customer", TABLES)
    assert mentions_table("the order items of 2024", TABLES)
    assert mentions_table("per category", TABLES)
    assert not mentions_table("for Germany", TABLES)


@pytest.mark.parametrize(
    "text",
    [
        "select count(*) from customers",
        "SELECT name FROM products ORDER BY unit_price DESC;",
        "with t as (select 1 as x) select x from t",
        "select 1",
        "values (1), (2)",
        "select c.city, count(*) from customers c group by 1",
    ],
)
def test_sql_is_detected(text: str) -> None:
    assert looks_like_sql(text, "sqlite", TABLES)


@pytest.mark.parametrize(
    "text",
    [
        "Select the 5 most expensive products",
        "Select all customers from Germany",  # parses, but Germany is no table
        "With the highest price, which product?",
        "How many customers are there?",
        "select count(*) from customers?",
        "",
    ],
)
def test_questions_are_not_sql(text: str) -> None:
    assert not looks_like_sql(text, "sqlite", TABLES)


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("How many customers?", True),
        ("What's the customer's city?", True),  # apostrophes in English are no quotes
        ("How many orders \\", False),
        ("select * from orders where status = 'pend", False),
        ("select count(*) from (select 1", False),
        ("select count(*) from (select 1)", True),
        ("\\schema orders", True),
        ("", True),
    ],
)
def test_input_is_complete(text: str, complete: bool) -> None:
    assert input_is_complete(text) is complete


def test_join_continued() -> None:
    assert join_continued("How many orders \\\nper status?") == "How many orders per status?"
    assert join_continued("select 1\nfrom t") == "select 1\nfrom t"


def test_completion_of_meta_commands_in_both_spellings() -> None:
    assert candidates("\\sch", TABLES, COLUMNS) == ["\\schema"]
    assert candidates(".ex", TABLES, COLUMNS) == [".explain", ".export", ".exit"]
    assert "\\tables" in candidates("\\", TABLES, COLUMNS)


def test_completion_of_tables_columns_and_arguments() -> None:
    assert candidates("\\schema ord", TABLES, COLUMNS) == ["order_items", "orders"]
    assert candidates("\\format cs", TABLES, COLUMNS) == ["csv"]
    assert candidates("select * from cust", TABLES, COLUMNS) == ["customers", "customer_id"]
    assert candidates("select orders.st", TABLES, COLUMNS) == ["status"]
    assert candidates("select unit_", TABLES, COLUMNS) == ["unit_price"]
    assert candidates("how many ", TABLES, COLUMNS) == []


def test_completer_yields_prompt_toolkit_completions(sqlcoder_home) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from sqlcoder_cli.config import Config
    from sqlcoder_cli.pipeline import Session
    from sqlcoder_cli.repl.completion import ReplCompleter

    session = Session(Config.load())
    completer = ReplCompleter(lambda: session.schema)
    text = "select * from prod"
    found = list(completer.get_completions(Document(text, len(text)), CompleteEvent(completion_requested=True)))
    assert [c.text for c in found] == ["products", "product_id"]
    assert found[0].start_position == -4
    meta = list(completer.get_completions(Document(".tab", 4), CompleteEvent(completion_requested=True)))
    assert [c.text for c in meta] == [".tables"] and meta[0].start_position == -4
    session.close()
