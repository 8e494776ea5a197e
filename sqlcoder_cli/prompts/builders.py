"""The prompt families.

- ``sqlcoder``: Defog's SQLCoder-7B-2 completion format, byte for byte as its model card and
  sql-eval use it. SQLCoder answers in PostgreSQL.
- ``llama3-sqlcoder``: Defog's Llama-3-SQLCoder-8B format (Llama-3 chat headers, as on its model card).
- ``chat``: any instruct model with a chat template in its GGUF; a system message names the target
  database's SQL dialect, and the assistant turn is pre-filled with an opening ```sql fence so the
  model starts writing SQL at once and the closing fence ends it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UsageError
from .base import DIALECT_NAMES, Prompt, PromptRequest
from .chat_template import render_chat

SQLCODER_TEMPLATE = (
    "### Task\n"
    "Generate a SQL query to answer [QUESTION]{question}[/QUESTION]\n"
    "\n"
    "### Database Schema\n"
    "The query will run on a database with the following schema:\n"
    "{ddl}\n"
    "\n"
    "### Answer\n"
    "Given the database schema, here is the SQL query that [QUESTION]{question}[/QUESTION]\n"
    "[SQL]\n"
)

LLAMA3_SQLCODER_TEMPLATE = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
    "\n"
    "Generate a SQL query to answer this question: `{question}`\n"
    "\n"
    "DDL statements:\n"
    "{ddl}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
    "\n"
    "The following SQL query best answers the question `{question}`:\n"
    "```sql\n"
)

CHAT_SYSTEM_TEMPLATE = (
    "You are an expert {dialect_name} analyst. You write one correct, read-only {dialect_name} "
    "SELECT query that answers the user's question about the database described below. "
    "Use only the tables and columns in the schema. Answer with the SQL query only."
)

CHAT_USER_TEMPLATE = (
    "Database schema ({dialect_name}):\n"
    "{ddl}\n"
    "\n"
    "Question: {question}"
)

#: Stop strings: the end of the statement or of the answer block; ";" ends a single statement.
SQLCODER_STOPS = ("[/SQL]", ";", "```", "\n\n\n")
FENCED_STOPS = ("```", ";", "<|eot_id|>")


def _dialect_name(dialect: str) -> str:
    return DIALECT_NAMES.get(dialect, dialect)


def build_sqlcoder(request: PromptRequest, chat_template: str | None = None, **_: str) -> Prompt:
    text = SQLCODER_TEMPLATE.format(question=request.question, ddl=request.ddl)
    return Prompt(text=text, stop=SQLCODER_STOPS, sql_dialect="postgres", family="sqlcoder")


def build_llama3_sqlcoder(request: PromptRequest, chat_template: str | None = None, **_: str) -> Prompt:
    text = LLAMA3_SQLCODER_TEMPLATE.format(question=request.question, ddl=request.ddl)
    return Prompt(
        text=text,
        stop=FENCED_STOPS,
        sql_dialect="postgres",
        family="llama3-sqlcoder",
        answer_prefix="```sql\n",
    )


def build_chat(
    request: PromptRequest,
    chat_template: str | None = None,
    bos_token: str = "",
    eos_token: str = "",
) -> Prompt:
    if not chat_template:
        raise UsageError(
            "this model has no chat template, so the 'chat' prompt family cannot be used",
            hint="register it with a completion family, or use a SQLCoder model",
        )
    name = _dialect_name(request.dialect)
    messages = [
        {"role": "system", "content": CHAT_SYSTEM_TEMPLATE.format(dialect_name=name)},
        {"role": "user", "content": CHAT_USER_TEMPLATE.format(dialect_name=name, ddl=request.ddl, question=request.question)},
    ]
    prefix = "```sql\n"
    text = render_chat(chat_template, messages, bos_token=bos_token, eos_token=eos_token) + prefix
    return Prompt(text=text, stop=FENCED_STOPS, sql_dialect=request.dialect, family="chat", answer_prefix=prefix)


PromptBuilder = Callable[..., Prompt]

FAMILIES: dict[str, PromptBuilder] = {
    "sqlcoder": build_sqlcoder,
    "llama3-sqlcoder": build_llama3_sqlcoder,
    "chat": build_chat,
}


def build_prompt(
    family: str,
    request: PromptRequest,
    *,
    chat_template: str | None = None,
    bos_token: str | None = None,
    eos_token: str | None = None,
) -> Prompt:
    """Build the prompt of ``family`` for ``request``."""
    try:
        builder = FAMILIES[family]
    except KeyError:
        raise UsageError(
            f"unknown prompt family {family!r}", hint="known: " + ", ".join(sorted(FAMILIES))
        ) from None
    return builder(request, chat_template=chat_template, bos_token=bos_token or "", eos_token=eos_token or "")
