"""The library API: Session on real databases with the tiny model (fast) and the dev model (slow)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlcoder_cli import Session
from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.errors import AnswerFailed, DatabaseError, SQLGenerationError, UnsafeSQLError


@pytest.fixture
def config(sqlcoder_home: Path) -> Config:
    return Config.load(Paths.resolve())


def test_a_session_is_lazy(config: Config, tmp_path: Path) -> None:
    session = Session(config, db=str(tmp_path / "missing.sqlite"), model="no-such-model")
    # nothing was opened or loaded: errors appear only when the parts are used
    assert not session.model_loaded
    session.close()


def test_prepare_sql_transpiles_postgres_to_sqlite_and_guards(config: Config, tiny_gguf_path: Path) -> None:
    with Session(config, model=str(tiny_gguf_path)) as session:
        sql = session.prepare_sql(
            "SELECT first_name FROM customers WHERE city ILIKE 'ber%' AND signup_date >= DATE_TRUNC('year', DATE '2024-06-01')",
            source_dialect="postgres",
        )
        assert "ILIKE" not in sql.upper()
        result = session.run_sql(sql)
        assert result.columns == ["first_name"]
        with pytest.raises(UnsafeSQLError):
            session.prepare_sql("DELETE FROM customers", source_dialect="postgres")
        with pytest.raises(SQLGenerationError):
            session.prepare_sql("SELEC nonsense FROM", source_dialect="postgres")


def test_row_limit_marks_truncation(config: Config, tiny_gguf_path: Path) -> None:
    with Session(config, model=str(tiny_gguf_path), row_limit=7) as session:
        result = session.run_sql("SELECT * FROM orders")
        assert result.row_count == 7 and result.truncated
        everything = session.run_sql("SELECT * FROM categories", limit=None)
        assert not everything.truncated


def test_prompt_uses_the_family_of_the_model(config: Config, tiny_gguf_path: Path, tiny_chat_gguf_path: Path) -> None:
    with Session(config, model=str(tiny_gguf_path)) as session:
        prompt = session.plan_prompt("How many customers are there?").prompt
        assert prompt.family == "sqlcoder" and prompt.text.startswith("### Task\n")
        assert "CREATE TABLE customers" in prompt.text
    with Session(config, model=str(tiny_chat_gguf_path)) as session:
        prompt = session.plan_prompt("How many customers are there?").prompt
        assert prompt.family == "chat" and prompt.text.startswith("<|im_start|>system\nYou are an expert SQLite analyst")


def test_empty_question_is_refused(config: Config, tiny_gguf_path: Path) -> None:
    """A usage error (exit 2) found before the model loads, not three attempts at nothing."""
    from sqlcoder_cli.errors import UsageError

    with Session(config, model=str(tiny_gguf_path)) as session:
        with pytest.raises(UsageError, match="empty") as info:
            session.ask("   ")
        assert info.value.exit_code == 2 and not session.model_loaded


@pytest.mark.slow
def test_dev_model_answers_on_sql_eval_and_duckdb(config: Config, dev_model: Path, sql_eval_dir: Path, tmp_path: Path) -> None:
    db = sql_eval_dir / "dbs" / "geography.sqlite"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        expected = conn.execute("SELECT count(*) FROM state").fetchone()[0]
    with Session(config, db=str(db), model=str(dev_model)) as session:
        answer = session.ask("How many states are there?")
        assert answer.rows == [(expected,)]
        assert answer.timings.total_s >= answer.timings.prompt_s > 0

    import duckdb

    duck = tmp_path / "shop.duckdb"
    with duckdb.connect(str(duck)) as conn:
        conn.execute("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, city TEXT)")
        conn.execute("INSERT INTO customers SELECT i, 'city' || (i % 7) FROM range(1, 43) t(i)")
    with Session(config, db=str(duck), model=str(dev_model)) as session:
        answer = session.ask("How many customers are there?")
        assert answer.db_dialect == "duckdb"
        assert answer.rows == [(42,)]


def test_remembered_examples_and_follow_ups_reach_the_prompt(config: Config, tiny_chat_gguf_path: Path) -> None:
    from sqlcoder_cli.prompts import Example

    with Session(config, model=str(tiny_chat_gguf_path)) as session:
        session.remember("How many customers live in Berlin?", "SELECT count(*) FROM customers WHERE city = 'Berlin'")
        plan = session.plan_prompt("How many customers live in Paris?")
        assert [e.question for e in plan.examples] == ["How many customers live in Berlin?"]
        assert "WHERE city = 'Berlin'" in plan.prompt.text
        follow = session.plan_prompt("only in 2024", previous=Example("How many orders?", "SELECT count(*) FROM orders"))
        assert "Follow-up question (change the previous query as asked): only in 2024" in follow.prompt.text
    with Session(config, model=str(tiny_chat_gguf_path), memory=False) as session:
        assert session.plan_prompt("How many customers live in Paris?").examples == ()


def test_adopt_model_moves_the_loaded_engine(config: Config, tiny_gguf_path: Path, tmp_path: Path) -> None:
    first = Session(config, model=str(tiny_gguf_path))
    engine = first.engine
    second = Session(config, model=str(tiny_gguf_path), db=str(tmp_path / "other.sqlite"))
    second.adopt_model(first)
    first.close()  # must not close the shared model
    assert second.engine is engine and engine.generate("SELECT", max_tokens=2).generated_tokens >= 1
    second.close()


def test_failed_attempts_are_fed_back_until_the_retry_budget_is_spent(config: Config, tiny_chat_gguf_path: Path) -> None:
    """The tiny model writes gibberish: every attempt fails, and the error carries the attempts
    as data (what eval records), the last one's message with the count."""
    seen = []
    with Session(config, model=str(tiny_chat_gguf_path), max_retries=2, max_new_tokens=16) as session:
        with pytest.raises(AnswerFailed) as failure:
            session.ask("How many customers are there?", on_retry=seen.append)
    error = failure.value
    assert "(after 3 attempts)" in str(error) and error.attempts == 3
    assert len(seen) == 2 and error.failed_attempts[:2] == seen and len(error.failed_attempts) == 3
    assert len(error.generations) == 3 and isinstance(error.cause, (SQLGenerationError, DatabaseError))
    assert error.exit_code == error.cause.exit_code


