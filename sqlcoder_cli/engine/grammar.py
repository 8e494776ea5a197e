"""A GBNF grammar that lets the model write only SQL made of this database's names.

Constrained decoding (llama.cpp grammars): at every step, tokens that would spell a word that is
neither a SQL keyword, a known function, a table or column of the schema, nor a short alias are
masked out. Hallucinated names ("total_price" where the column is "unit_price") become
impossible to write. Lexical, not a full SQL grammar: clause order is still the model's job.

Built per schema (names change the grammar) and cached by its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

KEYWORDS = (
    "select distinct from where group by order having limit offset as on join inner left right full outer "
    "cross natural using and or not in is null like ilike glob between exists case when then else end "
    "asc desc nulls first last union all intersect except with recursive over partition rows range "
    "preceding following current row unbounded filter within true false interval cast date time "
    "timestamp year month day hour minute second week quarter epoch dow doy integer int real float "
    "double precision numeric decimal text varchar char boolean bigint smallint values escape collate "
    "lateral any some at zone"
).split()

FUNCTIONS = (
    "count sum avg min max round abs ceil ceiling floor coalesce nullif ifnull iif greatest least "
    "length lower upper trim ltrim rtrim substr substring replace instr position concat concat_ws "
    "strftime julianday datetime date_trunc date_part extract now current_date current_timestamp "
    "to_char to_date to_timestamp age make_date date_diff datediff dateadd printf format typeof "
    "row_number rank dense_rank ntile lag lead first_value last_value percent_rank cume_dist "
    "string_agg group_concat array_agg median percentile_cont percentile_disc stddev variance "
    "total cast random sign sqrt power pow exp ln log mod"
).split()


def _case_insensitive(word: str) -> str:
    """A GBNF sequence matching ``word`` in any letter case."""
    parts = []
    for ch in word:
        if ch.isalpha():
            parts.append(f"[{ch.lower()}{ch.upper()}]")
        else:
            parts.append(_literal(ch))
    return " ".join(parts)


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _plain_identifier(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) is not None


def sql_grammar(names: Iterable[str]) -> str:
    """GBNF for one SQL statement whose words come from SQL and from ``names`` (tables, columns)."""
    bare: set[str] = set()
    quoted: set[str] = set()
    for name in names:
        if _plain_identifier(name):
            bare.add(name.lower())
        quoted.add(name)
    words = sorted(set(KEYWORDS) | set(FUNCTIONS) | bare)
    word_rule = " | ".join(_case_insensitive(w) for w in words)
    quoted_rule = " | ".join('"\\"" ' + _literal(n.replace('"', '""')) + ' "\\""' for n in sorted(quoted)) or '"\\"x\\""'
    return "\n".join(
        [
            # After a word-like item comes whitespace, a symbol or the end, so two words can never
            # be glued into a name that is not allowed ("total" + "price").
            "root ::= ws (wordlike sep | other ws)* wordlike? ws fence?",
            "sep ::= [ \\t\\n]+ | symbol ws",
            # a name the query itself defines may be anything: a column alias after AS, a CTE
            # name after WITH, and the output aliases ORDER BY / GROUP BY refer to
            "wordlike ::= word | alias | number | named",
            "named ::= ([aA] [sS] | [wW] [iI] [tT] [hH] | [bB] [yY]) [ \\t\\n]+ anyname",
            "anyname ::= [a-zA-Z_] [a-zA-Z0-9_]*",
            # the closing code fence of a chat answer (a stop string) ends the statement
            'fence ::= "```"',
            "other ::= symbol | string | quoted",
            f"word ::= {word_rule}",
            f"quoted ::= {quoted_rule}",
            # short aliases like c, o1, oi, t2 (and CTE names up to 3 letters)
            "alias ::= [a-zA-Z] [a-zA-Z0-9]? [a-zA-Z0-9]?",
            'number ::= [0-9]+ ("." [0-9]+)?',
            "string ::= \"'\" ([^'] | \"''\")* \"'\"",
            'symbol ::= [(),.*+/%<>=!|:;-]',
            "ws ::= [ \\t\\n]*",
        ]
    ) + "\n"
