"""One question's way through the tool: schema → prompt → model → SQL → guard → database.

:class:`Session` is the library's front door (the CLI, the REPL and the evaluation all use it). It
opens the database and loads the model lazily and keeps both for its lifetime, so a REPL or a
pipeline of questions pays for loading once.

The steps, in order: read the schema (cached per database), prune it to the context budget, add
the user's notes and similar remembered examples, build the prompt in the model's family format,
generate greedily, extract the SQL, refuse anything that is not a single read query, translate it
to the database's dialect, check its tables and columns against the schema, run it read-only. When
the SQL fails validation or execution, the error goes back to the model for a bounded number of
retries (self-correction).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Config
from .engine.base import EngineOptions, Generation, TokenCallback
from .errors import DatabaseError, Interrupted, QueryTimeoutError, SQLGenerationError, SQLValidationError, UsageError

if TYPE_CHECKING:
    from .db.connect import Database
    from .db.execute import QueryResult
    from .engine.kv_cache import KVStateCache
    from .engine.llama import LlamaEngine
    from .memory import Memory
    from .models.gguf_info import GGUFInfo
    from .models.store import LocalModel
    from .prompts import Correction, Example, Prompt
    from .schema.introspect import Schema
    from .schema.prune import PrunedSchema

#: A hook that may change the SQL before it runs (``--edit`` opens $EDITOR through it).
SQLReview = Callable[[str], str]

#: Tokens kept free besides the answer, so a prompt never fills the context to the last token.
CONTEXT_MARGIN = 16


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

    def add_generation(self, generation: Generation) -> None:
        """Count one model call (an answer may take several attempts)."""
        self.prompt_s += generation.prompt_s
        self.generate_s += generation.generate_s
        self.prompt_tokens += generation.prompt_tokens
        self.cached_tokens += generation.cached_tokens
        self.generated_tokens += generation.generated_tokens

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
        }


@dataclass(frozen=True)
class FailedAttempt:
    """An attempt that did not produce a usable result, and why (fed back to the model)."""

    sql: str
    error: str

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
    #: model calls it took (1 = right the first time)
    attempts: int = 1
    failed_attempts: list[FailedAttempt] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (documented in the README): keys may be added, never removed."""
        from .output.values import json_value

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
            "attempts": self.attempts,
            "failed_attempts": [f.to_dict() for f in self.failed_attempts],
        }


@dataclass(frozen=True)
class PromptPlan:
    """A prompt and how it was put together (what ``--show-prompt`` reports)."""

    prompt: Prompt
    pruned: PrunedSchema
    notes: str
    examples: tuple[Example, ...]
    #: the start of the prompt that does not depend on the question (its KV state is reusable)
    stable_prefix: str = ""


@dataclass(frozen=True)
class GeneratedSQL:
    """The model's answer, extracted, checked and translated to the database's dialect."""

    sql: str
    model_sql: str
    plan: PromptPlan
    generation: Generation

    @property
    def prompt(self) -> Prompt:
        return self.plan.prompt