def test_no_retries_means_one_attempt(config: Config, tiny_chat_gguf_path: Path) -> None:
    with Session(config, model=str(tiny_chat_gguf_path), max_retries=0, max_new_tokens=8) as session:
        with pytest.raises(AnswerFailed) as failure:
            session.ask("How many customers are there?")
    assert "attempts" not in str(failure.value) and failure.value.attempts == 1


def test_unknown_columns_are_caught_before_the_database_sees_them(config: Config, tiny_gguf_path: Path) -> None:
    from sqlcoder_cli.errors import SQLValidationError

    with Session(config, model=str(tiny_gguf_path)) as session:
        with pytest.raises(SQLValidationError, match="unknown column customers.total_spent"):
            session.prepare_sql("SELECT total_spent FROM customers")
        with pytest.raises(SQLValidationError, match="unknown table"):
            session.prepare_sql("SELECT * FROM clients")
    with Session(config, model=str(tiny_gguf_path), validate=False) as session:
        assert session.prepare_sql("SELECT total_spent FROM customers")  # left to the database


def test_inferred_join_hints_reach_the_prompt_unless_switched_off(config: Config, tiny_gguf_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE customers (id INTEGER, name TEXT);"
            "CREATE TABLE orders (id INTEGER, customer_id INTEGER, total REAL);"
        )
    con.close()
    hint = "-- orders.customer_id can be joined with customers.id"
    with Session(config, db=str(path), model=str(tiny_gguf_path)) as session:
        assert hint in session.plan_prompt("total per customer name").prompt.text
    with Session(config, db=str(path), model=str(tiny_gguf_path), join_hints=False) as session:
        assert hint not in session.plan_prompt("total per customer name").prompt.text


def test_a_column_on_the_wrong_alias_is_mended_only_when_validating(config: Config, tiny_gguf_path: Path) -> None:
    slip = "SELECT c.status FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id"
    with Session(config, model=str(tiny_gguf_path)) as session:
        assert session.prepare_sql(slip) == slip.replace("c.status", "o.status")
    with Session(config, model=str(tiny_gguf_path), validate=False) as session:
        assert session.prepare_sql(slip) == slip
    with Session(config, model=str(tiny_gguf_path), mend=False) as session, pytest.raises(SQLGenerationError):
        session.prepare_sql(slip)  # the slip is caught by validation instead


def test_prompt_layouts_move_the_question_and_the_shared_prefix(config: Config, tiny_gguf_path: Path) -> None:
    from sqlcoder_cli.errors import UsageError

    with Session(config, model=str(tiny_gguf_path)) as session:  # sqlcoder family: question first
        native = session.plan_prompt("How many customers are there?")
        assert native.prompt.text.startswith("### Task")
    with Session(config, model=str(tiny_gguf_path), prompt_layout="schema-first") as session:
        plan = session.plan_prompt("How many customers are there?")
        assert plan.prompt.text.startswith("### Database Schema")
        assert "CREATE TABLE customers" in plan.stable_prefix and len(plan.stable_prefix) > len(native.stable_prefix)
    with pytest.raises(UsageError):
        Session(config, model=str(tiny_gguf_path), prompt_layout="sideways")
