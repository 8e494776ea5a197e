"""What the REPL makes of a line of input, before anything runs.

Pure functions (no prompt_toolkit, no model) so they are cheap to test:

- :func:`parse_meta`: ``\\schema orders`` and ``.schema orders`` are the same meta-command.
- :func:`is_follow_up`: does a question refer to the previous answer ("only for 2024")?
- :func:`looks_like_sql`: is the input already SQL (then it runs directly, no model)?
- :func:`input_is_complete`: does Enter submit, or continue on the next line?
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: name -> (argument synopsis, one-line description); the order is the order of ``\help``.
META_COMMANDS: dict[str, tuple[str, str]] = {
    "tables": ("", "list the tables (and views) with their row counts"),
    "schema": ("[TABLE]", "show the CREATE TABLE statements (all, or one table)"),
    "model": ("[NAME]", "show the model (and how often it was loaded), or switch to another"),
    "db": ("[URL]", "show the database, or switch to another (the model stays loaded)"),
    "format": ("[FMT]", "show or set the result format: table, csv, tsv, json, jsonl, markdown"),
    "limit": ("[N]", "show or set how many rows are fetched and shown"),
    "edit": ("", "open $EDITOR on the last SQL, then run it"),
    "run": ("", "run the last SQL again"),
    "explain": ("", "show the database's query plan for the last SQL"),
    "remember": ("", "keep the last question and its SQL as an example for later prompts"),
    "chart": ("[bar|line|scatter] [FILE.png|FILE.svg]", "draw the last result as a chart (in the terminal, or into a file)"),
    "history": ("[TEXT]", "questions asked before (on this database), optionally matching TEXT"),
    "save": ("FILE.sql", "write the last SQL to a file"),
    "export": ("FILE.csv|json|jsonl|parquet", "write every row of the last result to a file"),
    "notes": ("", "show this database's notes (sqlcoder notes edit)"),
    "new": ("", "forget the previous answer: the next question is not a follow-up"),
    "help": ("", "this list, and the keys"),
    "quit": ("", "leave (Ctrl-D does the same)"),
}
ALIASES = {"exit": "quit", "q": "quit", "?": "help", "h": "help", "e": "edit", "r": "run", "d": "tables", "dt": "tables"}

#: first words that make a question a follow-up of the previous answer
FOLLOW_UP_CUES = frozenset(
    "only now and but same instead also by per sort order exclude excluding include including just limit "
    "then group split break without with except plus what how filter restrict show".split()
)
#: "show" and "what/how" only count when followed by one of these (``what about``, ``how about``, ``show only``)
_WEAK_CUES = {"what": {"about", "if"}, "how": {"about"}, "show": {"only", "just", "it", "that", "them"},
              "with": {"only", "just"}}
#: a question this short that names no table is a follow-up ("in 2023?", "for Germany")
SHORT_FOLLOW_UP_WORDS = 4

SQL_START = ("select", "with", "values")

HELP_KEYS = """\
Keys at the sqlcoder> prompt:
  Enter            ask (or run the SQL you typed); a line ending in \\ or an open quote/paren continues
  Esc Enter        insert a newline
  Tab              complete meta-commands, tables and columns
  Up / Down        earlier input (kept per database)
  Ctrl-C           clear the line; while the model writes or a query runs: cancel it
  Ctrl-D           leave
Keys at the run> prompt (the generated SQL, editable):
  Enter            run it (edited or not)
  Ctrl-X Ctrl-E    open $EDITOR on it, then run it  (or type \\edit)
  Ctrl-R           regenerate  (or type \\regen)
  Ctrl-C           cancel (nothing runs)
