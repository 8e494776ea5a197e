"""Data shared by all prompt families."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Human names for sqlglot dialects, used where a prompt tells a model which SQL to write.
DIALECT_NAMES = {
    "sqlite": "SQLite",
    "duckdb": "DuckDB",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "tsql": "Microsoft SQL Server (T-SQL)",
    "oracle": "Oracle",
    "snowflake": "Snowflake",
    "bigquery": "BigQuery",
    "clickhouse": "ClickHouse",
    "trino": "Trino",
    "redshift": "Amazon Redshift",
    "spark": "Spark SQL",
}


@dataclass(frozen=True)
class Example:
    """A question with the SQL that answered it (few-shot memory, or the previous turn)."""

    question: str
    sql: str


@dataclass(frozen=True)
class Correction:
    """A failed attempt, fed back so the model can fix it (self-correction)."""

    sql: str
    error: str


@dataclass(frozen=True)
class PromptRequest:
    """Everything a prompt can contain."""

    question: str
    ddl: str
    #: sqlglot name of the target database's dialect
    dialect: str = "sqlite"
    #: the user's notes for this database ("revenue means ..."), plain text or markdown bullets
    instructions: str = ""
    #: similar questions answered before on this database, most similar first
    examples: tuple[Example, ...] = ()
    #: the last failed attempt, if this is a retry
    correction: Correction | None = None
    #: the previous question and its SQL, when this question follows up on it ("now by month")
    previous: Example | None = None
    #: the question before the schema (True) or after it (False); None keeps the family's own
    #: layout: the schema first for chat prompts (every question on a database then shares the
    #: prompt's prefix and its KV state), the question first for SQLCoder's trained format
    #: (docs/performance.md measures both layouts' accuracy)
    question_first: bool | None = None


#: prompt layouts by name: whether the question goes before the schema (None: the family decides)
PROMPT_LAYOUTS: dict[str, bool | None] = {"native": None, "schema-first": False, "question-first": True}


@dataclass(frozen=True)
class Prompt:
    """What the engine is asked to continue."""

    text: str
    #: generation stops at the first of these (the stop text itself is not part of the output)
    stop: tuple[str, ...]
    #: the dialect the model will answer in (the SQL is transpiled from it to the database's)
    sql_dialect: str
    family: str
    #: text the prompt already put at the start of the answer (e.g. an opening code fence)
    answer_prefix: str = ""
    #: the conversation ``text`` was rendered from (chat families): a server that applies the
    #: model's chat template itself is sent these instead of the text
    messages: tuple[dict[str, str], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
