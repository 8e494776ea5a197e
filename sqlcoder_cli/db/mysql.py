"""MySQL's and MariaDB's read-only connection: a layer that holds by itself, even for root.

A read-only transaction refuses writes to tables, DDL, sequences and grants, but not what the
server does outside the transaction: ``SELECT ... INTO OUTFILE`` writes a file, ``LOAD_FILE()``
reads one, ``GET_LOCK()`` holds a lock for the session, ``SET GLOBAL`` / ``FLUSH`` / ``KILL`` /
``SHUTDOWN`` act on the server, ``SET SESSION TRANSACTION READ WRITE`` lifts the session's
read-only mode for the next statement, and a versioned comment (``/*!50000 ... */``) is run by the
server while every other parser takes it for a comment. There is no MySQL parser to ask from
Python, so, independently of the statement guard and of sqlglot, the connection:

1. reads the statement with MySQL's own lexical rules (:func:`tokens`: ``#`` and ``-- ``
   comments, ``--1`` being two minus signs, backslash escapes in strings, backquoted names) in a
   session whose ``sql_mode`` it has pinned to those rules (no ``ANSI_QUOTES``,
   ``NO_BACKSLASH_ESCAPES``, ``PIPES_AS_CONCAT``, ``IGNORE_SPACE``, ``ORACLE``...), and allows
   exactly one statement that begins with ``SELECT``, ``WITH``, ``VALUES``, ``TABLE`` or ``(``,
   has no versioned comment or optimizer hint, no ``:=``, uses only the reserved words a query
   needs (so no ``INTO``, ``FOR UPDATE``, ``LOCK IN SHARE MODE``, ``PROCEDURE``, ``SET``-as-
   statement...), and calls only functions on the reviewed list of
   :data:`sqlcoder_cli.db.catalogue.MYSQL_FUNCTIONS`, less any name the server would resolve to a
   stored function of the database or a UDF (:func:`sqlcoder_cli.db.catalogue.mysql_catalogue`;
   never a backquoted or schema-qualified call);
2. before every statement sets the session read-only again (with the time limit and the
   ``sql_mode``) and opens the statement's own transaction with ``START TRANSACTION READ ONLY``;
   every transaction is rolled back;
3. is opened without ``CLIENT_MULTI_STATEMENTS`` and without ``LOCAL INFILE``, so the server
   itself refuses a second statement and the client never sends a file.

The time limit is the server's: ``max_statement_time`` (seconds) on MariaDB, ``max_execution_time``
(milliseconds, SELECT only, which is all that runs) on MySQL. Ctrl-C and the row cap stop a query
with ``KILL QUERY`` from a second connection, as the ``mysql`` client does.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .execute import refused as _refuse
from .postgres import Privileges

#: CLIENT_MULTI_STATEMENTS and CLIENT_LOCAL_FILES (mysql_com.h), never sent by this client
_CLIENT_MULTI_STATEMENTS = 1 << 16
_CLIENT_LOCAL_FILES = 1 << 7

#: sql_mode flags that change how the server reads a statement; the session drops them so that it
#: reads statements as :func:`tokens` and sqlglot's MySQL dialect do
PARSE_CHANGING_MODES = frozenset(
    {
        "ANSI", "ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "PIPES_AS_CONCAT", "IGNORE_SPACE", "HIGH_NOT_PRECEDENCE",
        "ORACLE", "MSSQL", "DB2", "POSTGRESQL", "MAXDB", "SIMULTANEOUS_ASSIGNMENT", "EMPTY_STRING_IS_NULL",
    }
)

#: MariaDB's reserved words (10.11: each keyword the server refuses as an unquoted alias), never a
#: name unless backquoted. A statement may use only those in :data:`QUERY_WORDS`; the others belong
#: to statements or clauses that do not only read (INTO, FOR UPDATE, LOCK, PROCEDURE, ...).
MARIADB_RESERVED = frozenset(
    """accessible add all alter analyze and as asc asensitive before between bigint binary blob both by
    call cascade case change char character check collate column condition constraint continue convert
    create cross current_date current_role current_time current_timestamp current_user cursor databases
    day_hour day_microsecond day_minute day_second dec decimal declare default delayed delete
    delete_domain_id desc describe deterministic distinct distinctrow div do_domain_ids double drop dual
    each else elseif enclosed escaped except exists exit explain false fetch float float4 float8 for force
    foreign from fulltext grant group having high_priority hour_microsecond hour_minute hour_second if
    ignore ignore_domain_ids in index infile inner inout insensitive insert int int1 int2 int3 int4 int8
    integer intersect interval into is iterate join key keys kill leading leave left like limit linear
    lines load localtime localtimestamp lock long longblob longtext loop low_priority
    master_demote_to_replica master_demote_to_slave master_ssl_verify_server_cert match maxvalue
    mediumblob mediumint mediumtext middleint minute_microsecond minute_second mod modifies natural
    no_write_to_binlog not null numeric offset on optimize optionally or order out outer outfile over
    page_checksum parse_vcol_expr partition portion precision primary procedure purge range read
    read_write reads real recursive ref_system_id references regexp release rename repeat replace require
    resignal restrict return returning revoke right rlike row_number rows schemas second_microsecond
    select sensitive separator set show signal smallint spatial specific sql sql_big_result
    sql_calc_found_rows sql_small_result sqlexception sqlstate sqlwarning ssl starting stats_auto_recalc
    stats_persistent stats_sample_pages straight_join table terminated then tinyblob tinyint tinytext to
    trailing trigger true undo union unique unlock unsigned update usage use using utc_date utc_time
    utc_timestamp values varbinary varchar varcharacter varying when where while window with write xor
    year_month zerofill""".split()
)
#: MySQL 8's reserved words that MariaDB reads as names (for a MySQL server, or one not yet known)
MYSQL_ONLY_RESERVED = frozenset(
    """cube cume_dist database dense_rank empty first_value function generated get grouping groups
    io_after_gtids io_before_gtids json_table lag last_value lateral lead manual master_bind nth_value
    ntile of optimizer_costs option parallel percent_rank qualify rank row schema stored system
    tablesample virtual""".split()
)


def reserved_words(mariadb: bool | None) -> frozenset[str]:
    """The server's reserved words (both lists when the server is not known)."""
    return MARIADB_RESERVED if mariadb else MARIADB_RESERVED | MYSQL_ONLY_RESERVED