"""


@dataclass(frozen=True)
class MetaCommand:
    name: str
    arg: str
    #: how it was typed (for messages)
    raw: str

    @property
    def known(self) -> bool:
        return self.name in META_COMMANDS


def parse_meta(line: str) -> MetaCommand | None:
    """``\\name args`` or ``.name args`` → MetaCommand; anything else → None.

    A leading ``.`` only counts when a letter (or ``?``) follows, so ``.5 of the orders`` is still a
    question. Aliases (``\\q``, ``\\exit``, ``\\?``, ``\\dt``) map to their command.
    """
    text = line.strip()
    if not text or text[0] not in "\\.":
        return None
    m = re.match(r"^[\\.]([A-Za-z][\w-]*|\?)(?:\s+(.*))?$", text, re.DOTALL)
    if m is None:
        return None
    name = m.group(1).lower()
    name = ALIASES.get(name, name)
    return MetaCommand(name=name, arg=(m.group(2) or "").strip(), raw=text.split()[0])


def help_text() -> str:
    synopses = {name: ("\\" + name + " " + arg).rstrip() for name, (arg, _) in META_COMMANDS.items()}
    width = max(len(s) for s in synopses.values())
    lines = ["Meta-commands (\\x or .x):"]
    for name, (_, desc) in META_COMMANDS.items():
        lines.append(f"  {synopses[name]:<{width}}  {desc}")
    lines.append("Anything else is a question for the model, or SQL (SELECT/WITH ...) that runs directly.")
    lines.append("After an answer, a question that starts with a cue word (only, now, and, but, by, per, sort,")
    lines.append("instead, what about, ...) or is short and names no table is a follow-up; \\new forgets it.")
    return "\n".join(lines) + "\n\n" + HELP_KEYS


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_]+", text.lower())


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def mentions_table(text: str, table_names: Iterable[str]) -> bool:
    """Whether a word of ``text`` names a table (singular/plural and ``order_items`` ~ "order items")."""
    words = _words(text)
    singular = {_singular(w) for w in words}
    joined = " ".join(words)
    for name in table_names:
        low = name.lower().split(".")[-1]
        if _singular(low) in singular or low in words:
            return True
        spaced = low.replace("_", " ")
        if " " in spaced and (spaced in joined or _singular(spaced) in joined):
            return True
    return False


def is_follow_up(question: str, table_names: Iterable[str] = ()) -> bool:
    """The follow-up rule (documented in docs/repl.md), applied only when there is a previous answer:

    1. the question starts with a cue word — only, now, and, but, same, instead, also, by, per, sort,
       order, exclude, include, just, limit, then, group, split, without, except, plus, filter,
       restrict — or with "what about", "how about", "show only/just/it/them", "with only"; or
    2. it is short (at most 4 words) and names no table ("in 2023?", "for Germany").

    Anything else ("How many products are there?") is a new question.
    """
    words = _words(question)
    if not words:
        return False
    first = words[0]
    if first in FOLLOW_UP_CUES:
        needs = _WEAK_CUES.get(first)
        if needs is None:
            return True
        if needs and len(words) > 1 and words[1] in needs:
            return True
    return len(words) <= SHORT_FOLLOW_UP_WORDS and not mentions_table(question, table_names)


def looks_like_sql(text: str, dialect: str | None = None, table_names: Iterable[str] | None = None) -> bool:
    """True when ``text`` is a query to run as typed rather than a question.

    It must start with SELECT, WITH or VALUES, parse with sqlglot, and — so that "Select all
    customers from Germany" stays a question — every table it reads must exist (when
    ``table_names`` is given; CTE names count as existing).
    """
    stripped = text.strip().rstrip(";").strip()
    first = stripped.split(None, 1)[0].lower() if stripped else ""
    if first not in SQL_START or stripped.endswith("?"):
        return False
    import sqlglot
    from sqlglot import exp

    try:
        parsed = sqlglot.parse_one(stripped, read=dialect or None)
    except Exception:  # noqa: BLE001 - sqlglot raises several error types; any means "not SQL"
        return False
    if parsed is None:
        return False
    if table_names is None:
        return True
    known = {n.lower().split(".")[-1] for n in table_names}
    known |= {cte.alias_or_name.lower() for cte in parsed.find_all(exp.CTE)}
    for table in parsed.find_all(exp.Table):
        if table.name and table.name.lower() not in known:
            return False
    return True


def _open_delimiters(text: str, *, quotes: bool) -> bool:
    """True if a quote (when ``quotes``) or a parenthesis is still open at the end of ``text``."""
    depth = 0
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            continue
        if quotes and ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
    return quote is not None or depth > 0


def input_is_complete(text: str) -> bool:
    """Whether Enter submits ``text``: not when it ends in ``\\`` or leaves a paren (or, for SQL, a
    quote) open. Quotes in English ("What's the ...") do not count, only in input starting like SQL."""
    stripped = text.rstrip()
    if not stripped:
        return True
    if parse_meta(stripped) is not None and "\n" not in stripped:
        return True
    if stripped.endswith("\\"):
        return False
    first = stripped.split(None, 1)[0].lower()
    return not _open_delimiters(stripped, quotes=first in SQL_START)


def join_continued(text: str) -> str:
    """The submitted text with ``\\``-newline continuations joined into one line."""
    return re.sub(r"[ \t]*\\[ \t]*\n[ \t]*", " ", text).strip()
