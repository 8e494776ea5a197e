"""Join inference for databases that declare no foreign keys, on real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlcoder_cli.db import open_database
from sqlcoder_cli.schema import Schema, introspect
from sqlcoder_cli.schema.ddl import join_hints
from sqlcoder_cli.schema.joins import infer_foreign_keys, key_columns, reference_words

UNDECLARED = """
CREATE TABLE users (uid INTEGER, username TEXT, country TEXT);
CREATE TABLE merchants (mid INTEGER, name TEXT, category TEXT);
CREATE TABLE coupons (cid INTEGER, merchant_id INTEGER, code TEXT);
CREATE TABLE wallet_merchant_balance_daily (merchant_id INTEGER, balance REAL, updated_at TEXT);
CREATE TABLE notifications (id INTEGER, user_id INTEGER, message TEXT);
-- publication's key is not its first column; junction tables hold only keys
CREATE TABLE publication (abstract TEXT, jid INTEGER, pid INTEGER, title TEXT);
CREATE TABLE journal (jid INTEGER, name TEXT);
CREATE TABLE author (aid INTEGER, name TEXT);
CREATE TABLE writes (aid INTEGER, pid INTEGER);
-- a table's own id must not point at another table whose name ends like it
CREATE TABLE fare (fare_id INTEGER, amount REAL);
CREATE TABLE flight (flight_id INTEGER, airline TEXT);
CREATE TABLE flight_fare (flight_id INTEGER, fare_id INTEGER);
"""


def _schema(tmp_path: Path, ddl: str) -> Schema:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(ddl)
    con.close()
    db = open_database(str(path))
    try:
        return introspect(db)
    finally:
        db.close()


def test_undeclared_keys_become_join_hints(tmp_path: Path) -> None:
    schema = _schema(tmp_path, UNDECLARED)
    assert join_hints(schema) == []
    hints = join_hints(infer_foreign_keys(schema))
    assert sorted(hints) == sorted([
        "-- coupons.merchant_id can be joined with merchants.mid",
        "-- wallet_merchant_balance_daily.merchant_id can be joined with merchants.mid",
        "-- notifications.user_id can be joined with users.uid",
        "-- publication.jid can be joined with journal.jid",
        "-- writes.aid can be joined with author.aid",
        "-- writes.pid can be joined with publication.pid",
        "-- flight_fare.flight_id can be joined with flight.flight_id",
        "-- flight_fare.fare_id can be joined with fare.fare_id",
    ])


def test_a_schema_with_declared_keys_is_taken_at_its_word(tmp_path: Path) -> None:
    schema = _schema(tmp_path, UNDECLARED + "CREATE TABLE orders (id INTEGER PRIMARY KEY, uid INTEGER REFERENCES users(uid));")
    assert infer_foreign_keys(schema) is schema


def test_ambiguous_names_get_no_hint(tmp_path: Path) -> None:
    # two tables own 'code' as their key, and 'item_id' could be either item table
    schema = _schema(tmp_path, """
        CREATE TABLE country (code TEXT, name TEXT);
        CREATE TABLE currency (code TEXT, name TEXT);
        CREATE TABLE sale_item (sid INTEGER, price REAL);
        CREATE TABLE stock_item (sid2 INTEGER, qty INTEGER);
        CREATE TABLE shipment (id INTEGER, code TEXT, item_id INTEGER);
    """)
    assert join_hints(infer_foreign_keys(schema)) == []


def test_key_and_reference_naming() -> None:
    assert reference_words("sbTxCustId") == ["sb", "tx", "cust"]
    assert reference_words("merchant_id") == ["merchant"]
    assert reference_words("id") == []


def test_key_columns_fall_back_to_a_column_named_after_the_table(tmp_path: Path) -> None:
    schema = _schema(tmp_path, UNDECLARED)
    assert key_columns(schema.table("publication")) == ["pid"]  # type: ignore[arg-type]
    assert key_columns(schema.table("users")) == ["uid"]  # type: ignore[arg-type]


@pytest.mark.parametrize("db_name,expected", [
    ("academic", "-- writes.pid can be joined with publication.pid"),
    ("car_dealership", "-- sales.customer_id can be joined with customers.id"),
    ("broker", "-- sbTransaction.sbTxCustId can be joined with sbCustomer.sbCustId"),
])
def test_sql_eval_databases_get_their_joins(sql_eval_dir: Path, db_name: str, expected: str) -> None:
    db = open_database(str(sql_eval_dir / "dbs" / f"{db_name}.sqlite"))
    try:
        schema = introspect(db)
    finally:
        db.close()
    assert expected in join_hints(infer_foreign_keys(schema))
