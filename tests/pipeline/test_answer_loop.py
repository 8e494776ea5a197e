"""The answer loop driven by the scripted engine, on the real demo database: retries, exhaustion,
follow-ups, mending, review and time limits, with every prompt the model was shown recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.scripted_engine import ScriptedEngine

from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.engine.base import Engine, Generation
from sqlcoder_cli.errors import AnswerFailed, ExitCode, SQLGenerationError
from sqlcoder_cli.pipeline import AnswerSettings, Session

COUNT = "SELECT COUNT(*) FROM customers"


@pytest.fixture
def config(sqlcoder_home: Path) -> Config:
    return Config.load(Paths.resolve())


def session_with(config: Config, *answers: object, **overrides: object) -> tuple[Session, ScriptedEngine]:
    engine = ScriptedEngine(list(answers))
    return Session(config, engine=engine, **overrides), engine


def test_the_scripted_engine_is_an_engine() -> None:
    assert isinstance(ScriptedEngine(), Engine)


def test_success_after_one_failed_attempt_feeds_the_error_back(config: Config) -> None:
    session, engine = session_with(config, "SELECT total_spent FROM customers\n```", COUNT + "\n```")
    with session:
        seen = []
        answer = session.ask("How many customers are there?", on_retry=seen.append)
    assert answer.attempts == 2 and answer.executed and answer.rows == [(answer.rows[0][0],)]
    assert answer.rows[0][0] > 0 and answer.model == "scripted"
    assert [f.sql for f in answer.failed_attempts] == ["SELECT total_spent FROM customers"] == [f.sql for f in seen]
    assert "unknown column" in answer.failed_attempts[0].error
    first, second = engine.prompts
    assert "total_spent" not in first
    assert "SELECT total_spent FROM customers" in second and "unknown column" in second  # the correction
    assert engine.calls[1].messages and engine.calls[1].answer_prefix == "```sql\n"  # chat: messages travel too


def test_retries_run_out_with_the_attempts_as_data(config: Config) -> None:
    session, engine = session_with(config, "SELECT nope FROM customers", "SELECT nope2 FROM customers", max_retries=1)
    with session, pytest.raises(AnswerFailed) as caught:
        session.ask("How many customers are there?")
    error = caught.value
    assert error.attempts == 2 and len(engine.calls) == 2
    assert [f.sql for f in error.failed_attempts] == ["SELECT nope FROM customers", "SELECT nope2 FROM customers"]
    assert len(error.generations) == 2 and all(isinstance(g, Generation) for g in error.generations)
    assert str(error).endswith("(after 2 attempts)") and "\n" not in str(error)
    assert error.exit_code == ExitCode.NO_SQL and isinstance(error.cause, SQLGenerationError)


def test_a_follow_up_shows_the_previous_question_and_its_sql(config: Config) -> None:
    session, engine = session_with(config, COUNT, COUNT + " WHERE city = 'Berlin'")
    with session:
        first = session.ask("How many customers are there?")
        second = session.ask("only those in Berlin", previous=first)
    assert second.sql.endswith("WHERE city = 'Berlin'")
    follow_up = engine.prompts[1]
    assert "How many customers are there?" in follow_up and COUNT in follow_up and "only those in Berlin" in follow_up


def test_a_slip_is_mended_without_asking_the_model_again(config: Config) -> None:
    slip = "SELECT c.status FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id"
    session, engine = session_with(config, slip)
    with session:
        answer = session.ask("What is the status of each order?")
    assert answer.attempts == 1 and len(engine.calls) == 1
    assert answer.sql == slip.replace("c.status", "o.status") and answer.executed
    session, engine = session_with(config, slip, max_retries=0, mend=False)
    with session, pytest.raises(AnswerFailed, match="unknown column"):
        session.ask("What is the status of each order?")


def test_an_edited_query_runs_instead_and_is_marked(config: Config) -> None:
    session, _ = session_with(config, COUNT)
    with session:
        answer = session.ask("How many customers?", review=lambda sql: sql + " WHERE customer_id < 3")
    assert answer.edited and answer.sql.endswith("customer_id < 3") and answer.rows == [(2,)]


def test_a_model_out_of_time_is_not_asked_again(config: Config) -> None:
    engine = ScriptedEngine([COUNT, COUNT], delay_s=0.05)
    with Session(config, engine=engine, generation_timeout=0.01, max_retries=3) as session:
        with pytest.raises(AnswerFailed, match="stopped the model") as caught:
            session.ask("How many customers are there?")
    assert caught.value.attempts == 1 and len(engine.calls) == 1
    assert engine.calls[0].time_limit_s == 0.01


def test_settings_reach_the_engine_and_the_database(config: Config) -> None:
    settings = AnswerSettings.from_config(config).with_overrides(max_new_tokens=77, row_limit=3, grammar=True)
    engine = ScriptedEngine(["SELECT customer_id FROM customers"])
    with Session(config, engine=engine, settings=settings) as session:
        answer = session.ask("List the customers")
    call = engine.calls[0]
    assert call.max_tokens == 77 and call.grammar is None  # this engine does not do grammars: none is sent
    assert answer.row_count == 3 and answer.truncated


def test_an_engine_given_to_a_session_stays_open(config: Config) -> None:
    engine = ScriptedEngine([COUNT])
    with Session(config, engine=engine) as session:
        session.ask("How many customers are there?")
    assert not engine.closed


def test_with_overrides_keeps_what_is_none_and_refuses_unknown_names() -> None:
    base = AnswerSettings()
    assert base.with_overrides(max_retries=None, validate=False).validate is False
    assert base.with_overrides(max_retries=None).max_retries == base.max_retries
    assert base.with_overrides(query_timeout=5).query_timeout == 5.0
    with pytest.raises(TypeError, match="unknown answer setting"):
        base.with_overrides(retries=1)


def test_a_schema_budget_prunes_the_prompt_and_is_a_flag_everywhere(config: Config) -> None:
    """One field in AnswerSettings (with its flag) and the line that uses it: the option reaches
    the prompt, and every answering command has the flag."""
    with Session(config, engine=ScriptedEngine()) as session:
        whole = session.plan_prompt("How many customers are there?")
        session.settings = session.settings.with_overrides(schema_budget=60)
        small = session.plan_prompt("How many customers are there?")
    assert not whole.pruned.dropped_tables and small.pruned.dropped_tables
    assert "customers" not in small.pruned.dropped_tables
    import typer.main

    from sqlcoder_cli.cli.app import app

    group = typer.main.get_command(app)
    for name in ("ask", "repl", "eval", "mcp"):
        assert any("--schema-budget" in p.opts for p in group.commands[name].params), name  # type: ignore[attr-defined]


# --- what mending changed, the time budget, failures with their timings (issue 14, items 7 and 8) ---
def test_a_mended_answer_says_what_changed_and_keeps_the_model_sql(config: Config) -> None:
    slip = "SELECT c.status FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id"
    session, _ = session_with(config, slip, COUNT)
    with session:
        mended = session.ask("What is the status of each order?")
        plain = session.ask("How many customers are there?")
    assert mended.mended == ["column on the wrong alias: c.status -> o.status"]
    assert mended.model_sql == slip and mended.sql != slip
    assert mended.to_dict()["mended"] == mended.mended and mended.to_dict()["model_sql"] == slip
    assert plain.mended == [] and plain.to_dict()["mended"] == []


def test_date_arithmetic_rewritten_for_sqlite_is_reported(config: Config) -> None:
    foreign = "SELECT COUNT(*) FROM orders WHERE order_date >= DATE('2024-06-30') - INTERVAL '30 days'"
    session, _ = session_with(config, foreign)
    with session:
        answer = session.ask("How many orders in the 30 days before July 2024?")
    assert answer.executed and "INTERVAL" not in answer.sql.upper()
    assert len(answer.mended) == 1 and answer.mended[0].startswith("date arithmetic SQLite lacks")
    session, _ = session_with(config, foreign, max_retries=0, mend=False)
    with session, pytest.raises(AnswerFailed):
        session.ask("How many orders in the 30 days before July 2024?")


def test_failed_attempts_carry_their_number_and_the_failure_its_timings(config: Config) -> None:
    session, _ = session_with(config, "SELECT nope FROM customers", "SELECT nope2 FROM customers", max_retries=1)
    seen = []
    with session, pytest.raises(AnswerFailed) as caught:
        session.ask("How many customers are there?", on_retry=seen.append)
    assert [(f.attempt, f.max_attempts) for f in caught.value.failed_attempts] == [(1, 2), (2, 2)]
    assert [(f.attempt, f.max_attempts) for f in seen] == [(1, 2)]  # the last failure is the error itself
    timings = caught.value.timings
    assert timings.generated_tokens == sum(g.generated_tokens for g in caught.value.generations) > 0
    assert timings.total_s > 0 and timings.tokens_per_s is not None
    assert caught.value.budget_s is None


def test_no_attempt_starts_once_the_time_budget_is_spent(config: Config) -> None:
    engine = ScriptedEngine(["SELECT nope FROM customers", "SELECT nope2 FROM customers", COUNT], delay_s=0.3)
    with Session(config, engine=engine, max_retries=5, budget=0.5) as session:
        with pytest.raises(AnswerFailed) as caught:
            session.ask("How many customers are there?")
    error = caught.value
    # two attempts fit in 0.5 s of 0.3 s each (the second one capped by what was left), no third
    assert len(engine.calls) == 2 and error.attempts == 2 and error.budget_s == 0.5
    assert "the 0.5 s time budget was spent" in str(error) and "--budget" in (error.hint or "")
    assert engine.calls[0].time_limit_s is not None and engine.calls[0].time_limit_s <= 0.5
    assert engine.calls[1].time_limit_s is not None and engine.calls[1].time_limit_s < 0.3
    assert error.failed_attempts[0].elapsed_s >= 0.3


def test_without_a_budget_generation_keeps_its_own_limit(config: Config) -> None:
    session, engine = session_with(config, COUNT)
    with session:
        session.ask("How many customers are there?")
    assert session.settings.budget == 0 and engine.calls[0].time_limit_s == session.settings.generation_timeout


def test_the_budget_is_a_config_key_and_a_flag() -> None:
    from sqlcoder_cli.config import Config as ConfigClass

    assert "budget" in ConfigClass.keys() and "budget" in AnswerSettings.names()
    assert AnswerSettings.__dataclass_fields__["budget"].metadata["flag"] == "--budget"


# --- remembered examples (issue 14, item 6) ------------------------------------------------------
def test_a_follow_up_is_remembered_with_the_question_it_followed(config: Config) -> None:
    session, _ = session_with(config, COUNT, COUNT + " WHERE city = 'Berlin'")
    with session:
        first = session.ask("How many customers are there?")
        second = session.ask("only those in Berlin", previous=first)
        assert session.remember(second.question, second.sql, previous=first)
        stored = [item.question for item in session.memory.list(session.db_key)]
    assert stored == ["How many customers are there? (follow-up: only those in Berlin)"]


def test_remembered_examples_stay_out_of_the_shared_prefix(config: Config) -> None:
    """Examples are chosen per question: the prefix whose KV state is saved must end before them,
    or every question would save (and miss) a state of its own."""
    session, engine = session_with(config, COUNT, COUNT)
    with session:
        session.remember("How many customers live in Berlin?", "SELECT COUNT(*) FROM customers WHERE city = 'Berlin'")
        plan = session.plan_prompt("How many customers live in Paris?")
        assert plan.examples, "the similar example is shown"
        assert "Berlin" in plan.prompt.text and "Berlin" not in plan.stable_prefix
        assert "CREATE TABLE" in plan.stable_prefix  # the schema is in it (the chat layout puts it first)
        bare = Session(session.config, engine=engine, memory=False)
        with bare:
            assert bare.plan_prompt("How many orders are there?").stable_prefix == plan.stable_prefix


def test_timings_break_the_answer_down_by_stage(config: Config) -> None:
    session, _ = session_with(config, "SELECT nope FROM customers", COUNT, COUNT)
    with session:
        first = session.ask("How many customers are there?")
        second = session.ask("How many customers are there?")
    t = first.timings
    assert t.schema_s > 0 and t.plan_s > 0 and t.check_s > 0  # two attempts planned and checked
    assert t.schema_s + t.plan_s + t.check_s + t.prompt_s + t.generate_s + t.execute_s <= t.total_s
    assert second.timings.schema_s < t.schema_s  # read once per session
    assert {"schema_s", "plan_s", "check_s"} <= set(first.to_dict()["timings"])
