"""Every switch that changes how a question is answered, in one frozen dataclass.

Config, command-line flags, the REPL, ``eval`` and the Python API all build an
:class:`AnswerSettings` and hand it to the :class:`~sqlcoder_cli.pipeline.session.Session`; nothing
else carries behaviour switches. Why one place: a new option used to cost a keyword in ``Session``,
its attribute, its use, a flag on each of three commands, an ``EvalOptions`` field and its copy into
the session — eleven edits in five files. Now it is one field here: its ``flag`` metadata makes the
command-line option on ``ask``, ``repl`` and ``eval`` (cli/settings_flags.py), and a field whose name
is a config key takes its default from the config file.

Names follow the config file (one name per concept): ``query_timeout`` is the config key, the field
and the ``--timeout`` flag's destination; there is no ``query_timeout_s`` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Config


#: how the schema is written into a prompt (``schema_text``)
SCHEMA_TEXTS = ("rendered", "original")


def _flag(decls: str, help: str, **click: Any) -> dict[str, Any]:
    """Field metadata that makes a command-line option (``decls`` as click writes them)."""
    return {"flag": decls, "help": help, "click": click}


@dataclass(frozen=True)
class AnswerSettings:
    """How a :class:`~sqlcoder_cli.pipeline.session.Session` answers; defaults are the config's."""

    # --- results and limits --------------------------------------------------------------------
    row_limit: int = field(default=100, metadata=_flag(
        "--limit/-n", "Show at most this many rows (default: config row_limit, 100; --all streams any number).",
        min=1, max=1_000_000))
    max_new_tokens: int = field(default=512, metadata=_flag(
        "--max-tokens", "Most tokens the model may write per attempt (default: config max_new_tokens, 512).",
        min=16, max=1 << 20))
    query_timeout: float = field(default=30.0, metadata=_flag(
        "--timeout", "Seconds a query may run (default: config query_timeout, 30).", min=0.1, max=7 * 24 * 3600))
    generation_timeout: float = field(default=120.0, metadata=_flag(
        "--generation-timeout", "Seconds the model may spend writing one answer; 0 = no limit (default: config generation_timeout, 120).",
        min=0, max=7 * 24 * 3600))
    budget: float = field(default=0.0, metadata=_flag(
        "--budget", "Seconds one question may take over all its attempts; no retry starts after it; 0 = no limit (default: config budget, 0).",
        min=0, max=7 * 24 * 3600))
    # --- self-correction ------------------------------------------------------------------------
    max_retries: int = field(default=2, metadata=_flag(
        "--retries", "Extra attempts when the SQL fails validation or execution (default: config max_retries, 2).",
        min=0, max=20))
    validate: bool = field(default=True, metadata=_flag(
        "--validate/--no-validate", "Check the SQL's tables and columns against the schema before it runs (default: on)."))
    mend: bool = field(default=True, metadata=_flag(
        "--mend/--no-mend", "Mend columns on the wrong alias and foreign date arithmetic without the model (default: on)."))
    # --- what the prompt shows --------------------------------------------------------------------
    prune: bool = field(default=True, metadata=_flag(
        "--prune/--no-prune", "Prune the schema to the tables the question needs when it does not fit (default: on)."))
    value_hints: bool = field(default=True, metadata=_flag(
        "--value-hints/--no-value-hints", "Show sampled column values in the schema (default: on)."))
    join_hints: bool = field(default=True, metadata=_flag(
        "--join-hints/--no-join-hints", "Show the joins that names imply when a database declares no foreign keys (default: on)."))
    notes: bool = field(default=True, metadata=_flag(
        "--notes/--no-notes", "Put the database's notes (`sqlcoder notes`) in the prompt (default: on)."))
    memory: bool = field(default=True, metadata=_flag(
        "--memory/--no-memory", "Use and store remembered examples (default: config memory, on)."))
    few_shot: int = field(default=3, metadata=_flag(
        "--few-shot", "Most remembered examples a prompt may show (default: config few_shot, 3).", min=0, max=50))
    schema_budget: int = field(default=0, metadata=_flag(
        "--schema-budget", "Most tokens the schema may take in a prompt; 0 = what the context leaves (smaller prompts are read sooner on a CPU).",
        min=0, max=1 << 20))
    prompt_layout: str = field(default="native", metadata=_flag(
        "--layout", "Prompt layout: native (the family's own), schema-first or question-first (default: config prompt_layout)."))
    schema_text: str = field(default="rendered", metadata=_flag(
        "--schema-text", "The schema as: rendered (sqlcoder's DDL with value and join hints) or original (the CREATE statements as the database keeps them, in their order; SQLite only, else rendered). --raw uses original."))
    # --- decoding and schema ----------------------------------------------------------------------
    grammar: bool = field(default=False, metadata=_flag(
        "--grammar/--no-grammar", "Constrained decoding: only SQL words and the schema's names (default: config grammar, off)."))
    refresh_schema: bool = field(default=False, metadata=_flag(
        "--refresh-schema", "Read the schema again instead of using the cached copy."))

    def __post_init__(self) -> None:
        from ..prompts.base import PROMPT_LAYOUTS

        if self.prompt_layout not in PROMPT_LAYOUTS:
            raise UsageError(f"unknown prompt layout {self.prompt_layout!r}", hint="one of: " + ", ".join(PROMPT_LAYOUTS))
        if self.schema_text not in SCHEMA_TEXTS:
            raise UsageError(f"unknown schema text {self.schema_text!r}", hint="one of: " + ", ".join(SCHEMA_TEXTS))

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_config(cls, config: Config) -> AnswerSettings:
        """The config file's (and environment's) values for every field that is a config key."""
        known = set(config.keys())
        values = {name: getattr(config, name) for name in cls.names() if name in known}
        for name, value in list(values.items()):  # the config keeps whole seconds; we keep floats
            if isinstance(cls.__dataclass_fields__[name].default, float):
                values[name] = float(value)
        return cls(**values)

    @classmethod
    def raw(cls, base: AnswerSettings | None = None) -> AnswerSettings:
        """The bare model (``--raw``): the database's whole schema as the database states it (its
        own CREATE statements in their order where it keeps them), the family's plain prompt, one
        attempt, nothing added or checked by us. Limits and timeouts are kept from ``base``."""
        return replace(
            base or cls(), max_retries=0, validate=False, mend=False, prune=False, value_hints=False,
            join_hints=False, notes=False, memory=False, grammar=False, prompt_layout="native",
            schema_text="original",
        )

    def with_overrides(self, **overrides: Any) -> AnswerSettings:
        """A copy with the given fields changed; a value of None keeps the field as it is (an
        option the user did not pass). Unknown names are an error, not silently ignored."""
        unknown = set(overrides) - set(self.names())
        if unknown:
            raise TypeError(f"unknown answer setting(s): {', '.join(sorted(unknown))}")
        changes = {k: v for k, v in overrides.items() if v is not None}
        for name, value in list(changes.items()):
            if isinstance(self.__dataclass_fields__[name].default, float) and isinstance(value, int):
                changes[name] = float(value)
        return replace(self, **changes) if changes else self

    def describe(self) -> dict[str, Any]:
        """The settings as plain values (eval reports, ``--show-prompt``)."""
        return {name: getattr(self, name) for name in self.names()}
