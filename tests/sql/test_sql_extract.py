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