class Session:
    """A database and a model, ready to answer questions."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        db: str | None = None,
        model: str | None = None,
        engine_options: EngineOptions | None = None,
        row_limit: int | None = None,
        max_new_tokens: int | None = None,
        query_timeout_s: float | None = None,
        max_retries: int | None = None,
        validate: bool | None = None,
        use_memory: bool | None = None,
        refresh_schema: bool = False,
        prune: bool = True,
        value_hints: bool = True,
        join_hints: bool = True,
        use_notes: bool = True,
        grammar: bool | None = None,
        prompt_layout: str | None = None,
        mend: bool = True,
    ) -> None:
        self.config = config or Config.load()
        self.db_spec = db if db is not None else (self.config.default_db or None)
        self.model_spec = model or self.config.default_model
        self.engine_options = engine_options or self.config.engine_options()
        self.row_limit = row_limit if row_limit is not None else self.config.row_limit
        self.max_new_tokens = max_new_tokens or self.config.max_new_tokens
        self.query_timeout_s = query_timeout_s if query_timeout_s is not None else float(self.config.query_timeout)
        self.max_retries = self.config.max_retries if max_retries is None else max_retries
        self.validate = self.config.validate if validate is None else validate
        self.use_memory = self.config.memory if use_memory is None else use_memory
        self.refresh_schema = refresh_schema
        #: ablation switches (``sqlcoder eval`` measures what each stage adds)
        self.prune = prune
        self.value_hints = value_hints
        self.join_hints = join_hints
        from .prompts.base import PROMPT_LAYOUTS

        prompt_layout = prompt_layout or self.config.prompt_layout
        if prompt_layout not in PROMPT_LAYOUTS:
            raise UsageError(f"unknown prompt layout {prompt_layout!r}", hint="one of: " + ", ".join(PROMPT_LAYOUTS))
        #: mend common slips without the model: columns on the wrong alias, Postgres/MySQL date
        #: arithmetic in SQLite answers (sql/repair.py, sql/transpile.py)
        self.mend = mend
        #: where the question goes: the family's own place, or forced before/after the schema
        self.prompt_layout = prompt_layout
        self.use_notes = use_notes
        self.grammar = self.config.grammar if grammar is None else grammar
        self._grammar_text: str | None = None
        self.schema_from_cache = False
        self._prompt_schema: Schema | None = None
        self._database: Database | None = None
        self._schema: Schema | None = None
        self._model: LocalModel | None = None
        self._model_info: GGUFInfo | None = None
        self._engine: LlamaEngine | None = None
        self._memory: Memory | None = None
        self._unreported_load_s = 0.0

    # --- the parts, each made on first use -------------------------------------------------
    @property
    def database(self) -> Database:
        if self._database is None:
            from .db.connect import open_database

            self._database = open_database(self.db_spec, timeout_s=self.query_timeout_s)
        return self._database

    @property
    def db_display(self) -> str:
        """The database as it may be shown or logged: never a password, even if it did not open."""
        if self._database is not None:
            return self._database.target.display
        from .db.secrets import redact_spec

        return redact_spec(self.db_spec).display if self.db_spec else "demo"

    @property
    def db_key(self) -> str:
        """A stable, password-free name for the database (keys the schema cache, notes, memory)."""
        from .schema.cache import database_key

        return database_key(self.database.target)

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            from .schema.cache import load_schema

            self._schema, self.schema_from_cache = load_schema(
                self.database, self.config.paths, refresh=self.refresh_schema
            )
        return self._schema

    @property
    def model(self) -> LocalModel:
        """The model file to use (resolving a name never touches the network)."""
        if self._model is None:
            from .models.store import ModelStore

            self._model = ModelStore(self.config.paths).resolve(self.model_spec)
        return self._model

    @property
    def model_info(self) -> GGUFInfo:
        if self._model_info is None:
            from .models.gguf_info import read_gguf_info

            self._model_info = read_gguf_info(self.model.path)
        return self._model_info

    @property
    def engine(self) -> LlamaEngine:
        if self._engine is None:
            from .engine.llama import LlamaEngine

            self._engine = LlamaEngine(self.model.path, self.engine_options)
            self._unreported_load_s = self._engine.load_s
        return self._engine

    @property
    def state_cache(self) -> KVStateCache | None:
        """Saved KV states of prompt prefixes (None when ``kv_cache_mb`` is 0)."""
        if self.config.kv_cache_mb <= 0:
            return None
        from .engine.kv_cache import KVStateCache

        return KVStateCache(self.config.paths.cache_dir / "kv", budget_bytes=self.config.kv_cache_mb * 1024 * 1024)

    @property
    def model_loaded(self) -> bool:
        return self._engine is not None

    def adopt_model(self, other: Session) -> None:
        """Take over ``other``'s loaded model (switching databases in a REPL without reloading)."""
        if other.model_spec != self.model_spec:
            raise ValueError("adopt_model needs a session for the same model")
        self._model, self._model_info, self._engine = other._model, other._model_info, other._engine
        self._unreported_load_s = other._unreported_load_s
        other._engine = None  # closing the old session must not close the shared model

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            from .memory import Memory

            self._memory = Memory(self.config.paths.data_dir / "memory.sqlite")
        return self._memory

    @property
    def prompt_schema(self) -> Schema:
        """The schema as the prompt shows it: without sampled values when value hints are off, with
        the foreign keys its names imply when it declares none (join hints, see schema/joins.py)."""
        if self._prompt_schema is None:
            import copy

            from .schema.joins import infer_foreign_keys

            shown = self.schema
            if not self.value_hints:
                shown = copy.deepcopy(shown)
                for table in shown.tables:
                    for column in table.columns:
                        column.sample_values = None
            if self.join_hints:
                shown = infer_foreign_keys(shown)
            self._prompt_schema = shown
        return self._prompt_schema

    def notes(self) -> str:
        """The user's notes for this database (``sqlcoder notes edit``), or ''."""
        from .schema.notes import NotesStore

        if not self.use_notes:
            return ""
        return NotesStore(self.config.paths).get(self.db_key)

    def remember(self, question: str, sql: str) -> bool:
        """Store a confirmed (question, SQL) pair as a future few-shot example (if enabled)."""
        if not self.use_memory:
            return False
        self.memory.add(self.db_key, question, sql)
        return True

    # --- the steps ---------------------------------------------------------------------------
    def _examples(self, question: str, model_dialect: str) -> tuple[Example, ...]:
        from .prompts import Example

        if not self.use_memory or self.config.few_shot <= 0:
            return ()
        examples = []
        for item in self.memory.similar(self.db_key, question, limit=self.config.few_shot):
            example = self._in_dialect(Example(item.question, item.sql), model_dialect)
            if example is not None:
                examples.append(example)
        return tuple(examples)

    def _in_dialect(self, example: Example, model_dialect: str) -> Example | None:
        """An example stored in the database's dialect, rewritten in the model's (None if it cannot be)."""
        from .prompts import Example
        from .sql.transpile import transpile_sql

        try:
            sql = transpile_sql(example.sql, source=self.database.target.sqlglot_dialect, target=model_dialect)
        except SQLGenerationError:
            return None
        return Example(example.question, sql)

    def plan_prompt(
        self,
        question: str,
        *,
        correction: Correction | None = None,
        previous: Example | None = None,
        instructions: str = "",
    ) -> PromptPlan:
        """Build the prompt for ``question``: schema pruned to fit, notes, examples, the previous
        question (follow-ups), the failed attempt (retries)."""
        from .prompts import PromptRequest, answer_dialect, build_prompt
        from .prompts.base import PROMPT_LAYOUTS
        from .schema.ddl import render_ddl
        from .schema.prune import prune_schema

        info = self.model_info
        family = self.model.family
        target = self.database.target.sqlglot_dialect
        if correction is not None:
            correction = self._fitted_correction(correction)
        notes = "\n".join(part for part in (self.notes().strip(), instructions.strip()) if part)
        model_dialect = answer_dialect(family, target)
        examples = self._examples(question, model_dialect)
        if previous is not None:
            previous = self._in_dialect(previous, model_dialect) or previous

        def build(ddl: str, asked: str = question) -> Prompt:
            request = PromptRequest(
                question=asked.strip(),
                ddl=ddl,
                dialect=target,
                instructions=notes,
                examples=examples,
                correction=correction,
                previous=previous,
                question_first=PROMPT_LAYOUTS[self.prompt_layout],
            )
            return build_prompt(
                family, request, chat_template=info.chat_template, bos_token=info.bos_token, eos_token=info.eos_token
            )

        engine = self.engine
        overhead = engine.count_tokens(build("").text)
        answer_room = min(self.max_new_tokens, max(64, engine.n_ctx // 4))
        budget = engine.n_ctx - overhead - answer_room - CONTEXT_MARGIN
        schema = self.prompt_schema
        if self.prune:
            pruned = prune_schema(schema, question, budget_tokens=max(budget, 1), count_tokens=engine.count_tokens, notes=notes)
        else:  # everything, even if it overflows the context (the engine then says so)
            pruned = prune_schema(schema, question, budget_tokens=10**9, count_tokens=engine.count_tokens, notes=notes)
        if not pruned.dropped_tables and not any(pruned.dropped_columns.values()):
            ddl = render_ddl(schema)
        else:
            ddl = pruned.ddl
        prompt = build(ddl)
        other = build(ddl, "\u2063" + question).text  # differs exactly where the question starts
        stable = os.path.commonprefix([prompt.text, other])
        return PromptPlan(prompt=prompt, pruned=pruned, notes=notes, examples=examples, stable_prefix=stable)

    def _fitted_correction(self, correction: Correction) -> Correction:
        """The failed attempt, cut to an eighth of the context: a model that wrote 500 tokens of
        noise must not push the schema (or the whole prompt) out of the window on the retry."""
        from .prompts import Correction

        limit = max(32, self.engine.n_ctx // 8)

        def cut(text: str) -> str:
            for _ in range(4):
                tokens = self.engine.count_tokens(text)
                if tokens <= limit:
                    return text
                text = text[: max(1, int(len(text) * limit / tokens * 0.9))].rstrip() + " …"
            return text

        return Correction(sql=cut(correction.sql), error=cut(correction.error))

    def build_prompt(self, question: str) -> Prompt:
        return self.plan_prompt(question).prompt

    def generate_sql(
        self,
        question: str,
        *,
        on_token: TokenCallback | None = None,
        correction: Correction | None = None,
        previous: Example | None = None,
        instructions: str = "",
    ) -> GeneratedSQL:
        """Ask the model once, then make its SQL safe, native and valid for the database (or raise)."""
        from .sql.extract import extract_sql

        if not question.strip():
            raise SQLGenerationError("the question is empty")
        plan = self.plan_prompt(question, correction=correction, previous=previous, instructions=instructions)
        prompt = plan.prompt
        generation = self.engine.generate(
            prompt.text,
            max_tokens=self.max_new_tokens,
            stop=prompt.stop,
            on_token=on_token,
            stable_prefix=plan.stable_prefix,
            state_cache=self.state_cache,
            grammar=self.sql_grammar() if self.grammar else None,
        )
        try:
            model_sql = extract_sql(generation.text)
            sql = self.prepare_sql(model_sql, source_dialect=prompt.sql_dialect)
        except SQLGenerationError as exc:
            exc.generation = generation  # type: ignore[attr-defined]
            if exc.sql is None:
                exc.sql = generation.text.strip()
            raise
        return GeneratedSQL(sql=sql, model_sql=model_sql, plan=plan, generation=generation)

    def prepare_sql(self, sql: str, *, source_dialect: str | None = None) -> str:
        """Guard ``sql`` in its own dialect, translate it to the database's, guard and validate again."""
        from .sql.guard import check_read_only
        from .sql.transpile import transpile_sql

        target = self.database.target.sqlglot_dialect
        source = source_dialect or target
        check_read_only(sql, source)
        # column types let Postgres date arithmetic become the target's (e.g. SQLite's JULIANDAY)
        mapping = self.schema.as_sqlglot_mapping() if source != target else None
        native = transpile_sql(sql, source=source, target=target, schema=mapping, mend_dates=self.mend)
        self.database.guard(native)
        if self.validate:
            native = self.check_against_schema(native)
        return native

    def sql_grammar(self) -> str:
        """GBNF allowing SQL words and this database's table and column names (built once)."""
        if self._grammar_text is None:
            from .engine.grammar import sql_grammar

            names = [t.name for t in self.schema.tables] + [c.name for t in self.schema.tables for c in t.columns]
            self._grammar_text = sql_grammar(names)
        return self._grammar_text

    def check_against_schema(self, sql: str) -> str:
        """Unknown tables or columns are caught here, before the database sees the query; with
        ``mend``, columns on the wrong alias are first moved to the one table of their SELECT that
        has them (sql/repair.py), when the mended query then validates clean. Returns the SQL to run."""
        from .sql.validate import validate_sql

        mapping = self.schema.as_sqlglot_mapping()
        dialect = self.database.target.sqlglot_dialect
        issues = validate_sql(sql, mapping, dialect=dialect)
        if not issues:
            return sql
        if self.mend and any(issue.kind == "unknown_column" for issue in issues):
            from .sql.repair import requalify_columns

            mended = requalify_columns(sql, mapping, dialect=dialect)
            if mended is not None and not validate_sql(mended, mapping, dialect=dialect):
                return mended
        raise SQLValidationError(issues, sql=sql)

    def run_sql(self, sql: str, *, limit: int | None = -1) -> QueryResult:
        """Run already-guarded SQL on the read-only connection (``limit=-1``: the session's)."""
        return self.database.execute(sql, limit=self.row_limit if limit == -1 else limit)

    def ask(
        self,
        question: str,
        *,
        execute: bool = True,
        on_token: TokenCallback | None = None,
        review: SQLReview | None = None,
        on_retry: Callable[[FailedAttempt], None] | None = None,
        previous: Answer | Example | None = None,
        instructions: str = "",
        correction: Correction | None = None,
    ) -> Answer:
        """Answer ``question``: generate SQL (retrying with the error when it fails), let ``review``
        edit it, run it. ``previous`` makes it a follow-up ("only for 2023") of an earlier answer;
        ``instructions`` are added to the database's notes for this question only; ``correction``
        (a rejected SQL and why) starts the retry loop from it ("regenerate" in the REPL)."""
        from .prompts import Correction, Example

        started = time.perf_counter()
        if isinstance(previous, Answer):
            previous = Example(previous.question, previous.sql)
        if not question.strip():
            raise UsageError("the question is empty", hint='ask something, e.g. "How many customers are there?"')
        if not self.schema.tables:  # before the model loads: nothing it writes could run
            raise DatabaseError(f"{self.database.target.display} has no tables or views to ask about")
        _ = self.engine
        # the first answer after loading pays for the load, whoever triggered it
        timings = Timings(load_s=self._unreported_load_s)
        self._unreported_load_s = 0.0
        failures: list[FailedAttempt] = []
        max_attempts = 1 + max(0, self.max_retries)
        for attempt in range(1, max_attempts + 1):
            last = attempt == max_attempts
            try:
                generated = self.generate_sql(
                    question, on_token=on_token, correction=correction, previous=previous, instructions=instructions
                )
            except SQLGenerationError as exc:
                generation = getattr(exc, "generation", None)
                if generation is not None:
                    timings.add_generation(generation)
                failure = FailedAttempt(sql=exc.sql or "", error=exc.message)
                stopped_by_time = getattr(generation, "finish_reason", None) == "time"
                if last or stopped_by_time:  # a model that ran out of time would only do so again
                    raise _after_attempts(exc, attempt)
                failures.append(failure)
                if on_retry is not None:
                    on_retry(failure)
                correction = Correction(sql=failure.sql, error=failure.error)
                continue
            timings.add_generation(generated.generation)
            answer = Answer(
                question=question.strip(),
                sql=generated.sql,
                model=self.model.name,
                db=self.database.target.display,
                model_sql=generated.model_sql,
                model_dialect=generated.prompt.sql_dialect,
                db_dialect=self.database.target.sqlglot_dialect,
                attempts=attempt,
                failed_attempts=list(failures),
                timings=timings,
            )
            if review is not None:
                edited = review(answer.sql)
                if edited.strip() and edited.strip() != answer.sql.strip():
                    answer.sql = self.prepare_sql(edited.strip().rstrip(";").strip())
                    answer.edited = True
            if execute:
                try:
                    result = self.run_sql(answer.sql)
                except (QueryTimeoutError, Interrupted):
                    raise
                except DatabaseError as exc:
                    if answer.edited or last:
                        raise _after_attempts(exc, attempt)
                    failure = FailedAttempt(sql=answer.sql, error=exc.message)
                    failures.append(failure)
                    if on_retry is not None:
                        on_retry(failure)
                    correction = Correction(sql=answer.sql, error=exc.message)
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

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        if self._database is not None:
            self._database.close()
            self._database = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _after_attempts(exc: Any, attempts: int) -> Any:
    """The last error, saying how many attempts were made when there were several."""
    if attempts > 1 and "attempts)" not in exc.message:
        exc.message = f"{exc.message} (after {attempts} attempts)"
    return exc
