"""Putting a prompt together: the schema pruned to the context, notes, remembered examples, the
previous question of a follow-up and the failed attempt of a retry, in the model family's format.

Everything here asks the session's engine only for its traits (family, chat template), its
context size and token counts, so a prompt is planned the same way whichever engine answers.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SQLGenerationError

if TYPE_CHECKING:
    from ..prompts import Correction, Example, Prompt
    from ..schema.introspect import Schema
    from ..schema.prune import PrunedSchema
    from .session import Session

#: Tokens kept free besides the answer, so a prompt never fills the context to the last token.
CONTEXT_MARGIN = 16


@dataclass(frozen=True)
class PromptPlan:
    """A prompt and how it was put together (what ``--show-prompt`` reports)."""

    prompt: Prompt
    pruned: PrunedSchema
    notes: str
    examples: tuple[Example, ...]
    #: the start of the prompt that does not depend on the question (its KV state is reusable)
    stable_prefix: str = ""


def shown_schema(schema: Schema, *, value_hints: bool, join_hints: bool) -> Schema:
    """The schema as the prompt shows it: without sampled values when value hints are off, with
    the foreign keys its names imply when it declares none (join hints, see schema/joins.py)."""
    from ..schema.joins import infer_foreign_keys

    shown = schema
    if not value_hints:
        shown = copy.deepcopy(shown)
        for table in shown.tables:
            for column in table.columns:
                column.sample_values = None
    if join_hints:
        shown = infer_foreign_keys(shown)
    return shown


def in_dialect(session: Session, example: Example, model_dialect: str) -> Example | None:
    """An example stored in the database's dialect, rewritten in the model's (None if it cannot be)."""
    from ..prompts import Example
    from ..sql.transpile import transpile_sql

    try:
        sql = transpile_sql(example.sql, source=session.database.target.sqlglot_dialect, target=model_dialect)
    except SQLGenerationError:
        return None
    return Example(example.question, sql)


def remembered_examples(session: Session, question: str, model_dialect: str) -> tuple[Example, ...]:
    """The most similar remembered (question, SQL) pairs, in the model's dialect."""
    from ..prompts import Example

    settings = session.settings
    if not settings.memory or settings.few_shot <= 0:
        return ()
    examples = []
    for item in session.memory.similar(session.db_key, question, limit=settings.few_shot):
        example = in_dialect(session, Example(item.question, item.sql), model_dialect)
        if example is not None:
            examples.append(example)
    return tuple(examples)


def fitted_correction(session: Session, correction: Correction) -> Correction:
    """The failed attempt, cut to an eighth of the context: a model that wrote 500 tokens of
    noise must not push the schema (or the whole prompt) out of the window on the retry."""
    from ..prompts import Correction

    engine = session.engine
    limit = max(32, engine.n_ctx // 8)

    def cut(text: str) -> str:
        for _ in range(4):
            tokens = engine.count_tokens(text)
            if tokens <= limit:
                return text
            text = text[: max(1, int(len(text) * limit / tokens * 0.9))].rstrip() + " …"
        return text

    return Correction(sql=cut(correction.sql), error=cut(correction.error))


def plan_prompt(
    session: Session,
    question: str,
    *,
    correction: Correction | None = None,
    previous: Example | None = None,
    instructions: str = "",
) -> PromptPlan:
    """Build the prompt for ``question``: schema pruned to fit, notes, examples, the previous
    question (follow-ups), the failed attempt (retries)."""
    from ..prompts import PromptRequest, answer_dialect, build_prompt
    from ..prompts.base import PROMPT_LAYOUTS
    from ..prompts.chat_template import GENERIC_CHAT_TEMPLATE
    from ..schema.ddl import original_ddl, render_ddl
    from ..schema.prune import prune_schema

    settings = session.settings
    engine = session.engine
    traits = engine.traits
    chat_template = traits.chat_template or (GENERIC_CHAT_TEMPLATE if traits.server_renders_chat else None)
    target = session.database.target.sqlglot_dialect
    if correction is not None:
        correction = fitted_correction(session, correction)
    notes = "\n".join(part for part in (session.notes().strip(), instructions.strip()) if part)
    model_dialect = answer_dialect(traits.family, target)
    examples = remembered_examples(session, question, model_dialect)
    if previous is not None:
        previous = in_dialect(session, previous, model_dialect) or previous

    def build(ddl: str, asked: str = question, shown: tuple[Example, ...] = examples) -> Prompt:
        request = PromptRequest(
            question=asked.strip(),
            ddl=ddl,
            dialect=target,
            instructions=notes,
            examples=shown,
            correction=correction,
            previous=previous,
            question_first=PROMPT_LAYOUTS[settings.prompt_layout],
        )
        return build_prompt(
            traits.family, request, chat_template=chat_template, bos_token=traits.bos_token, eos_token=traits.eos_token
        )

    overhead = engine.count_tokens(build("").text)
    answer_room = min(settings.max_new_tokens, max(64, engine.n_ctx // 4))
    budget = engine.n_ctx - overhead - answer_room - CONTEXT_MARGIN
    if settings.schema_budget:
        budget = min(budget, settings.schema_budget)
    schema = session.prompt_schema
    # without pruning: everything, even if it overflows the context (the engine then says so)
    budget_tokens = max(budget, 1) if settings.prune else 10**9
    pruned = prune_schema(schema, question, budget_tokens=budget_tokens, count_tokens=engine.count_tokens, notes=notes)
    whole = not pruned.dropped_tables and not any(pruned.dropped_columns.values())
    ddl = None
    if settings.schema_text == "original":
        # the database's own text; a pruned table list keeps the kept tables' statements whole
        ddl = original_ddl(session.schema, None if whole else [t.qualified_name for t in pruned.schema.tables])
    if ddl is None:
        ddl = render_ddl(schema) if whole else pruned.ddl
    prompt = build(ddl)
    # The prefix later questions share ends where the question starts, or where the remembered
    # examples start: they are chosen per question, so a prefix holding them would be saved and
    # looked up under other tokens every time and the schema's KV state never reused.
    other = build(ddl, "\u2063" + question, ()).text  # differs where the question or the examples start
    stable = os.path.commonprefix([prompt.text, other])
    return PromptPlan(prompt=prompt, pruned=pruned, notes=notes, examples=examples, stable_prefix=stable)
