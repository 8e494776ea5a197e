"""Read each database's function catalogue into a :class:`FunctionCatalogue` (an allowlist).

One loader per backend, each asking the database itself what its functions do (see
:mod:`sqlcoder_cli.sql.functions` for why). The same policy serves both safety layers: the
statement guard checks a parsed query against the loaded catalogue, and the PostgreSQL
connection asks the server again, per statement, with :data:`PG_REFUSED_FUNCTIONS_SQL`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..sql.functions import (
    REVIEWED_TABLE_FUNCTIONS,
    REVIEWED_VOLATILE,
    SQLITE_PRAGMAS_BARE,
    SQLITE_PRAGMAS_WITH_TARGET,
    FunctionCatalogue,
)

# SQLite's function flags (sqlite3.h)
_SQLITE_DETERMINISTIC = 0x000000800
_SQLITE_DIRECTONLY = 0x000080000
_SQLITE_INNOCUOUS = 0x000200000

#: SQLite's core, date, math, JSON, aggregate and window functions (sqlite.org/lang_*func.html),
#: for builds whose ``pragma_function_list`` is unavailable (before SQLite 3.30).
SQLITE_CORE_FUNCTIONS = frozenset(
    """abs char coalesce concat concat_ws format glob hex ifnull iif instr length like likelihood
    likely lower ltrim max min nullif octet_length printf quote random randomblob replace round
    rtrim sign soundex substr substring trim typeof unhex unicode unlikely upper zeroblob
    date time datetime julianday unixepoch strftime timediff current_date current_time
    current_timestamp acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp
    floor ln log log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc json json_array
    json_array_length json_error_position json_extract json_insert json_object json_patch
    json_quote json_remove json_replace json_set json_type json_valid json_group_array
    json_group_object jsonb avg count group_concat string_agg sum total row_number rank dense_rank
    percent_rank cume_dist ntile lag lead first_value last_value nth_value regexp""".split()
)


def _pg_reviewed_array() -> str:
    return "ARRAY[" + ", ".join(f"'{name}'" for name in sorted(REVIEWED_VOLATILE["postgresql"])) + "]::text[]"


#: PostgreSQL's policy, in SQL: one row per function name with whether a query may call it and,
#: if not, why. A name is callable when every function of that name is a plain, aggregate or
#: window function, not volatile (or reviewed), and takes no cursor (``cursor_to_xml``). Every
#: core function that runs SQL given as text (``query_to_xml``, ``ts_stat``) is volatile.
PG_FUNCTION_POLICY_SQL = f"""
SELECT lower(p.proname) AS name,
       bool_and(p.prokind IN ('f', 'a', 'w')
                AND (p.provolatile <> 'v' OR lower(p.proname) = ANY ({_pg_reviewed_array()}))
                AND NOT ('refcursor'::regtype::oid = ANY (coalesce(p.proallargtypes, p.proargtypes::oid[]))))
         AS allowed,
       CASE WHEN bool_or(p.prokind = 'p') THEN 'is a procedure'
            WHEN bool_or('refcursor'::regtype::oid = ANY (coalesce(p.proallargtypes, p.proargtypes::oid[])))
              THEN 'runs SQL from a cursor'
            ELSE 'is volatile: it may change data or server state' END AS reason
  FROM pg_catalog.pg_proc p
