"""The answer loop: ask the model, check its SQL, run it, and on failure feed the error back.

One attempt is :func:`generate_sql` (plan the prompt, generate, extract, guard, translate,
validate) and then running the query. A failed attempt (no usable SQL, unknown columns, a database
error) goes back to the model as a correction, up to ``settings.max_retries`` times. When every
attempt fails, :class:`~sqlcoder_cli.errors.AnswerFailed` says so with the last error and carries
the attempts as data (``eval`` records them; nothing parses the message).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import AnswerFailed, DatabaseError, Interrupted, QueryTimeoutError, SQLGenerationError, SqlcoderError, UsageError
from .checking import prepare, prepare_sql
from .prompting import PromptPlan, plan_prompt
from .results import Answer, FailedAttempt, Timings

if TYPE_CHECKING:
    from ..engine.base import Generation, TokenCallback
    from ..prompts import Correction, Example, Prompt
    from .session import Session

#: A hook that may change the SQL before it runs (``--edit`` opens $EDITOR through it).
SQLReview = Callable[[str], str]


@dataclass(frozen=True)
class GeneratedSQL:
    """The model's answer, extracted, checked and translated to the database's dialect."""

    sql: str
    model_sql: str
    plan: PromptPlan
    generation: Generation
    #: what mending changed in ``model_sql`` on its way to ``sql`` (see pipeline/checking.py)
    mended: tuple[str, ...] = ()

    @property
    def prompt(self) -> Prompt:
        return self.plan.prompt


def generate_sql(
    session: Session,
    question: str,
    *,
    on_token: TokenCallback | None = None,
    correction: Correction | None = None,
    previous: Example | None = None,
    instructions: str = "",
    time_limit_s: float | None = None,
    timings: Timings | None = None,
) -> GeneratedSQL:
    """Ask the model once, then make its SQL safe, native and valid for the database (or raise).

    ``time_limit_s`` caps the generation below the settings' ``generation_timeout`` (what is left
    of a question's time budget); ``timings`` receives the planning and checking seconds."""
    from ..sql.extract import extract_sql

    if not question.strip():
        raise SQLGenerationError("the question is empty")
    settings = session.settings
    clock = time.perf_counter()
    plan = plan_prompt(session, question, correction=correction, previous=previous, instructions=instructions)
    if timings is not None:
        timings.plan_s += time.perf_counter() - clock
    prompt = plan.prompt
    engine = session.engine
    generation = engine.generate(
        prompt.text,
        max_tokens=settings.max_new_tokens,
        stop=prompt.stop,
        on_token=on_token,
        time_limit_s=_tighter(settings.generation_timeout or None, time_limit_s),
        messages=prompt.messages or None,
        answer_prefix=prompt.answer_prefix,
        stable_prefix=plan.stable_prefix,
        state_cache=session.state_cache,
        grammar=session.sql_grammar if settings.grammar and engine.supports_grammar else None,
    )
    clock = time.perf_counter()
    try:
        model_sql = extract_sql(generation.text)
        prepared = prepare(session, model_sql, source_dialect=prompt.sql_dialect)
    except SQLGenerationError as exc:
        exc.generation = generation  # type: ignore[attr-defined]
        if exc.sql is None:
            exc.sql = generation.text.strip()
        raise
    finally:
        if timings is not None:
            timings.check_s += time.perf_counter() - clock
    return GeneratedSQL(sql=prepared.sql, model_sql=model_sql, plan=plan, generation=generation, mended=prepared.mended)


def _tighter(a: float | None, b: float | None) -> float | None:
    """The smaller of two optional limits (None = no limit)."""
    limits = [x for x in (a, b) if x is not None]
    return min(limits) if limits else None


