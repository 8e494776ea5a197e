"""Which functions a query may call: an allowlist taken from the database's own catalogue.

Why an allowlist from the catalogue and not a list of bad names: every database ships hundreds of
functions and extensions add more; a list of known-dangerous ones always misses the next one
(``pg_create_physical_replication_slot``, ``query_to_xml('SELECT pg_read_file(...)')``, DuckDB's
``read_duckdb``). The catalogue says what each function is: PostgreSQL marks every function that
can change anything outside the query *volatile* (``pg_proc.provolatile``), DuckDB reports
``stability``/``has_side_effects`` and lists table functions apart, SQLite flags its functions
*deterministic*/*innocuous*/*direct-only*. A query may call what the catalogue marks as free of
side effects, plus a short reviewed list of volatile functions that only read a clock or a random
generator. Everything else, including names the catalogue does not know, is refused.

The loaders that read each catalogue live in :mod:`sqlcoder_cli.db.catalogue`; this module holds
the result and the parts that depend only on SQL (what a parsed call is named).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field

from sqlglot import exp

#: Volatile functions reviewed as harmless: they read a clock or a random generator, nothing else.
REVIEWED_VOLATILE: dict[str, frozenset[str]] = {
    "postgresql": frozenset(
        {"random", "random_normal", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v4"}
    ),
    "duckdb": frozenset({"random", "gen_random_uuid", "uuid", "uuidv4", "uuidv7"}),
    # SQLite's FTS ranking and highlighting helpers carry no flags but only read the FTS index
    "sqlite": frozenset({"random", "randomblob", "bm25", "highlight", "snippet", "matchinfo", "offsets"}),
}

#: Table functions a query may read from (in FROM), per database: generators and catalogue views.
REVIEWED_TABLE_FUNCTIONS: dict[str, frozenset[str]] = {
    "duckdb": frozenset(
        {
            "range", "generate_series", "unnest", "json_each", "json_tree",
            "pragma_table_info", "pragma_show", "pragma_version", "pragma_platform", "pragma_collations",
            "pragma_database_size", "pragma_storage_info",
            "duckdb_tables", "duckdb_columns", "duckdb_views", "duckdb_schemas", "duckdb_constraints",
            "duckdb_indexes", "duckdb_types", "duckdb_sequences", "duckdb_databases", "duckdb_functions",
            "duckdb_keywords",
        }
    ),
    "sqlite": frozenset({"json_each", "json_tree"}),
}

#: SQLite PRAGMAs that only read. Those in the first set take a table, index or schema *name* as
#: their argument; the others change a setting when given an argument, so only their bare form
#: (and their ``pragma_<name>`` table function) reads.
SQLITE_PRAGMAS_WITH_TARGET = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    }
)
SQLITE_PRAGMAS_BARE = frozenset(
    {
        "database_list", "collation_list", "function_list", "module_list", "pragma_list",
        "compile_options", "encoding", "page_size", "page_count", "freelist_count", "schema_version",
        "user_version", "application_id", "data_version", "query_only", "foreign_keys",
    }
)
#: DuckDB PRAGMAs that only read (``PRAGMA table_info('t')``, ``PRAGMA show_tables``).
DUCKDB_READ_PRAGMAS = frozenset(
    {
        "table_info", "show", "show_tables", "show_tables_expanded", "show_databases", "database_list",
        "database_size", "storage_info", "metadata_info", "version", "platform", "collations",
        "functions", "user_agent", "extension_versions",
    }
)

#: Words that are written like a call but are SQL syntax, not catalogue functions (PostgreSQL
#: has no ``coalesce`` or ``row`` in pg_proc). Allowed only when the parser did not recognise
#: them as a typed expression; a typed expression is checked by its own names.
CALL_SYNTAX = frozenset({"row", "coalesce", "nullif", "greatest", "least", "grouping", "exists", "array", "cast"})


@dataclass(frozen=True)
class FunctionCatalogue:
    """The functions one database lets a query call, decided from its own catalogue.

    Names are lower case; a name is allowed only if *every* function of that name is (overloads
    and schemas are not resolved here, so one volatile overload makes the name volatile).
    """

    backend: str
    #: callable as scalar, aggregate or window functions
    allowed: frozenset[str]
    #: callable in FROM (table functions, set-returning functions)
    table_functions: frozenset[str]
    #: every name the catalogue lists, allowed or not
    known: frozenset[str]
    #: why a known name is refused ("volatile", "has side effects", ...), for the message
    reasons: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def refusal(self, name: str, *, table_function: bool = False) -> str | None:
        """None when a query may call ``name`` (in FROM if ``table_function``); else why not."""
        key = name.lower()
        if table_function:
            if key in self.table_functions:
                return None
            if key in self.known or key in self.allowed:
                return self.reasons.get(key) or "is not a table function that only reads"
            return "is not a function this database knows"
        if key in self.allowed or key in self.table_functions:  # DuckDB: SELECT unnest(...), range(3)
            return None
        if key in self.known:
            return self.reasons.get(key) or "may change data or server state"
        return "is not a function this database knows"

    def is_refused(self, name: str) -> bool:
        """True when ``name`` is a known function that a query may not call (either way)."""
        key = name.lower()
        return key in self.known and key not in self.allowed and key not in self.table_functions


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"`":
        return text[1:-1].replace(text[0] * 2, text[0])
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return text[1:-1]
    return text


def written_name(node: exp.Func, sql: str) -> str | None:
    """The function's name exactly as the statement spells it (quotes removed), if known.

    sqlglot records where a call's name token sits in the text (``meta``); the database runs
    that spelling, whatever typed expression sqlglot made of it.
    """
    if isinstance(node, exp.Anonymous):
        meta = node.meta
        if "start" in meta and "end" in meta:
            return _strip_quotes(sql[meta["start"] : meta["end"] + 1])
        return str(node.name)
    meta = node.meta
    if "start" in meta and "end" in meta:
        return _strip_quotes(sql[meta["start"] : meta["end"] + 1])
    return None


@functools.lru_cache(maxsize=16)
def names_by_class(dialect: str) -> dict[type, frozenset[str]]:
    """Every name the dialect's parser turns into each expression class.

    A call sqlglot builds through a helper (``string_agg`` → GroupConcat, ``like(a, b)`` → Like)
    carries no position, so its spelling is unknown; checking every name that can produce the
    class covers the one used. Classes that are not functions (Like) are calls written as such.
    """
    import sqlglot

    parser = sqlglot.Dialect.get_or_raise(dialect or None).parser_class
    names: dict[type, set[str]] = {}
    for name, builder in {**parser.FUNCTIONS, **parser.FUNCTION_PARSERS}.items():
        cls = getattr(builder, "__self__", None) if inspect.ismethod(builder) else None
        if isinstance(cls, type) and issubclass(cls, exp.Expression):
            names.setdefault(cls, set()).add(name.lower())
            continue
        for args in ("", "1", "1, 2", "1, 2, 3"):
            try:
                tree = sqlglot.parse_one(f"SELECT {name}({args})", read=dialect or None)
            except Exception:  # noqa: BLE001 - this arity does not parse; try the next
                continue
            select = tree.expressions[0] if isinstance(tree, exp.Select) and tree.expressions else None
            if isinstance(select, exp.Alias):
                select = select.this
            if isinstance(select, exp.Expression) and not isinstance(select, (exp.Anonymous, exp.Column, exp.Literal)):
                names.setdefault(type(select), set()).add(name.lower())
            break
    return {cls: frozenset(v) for cls, v in names.items()}


def candidate_names(node: exp.Expression, sql: str, dialect: str) -> tuple[str | None, frozenset[str]]:
    """(the spelling used, if known; every name this call could have been written with)."""
    if not isinstance(node, exp.Func):
        return None, names_by_class(dialect).get(type(node), frozenset())
    written = written_name(node, sql)
    if isinstance(node, exp.Anonymous):
        return written, frozenset({written.lower()} if written else set())
    names = {n.lower() for n in type(node).sql_names()}
    names |= names_by_class(dialect).get(type(node), frozenset())
    if written:
        names.add(written.lower())
    return written, frozenset(names)
