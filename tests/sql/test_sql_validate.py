"""Schema validation: real mistakes are reported; valid SQL of every shape is not (no false positives)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlcoder_cli.errors import SQLGenerationError, SQLValidationError
from sqlcoder_cli.sql.validate import SQLIssue, check_sql, issues_as_feedback, validate_sql

SCHEMA = {
    "orders": {"order_id": "INTEGER", "customer_id": "INTEGER", "total": "NUMERIC(10, 2)", "order_date": "DATE"},
    "Customers": {"customer_id": "INTEGER", "Name": "VARCHAR(40)", "city": "TEXT"},
    "products": {"product_id": "INTEGER", "name": "TEXT", "price": "WEIRD_DRIVER_TYPE"},
}

VALID = [
    ("SELECT order_id, total FROM orders", "postgres"),
    ("SELECT o.total FROM orders AS o", "postgres"),
    ("SELECT ORDER_ID FROM ORDERS", "postgres"),
    ('SELECT "name" FROM "customers"', "postgres"),
    ('SELECT "Name" FROM customers', "sqlite"),
    ("SELECT name, city FROM customers", "sqlite"),
    ("SELECT * FROM orders", "postgres"),
    ("SELECT o.* , c.name FROM orders o JOIN customers c ON c.customer_id = o.customer_id", "postgres"),
    ("SELECT customer_id FROM orders JOIN customers USING (customer_id)", "postgres"),
    ("WITH big AS (SELECT customer_id AS cid, SUM(total) AS s FROM orders GROUP BY 1) SELECT cid, s FROM big", "postgres"),
    ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n", "sqlite"),
    ("SELECT t.total, t.n FROM (SELECT total, 1 AS n FROM orders) AS t", "postgres"),
    ("SELECT total AS tt FROM orders ORDER BY tt DESC", "postgres"),
    ("SELECT total * 2 AS t2, t2 + 1 FROM orders", "duckdb"),
    ("SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id HAVING COUNT(*) > 1 ORDER BY n", "postgres"),
    ("SELECT * FROM generate_series(1, 3) AS g", "postgres"),
    ("SELECT x FROM generate_series(1, 3) AS g(x)", "postgres"),
    ("SELECT * FROM range(10)", "duckdb"),
    ("SELECT name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)", "postgres"),
    ("SELECT c.name, x.total FROM customers c CROSS JOIN LATERAL (SELECT o.total FROM orders o WHERE o.customer_id = c.customer_id LIMIT 1) x", "postgres"),
    ("SELECT name FROM customers UNION SELECT name FROM products", "sqlite"),
    ("SELECT 1", "sqlite"),
    ("SELECT CURRENT_DATE", "postgres"),
    ("SELECT name FROM sqlite_master", "sqlite"),
    ("SELECT table_name FROM information_schema.tables", "postgres"),
    ("SELECT * FROM public.orders", "postgres"),
    ("SELECT price FROM products", "postgres"),
    ("SELECT order_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total DESC) AS rn FROM orders", "postgres"),
    ("SELECT DATE_TRUNC('month', order_date) AS m, SUM(total) FROM orders GROUP BY m ORDER BY m NULLS LAST", "postgres"),
    ("SELECT name FROM customers WHERE name = \"Bob\"", "sqlite"),
    ("SELECT o.total FROM orders o WHERE o.total > (SELECT AVG(total) FROM orders)", "postgres"),
]


@pytest.mark.parametrize(("sql", "dialect"), VALID)
def test_valid_sql_has_no_issues(sql: str, dialect: str) -> None:
    assert validate_sql(sql, SCHEMA, dialect=dialect) == []


def _one(sql: str, dialect: str = "postgres") -> SQLIssue:
    issues = validate_sql(sql, SCHEMA, dialect=dialect)
    assert len(issues) == 1, issues
    assert "\n" not in issues[0].message
    return issues[0]


def test_unknown_column_lists_columns_and_suggests() -> None:
    issue = _one("SELECT total_price FROM orders")
    assert issue.kind == "unknown_column" and issue.name == "orders.total_price"
    assert issue.message.startswith("unknown column orders.total_price; orders has: order_id, customer_id, total")
    assert "did you mean total?" in issue.message


def test_unknown_qualified_column_through_alias() -> None:
    issue = _one("SELECT o.totl FROM orders o JOIN customers c ON c.customer_id = o.customer_id")
    assert issue.kind == "unknown_column" and issue.name == "orders.totl"
    assert "did you mean total" in issue.message


def test_unknown_column_among_several_tables() -> None:
    issue = _one("SELECT citty FROM orders o JOIN customers c ON c.customer_id = o.customer_id")
    assert issue.kind == "unknown_column" and "city" in issue.message


def test_unknown_alias() -> None:
    issue = _one("SELECT x.total FROM orders o")
    assert issue.kind == "unknown_column" and "x" in issue.message


def test_ambiguous_column() -> None:
    issue = _one("SELECT customer_id FROM orders o JOIN customers c ON c.customer_id = o.customer_id")
    assert issue.kind == "ambiguous_column" and issue.name == "customer_id"
    assert "orders.customer_id" in issue.message and "customers.customer_id" in issue.message


def test_unknown_table_suggests() -> None:
    issue = _one("SELECT name FROM customer")
    assert issue.kind == "unknown_table" and issue.name == "customer"
    assert "did you mean customers?" in issue.message


def test_unknown_column_inside_cte_and_subquery() -> None:
    assert _one("WITH x AS (SELECT nme FROM customers) SELECT * FROM x").name == "customers.nme"
    assert _one("SELECT * FROM orders WHERE customer_id IN (SELECT custid FROM customers)").name == "customers.custid"


def test_unknown_column_of_derived_table() -> None:
    issue = _one("SELECT t.nope FROM (SELECT total FROM orders) t")
    assert issue.kind == "unknown_column" and "t.nope" in issue.message


def test_syntax_error() -> None:
    issue = _one("SELECT FROM WHERE (((")
    assert issue.kind == "syntax" and issue.name is None


def test_several_issues_and_feedback() -> None:
    issues = validate_sql("SELECT a FROM nope1 JOIN nope2 ON 1 = 1", SCHEMA, dialect="postgres")
    assert [i.name for i in issues] == ["nope1", "nope2"]
    text = issues_as_feedback(issues)
    assert text.splitlines()[0] == "The SQL has these problems:"
    assert "- unknown table nope1" in text
    assert issues_as_feedback([]) == ""


def test_check_sql_raises_structured_error() -> None:
    with pytest.raises(SQLValidationError) as info:
        check_sql("SELECT total_price FROM orders", SCHEMA, dialect="postgres")
    assert isinstance(info.value, SQLGenerationError)
    assert info.value.issues[0].kind == "unknown_column"
    assert info.value.sql == "SELECT total_price FROM orders"
    check_sql("SELECT total FROM orders", SCHEMA, dialect="postgres")


def test_empty_schema_reports_nothing() -> None:
    assert validate_sql("SELECT whatever FROM anything", {}, dialect="postgres") == []


def test_gold_sql_of_the_benchmark_has_no_false_positives(sql_eval_dir: Path) -> None:
    """Every SQLite gold query of sql-eval runs; the validator must not flag any of them."""
    import json

    from sqlcoder_cli.db import open_database
    from sqlcoder_cli.schema import introspect

    mappings: dict[str, dict] = {}
    flagged = []
    unparsed = []
    for line in (sql_eval_dir / "questions.jsonl").read_text().splitlines():
        q = json.loads(line)
        if q["db"] not in mappings:
            with open_database(str(sql_eval_dir / "dbs" / f"{q['db']}.sqlite")) as db:
                mappings[q["db"]] = introspect(db).as_sqlglot_mapping()
        for sql in q["gold"]:
            issues = validate_sql(sql, mappings[q["db"]], dialect="sqlite")
            if any(i.kind == "syntax" for i in issues):
                unparsed.append(q["id"])  # sqlglot cannot parse it; the guard refuses it too
            elif issues:
                flagged.append((q["id"], sql, issues))
    assert flagged == []
    assert len(unparsed) <= 2, unparsed


def test_unknown_column_says_which_tables_have_it() -> None:
    # 'city' lives on customers: a model that put it on orders is told where it is
    issue = _one("SELECT o.city FROM orders o")
    assert issue.message.endswith("; customers has a column city"), issue.message
    assert "has a column" not in _one("SELECT o.nothing_like_it FROM orders o").message
