"""A server URL whose driver is not installed fails with one line naming the extra that installs it.

The driver is made unimportable for the test (``sys.modules[name] = None`` makes ``import name``
raise ImportError, as a missing package does), so no server is needed: the error comes before any
connection is tried.
"""

from __future__ import annotations

import sys

import pytest

from sqlcoder_cli.db.connect import open_database
from sqlcoder_cli.errors import DatabaseError


@pytest.mark.parametrize(
    ("url", "module", "package", "extra"),
    [
        ("postgresql://me@127.0.0.1:1/shop", "psycopg", "psycopg", "postgres"),
        ("mysql://me@127.0.0.1:1/shop", "pymysql", "PyMySQL", "mysql"),
        ("mariadb://me@127.0.0.1:1/shop", "pymysql", "PyMySQL", "mysql"),
    ],
)
def test_a_missing_driver_names_the_extra_that_installs_it(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, package: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    database = open_database(url)
    with pytest.raises(DatabaseError) as caught:
        database.execute("SELECT 1", limit=1)
    error = caught.value
    assert f"its driver, {package}, is not installed" in error.message
    assert error.hint == f"pip install 'sqlcoder-cli[{extra}]'"
    assert "\n" not in str(error)


def test_a_driver_named_in_the_url_that_is_missing_says_which_package_and_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MySQLdb", None)
    database = open_database("mysql+mysqldb://me@127.0.0.1:1/shop")
    with pytest.raises(DatabaseError) as caught:
        database.execute("SELECT 1", limit=1)
    error = caught.value
    assert "is not installed" in error.message
    assert error.hint is not None and "sqlcoder-cli[mysql]" in error.hint and "mysql://" in error.hint
