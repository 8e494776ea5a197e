"""A database and a model, opened when first needed and kept for the session's lifetime.

:class:`Session` is the library's front door (the CLI, the REPL, the evaluation and the MCP server
all use it). It holds resources only: the database, its schema, the engine that writes SQL (a GGUF
in this process, an OpenAI-compatible server, or any :class:`~sqlcoder_cli.engine.base.Engine`
given to it), and the memory of confirmed examples. How questions are answered is
:class:`~sqlcoder_cli.pipeline.settings.AnswerSettings`; the answering itself is
:class:`~sqlcoder_cli.pipeline.answer.AnswerLoop`, which :meth:`Session.ask` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Config
from .settings import AnswerSettings

if TYPE_CHECKING:
    from ..db.connect import Database
    from ..db.execute import QueryResult
    from ..engine.base import Engine, EngineOptions, TokenCallback
    from ..engine.kv_cache import KVStateCache
    from ..engine.openai import ServerOptions
    from ..memory import Memory
    from ..models.store import LocalModel
    from ..prompts import Correction, Example
    from ..schema.introspect import Schema
    from .answer import SQLReview
    from .prompting import PromptPlan
    from .results import Answer, FailedAttempt


class Session:
    """A database and a model, ready to answer questions.

    ``settings`` says how (default: the config's); keyword ``overrides`` change single settings
    (``Session(row_limit=10, max_retries=0)``). ``engine`` answers instead of the configured model
    (a server engine, or the test kit's scripted one); ``server`` points at an OpenAI-compatible
    server (default: the config's, when its ``backend`` is ``openai``).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        db: str | None = None,
        model: str | None = None,
        settings: AnswerSettings | None = None,
        engine: Engine | None = None,
        engine_options: EngineOptions | None = None,
        server: ServerOptions | None = None,
        **overrides: Any,
    ) -> None:
        self.config = config or Config.load()
        self.db_spec = db if db is not None else (self.config.default_db or None)
        self.model_spec = model or self.config.default_model
        self.settings = (settings or AnswerSettings.from_config(self.config)).with_overrides(**overrides)
        self.engine_options = engine_options or self.config.engine_options()
        if server is None and engine is None:
            server = self.config.server_options()
        self.server = server
        self.schema_from_cache = False
        self._grammar_text: str | None = None
        self._prompt_schema: tuple[tuple[bool, bool], Schema] | None = None
        self._database: Database | None = None
        self._schema: Schema | None = None
        self._model: LocalModel | None = None
        self._engine: Engine | None = engine
        #: an engine given to the session belongs to whoever gave it: closing the session keeps it
        self._owns_engine = engine is None
        self._memory: Memory | None = None
        self._unreported_load_s = engine.load_s if engine is not None else 0.0

    # --- the database -------------------------------------------------------------------------
    @property
    def database(self) -> Database:
        if self._database is None:
            from ..db.connect import open_database

            self._database = open_database(self.db_spec, timeout_s=self.settings.query_timeout)
        return self._database

    @property
    def db_display(self) -> str:
        """The database as it may be shown or logged: never a password, even if it did not open."""
        if self._database is not None:
            return self._database.target.display
        from ..db.secrets import redact_spec

        return redact_spec(self.db_spec).display if self.db_spec else "demo"

    @property
    def db_key(self) -> str:
        """A stable, password-free name for the database (keys the schema cache, notes, memory)."""
        from ..schema.cache import database_key

        return database_key(self.database.target)

    @property
    def schema(self) -> Schema:
        if self._schema is None:
            from ..schema.cache import load_schema

            self._schema, self.schema_from_cache = load_schema(
                self.database, self.config.paths, refresh=self.settings.refresh_schema
            )
        return self._schema

    @property
    def prompt_schema(self) -> Schema:
        """The schema as prompts show it under the current settings (value and join hints)."""
        from .prompting import shown_schema

        key = (self.settings.value_hints, self.settings.join_hints)
        if self._prompt_schema is None or self._prompt_schema[0] != key:
            shown = shown_schema(self.schema, value_hints=key[0], join_hints=key[1])
            self._prompt_schema = (key, shown)
        return self._prompt_schema[1]

    @property
    def sql_grammar(self) -> str:
        """GBNF allowing SQL words and this database's table and column names (built once)."""
        if self._grammar_text is None:
            from ..engine.grammar import sql_grammar

            tables = self.schema.tables
            self._grammar_text = sql_grammar([t.name for t in tables] + [c.name for t in tables for c in t.columns])
        return self._grammar_text

    # --- the model ----------------------------------------------------------------------------
    @property
    def model(self) -> LocalModel:
        """The local model file to use (resolving a name never touches the network)."""
        if self._model is None:
            from ..models.store import ModelStore

            self._model = ModelStore(self.config.paths).resolve(self.model_spec)
        return self._model

    @property
    def uses_local_model(self) -> bool:
        """Whether answering needs a GGUF file on this machine (not a server, not a given engine)."""
        return self.server is None and (self._engine is None or self._model is not None)

    @property
    def model_name(self) -> str:
        """The name answers report (never contacts a server to find it)."""
        if self.server is not None:
            return self.server.api_model
        if self._engine is not None:
            return self._engine.traits.name
        return self.model.name

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if self.server is not None:
                from ..engine.openai import OpenAIEngine

                self._engine = OpenAIEngine(self.server)
            else:
                from ..engine.llama import LlamaEngine

                model = self.model
                self._engine = LlamaEngine(model.path, self.engine_options, name=model.name, family=model.family)
            self._unreported_load_s = self._engine.load_s
        return self._engine

    @property
    def model_loaded(self) -> bool:
        return self._engine is not None

    def take_load_time(self) -> float:
        """Seconds spent loading the model that no answer has reported yet (the first answer
        after a load pays for it, whoever triggered the load)."""
        seconds, self._unreported_load_s = self._unreported_load_s, 0.0
        return seconds

    @property
    def state_cache(self) -> KVStateCache | None:
        """Saved KV states of prompt prefixes (None when ``kv_cache_mb`` is 0)."""
        if self.config.kv_cache_mb <= 0:
            return None
        from ..engine.kv_cache import KVStateCache

        return KVStateCache(self.config.paths.cache_dir / "kv", budget_bytes=self.config.kv_cache_mb * 1024 * 1024)

    def adopt_model(self, other: Session) -> None:
        """Take over ``other``'s engine (switching databases in a REPL without reloading)."""
        if other.model_spec != self.model_spec or other.server != self.server:
            raise ValueError("adopt_model needs a session for the same model")
        self._model, self._engine, self._owns_engine = other._model, other._engine, other._owns_engine
        self._unreported_load_s = other._unreported_load_s
        other._engine = None  # closing the old session must not close the shared engine

    # --- memory and notes ---------------------------------------------------------------------
    @property
    def memory(self) -> Memory:
        if self._memory is None:
            from ..memory import Memory

            self._memory = Memory(self.config.paths.data_dir / "memory.sqlite")
        return self._memory

    def notes(self) -> str:
        """The user's notes for this database (``sqlcoder notes edit``), or '' when notes are off."""
        from ..schema.notes import NotesStore

        if not self.settings.notes:
            return ""
        return NotesStore(self.config.paths).get(self.db_key)

    def remember(self, question: str, sql: str, *, previous: Answer | Example | None = None) -> bool:
        """Store a confirmed (question, SQL) pair as a future few-shot example (if enabled).

        A follow-up ("only for 2023") means nothing alone: with ``previous`` (the answer it
        followed) it is stored as one question that says both (:func:`follow_up_question`)."""
        if not self.settings.memory:
            return False
        if previous is not None:
            question = follow_up_question(previous.question, question)
        self.memory.add(self.db_key, question, sql)
        return True

    # --- answering (the work is done in prompting.py, checking.py and answer.py) ---------------
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
        """Answer ``question`` (see :class:`~sqlcoder_cli.pipeline.answer.AnswerLoop`); raises
        :class:`~sqlcoder_cli.errors.AnswerFailed` when no attempt produced SQL that ran."""
        from .answer import AnswerLoop

        loop = AnswerLoop(
            self, execute=execute, on_token=on_token, review=review, on_retry=on_retry, previous=previous,
            instructions=instructions, correction=correction,
        )
        return loop.run(question)

    def plan_prompt(self, question: str, **kwargs: Any) -> PromptPlan:
        """The prompt ``question`` would get, and how it was put together (``--show-prompt``)."""
        from .prompting import plan_prompt

        return plan_prompt(self, question, **kwargs)

    def prepare_sql(self, sql: str, *, source_dialect: str | None = None) -> str:
        """``sql`` guarded, in the database's dialect and checked against the schema, or an error."""
        from .checking import prepare_sql

        return prepare_sql(self, sql, source_dialect=source_dialect)

    def run_sql(self, sql: str, *, limit: int | None = -1) -> QueryResult:
        """Run already-guarded SQL on the read-only connection (``limit=-1``: the settings')."""
        return self.database.execute(sql, limit=self.settings.row_limit if limit == -1 else limit)

    def close(self) -> None:
        if self._engine is not None:
            if self._owns_engine:
                self._engine.close()
            self._engine = None
        if self._database is not None:
            self._database.close()
            self._database = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def follow_up_question(previous: str, follow_up: str) -> str:
    """A follow-up and the question it followed as one question, for memory: "Revenue per month
    (follow-up: only for 2023)" — the SQL stored with it answers exactly that."""
    return f"{previous.strip()} (follow-up: {follow_up.strip()})"
