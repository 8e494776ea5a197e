"""The lines both front ends print about an answer: each failed attempt, what mending changed, and
``--verbose`` timings (for answers and for failures). Text only: the caller picks the stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..pipeline import Answer, FailedAttempt, Session, Timings


def attempt_failed_line(failure: FailedAttempt, *, budget_s: float = 0.0) -> str:
    """"attempt 1 of 3 failed: <why>; asking the model to correct it (52 s of the 60 s budget left)"."""
    which = f"attempt {failure.attempt} of {failure.max_attempts}" if failure.attempt and failure.max_attempts else "attempt"
    line = f"{which} failed: {failure.error}; asking the model to correct it"
    if budget_s > 0:
        left = max(0.0, budget_s - failure.elapsed_s)
        line += f" ({left:.0f} s of the {budget_s:g} s budget left)"
    return line


def mended_lines(answer: Answer) -> list[str]:
    """One line per change mending made to the model's SQL (the JSON keeps the original as
    ``model_sql``; ``--show-dialect`` shows both)."""
    return [f"mended the model's SQL: {change}" for change in answer.mended]


def timings_line(timings: Timings, *, model: str | None = None, attempts: int | None = None, failed: bool = False) -> str:
    """Where the time went, stage by stage, and the generation speed (``--verbose``)."""
    t = timings
    parts = []
    if model:
        parts.append(f"model {model}")
    if t.load_s:
        parts.append(f"load {t.load_s:.2f}s")
    parts.append(f"schema {t.schema_s:.2f}s")
    parts.append(f"plan {t.plan_s:.2f}s")
    parts.append(f"prompt {t.prompt_s:.2f}s ({t.prompt_tokens} tokens, {t.cached_tokens} cached)")
    speed = t.tokens_per_s
    rate = f", {speed:.1f} tokens/s" if speed is not None else ""
    parts.append(f"generate {t.generate_s:.2f}s ({t.generated_tokens} tokens{rate})")
    parts.append(f"check {t.check_s:.2f}s")
    if not failed:
        parts.append(f"query {t.execute_s:.3f}s")
    parts.append(f"total {t.total_s:.2f}s")
    if attempts is not None:
        parts.append(f"{attempts} attempt{'s' if attempts != 1 else ''}" + (" (failed)" if failed else ""))
    return " · ".join(parts)


def answer_timings_line(answer: Answer) -> str:
    return timings_line(answer.timings, model=answer.model, attempts=answer.attempts)


def slow_generation_warning(session: Session, timings: Timings) -> str | None:
    """The warning for an answer whose generation ran far below what the model should reach on
    this machine (other programs on the cores, swapping), else None; engines that cannot tell (a
    model server) never warn."""
    if not session.model_loaded or timings.generated_tokens <= 0:
        return None
    check = getattr(session.engine, "speed_warning", None)
    if check is None:
        return None
    warning = check(timings.generated_tokens, timings.generate_s)
    return str(warning) if warning else None