"""
#: The same policy for a few names, returning only the refused ones (the connection's own check).
PG_REFUSED_FUNCTIONS_SQL = (
    "SELECT name, reason FROM (" + PG_FUNCTION_POLICY_SQL
    + " WHERE lower(p.proname) = ANY (%(names)s) GROUP BY 1) AS policy WHERE NOT allowed ORDER BY name"
)


def sqlite_catalogue(conn: sqlite3.Connection) -> FunctionCatalogue:
    """From ``pragma_function_list``: functions SQLite flags deterministic or innocuous, never
    direct-only (``load_extension``, ``fts3_tokenizer``), plus the reviewed volatile ones."""
    flags: dict[str, list[int]] = {}
    try:
        for name, flag in conn.execute("SELECT name, flags FROM pragma_function_list"):
            flags.setdefault(str(name).lower(), []).append(int(flag or 0))
        modules = {str(r[0]).lower() for r in conn.execute("SELECT name FROM pragma_module_list")}
    except sqlite3.Error:
        return _static_sqlite_catalogue()
    reviewed = REVIEWED_VOLATILE["sqlite"]
    allowed = {
        name
        for name, values in flags.items()
        if name in reviewed
        or all((f & (_SQLITE_DETERMINISTIC | _SQLITE_INNOCUOUS)) and not f & _SQLITE_DIRECTONLY for f in values)
    }
    pragma_tables = {f"pragma_{p}" for p in SQLITE_PRAGMAS_WITH_TARGET | SQLITE_PRAGMAS_BARE}
    table_functions = (REVIEWED_TABLE_FUNCTIONS["sqlite"] & modules) | pragma_tables
    reasons = {
        name: "is not marked safe by SQLite (direct-only or with side effects)" for name in flags if name not in allowed
    }
    return FunctionCatalogue(
        "sqlite", frozenset(allowed), frozenset(table_functions), frozenset(flags) | frozenset(modules) | pragma_tables, reasons
    )


def _static_sqlite_catalogue() -> FunctionCatalogue:
    pragma_tables = {f"pragma_{p}" for p in SQLITE_PRAGMAS_WITH_TARGET | SQLITE_PRAGMAS_BARE}
    table_functions = frozenset(REVIEWED_TABLE_FUNCTIONS["sqlite"] | pragma_tables)
    return FunctionCatalogue("sqlite", SQLITE_CORE_FUNCTIONS, table_functions, SQLITE_CORE_FUNCTIONS | table_functions)


def duckdb_catalogue(conn: Any) -> FunctionCatalogue:
    """From ``duckdb_functions()``: scalar, aggregate, window functions and macros that are not
    volatile and have no side effects (plus the reviewed ones); table functions only from the
    reviewed list of generators and catalogue views (every reader of files is refused)."""
    rows = conn.execute(
        "SELECT lower(function_name), function_type, stability, has_side_effects FROM duckdb_functions()"
    ).fetchall()
    reviewed = REVIEWED_VOLATILE["duckdb"]
    scalar_ok: dict[str, bool] = {}
    known: set[str] = set()
    tables: set[str] = set()
    for name, kind, stability, side_effects in rows:
        known.add(name)
        if kind in ("table", "table_macro"):
            tables.add(name)
            continue
        if kind == "pragma":
            continue
        safe = name in reviewed or (str(stability or "").upper() != "VOLATILE" and not side_effects)
        scalar_ok[name] = scalar_ok.get(name, True) and safe
    allowed = {name for name, ok in scalar_ok.items() if ok}
    table_functions = REVIEWED_TABLE_FUNCTIONS["duckdb"] & tables
    reasons = {name: "is volatile or has side effects" for name, ok in scalar_ok.items() if not ok}
    reasons.update({name: "is a table function that can read files or change state" for name in tables - table_functions})
    return FunctionCatalogue("duckdb", frozenset(allowed), frozenset(table_functions), frozenset(known), reasons)


def postgres_catalogue(conn: Any) -> FunctionCatalogue:
    """From ``pg_proc`` with :data:`PG_FUNCTION_POLICY_SQL`; any function may be used in FROM."""
    cur = conn.cursor()
    try:
        cur.execute(PG_FUNCTION_POLICY_SQL + " GROUP BY 1")
        rows = cur.fetchall()
    finally:
        cur.close()
    allowed = frozenset(name for name, ok, _ in rows if ok)
    reasons = {name: reason for name, ok, reason in rows if not ok}
    return FunctionCatalogue("postgresql", allowed, allowed, frozenset(name for name, _, _ in rows), reasons)


#: MySQL/MariaDB list no built-in functions in a catalogue; this reviewed list of functions that
#: only compute (or read the clock, a random generator, the session's own name and version) is used
#: instead: no SLEEP, BENCHMARK, LOAD_FILE, GET_LOCK, NEXTVAL, LAST_INSERT_ID(x), stored functions
#: or UDFs. A name not on it is refused.
MYSQL_FUNCTIONS = frozenset(
    """abs acos adddate addtime ascii asin atan atan2 avg bin bit_and bit_count bit_length bit_or
    bit_xor cast ceil ceiling char char_length character_length coalesce concat concat_ws conv
    convert cos cot count crc32 curdate current_date current_time current_timestamp curtime
    date date_add date_format date_sub datediff day dayname dayofmonth dayofweek dayofyear
    degrees div elt exp export_set extract field find_in_set floor format from_days
    from_unixtime greatest group_concat hex hour if ifnull insert instr isnull json_array
    json_arrayagg json_contains json_extract json_keys json_length json_object json_objectagg
    json_quote json_search json_type json_unquote json_valid last_day lcase least left length ln
    locate log log10 log2 lower lpad ltrim makedate maketime max md5 mid min minute mod month
    monthname now nullif oct octet_length ord period_add period_diff pi position pow power
    quarter radians rand regexp_instr regexp_like regexp_replace regexp_substr repeat replace
    reverse right round rpad rtrim sec_to_time second sha1 sha2 sign sin soundex space sqrt std
    stddev stddev_pop stddev_samp str_to_date strcmp subdate substr substring substring_index
    subtime sum sysdate tan time time_format time_to_sec timediff timestamp timestampadd
    timestampdiff to_days to_seconds trim truncate ucase unhex unix_timestamp upper utc_date
    utc_time utc_timestamp uuid var_pop var_samp variance week weekday weekofyear year yearweek
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value version database schema current_user session_user system_user user connection_id
    charset collation coercibility any_value median percentile_cont percentile_disc json_value
    json_depth json_pretty json_merge_preserve json_merge_patch json_contains_path json_overlaps
    json_set json_insert json_replace json_remove json_array_append json_array_insert
    inet_aton inet_ntoa inet6_aton inet6_ntoa is_ipv4 is_ipv6 to_base64 from_base64 sha
    microsecond convert_tz get_format weight_string nvl nvl2 chr add_months""".split()
)

#: MySQL/MariaDB functions that do more than compute, with why they are refused (for the message)
MYSQL_REFUSED: dict[str, str] = {
    **dict.fromkeys(("sleep", "benchmark"), "makes the server wait or work for nothing"),
    **dict.fromkeys(
        ("get_lock", "release_lock", "release_all_locks", "is_free_lock", "is_used_lock"),
        "takes or inspects the session's named locks",
    ),
    **dict.fromkeys(("load_file",), "reads a file on the server"),
    **dict.fromkeys(("nextval", "setval", "lastval"), "advances or sets a sequence"),
    **dict.fromkeys(("last_insert_id", "found_rows", "row_count"), "reads or sets the session's state"),
    **dict.fromkeys(
        ("master_pos_wait", "source_pos_wait", "master_gtid_wait", "wait_for_executed_gtid_set"),
        "waits on replication",
    ),
    **dict.fromkeys(("name_const", "json_table", "column_create", "column_get"), "is not on the reviewed list"),
}


def mysql_catalogue(conn: Any, backend: str = "mysql") -> FunctionCatalogue:
    """The reviewed list (:data:`MYSQL_FUNCTIONS`), less the names this server would resolve to
    code of its own: a stored function of the connection's database (``any_value()`` is one
    on MariaDB, where it is no built-in, if the database defines it) or a loadable function (UDF).

    Stored functions are read from ``information_schema.ROUTINES``, which lists every function the
    login may call; UDFs from ``mysql.func`` where the login may read it (installing one takes
    that privilege anyway). A name refused here may still be a built-in that the server would
    prefer: refusing it is the cautious side.
    """
    base = static_catalogue(backend)
    own: dict[str, str] = {}
    queries = (
        ("SELECT ROUTINE_NAME FROM information_schema.ROUTINES"
         " WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'FUNCTION'", "is a stored function of this database"),
        ("SELECT name FROM mysql.func", "is a loadable function (UDF) of this server"),
    )
    from .execute import driver_errors

    for sql, reason in queries:
        cur = conn.cursor()
        try:
            cur.execute(sql)
            rows = cur.fetchall()
        except driver_errors():  # mysql.func: not readable by a read-only login
            continue
        finally:
            cur.close()
        for (name,) in rows:
            text = name.decode() if isinstance(name, bytes) else str(name)
            own.setdefault(text.lower(), reason)
    if not own:
        return base
    return FunctionCatalogue(
        backend, base.allowed - frozenset(own), base.table_functions, base.known | frozenset(own), {**base.reasons, **own}
    )


def static_catalogue(backend: str) -> FunctionCatalogue:
    """For databases without a readable function catalogue (MySQL/MariaDB and others)."""
    if backend in ("mysql", "mariadb"):
        known = MYSQL_FUNCTIONS | frozenset(MYSQL_REFUSED)
        return FunctionCatalogue(backend, MYSQL_FUNCTIONS, frozenset(), known, dict(MYSQL_REFUSED))
    return FunctionCatalogue(backend, MYSQL_FUNCTIONS, frozenset(), MYSQL_FUNCTIONS)
