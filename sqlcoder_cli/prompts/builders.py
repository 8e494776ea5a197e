"""The prompt families.

- ``sqlcoder``: Defog's SQLCoder-7B-2 completion format, byte for byte as the foundation issue and
  the model card give it; notes, few-shot examples and a failed attempt go into an
  ``### Instructions`` section (the variant Defog's sql-eval uses). SQLCoder answers in PostgreSQL.
- ``llama3-sqlcoder``: Defog's Llama-3-SQLCoder-8B format (Llama-3 chat headers, as on its model
  card), instructions on the line after the question. Answers in PostgreSQL.
- ``duckdb-nsql``: MotherDuck's DuckDB-NSQL format (its model card). Answers in DuckDB SQL.
- ``chat``: any instruct model with a chat template in its GGUF; a system message names the target
  database's SQL dialect and carries the notes; few-shot examples are earlier user/assistant turns;
  a failed attempt is an assistant turn followed by the error. The assistant turn is pre-filled with
  an opening ```sql fence so the model starts writing SQL at once and the closing fence ends it.
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
    "{instructions_section}"
    "### Database Schema\n"
    "The query will run on a database with the following schema:\n"
    "{ddl}\n"
    "\n"
    "{examples_section}"
    "### Answer\n"
    "Given the database schema, here is the SQL query that [QUESTION]{question}[/QUESTION]\n"
    "[SQL]\n"
)

#: the same sections with the schema first, so that questions on one database share a prefix
SQLCODER_SCHEMA_FIRST_TEMPLATE = (
    "### Database Schema\n"
    "The query will run on a database with the following schema:\n"
    "{ddl}\n"
    "\n"
    "### Task\n"
    "Generate a SQL query to answer [QUESTION]{question}[/QUESTION]\n"
    "\n"
    "{instructions_section}"
    "{examples_section}"
    "### Answer\n"
    "Given the database schema, here is the SQL query that [QUESTION]{question}[/QUESTION]\n"
    "[SQL]\n"
)

LLAMA3_SQLCODER_TEMPLATE = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n"
    "\n"
    "Generate a SQL query to answer this question: `{question}`\n"
    "{instructions_line}"
    "\n"
    "DDL statements:\n"
    "{ddl}{examples_section}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
    "\n"
    "The following SQL query best answers the question `{question}`:\n"
    "```sql\n"
)

DUCKDB_NSQL_TEMPLATE = (
    "### Instruction:\n"
    "Your task is to generate valid duckdb SQL to answer the following question.\n"
    "{instructions_section}"
    "\n"
    "### Input:\n"
    "Here is the database schema that the SQL query will run on:\n"
    "{ddl}\n"
    "{examples_section}"
    "\n"
    "### Question:\n"
    "{question}\n"
    "\n"
    "### Response (use duckdb shorthand if possible):\n"
)

CHAT_SYSTEM_TEMPLATE = (
    "You are an expert {dialect_name} analyst. You write one correct, read-only {dialect_name} "
    "SELECT query that answers the user's question about the database described below. "
    "Use only the tables and columns in the schema. Answer with the SQL query only."
)

CHAT_SCHEMA_TEMPLATE = "Database schema ({dialect_name}):\n{ddl}\n\n"

CORRECTION_TEMPLATE = "The query {sql} failed: {error} Write a corrected query."
CHAT_CORRECTION_TEMPLATE = "That query failed: {error}\nWrite a corrected query."
FOLLOW_UP_TEMPLATE = (
    "This question follows up on the previous question \"{question}\", which was answered with: {sql} "
    "Change that query as the new question asks."
)
CHAT_FOLLOW_UP_TEMPLATE = "Follow-up question (change the previous query as asked): {question}"

#: Stop strings: the end of the statement or of the answer block; ";" ends a single statement.
SQLCODER_STOPS = ("[/SQL]", ";", "```", "\n\n\n")
FENCED_STOPS = ("```", ";", "<|eot_id|>")
NSQL_STOPS = (";", "```", "\n\n\n", "###")


def _dialect_name(dialect: str) -> str:
    return DIALECT_NAMES.get(dialect, dialect)


def _note_lines(notes: str) -> list[str]:
    """The user's notes as a bullet list (the shape SQLCoder's instructions take)."""
    lines = []
    for line in notes.strip().splitlines():
        line = line.strip()
        if line:
            lines.append(line if line.startswith(("-", "*")) else f"- {line}")
    return lines


def _instruction_lines(request: PromptRequest) -> list[str]:
    """Notes, the previous question (follow-ups), then the failed attempt, for the completion formats."""
    lines = _note_lines(request.instructions)
    if request.previous is not None:
        sql = " ".join(request.previous.sql.split())
        lines.append("- " + FOLLOW_UP_TEMPLATE.format(question=request.previous.question.strip(), sql=_statement(sql)))
    if request.correction is not None:
        sql = " ".join(request.correction.sql.split())
        error = " ".join(request.correction.error.split())
        lines.append("- " + CORRECTION_TEMPLATE.format(sql=sql, error=error))
    return lines


def _statement(sql: str) -> str:
    return sql.strip().rstrip(";").strip() + ";"


def build_sqlcoder(request: PromptRequest, **_: str) -> Prompt:
    lines = _instruction_lines(request)
    instructions = "### Instructions\n" + "\n".join(lines) + "\n\n" if lines else ""
    examples = ""
    if request.examples:
        examples = "### Examples\n" + "".join(
            f"[QUESTION]{e.question}[/QUESTION]\n[SQL]\n{_statement(e.sql)}\n[/SQL]\n" for e in request.examples
        ) + "\n"
    template = SQLCODER_SCHEMA_FIRST_TEMPLATE if request.question_first is False else SQLCODER_TEMPLATE
    text = template.format(
        question=request.question, ddl=request.ddl, instructions_section=instructions, examples_section=examples
    )
    return Prompt(text=text, stop=SQLCODER_STOPS, sql_dialect="postgres", family="sqlcoder")


def build_llama3_sqlcoder(request: PromptRequest, **_: str) -> Prompt:
    lines = _instruction_lines(request)
    examples = ""
    if request.examples:
        examples = "\n\nExamples of questions and their correct SQL:\n" + "".join(
            f"Question: {e.question}\nSQL: {_statement(e.sql)}\n" for e in request.examples
        ).rstrip("\n")
    text = LLAMA3_SQLCODER_TEMPLATE.format(
        question=request.question,
        ddl=request.ddl,
        instructions_line="\n".join(lines) + "\n" if lines else "",
        examples_section=examples,
    )
    return Prompt(text=text, stop=FENCED_STOPS, sql_dialect="postgres", family="llama3-sqlcoder", answer_prefix="```sql\n")


def build_duckdb_nsql(request: PromptRequest, **_: str) -> Prompt:
    lines = _instruction_lines(request)
    examples = ""
    if request.examples:
        examples = "\nExamples:\n" + "".join(f"-- {e.question}\n{_statement(e.sql)}\n" for e in request.examples)
    text = DUCKDB_NSQL_TEMPLATE.format(
        question=request.question,
        ddl=request.ddl,
        instructions_section="\n".join(lines) + "\n" if lines else "",
        examples_section=examples,
    )
    return Prompt(text=text, stop=NSQL_STOPS, sql_dialect="duckdb", family="duckdb-nsql")


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
    system = CHAT_SYSTEM_TEMPLATE.format(dialect_name=name)
    notes = _note_lines(request.instructions)
    if notes:
        system += "\n\nNotes about this database:\n" + "\n".join(notes)
    messages = [{"role": "system", "content": system}]
    # Earlier turns (remembered examples, then the previous question of a follow-up) come first,
    # so the whole reads as one conversation.
    turns = [*request.examples, *([request.previous] if request.previous is not None else [])]
    for example in turns:
        messages.append({"role": "user", "content": f"Question: {example.question}"})
        messages.append({"role": "assistant", "content": f"```sql\n{_statement(example.sql)}\n```"})
    if request.previous is not None:
        user = CHAT_FOLLOW_UP_TEMPLATE.format(question=request.question)
    else:
        user = f"Question: {request.question}"
    messages.append({"role": "user", "content": user})
    # the schema travels with the first user turn, before its question (so that prefix is shared
    # by every question on the database) unless the request asks for the question first
    schema = CHAT_SCHEMA_TEMPLATE.format(dialect_name=name, ddl=request.ddl)
    if request.question_first:
        messages[1]["content"] = messages[1]["content"] + "\n\n" + schema.rstrip("\n")
    else:
        messages[1]["content"] = schema + messages[1]["content"]
    if request.correction is not None:
        messages.append({"role": "assistant", "content": f"```sql\n{_statement(request.correction.sql)}\n```"})
        messages.append({"role": "user", "content": CHAT_CORRECTION_TEMPLATE.format(error=request.correction.error.strip())})
    prefix = "```sql\n"
    text = render_chat(chat_template, messages, bos_token=bos_token, eos_token=eos_token) + prefix
    return Prompt(
        text=text, stop=FENCED_STOPS, sql_dialect=request.dialect, family="chat", answer_prefix=prefix,
        messages=tuple(messages),
    )


def answer_dialect(family: str, target_dialect: str) -> str:
    """The SQL dialect a family's model writes: its training dialect, or the target's for chat."""
    return {"sqlcoder": "postgres", "llama3-sqlcoder": "postgres", "duckdb-nsql": "duckdb"}.get(family, target_dialect)


PromptBuilder = Callable[..., Prompt]

FAMILIES: dict[str, PromptBuilder] = {
    "sqlcoder": build_sqlcoder,
    "llama3-sqlcoder": build_llama3_sqlcoder,
    "duckdb-nsql": build_duckdb_nsql,
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
