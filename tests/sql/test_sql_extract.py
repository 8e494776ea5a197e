from __future__ import annotations

import pytest

from sqlcoder_cli.errors import SQLGenerationError
from sqlcoder_cli.sql import extract_sql

CASES = [
    ("SELECT 1", "SELECT 1"),
    ("  SELECT 1;  ", "SELECT 1"),
    ("```sql\nSELECT a FROM t;\n```", "SELECT a FROM t"),
    ("```sql\nSELECT a\nFROM t\nWHERE b = 2", "SELECT a\nFROM t\nWHERE b = 2"),  # unterminated fence
    ("```\nSELECT 2\n```", "SELECT 2"),
    ("Here is the query:\n```sql\nSELECT 3\n```\nThis counts rows.", "SELECT 3"),
    ("[SQL]\nSELECT 4\n[/SQL]", "SELECT 4"),
    ("[SQL] SELECT 5 [/SQL] trailing", "SELECT 5"),
    ("Here is the query: SELECT name FROM t WHERE x = 1", "SELECT name FROM t WHERE x = 1"),
    ("Sure!\n\nSELECT a FROM t;\n\nThis query returns a.", "SELECT a FROM t"),
    ("SELECT a FROM t\n\nExplanation: it selects a.", "SELECT a FROM t"),
    ("SELECT ';' AS s, a FROM t; DROP TABLE t", "SELECT ';' AS s, a FROM t"),
    ("SELECT 'it''s; fine' FROM t;", "SELECT 'it''s; fine' FROM t"),
    ("WITH x AS (SELECT 1 AS a) SELECT a FROM x;", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
    ("The query uses a CTE:\nWITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"),
    ("SELECT a FROM t\n```", "SELECT a FROM t"),  # prompt opened the fence, the model closed it
    ("DELETE FROM t;", "DELETE FROM t"),  # extraction does not judge; the guard does
    ("```sql\nSELECT a FROM t\n```\n```sql\nSELECT b FROM t\n```", "SELECT a FROM t"),
    ("SELECT a -- comment; not a separator\nFROM t", "SELECT a -- comment; not a separator\nFROM t"),
    ("SELECT 'unterminated; FROM t", "SELECT 'unterminated; FROM t"),  # the guard refuses it
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract(text: str, expected: str) -> None:
    assert extract_sql(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "```sql\n```", "[SQL][/SQL]", ";;", "```\n;\n```"])
def test_no_sql(text: str) -> None:
    with pytest.raises(SQLGenerationError, match="the model returned no SQL"):
        extract_sql(text)


# --- reasoning models: <think> blocks, <answer> tags, the last query is the final one ------------
def test_the_answer_after_the_thinking_is_taken_not_a_draft_inside_it() -> None:
    text = (
        "<think>\nFirst try:\n```sql\nSELECT name FROM users\n```\nNo, we need the count.\n</think>\n"
        "The query:\n```sql\nSELECT COUNT(*) FROM users;\n```"
    )
    assert extract_sql(text) == "SELECT COUNT(*) FROM users"


def test_of_several_blocks_in_a_reasoned_answer_the_last_is_final() -> None:
    text = "<think>plan</think>\n```sql\nSELECT 1\n```\nRefined:\n```sql\nSELECT 2\n```"
    assert extract_sql(text) == "SELECT 2"


def test_answer_tags_are_unwrapped() -> None:
    text = "<think>\nreasoning\n</think>\n<answer>\n```sql\nSELECT a FROM t\n```\n</answer>"
    assert extract_sql(text) == "SELECT a FROM t"
    assert extract_sql("<answer>SELECT b FROM t</answer>") == "SELECT b FROM t"


def test_a_model_still_thinking_when_it_stopped_says_so() -> None:
    with pytest.raises(SQLGenerationError, match="still reasoning") as caught:
        extract_sql("<think>\nLet me look at the tables. ```sql\nSELECT")
    assert "--max-tokens" in (caught.value.hint or "")


def test_answers_without_thinking_keep_the_first_block() -> None:
    assert extract_sql("```sql\nSELECT 1\n```\nor\n```sql\nSELECT 2\n```") == "SELECT 1"
