"""One question's way through the tool: schema → prompt → model → SQL → guard → database.

:class:`Session` is the library's front door (the CLI, the REPL and the evaluation all use it). It
opens the database and loads the model lazily and keeps both for its lifetime, so a REPL or a
pipeline of questions pays for loading once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Config
from .engine.base import EngineOptions, Generation, TokenCallback
from .errors import SQLGenerationError

if TYPE_CHECKING:
    from .db.connect import Database
    from .db.execute import QueryResult
    from .engine.llama import LlamaEngine
    from .models.gguf_info import GGUFInfo
    from .models.store import LocalModel
    from .prompts import Prompt
    from .schema.introspect import Schema

#: A hook that may change the SQL before it runs (``--edit`` opens $EDITOR through it).
SQLReview = Callable[[str], str]


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
        }


@dataclass
class GeneratedSQL:
    """The model's answer, extracted, checked and translated to the database's dialect."""

    sql: str
    model_sql: str
    prompt: Prompt
    generation: Generation


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
        query_timeout_s: float | None = 30.0,
    ) -> None:
        self.config = config or Config.load()
        self.db_spec = db if db is not None else (self.config.default_db or None)
        self.model_spec = model or self.config.default_model
        self.engine_options = engine_options or EngineOptions(
            n_ctx=self.config.context_length,
            n_threads=self.config.threads,
            n_gpu_layers=self.config.gpu_layers,
            log_file=self.config.paths.log_dir / "llama.log",
        )
        self.row_limit = row_limit if row_limit is not None else self.config.row_limit
        self.max_new_tokens = max_new_tokens or self.config.max_new_tokens
        self.query_timeout_s = query_timeout_s
        self._database: Database | None = None
        self._schema: Schema | None = None
        self._model: LocalModel | None = None
        self._model_info: GGUFInfo | None = None
        self._engine: LlamaEngine | None = None

    # --- the parts, each made on first use -------------------------------------------------
    @property
    def database(self) -> Database:
        if self._database is None:
            from .db.connect import open_database

            self._database = open_database(self.db_spec, timeout_s=self.query_timeout_s)
        return self._database

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            from .schema.introspect import introspect

            self._schema = introspect(self.database)
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
        return self._engine

    @property
    def model_loaded(self) -> bool:
        return self._engine is not None

    # --- the steps ---------------------------------------------------------------------------
    def ddl(self) -> str:
        from .schema.ddl import render_ddl

        return render_ddl(self.schema)

    def build_prompt(self, question: str) -> Prompt:
        from .prompts import PromptRequest, build_prompt

        info = self.model_info
        request = PromptRequest(
            question=question.strip(),
            ddl=self.ddl(),
            dialect=self.database.target.sqlglot_dialect,
        )
        return build_prompt(
            self.model.family,
            request,
            chat_template=info.chat_template,
            bos_token=info.bos_token,
            eos_token=info.eos_token,
        )

    def generate_sql(self, question: str, *, on_token: TokenCallback | None = None) -> GeneratedSQL:
        """Ask the model, then make its SQL safe and native to the database (or raise)."""
        from .sql.extract import extract_sql

        if not question.strip():
            raise SQLGenerationError("the question is empty")
        prompt = self.build_prompt(question)
        generation = self.engine.generate(
            prompt.text, max_tokens=self.max_new_tokens, stop=prompt.stop, on_token=on_token
        )
        model_sql = extract_sql(generation.text)
        sql = self.prepare_sql(model_sql, source_dialect=prompt.sql_dialect)
        return GeneratedSQL(sql=sql, model_sql=model_sql, prompt=prompt, generation=generation)

    def prepare_sql(self, sql: str, *, source_dialect: str | None = None) -> str:
        """Guard ``sql`` in its own dialect, translate it to the database's, and guard again."""
        from .sql.guard import check_read_only
        from .sql.transpile import transpile_sql

        target = self.database.target.sqlglot_dialect
        source = source_dialect or target
        check_read_only(sql, source)
        native = transpile_sql(sql, source=source, target=target)
        check_read_only(native, target)
        return native

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
    ) -> Answer:
        """Answer ``question``: generate SQL, optionally let ``review`` edit it, run it."""
        started = time.perf_counter()
        load_before = self._engine is None
        engine_started = time.perf_counter()
        _ = self.engine  # load first, so load time is not counted as prompt time
        load_s = time.perf_counter() - engine_started if load_before else 0.0
        generated = self.generate_sql(question, on_token=on_token)
        gen = generated.generation
        answer = Answer(
            question=question.strip(),
            sql=generated.sql,
            model=self.model.name,
            db=self.database.target.display,
            model_sql=generated.model_sql,
            model_dialect=generated.prompt.sql_dialect,
            db_dialect=self.database.target.sqlglot_dialect,
            timings=Timings(
                load_s=load_s,
                prompt_s=gen.prompt_s,
                generate_s=gen.generate_s,
                prompt_tokens=gen.prompt_tokens,
                cached_tokens=gen.cached_tokens,
                generated_tokens=gen.generated_tokens,
            ),
        )
        if review is not None:
            edited = review(answer.sql)
            if edited.strip() and edited.strip() != answer.sql.strip():
                answer.sql = self.prepare_sql(edited.strip().rstrip(";").strip())
                answer.edited = True
        if execute:
            result = self.run_sql(answer.sql)
            answer.columns = result.columns
            answer.rows = result.rows
            answer.row_count = result.row_count
            answer.truncated = result.truncated
            answer.timings.execute_s = result.elapsed_s
            answer.executed = True
        answer.timings.total_s = time.perf_counter() - started
        return answer

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
