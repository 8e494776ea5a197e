"""What answering a question produces: :class:`Answer`, its :class:`Timings`, failed attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.base import Generation


@dataclass
class Timings:
    """Seconds and token counts of one answer (the JSON contract's ``timings`` object)."""

    load_s: float = 0.0
    prompt_s: float = 0.0
    generate_s: float = 0.0
    execute_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    #: the stages around the model (``--verbose`` shows where the time goes): reading the schema
    #: (from the database or the schema cache; ~0 when an earlier question of the session read it),
    #: pruning it and building the prompt, checking the SQL (extract, guard, translate, validate)
    schema_s: float = 0.0
    plan_s: float = 0.0
    check_s: float = 0.0

    def add_generation(self, generation: Generation) -> None:
        """Count one model call (an answer may take several attempts)."""
        self.prompt_s += generation.prompt_s
        self.generate_s += generation.generate_s
        self.prompt_tokens += generation.prompt_tokens
        self.cached_tokens += generation.cached_tokens
        self.generated_tokens += generation.generated_tokens

    @property
    def tokens_per_s(self) -> float | None:
        """Generation speed over every model call of the answer (None before any token)."""
        if self.generated_tokens <= 0 or self.generate_s <= 0:
            return None
        return self.generated_tokens / self.generate_s

    def to_dict(self) -> dict[str, float | int]:
        return {
            "load_s": round(self.load_s, 4),
            "prompt_s": round(self.prompt_s, 4),
            "generate_s": round(self.generate_s, 4),
            "execute_s": round(self.execute_s, 4),
            "total_s": round(self.total_s, 4),
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "generated_tokens": self.generated_tokens,
            "schema_s": round(self.schema_s, 4),
            "plan_s": round(self.plan_s, 4),
            "check_s": round(self.check_s, 4),
        }


@dataclass(frozen=True)
class FailedAttempt:
    """An attempt that did not produce a usable result, and why (fed back to the model)."""

    sql: str
    error: str
    #: which attempt this was (1 = the first) and how many the settings allow
    attempt: int = 0
    max_attempts: int = 0
    #: seconds since the question was asked, when this attempt failed (for a time budget's display)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, str]:
        return {"sql": self.sql, "error": self.error}


@dataclass
class Answer:
    """The result of one question: the SQL that ran and what it returned."""

    question: str
    #: the SQL as it ran on the database (after transpiling and any edit)
    sql: str
    model: str
    db: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_count: int = 0
    truncated: bool = False
    executed: bool = False
    #: the SQL as the model wrote it, in its own dialect
    model_sql: str = ""
    model_dialect: str = ""
    db_dialect: str = ""
    edited: bool = False
    #: what mending changed in the model's SQL without asking it again, one line each ("moved
    #: column name from o to c", "date arithmetic rewritten for SQLite"); empty when nothing was
    #: mended. ``model_sql`` keeps what the model wrote.
    mended: list[str] = field(default_factory=list)
    #: model calls it took (1 = right the first time)
    attempts: int = 1
    failed_attempts: list[FailedAttempt] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (documented in the README): keys may be added, never removed."""
        from ..output.values import json_value

        return {
            "question": self.question,
            "sql": self.sql,
            "columns": list(self.columns),
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "row_count": self.row_count,
            "truncated": self.truncated,
            "model": self.model,
            "db": self.db,
            "timings": self.timings.to_dict(),
            "executed": self.executed,
            "model_sql": self.model_sql,
            "model_dialect": self.model_dialect,
            "db_dialect": self.db_dialect,
            "edited": self.edited,
            "mended": list(self.mended),
            "attempts": self.attempts,
            "failed_attempts": [f.to_dict() for f in self.failed_attempts],
        }
