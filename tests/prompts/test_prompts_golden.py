"""Golden tests: each family's exact prompt text is pinned here; a change must be deliberate."""

from __future__ import annotations

import pytest

from sqlcoder_cli.errors import UsageError
from sqlcoder_cli.prompts import FAMILIES, Correction, Example, PromptRequest, build_prompt

DDL = "CREATE TABLE customers (\n  customer_id INTEGER PRIMARY KEY,\n  name TEXT\n);"
REQUEST = PromptRequest(question="How many customers are there?", ddl=DDL, dialect="sqlite")
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_sqlcoder_7b_2_format_is_exact() -> None:
    prompt = build_prompt("sqlcoder", REQUEST)
    assert prompt.text == (
        "### Task\n"
        "Generate a SQL query to answer [QUESTION]How many customers are there?[/QUESTION]\n"
        "\n"
        "### Database Schema\n"
        "The query will run on a database with the following schema:\n"
        "CREATE TABLE customers (\n  customer_id INTEGER PRIMARY KEY,\n  name TEXT\n);\n"
        "\n"
        "### Answer\n"
        "Given the database schema, here is the SQL query that [QUESTION]How many customers are there?[/QUESTION]\n"
        "[SQL]\n"
    )
    assert prompt.sql_dialect == "postgres"  # SQLCoder writes PostgreSQL whatever the target
    assert ";" in prompt.stop and "[/SQL]" in prompt.stop


def test_llama3_sqlcoder_format_is_exact() -> None:
    prompt = build_prompt("llama3-sqlcoder", REQUEST)
    assert prompt.text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        "Generate a SQL query to answer this question: `How many customers are there?`\n\n"
        "DDL statements:\n"
        f"{DDL}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        "The following SQL query best answers the question `How many customers are there?`:\n"
        "```sql\n"
    )
    assert prompt.sql_dialect == "postgres"


def test_chat_family_renders_the_models_own_template_and_names_the_dialect() -> None:
    prompt = build_prompt("chat", REQUEST, chat_template=CHATML)
    assert prompt.text == (
        "<|im_start|>system\n"
        "You are an expert SQLite analyst. You write one correct, read-only SQLite SELECT query that "
        "answers the user's question about the database described below. Use only the tables and "
        "columns in the schema. Answer with the SQL query only.<|im_end|>\n"
        "<|im_start|>user\n"
        "Database schema (SQLite):\n"
        f"{DDL}\n\n"
        "Question: How many customers are there?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\n"
    )
    assert prompt.sql_dialect == "sqlite"
    assert prompt.answer_prefix == "```sql\n"


def test_sqlcoder_schema_first_layout_keeps_every_section() -> None:
    from dataclasses import replace

    prompt = build_prompt("sqlcoder", replace(REQUEST, question_first=False))
    assert prompt.text.startswith("### Database Schema\nThe query will run on a database with the following schema:\n" + DDL)
    assert prompt.text.endswith("[QUESTION]How many customers are there?[/QUESTION]\n[SQL]\n")
    native = build_prompt("sqlcoder", REQUEST)
    assert sorted(prompt.text.splitlines()) == sorted(native.text.splitlines())  # same lines, reordered
    assert build_prompt("sqlcoder", replace(REQUEST, question_first=True)).text == native.text


def test_chat_question_first_layout_moves_only_the_question() -> None:
    from dataclasses import replace

    prompt = build_prompt("chat", replace(REQUEST, question_first=True), chat_template=CHATML)
    assert "<|im_start|>user\nQuestion: How many customers are there?\n\nDatabase schema (SQLite):\n" in prompt.text
    assert prompt.text.endswith(f"{DDL}<|im_end|>\n<|im_start|>assistant\n```sql\n")
    default = build_prompt("chat", REQUEST, chat_template=CHATML)
    assert sorted(prompt.text.replace("\n", "")) == sorted(default.text.replace("\n", ""))  # same words, reordered


@pytest.mark.parametrize("dialect,name", [("duckdb", "DuckDB"), ("postgres", "PostgreSQL")])
def test_chat_family_follows_the_target_dialect(dialect: str, name: str) -> None:
    request = PromptRequest(question="q", ddl=DDL, dialect=dialect)
    prompt = build_prompt("chat", request, chat_template=CHATML)
    assert f"expert {name} analyst" in prompt.text
    assert prompt.sql_dialect == dialect


def test_chat_family_with_the_real_qwen_template(dev_model_template: str) -> None:
    prompt = build_prompt("chat", REQUEST, chat_template=dev_model_template)
    assert prompt.text.startswith("<|im_start|>system\nYou are an expert SQLite analyst.")
    assert prompt.text.endswith("Question: How many customers are there?<|im_end|>\n<|im_start|>assistant\n```sql\n")


def test_chat_family_needs_a_template() -> None:
    with pytest.raises(UsageError, match="no chat template"):
        build_prompt("chat", REQUEST, chat_template=None)


def test_unknown_family_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown prompt family"):
        build_prompt("gpt-9", REQUEST)
    assert set(FAMILIES) == {"sqlcoder", "llama3-sqlcoder", "duckdb-nsql", "chat"}