#: reserved words a query needs: clauses, operators, literals, interval units, the types CAST and
#: CONVERT take, index hints (``USE INDEX (i)``) and the SELECT modifiers that only tune a read
QUERY_WORDS = frozenset(
    """all and as asc between bigint binary both by case char character collate convert cross
    current_date current_role current_time current_timestamp current_user day_hour day_microsecond
    day_minute day_second dec decimal desc distinct distinctrow div double dual else except exists false
    fetch float float4 float8 force from group groups having high_priority hour_microsecond hour_minute
    hour_second ignore in index inner int int1 int2 int3 int4 int8 integer intersect interval is join key
    keys lateral leading left like limit localtime localtimestamp match mediumint middleint
    minute_microsecond minute_second mod natural not null numeric of offset on or order outer over
    partition precision range real recursive regexp right rlike row rows second_microsecond select
    separator set smallint sql_big_result sql_calc_found_rows sql_small_result straight_join then tinyint
    trailing true union unsigned use using utc_date utc_time utc_timestamp values varbinary varchar
    varcharacter varying when where window with xor year_month""".split()
)

#: words that a parenthesis may follow without being a call: subqueries, lists, window and index
#: specifications, and the type names CAST/CONVERT take (``DECIMAL(10, 2)``)
PAREN_SYNTAX = frozenset(
    """against all and any as between binary by case char convert dec decimal distinct div else except
    exists float from having in index intersect interval is join key lateral like match mod not numeric on
    or over partition recursive regexp rlike row select some then union using values varbinary varchar
    when where window with xor""".split()
)

#: how a statement may begin
_FIRST_WORDS = frozenset({"select", "with", "values", "table"})

_WHITESPACE = " \t\n\r\f\v"
_WORD_RE = re.compile(r"[0-9A-Za-z_$\u0080-\uffff]+")
_VARIABLE_RE = re.compile(r"[0-9A-Za-z_$.\u0080-\uffff]*")
_OPERATOR_CHARS = set("+-*/%=<>!&|^~,.;:?@{}()")


@dataclass(frozen=True)
class Token:
    """One lexical token: ``kind`` is word, name (backquoted), string, variable or op."""

    kind: str
    text: str
    start: int


