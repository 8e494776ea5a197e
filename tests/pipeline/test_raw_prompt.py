"""``--raw`` shows the bare model the schema as the database states it: SQLite's own CREATE
statements (comments, FOREIGN KEY clauses and all) in the order they were created, not sqlcoder's
rendering (alphabetical, keys as join-hint comments, sampled values)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from testkit.scripted_engine import ScriptedEngine

from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.pipeline import AnswerSettings, Session

CREATES = [
    """CREATE TABLE "airports" (
  code TEXT PRIMARY KEY, -- IATA code
  city TEXT NOT NULL
)""",
    """CREATE TABLE flights (
    id INTEGER PRIMARY KEY,
    origin TEXT REFERENCES airports(code),
    destination TEXT,
    FOREIGN KEY (destination) REFERENCES airports(code)
)""",
    "CREATE TABLE aircraft (tail TEXT PRIMARY KEY, seats INT)",
]


@pytest.fixture
def keyed_db(tmp_path: Path) -> Path:
    path = tmp_path / "flights.sqlite"
    with sqlite3.connect(path) as conn:
        for statement in CREATES:
            conn.execute(statement)
        conn.execute("INSERT INTO airports VALUES ('SFO', 'San Francisco'), ('JFK', 'New York')")
        conn.execute("INSERT INTO flights VALUES (1, 'SFO', 'JFK')")
    return path


def prompt_of(sqlcoder_home: Path, db: Path, settings: AnswerSettings) -> str:
    engine = ScriptedEngine(["SELECT COUNT(*) FROM flights"])
    with Session(Config.load(Paths.resolve()), db=str(db), engine=engine, settings=settings) as session:
        session.ask("How many flights are there?")
    return engine.prompts[0]


def test_raw_shows_the_databases_own_statements_in_their_order(sqlcoder_home: Path, keyed_db: Path) -> None:
    prompt = prompt_of(sqlcoder_home, keyed_db, AnswerSettings.raw())
    positions = [prompt.index(statement) for statement in CREATES]  # each verbatim
    assert positions == sorted(positions)  # airports, flights, aircraft: as created, not alphabetical
    assert "FOREIGN KEY (destination) REFERENCES airports(code)" in prompt
    assert "can be joined with" not in prompt  # no hints of ours
    assert "San Francisco" not in prompt  # no sampled values


def test_the_full_pipeline_renders_its_own_ddl(sqlcoder_home: Path, keyed_db: Path) -> None:
    prompt = prompt_of(sqlcoder_home, keyed_db, AnswerSettings())
    assert CREATES[1] not in prompt
    assert prompt.index("CREATE TABLE aircraft") < prompt.index("CREATE TABLE airports")  # sorted


def test_original_text_is_a_setting_of_its_own(sqlcoder_home: Path, keyed_db: Path) -> None:
    prompt = prompt_of(sqlcoder_home, keyed_db, AnswerSettings(schema_text="original"))
    assert all(statement in prompt for statement in CREATES)
    with pytest.raises(Exception, match="unknown schema text"):
        AnswerSettings(schema_text="pretty")


def test_a_database_without_stored_text_is_rendered(sqlcoder_home: Path, tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE flights (id INTEGER PRIMARY KEY, origin TEXT)")
    prompt = prompt_of(sqlcoder_home, path, AnswerSettings.raw())
    assert "CREATE TABLE flights" in prompt