def test_templates_run_sandboxed() -> None:
    from sqlcoder_cli.errors import ModelError

    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(ModelError):
        build_prompt("chat", REQUEST, chat_template=evil)


NOTES = "revenue means sum(quantity*unit_price)\n- fiscal year starts in April"
EXAMPLES = (Example("How many products are there?", "SELECT count(*) FROM products;"),)
FAILED = Correction("SELECT total FROM orders", "no such column: total")
FULL = PromptRequest(
    question="What was the revenue?", ddl=DDL, dialect="sqlite", instructions=NOTES, examples=EXAMPLES, correction=FAILED
)


def test_sqlcoder_instructions_variant_is_exact() -> None:
    assert build_prompt("sqlcoder", FULL).text == (
        "### Task\n"
        "Generate a SQL query to answer [QUESTION]What was the revenue?[/QUESTION]\n"
        "\n"
        "### Instructions\n"
        "- revenue means sum(quantity*unit_price)\n"
        "- fiscal year starts in April\n"
        "- The query SELECT total FROM orders failed: no such column: total Write a corrected query.\n"
        "\n"
        "### Database Schema\n"
        "The query will run on a database with the following schema:\n"
        f"{DDL}\n"
        "\n"
        "### Examples\n"
        "[QUESTION]How many products are there?[/QUESTION]\n"
        "[SQL]\n"
        "SELECT count(*) FROM products;\n"
        "[/SQL]\n"
        "\n"
        "### Answer\n"
        "Given the database schema, here is the SQL query that [QUESTION]What was the revenue?[/QUESTION]\n"
        "[SQL]\n"
    )


def test_llama3_sqlcoder_with_instructions_is_exact() -> None:
    request = PromptRequest(question="What was the revenue?", ddl=DDL, instructions=NOTES)
    assert build_prompt("llama3-sqlcoder", request).text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        "Generate a SQL query to answer this question: `What was the revenue?`\n"
        "- revenue means sum(quantity*unit_price)\n"
        "- fiscal year starts in April\n"
        "\n"
        "DDL statements:\n"
        f"{DDL}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        "The following SQL query best answers the question `What was the revenue?`:\n"
        "```sql\n"
    )


def test_duckdb_nsql_format_is_exact() -> None:
    prompt = build_prompt("duckdb-nsql", REQUEST)
    assert prompt.text == (
        "### Instruction:\n"
        "Your task is to generate valid duckdb SQL to answer the following question.\n"
        "\n"
        "### Input:\n"
        "Here is the database schema that the SQL query will run on:\n"
        f"{DDL}\n"
        "\n"
        "### Question:\n"
        "How many customers are there?\n"
        "\n"
        "### Response (use duckdb shorthand if possible):\n"
    )
    assert prompt.sql_dialect == "duckdb"


def test_chat_with_notes_examples_and_a_correction_is_exact() -> None:
    text = build_prompt("chat", FULL, chat_template=CHATML).text
    assert text == (
        "<|im_start|>system\n"
        "You are an expert SQLite analyst. You write one correct, read-only SQLite SELECT query that "
        "answers the user's question about the database described below. Use only the tables and "
        "columns in the schema. Answer with the SQL query only.\n\n"
        "Notes about this database:\n"
        "- revenue means sum(quantity*unit_price)\n"
        "- fiscal year starts in April<|im_end|>\n"
        "<|im_start|>user\n"
        "Database schema (SQLite):\n"
        f"{DDL}\n\n"
        "Question: How many products are there?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\nSELECT count(*) FROM products;\n```<|im_end|>\n"
        "<|im_start|>user\n"
        "Question: What was the revenue?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\nSELECT total FROM orders;\n```<|im_end|>\n"
        "<|im_start|>user\n"
        "That query failed: no such column: total\n"
        "Write a corrected query.<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\n"
    )


PREVIOUS = Example("How many orders per status?", "SELECT status, count(*) FROM orders GROUP BY status")


def test_follow_up_in_the_sqlcoder_format_is_an_instruction() -> None:
    request = PromptRequest(question="only for 2023", ddl=DDL, previous=PREVIOUS)
    text = build_prompt("sqlcoder", request).text
    assert text.startswith(
        "### Task\nGenerate a SQL query to answer [QUESTION]only for 2023[/QUESTION]\n\n"
        "### Instructions\n"
        "- This question follows up on the previous question \"How many orders per status?\", which was "
        "answered with: SELECT status, count(*) FROM orders GROUP BY status; Change that query as the new "
        "question asks.\n\n### Database Schema\n"
    )


def test_follow_up_in_chat_is_the_previous_turn() -> None:
    request = PromptRequest(question="only for 2023", ddl=DDL, previous=PREVIOUS)
    text = build_prompt("chat", request, chat_template=CHATML).text
    assert text.endswith(
        "<|im_start|>user\n"
        "Database schema (SQLite):\n"
        f"{DDL}\n\n"
        "Question: How many orders per status?<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\nSELECT status, count(*) FROM orders GROUP BY status;\n```<|im_end|>\n"
        "<|im_start|>user\n"
        "Follow-up question (change the previous query as asked): only for 2023<|im_end|>\n"
        "<|im_start|>assistant\n"
        "```sql\n"
    )