class AnswerLoop:
    """Answers one question on a session: attempts, corrections, review, execution.

    ``previous`` makes it a follow-up ("only for 2023") of an earlier answer; ``instructions`` are
    added to the database's notes for this question only; ``correction`` (a rejected SQL and why)
    starts the loop from it ("regenerate" in the REPL); ``review`` may edit the SQL before it runs;
    ``on_retry`` hears about each failed attempt before the next one starts.

    ``settings.budget`` bounds the whole question in seconds: no attempt starts once it is spent,
    and an attempt's generation may not outlast it (why: three attempts of 512 tokens on a CPU
    are minutes; a user with a deadline would rather have the failure now).
    """

    def __init__(
        self,
        session: Session,
        *,
        execute: bool = True,
        on_token: TokenCallback | None = None,
        review: SQLReview | None = None,
        on_retry: Callable[[FailedAttempt], None] | None = None,
        previous: Answer | Example | None = None,
        instructions: str = "",
        correction: Correction | None = None,
    ) -> None:
        from ..prompts import Example

        self.session = session
        self.execute = execute
        self.on_token = on_token
        self.review = review
        self.on_retry = on_retry
        self.previous = Example(previous.question, previous.sql) if isinstance(previous, Answer) else previous
        self.instructions = instructions
        self.correction = correction
        self.failures: list[FailedAttempt] = []
        self.generations: list[Generation] = []

    def run(self, question: str) -> Answer:
        session = self.session
        started = time.perf_counter()
        if not question.strip():
            raise UsageError("the question is empty", hint='ask something, e.g. "How many customers are there?"')
        schema_clock = time.perf_counter()
        tables = session.schema.tables
        schema_s = time.perf_counter() - schema_clock
        if not tables:  # before the model loads: nothing it writes could run
            raise DatabaseError(f"{session.database.target.display} has no tables or views to ask about")
        _ = session.engine
        # the first answer after loading pays for the load, whoever triggered it
        timings = Timings(load_s=session.take_load_time(), schema_s=schema_s)
        self.timings = timings
        self.started = started
        max_attempts = 1 + max(0, session.settings.max_retries)
        self.max_attempts = max_attempts
        for attempt in range(1, max_attempts + 1):
            last = attempt == max_attempts
            budget_left = self._budget_left()
            generation_limit = session.settings.generation_timeout or None
            # True when this attempt may stop for the budget's sake before its own time limit
            budget_bounds = budget_left is not None and (generation_limit is None or budget_left < generation_limit)
            try:
                generated = generate_sql(
                    session, question, on_token=self.on_token, correction=self.correction, previous=self.previous,
                    instructions=self.instructions, time_limit_s=budget_left, timings=timings,
                )
            except SQLGenerationError as exc:
                generation = getattr(exc, "generation", None)
                if generation is not None:
                    timings.add_generation(generation)
                    self.generations.append(generation)
                stopped_by_time = getattr(generation, "finish_reason", None) == "time"
                # a model that ran out of time would only do so again
                self._failed(exc.sql or "", exc, attempt, final=last or stopped_by_time,
                             out_of_budget=stopped_by_time and budget_bounds)
                continue
            timings.add_generation(generated.generation)
            self.generations.append(generated.generation)
            answer = self._answer(question, generated, attempt, timings)
            if self.execute:
                try:
                    result = session.run_sql(answer.sql)
                except (QueryTimeoutError, Interrupted):
                    raise
                except DatabaseError as exc:
                    self._failed(answer.sql, exc, attempt, final=answer.edited or last)
                    continue
                answer.columns = result.columns
                answer.rows = result.rows
                answer.row_count = result.row_count
                answer.truncated = result.truncated
                answer.timings.execute_s = result.elapsed_s
                answer.executed = True
            answer.timings.total_s = time.perf_counter() - started
            return answer
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _answer(self, question: str, generated: GeneratedSQL, attempt: int, timings: Timings) -> Answer:
        session = self.session
        answer = Answer(
            question=question.strip(),
            sql=generated.sql,
            model=session.model_name,
            db=session.database.target.display,
            model_sql=generated.model_sql,
            model_dialect=generated.prompt.sql_dialect,
            db_dialect=session.database.target.sqlglot_dialect,
            attempts=attempt,
            failed_attempts=list(self.failures),
            timings=timings,
            mended=list(generated.mended),
        )
        if self.review is not None:
            edited = self.review(answer.sql)
            if edited.strip() and edited.strip() != answer.sql.strip():
                answer.sql = prepare_sql(session, edited.strip().rstrip(";").strip())
                answer.edited = True
        return answer

    def _budget_left(self) -> float | None:
        """Seconds left of the question's time budget (None: no budget)."""
        budget = self.session.settings.budget
        if not budget:
            return None
        return max(0.0, budget - (time.perf_counter() - self.started))

    def _failed(self, sql: str, error: SqlcoderError, attempt: int, *, final: bool, out_of_budget: bool = False) -> None:
        """Record a failed attempt; raise :class:`AnswerFailed` when it was the last one allowed
        (or the time budget is spent)."""
        from ..prompts import Correction

        elapsed = time.perf_counter() - self.started
        failure = FailedAttempt(
            sql=sql, error=error.message, attempt=attempt, max_attempts=self.max_attempts, elapsed_s=elapsed
        )
        self.failures.append(failure)
        left = self._budget_left()
        out_of_budget = out_of_budget or (left is not None and left <= 0 and not final)
        if final or out_of_budget:
            self.timings.total_s = elapsed
            raise AnswerFailed(
                error, attempts=attempt, failed_attempts=list(self.failures), generations=list(self.generations),
                timings=self.timings, budget_s=self.session.settings.budget if out_of_budget else None,
            ) from error
        if self.on_retry is not None:
            self.on_retry(failure)
        self.correction = Correction(sql=failure.sql, error=failure.error)
