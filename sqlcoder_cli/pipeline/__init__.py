"""One question's way through the tool: schema → prompt → model → SQL → guard → database.

The steps, in order: read the schema (cached per database), prune it to the context budget, add
the user's notes and similar remembered examples, build the prompt in the model's family format,
generate greedily, extract the SQL, refuse anything that is not a single read query, translate it
to the database's dialect, check its tables and columns against the schema, run it read-only. When
the SQL fails validation or execution, the error goes back to the model for a bounded number of
retries (self-correction).

- ``session.py``: :class:`Session`, the resources (database, schema, engine, memory), opened lazily
- ``settings.py``: :class:`AnswerSettings`, every behaviour switch
- ``prompting.py``: the prompt plan; ``checking.py``: guard, translate, validate
- ``answer.py``: :class:`AnswerLoop`, attempts and corrections; ``results.py``: :class:`Answer`
"""

from __future__ import annotations

from ..errors import AnswerFailed
from .answer import AnswerLoop, GeneratedSQL, SQLReview, generate_sql
from .prompting import CONTEXT_MARGIN, PromptPlan
from .results import Answer, FailedAttempt, Timings
from .session import Session
from .settings import AnswerSettings

__all__ = [
    "CONTEXT_MARGIN",
    "Answer",
    "AnswerFailed",
    "AnswerLoop",
    "AnswerSettings",
    "FailedAttempt",
    "GeneratedSQL",
    "PromptPlan",
    "SQLReview",
    "Session",
    "Timings",
    "generate_sql",
]