def _scan_quoted(sql: str, i: int, quote: str, *, backslash: bool) -> int:
    """The index after the closing ``quote`` of the literal starting at ``i``; doubled quotes
    and (in strings) backslash escapes stay inside it."""
    n = len(sql)
    j = i + 1
    while j < n:
        ch = sql[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise _refuse("a quoted string or name is not closed")


def tokens(sql: str) -> Iterator[Token]:
    """The statement's tokens as MySQL/MariaDB read it (comments skipped); refuses what the server
    would run that looks like a comment, and characters its lexer would read differently."""
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch == "#" or (sql.startswith("--", i) and (i + 2 >= n or sql[i + 2] in _WHITESPACE or ord(sql[i + 2]) < 32)):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            if sql.startswith("/*!", i) or sql.startswith("/*M!", i) or sql.startswith("/*m!", i):
                raise _refuse("versioned comments (/*! ... */) are run by the server")
            if sql.startswith("/*+", i):
                raise _refuse("optimizer hints (/*+ ... */) can change session settings")
            end = sql.find("*/", i + 2)
            if end < 0:
                raise _refuse("a comment is not closed")
            i = end + 2
            continue
        if ch in "'\"":
            end = _scan_quoted(sql, i, ch, backslash=True)
            yield Token("string", sql[i:end], i)
            i = end
            continue
        if ch == "`":
            end = _scan_quoted(sql, i, "`", backslash=False)
            yield Token("name", sql[i + 1 : end - 1].replace("``", "`"), i)
            i = end
            continue
        if ch == "@":
            j = i + 1
            if j < n and sql[j] == "@":
                j += 1
            if j < n and sql[j] in "'\"`":
                j = _scan_quoted(sql, j, sql[j], backslash=sql[j] != "`")
            else:
                j = _VARIABLE_RE.match(sql, j).end()  # type: ignore[union-attr] - it matches ""
            yield Token("variable", sql[i:j], i)
            i = j
            continue
        m = _WORD_RE.match(sql, i)
        if m:
            yield Token("word", m.group(0), i)
            i = m.end()
            continue
        if ch in _OPERATOR_CHARS:
            if sql.startswith(":=", i):
                yield Token("op", ":=", i)
                i += 2
                continue
            yield Token("op", ch, i)
            i += 1
            continue
        raise _refuse(f"the character {ch!r} is not read the same way by every parser")


def _closing(toks: list[Token], open_index: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``open_index`` (len(toks) if unbalanced)."""
    depth = 0
    for k in range(open_index, len(toks)):
        if toks[k].kind == "op" and toks[k].text == "(":
            depth += 1
        elif toks[k].kind == "op" and toks[k].text == ")":
            depth -= 1
            if depth == 0:
                return k
    return len(toks)


def inspect_statement(sql: str, *, mariadb: bool | None = None) -> frozenset[str]:
    """The functions one reading statement calls (lower case); raises the connection's refusal if
    ``sql`` is not exactly one query in the shape described in the module docstring. ``mariadb``:
    which server's reserved words apply (None: both)."""
    reserved = reserved_words(mariadb)
    toks = list(tokens(sql))
    while toks and toks[-1].kind == "op" and toks[-1].text == ";":
        toks.pop()
    if not toks:
        raise _refuse("the statement is empty")
    first = next((t for t in toks if not (t.kind == "op" and t.text == "(")), None)
    if first is None or first.kind != "word" or first.text.lower() not in _FIRST_WORDS:
        word = first.text.upper() if first is not None and first.kind == "word" else "this"
        raise _refuse(f"{word} statements are not queries")
    calls: set[str] = set()
    for k, tok in enumerate(toks):
        following = toks[k + 1] if k + 1 < len(toks) else None
        before = toks[k - 1] if k > 0 else None
        if tok.kind == "op":
            if tok.text == ";":
                raise _refuse("only one statement may run at a time")
            if tok.text == ":=":
                raise _refuse("assigning a user variable (:=) changes the session")
            continue
        if tok.kind not in ("word", "name"):
            continue
        word = tok.text.lower()
        called = following is not None and following.kind == "op" and following.text == "("
        if tok.kind == "word" and called and word in PAREN_SYNTAX:
            continue
        if tok.kind == "word" and word in reserved and not called:
            if word in QUERY_WORDS or (word == "table" and tok is first):
                continue
            if word == "for" and following is not None and following.kind == "word" and following.text.lower() == "system_time":
                continue  # MariaDB's system-versioned tables: FOR SYSTEM_TIME AS OF ...
            raise _refuse(f"{tok.text.upper()} does not belong in a query that only reads")
        if not called:
            continue
        # a name followed by "(": a call, unless it names the columns of a CTE or an alias
        if before is not None and before.kind == "word" and before.text.lower() == "as":
            continue  # AS alias (a, b) and CAST(x AS type(n))
        close = _closing(toks, k + 1)
        after = toks[close + 1 : close + 3]
        if len(after) == 2 and after[0].kind == "word" and after[0].text.lower() == "as" and after[1].text == "(":
            continue  # WITH name (a, b) AS (...)
        if before is not None and before.kind == "op" and before.text == ".":
            raise _refuse(f"{tok.text}() is a schema-qualified call (a stored function)")
        if tok.kind == "name":
            raise _refuse(f"`{tok.text}`() calls a stored function")
        calls.add(word)
    return frozenset(calls)


def check_statement(dbapi_connection: Any, sql: str, catalogue: Any) -> None:
    """Refuse ``sql`` unless it is one query calling only reviewed functions, then open its
    read-only transaction (see the module docstring); raises :class:`DatabaseError`."""
    session = _SESSIONS.get(_raw(dbapi_connection))
    for name in sorted(inspect_statement(sql, mariadb=session.mariadb if session else None)):
        reason = catalogue.refusal(name)
        if reason:
            raise _refuse(f"{name}() {reason}")
    begin_read_only(dbapi_connection)


# -- the session ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What one server needs to be told before every statement."""

    mariadb: bool
    sql_mode: str
    timeout_s: float | None

    def statement(self) -> str:
        """One ``SET`` for the session: read-only transactions, the time limit, the sql_mode."""
        read_only = "tx_read_only" if self.mariadb else "transaction_read_only"
        seconds = float(self.timeout_s) if self.timeout_s and self.timeout_s > 0 else 0.0
        limit = (
            f"max_statement_time = {seconds:.3f}" if self.mariadb else f"max_execution_time = {int(round(seconds * 1000))}"
        )
        mode = self.sql_mode.replace("'", "")
        return f"SET SESSION {read_only} = 1, SESSION {limit}, SESSION sql_mode = '{mode}'"


_SESSIONS: weakref.WeakKeyDictionary[Any, Session] = weakref.WeakKeyDictionary()


def _raw(dbapi_connection: Any) -> Any:
    return getattr(dbapi_connection, "driver_connection", None) or dbapi_connection


def _read_session(dbapi_connection: Any, timeout_s: float | None) -> Session:
    cur = dbapi_connection.cursor()
    try:
        cur.execute("SELECT VERSION(), @@SESSION.sql_mode")
        version, mode = cur.fetchone()
    finally:
        cur.close()
    version = version.decode() if isinstance(version, bytes) else str(version or "")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode or "")
    kept = [flag for flag in mode.split(",") if flag and flag.strip().upper() not in PARSE_CHANGING_MODES]
    return Session("mariadb" in version.lower(), ",".join(kept), timeout_s)


def on_connect(timeout_s: float | None) -> Callable[[Any, Any], None]:
    """Session settings for every new connection (see :class:`Session`)."""

    def setup(dbapi_connection: Any, _record: Any) -> None:
        session = _read_session(dbapi_connection, timeout_s)
        try:
            _SESSIONS[_raw(dbapi_connection)] = session
        except TypeError:  # a driver connection that cannot be weakly referenced
            pass
        cur = dbapi_connection.cursor()
        try:
            cur.execute(session.statement())
        finally:
            cur.close()
        dbapi_connection.commit()

    return setup


def begin_read_only(dbapi_connection: Any) -> None:
    """Before each statement: the session read-only again, then the statement's own read-only
    transaction (it ends any open one first; a query can change neither inside it)."""
    session = _SESSIONS.get(_raw(dbapi_connection))
    if session is None:
        session = _read_session(dbapi_connection, None)
    cur = dbapi_connection.cursor()
    try:
        cur.execute(session.statement())
        cur.execute("START TRANSACTION READ ONLY")
    finally:
        cur.close()


def on_do_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    """Connect without multi-statement support and without LOCAL INFILE, whatever the URL says."""
    flags = int(cparams.get("client_flag", 0) or 0)
    cparams["client_flag"] = flags & ~_CLIENT_MULTI_STATEMENTS & ~_CLIENT_LOCAL_FILES
    cparams["local_infile"] = False
    cparams.setdefault("connect_timeout", 10)


def cancel_function(dbapi_connection: Any) -> Callable[[], None] | None:
    """A callable that stops the statement running on ``dbapi_connection`` with ``KILL QUERY``,
    sent on a second connection with the same credentials (PyMySQL only; else None)."""
    raw = _raw(dbapi_connection)
    if not all(hasattr(raw, name) for name in ("thread_id", "host", "port", "user", "password", "ctx")):
        return None
    try:
        import pymysql
    except ImportError:
        return None
    thread_id = int(raw.thread_id())
    user = raw.user.decode(raw.encoding) if isinstance(raw.user, bytes) else raw.user
    params: dict[str, Any] = {
        "host": raw.host, "port": raw.port, "user": user, "password": raw.password,
        "unix_socket": getattr(raw, "unix_socket", None), "connect_timeout": 5,
    }
    if getattr(raw, "_ssl_required", False) and raw.ctx is not None:
        params["ssl"] = raw.ctx

    def kill() -> None:
        killer = pymysql.connect(**params)
        try:
            with killer.cursor() as cur:
                cur.execute(f"KILL QUERY {thread_id:d}")
        finally:
            killer.close()

    return kill


# -- the login's rights ---------------------------------------------------------------------------

#: the two lines docs/safety.md and ``doctor`` show: an account that can only read one database
READ_ONLY_ACCOUNT_SQL = (
    "CREATE USER 'sqlcoder_reader'@'%' IDENTIFIED BY 'choose-a-password';",
    "GRANT SELECT, SHOW VIEW ON your_database.* TO 'sqlcoder_reader'@'%';",
)

_WRITE_PRIVILEGES = "('INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER', 'CREATE', 'INDEX', 'TRIGGER', 'DELETE HISTORY')"
_SYSTEM_SCHEMAS = "('mysql', 'information_schema', 'performance_schema', 'sys')"


@dataclass(frozen=True)
class MySQLPrivileges(Privileges):
    """:class:`~sqlcoder_cli.db.postgres.Privileges` for a MySQL/MariaDB account."""

    @property
    def read_only_sql(self) -> tuple[str, ...]:
        return READ_ONLY_ACCOUNT_SQL


def _grantee(account: str) -> str:
    """``user@host`` (CURRENT_USER()) as information_schema writes a grantee: ``'user'@'host'``."""
    user, _, host = account.rpartition("@")
    if not user:
        return "'" + account.replace("'", "''") + "'"
    return "'" + user.replace("'", "''") + "'@'" + host.replace("'", "''") + "'"


def privileges(dbapi_connection: Any) -> MySQLPrivileges:
    """Whether the login has SUPER, and how many tables it could change, from information_schema
    (which shows a login its own grants, and those of its enabled role)."""
    cur = dbapi_connection.cursor()
    try:
        cur.execute("SELECT CURRENT_USER(), CURRENT_ROLE()")
        account, role = cur.fetchone()
        grantees = [_grantee(str(account))]
        if role and str(role).upper() != "NONE":
            for name in str(role).split(","):
                name = name.strip().replace("`", "")
                grantees.append(_grantee(name) if "@" in name else "'" + name.replace("'", "''") + "'")
        who = ", ".join("'" + g.replace("\\", "\\\\").replace("'", "\\'") + "'" for g in grantees)
        cur.execute(
            f"SELECT EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN ({who})"
            f"  AND PRIVILEGE_TYPE = 'SUPER'),"
            f" (SELECT COUNT(*) FROM information_schema.TABLES t WHERE t.TABLE_TYPE = 'BASE TABLE'"
            f"  AND t.TABLE_SCHEMA NOT IN {_SYSTEM_SCHEMAS} AND ("
            f"   EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES p WHERE p.GRANTEE IN ({who})"
            f"     AND p.PRIVILEGE_TYPE IN {_WRITE_PRIVILEGES})"
            f"   OR EXISTS (SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES p WHERE p.GRANTEE IN ({who})"
            f"     AND t.TABLE_SCHEMA LIKE p.TABLE_SCHEMA AND p.PRIVILEGE_TYPE IN {_WRITE_PRIVILEGES})"
            f"   OR EXISTS (SELECT 1 FROM information_schema.TABLE_PRIVILEGES p WHERE p.GRANTEE IN ({who})"
            f"     AND p.TABLE_SCHEMA = t.TABLE_SCHEMA AND p.TABLE_NAME = t.TABLE_NAME"
            f"     AND p.PRIVILEGE_TYPE IN {_WRITE_PRIVILEGES})))"
        )
        superuser, writable = cur.fetchone()
    finally:
        cur.close()
    return MySQLPrivileges(str(account), bool(superuser), int(writable or 0))
