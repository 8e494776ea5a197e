"""Columns on the wrong alias are put on the one table of their SELECT that has them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlcoder_cli.sql.repair import requalify_columns

MAPPING = {
    "restaurant": {"id": "INTEGER", "name": "TEXT", "rating": "REAL", "city_name": "TEXT"},
    "location": {"restaurant_id": "INTEGER", "street_name": "TEXT", "city_name": "TEXT"},
    "review": {"restaurant_id": "INTEGER", "rating": "REAL"},
}


@pytest.mark.parametrize("sql,expected", [
    ("SELECT T2.name FROM restaurant AS T1 JOIN location AS T2 ON T1.id = T2.restaurant_id ORDER BY T1.rating DESC",
     "SELECT T1.name FROM restaurant AS T1 JOIN location AS T2 ON T1.id = T2.restaurant_id ORDER BY T1.rating DESC"),
    ("SELECT AVG(l.rating) FROM restaurant r JOIN location l ON r.id = l.restaurant_id WHERE l.name = 'x'",
     "SELECT AVG(r.rating) FROM restaurant AS r JOIN location AS l ON r.id = l.restaurant_id WHERE r.name = 'x'"),
])
def test_a_column_on_the_wrong_alias_moves_to_its_table(sql: str, expected: str) -> None:
    assert requalify_columns(sql, MAPPING, dialect="sqlite") == expected


@pytest.mark.parametrize("sql", [
    "SELECT r.name FROM restaurant r",  # nothing wrong
    "SELECT l.rating FROM location l JOIN review v ON v.restaurant_id = l.restaurant_id "
    "JOIN restaurant r ON r.id = l.restaurant_id",  # two tables have rating: ambiguous
    "SELECT l.stars FROM restaurant r JOIN location l ON r.id = l.restaurant_id",  # nobody has it
    "SELECT 1 FROM restaurant r JOIN location l ON l.name = r.name",  # would compare r.name with itself
    "SELECT (",  # does not parse
])
def test_nothing_is_mended_when_in_doubt(sql: str) -> None:
    assert requalify_columns(sql, MAPPING, dialect="sqlite") is None


def test_a_nested_select_is_mended_in_its_own_scope() -> None:
    sql = ("SELECT r.name FROM restaurant r WHERE r.id IN "
           "(SELECT l.restaurant_id FROM location l JOIN review v ON v.restaurant_id = l.restaurant_id WHERE l.rating > 4)")
    assert "WHERE v.rating > 4" in (requalify_columns(sql, MAPPING, dialect="sqlite") or "")


def test_the_mended_query_runs(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE restaurant (id INTEGER, name TEXT, rating REAL, city_name TEXT);"
            "CREATE TABLE location (restaurant_id INTEGER, street_name TEXT, city_name TEXT);"
            "INSERT INTO restaurant VALUES (1, 'Ann''s', 4.5, 'SF'); INSERT INTO location VALUES (1, 'Market St', 'SF');"
        )
        bad = "SELECT T2.name FROM restaurant AS T1 JOIN location AS T2 ON T1.id = T2.restaurant_id"
        with pytest.raises(sqlite3.OperationalError):
            con.execute(bad)
        assert con.execute(requalify_columns(bad, MAPPING, dialect="sqlite")).fetchall() == [("Ann's",)]
    con.close()
