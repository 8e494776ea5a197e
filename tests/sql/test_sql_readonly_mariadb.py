"""The two read-only layers, each with the other switched off, on a real MariaDB, logged in as root.

(a) The statement guard alone (sqlglot's MySQL dialect with the reviewed MySQL function list)
    refuses every write and side effect below, and 2,000 disguised variants of them, with
    a one-line message.
(b) The read-only connection alone (``Database.execute``, no guard) refuses every one of them too,
    and the server is unchanged afterwards, as root sees it: rows, tables, databases, a sequence,
    global settings, accounts and grants, a stored procedure, named locks, files the server could
    write, a bystander session, and our own session's read-only mode, time limit and variables.
(c) Inside the connection layer, the server's read-only transaction holds on its own for what it
    covers (writes, DDL, sequences, accounts), even with the statement check bypassed and the
    session flipped to READ WRITE by the statement before: every statement resets the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit.mariadb import admin, run_admin, scratch_database, url_for

from sqlcoder_cli.db import open_database
from sqlcoder_cli.db.catalogue import static_catalogue
from sqlcoder_cli.errors import DatabaseError, SqlcoderError, UnsafeSQLError
from sqlcoder_cli.sql.guard import check_read_only

pytestmark = pytest.mark.mariadb

#: {f}: a file the server (running as its own user) could create; {db}: the test database;
#: {user}: an account that must survive; {pid}: a bystander session's id
SIDE_EFFECTS = [
    "DELETE FROM t",
    "DELETE FROM t WHERE id > 2",
    "UPDATE t SET name = 'x'",
    "INSERT INTO t VALUES (99, 'z')",
    "INSERT INTO t SELECT id + 100, name FROM t",
    "REPLACE INTO t VALUES (1, 'r')",
    "INSERT IGNORE INTO t VALUES (98, 'y')",
    "CREATE TABLE evil (a INT)",
    "CREATE TABLE evil AS SELECT * FROM t",
    "CREATE TEMPORARY TABLE evil (a INT)",
    "CREATE OR REPLACE TABLE t (a INT)",
    "CREATE VIEW v_evil AS SELECT 1 AS a",
    "CREATE INDEX ix_evil ON t (name)",
    "CREATE DATABASE sqlcoder_evil_db",
    "CREATE SEQUENCE s_evil",
    "CREATE EVENT e_evil ON SCHEDULE EVERY 1 SECOND DO DELETE FROM t",
    "CREATE TRIGGER tr_evil BEFORE INSERT ON t FOR EACH ROW SET NEW.name = 'x'",
    "CREATE FUNCTION f_evil() RETURNS INT RETURN 1",
    "DROP TABLE t",
    "DROP DATABASE {db}",
    "DROP PROCEDURE p_keep",
    "TRUNCATE TABLE t",
    "ALTER TABLE t ADD COLUMN evil INT",
    "ALTER SEQUENCE s RESTART 100",
    "RENAME TABLE t TO t2",
    "SELECT NEXTVAL(s)",
    "SELECT NEXT VALUE FOR s",
    "SELECT SETVAL(s, 100)",
    "SELECT 1 INTO OUTFILE '{f}'",
    "SELECT * FROM t INTO DUMPFILE '{f}'",
    "SELECT id FROM t WHERE id = 1 INTO OUTFILE '{f}'",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x INTO OUTFILE '{f}'",
    "SELECT LOAD_FILE('/etc/hostname')",
    "SELECT id FROM t WHERE LOAD_FILE('/etc/hostname') IS NOT NULL",
    "LOAD DATA INFILE '/etc/hostname' INTO TABLE t",
    "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t",
    "SELECT GET_LOCK('sqlcoder_evil', 0)",
    "SELECT RELEASE_LOCK('sqlcoder_keep')",
    "SELECT RELEASE_ALL_LOCKS()",
    "SELECT * FROM (SELECT GET_LOCK('sqlcoder_evil', 0) AS g) AS x",
    "SELECT id FROM t ORDER BY GET_LOCK('sqlcoder_evil', 0)",
    "SELECT 1 LIMIT 1 OFFSET 0 PROCEDURE ANALYSE()",
    "SELECT SLEEP(3)",
    "SELECT BENCHMARK(100000000, MD5('x'))",
    "SELECT LAST_INSERT_ID(42)",
    "SELECT MASTER_POS_WAIT('x', 1, 1)",
    "SELECT f_keep()",
    "SELECT `f_keep`()",
    "SELECT {db}.f_keep()",
    "CALL p_keep()",
    "DO GET_LOCK('sqlcoder_evil', 0)",
    "DO SLEEP(0)",
    "SET GLOBAL max_connections = 77",
    "SET GLOBAL sql_mode = 'ANSI_QUOTES'",
    "SET SESSION TRANSACTION READ WRITE",
    "SET SESSION tx_read_only = 0",
    "SET SESSION max_statement_time = 0",
    "SET STATEMENT max_statement_time = 0 FOR SELECT 1",
    "SET @x = 1",
    "SELECT @x := 1",
    "SELECT id FROM t WHERE (@x := id) > 1",
    "SELECT 1 INTO @x",
    "SET autocommit = 1",
    "SET sql_mode = 'ANSI_QUOTES'",
    "SET PASSWORD = PASSWORD('evil')",
    "SET ROLE NONE",
    "START TRANSACTION READ WRITE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT x",
    "XA START 'x'",
    "LOCK TABLES t WRITE",
    "UNLOCK TABLES",
    "HANDLER t OPEN",
    "SELECT * FROM t FOR UPDATE",
    "SELECT * FROM t LOCK IN SHARE MODE",
    "SELECT * FROM t WHERE id = 1 FOR UPDATE NOWAIT",
    "FLUSH PRIVILEGES",
    "FLUSH TABLES",
    "ANALYZE TABLE t",
    "OPTIMIZE TABLE t",
    "REPAIR TABLE t",
    "CHECK TABLE t",
    "CACHE INDEX t IN hot_cache",
    "CREATE USER sqlcoder_evil",
    "GRANT ALL ON *.* TO {user}",
    "REVOKE ALL ON *.* FROM {user}",
    "DROP USER {user}",
    "ALTER USER {user} IDENTIFIED BY 'evil'",
    "RENAME USER {user} TO sqlcoder_evil",
    "KILL {pid}",
    "KILL QUERY {pid}",
    "SHUTDOWN",
    "INSTALL SONAME 'ha_blackhole'",
    "UNINSTALL SONAME 'ha_blackhole'",
    "PURGE BINARY LOGS BEFORE NOW()",
    "RESET MASTER",
    "CHANGE MASTER TO MASTER_HOST = 'evil.example'",
    "PREPARE p FROM 'DELETE FROM t'",
    "EXECUTE IMMEDIATE 'DELETE FROM t'",
    "SELECT 1; DELETE FROM t",
    "SELECT 1; SET GLOBAL max_connections = 77",
    "/*!50000 DELETE FROM t */",
    "SELECT 1 /*!50000 , LOAD_FILE('/etc/hostname') */",
    "SELECT 1 /*M!100000 , GET_LOCK('sqlcoder_evil', 0) */",
    "SELECT /*+ SET_VAR(max_statement_time = 0) */ 1",
    "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1",
    "WITH d AS (SELECT 1) DELETE FROM t",
    "VALUES (GET_LOCK('sqlcoder_evil', 0))",
    "EXPLAIN DELETE FROM t",
    "ANALYZE DELETE FROM t",
    "BINLOG 'x'",
    "HELP 'contents'",
    "SHOW GRANTS",
    "USE mysql",
]

#: calls of names on the reviewed list that MariaDB has no built-in for (MySQL 8 has): the server
#: fixture defines them as stored functions that take a named lock, so only the server's own
#: catalogue (read when the database is opened) tells both layers to refuse them
SHADOWED = [
    "SELECT ANY_VALUE(id) FROM t",
    "SELECT id FROM t WHERE regexp_like(name, 'a')",
    "SELECT name FROM t GROUP BY name HAVING MAX(regexp_like(name, '^a')) > 0",
]

#: the same statements as the guard sees them (the connection's own placeholders filled in)
FILLS = {"f": "/tmp/sqlcoder_evil_out", "db": "sqlcoder_x", "user": "sqlcoder_keep", "pid": "12345"}


def _fill(template: str, **values: str) -> str:
    return template.format(**{**FILLS, **values})


# -- (a) the statement guard alone ---------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue() -> Any:
    return static_catalogue("mariadb")


@pytest.mark.parametrize("template", SIDE_EFFECTS)
def test_guard_alone_refuses(template: str, catalogue: Any) -> None:
    sql = _fill(template)
    with pytest.raises(UnsafeSQLError) as info:
        check_read_only(sql, "mysql", functions=catalogue)
    message = str(info.value)
    assert message.startswith("refused: ") and "\n" not in message


_SEPARATORS = [" ", "  ", "\n", "\t", " /* c */ ", " -- c\n", " # c\n", "/**/", "\r\n"]
_PREFIXES = ["", "  ", "/* x */ ", "-- x\n", "# x\n", "(", "SELECT 1; "]
_SUFFIXES = ["", ";", " ;", "; SELECT 1", " -- end", " # end", ";;", "\n"]


@st.composite
def disguised(draw: Any) -> str:
    """A side effect with its words joined by comments and odd whitespace, in random case (outside
    quotes), behind a prefix and before a suffix that hide nothing."""
    sql = _fill(draw(st.sampled_from(SIDE_EFFECTS)))
    words = sql.split(" ")
    out = []
    for i, word in enumerate(words):
        if "'" not in word and "`" not in word:
            word = draw(st.sampled_from([word, word.lower(), word.upper(), word.swapcase()]))
        out.append(word if i == 0 else draw(st.sampled_from(_SEPARATORS)) + word)
    return draw(st.sampled_from(_PREFIXES)) + "".join(out) + draw(st.sampled_from(_SUFFIXES))


@settings(max_examples=2000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(disguised())
def test_guard_alone_refuses_disguised(sql: str) -> None:
    with pytest.raises(UnsafeSQLError):
        check_read_only(sql, "mysql", functions=static_catalogue("mariadb"))


def test_guard_lets_ordinary_queries_through(catalogue: Any) -> None:
    for sql in QUERIES:
        check_read_only(sql, "mysql", functions=catalogue)


# -- (b) the read-only connection alone, as root --------------------------------------------------

#: queries an analyst writes: both layers must let them through (and they must run)
QUERIES = [
    "SELECT id, name FROM t WHERE name LIKE 'a%' ORDER BY id",
    "SELECT COUNT(*) AS n, MAX(id) FROM t GROUP BY name HAVING COUNT(*) > 0 ORDER BY n DESC LIMIT 3",
    "WITH RECURSIVE c (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT SUM(n) FROM c",
    "SELECT name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY id) AS rn FROM t",
    "SELECT CAST(id AS DECIMAL(10, 2)), CAST(name AS CHAR(3)), CONVERT(name USING utf8mb4) FROM t",
    "SELECT GROUP_CONCAT(name ORDER BY id SEPARATOR ', ') FROM t",
    "SELECT DATE_FORMAT(NOW(), '%Y') > '2000', DATE_ADD('2024-01-31', INTERVAL 1 MONTH), CURRENT_DATE IS NOT NULL",
    "SELECT t1.id FROM t AS t1 JOIN t AS t2 ON t2.id = t1.id WHERE t1.id IN (SELECT id FROM t WHERE id < 3)",
    "SELECT x.a FROM (SELECT id AS a FROM t) AS x WHERE EXISTS (SELECT 1 FROM t WHERE t.id = x.a)",
    "SELECT 'it''s', 'back\\\\slash', \"dq\", `name` FROM t LIMIT 1",
    "SELECT id FROM t WHERE name REGEXP '^[a-c]' AND id BETWEEN 1 AND 4 OR id = 5 XOR FALSE",
    "SELECT IF(id > 2, 'big', 'small'), IFNULL(NULL, 1), COALESCE(NULL, name), CASE WHEN id = 1 THEN 'one' END FROM t",
    "SELECT id FROM t UNION ALL SELECT id FROM t ORDER BY 1 LIMIT 2",
    "(SELECT id FROM t WHERE id = 1) UNION (SELECT id FROM t WHERE id = 2)",
    "SELECT 1 --1",
    "SELECT id FROM t # a comment\n WHERE id = 1",
    "SELECT id FROM t -- a comment\n WHERE id = 1;",
    "SELECT @@version IS NOT NULL, VERSION() IS NOT NULL",
    "SELECT LEFT(name, 1), RIGHT(name, 1), INSERT(name, 1, 0, 'x'), REPLACE(name, 'a', 'b'), REPEAT(name, 2) FROM t",
]


@pytest.fixture
def server() -> Iterator[dict[str, Any]]:
    """A database with t (5 rows), a sequence, a stored function and procedure, an account and a
    bystander session holding a named lock, all of which must survive."""
    ddl = (
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10))",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')",
        "CREATE SEQUENCE s",
        "CREATE FUNCTION f_keep() RETURNS INT RETURN GET_LOCK('sqlcoder_fn', 0)",
        "CREATE PROCEDURE p_keep() BEGIN SET GLOBAL max_connections = 78; DELETE FROM t; END",
        "CREATE FUNCTION any_value(x INT) RETURNS INT RETURN x + GET_LOCK('sqlcoder_fn', 0)",
        "CREATE FUNCTION regexp_like(x TEXT, y TEXT) RETURNS INT RETURN GET_LOCK('sqlcoder_fn', 0)",
    )
    user = f"sqlcoder_keep_{uuid.uuid4().hex[:6]}"
    with scratch_database("sqlcoder_ro", ddl) as name:
        run_admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'", f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
        bystander = admin(name)
        try:
            with bystander.cursor() as cur:
                cur.execute("SELECT GET_LOCK('sqlcoder_keep', 0)")
                assert cur.fetchone() == (1,)
            yield {"db": name, "user": f"'{user}'@'%'", "account": user, "pid": str(bystander.thread_id()),
                   "bystander": bystander, "f": f"/tmp/sqlcoder_evil_{uuid.uuid4().hex[:8]}"}
        finally:
            bystander.close()
            run_admin(f"DROP USER IF EXISTS '{user}'@'%'", "DROP DATABASE IF EXISTS sqlcoder_evil_db")
            run_admin("DROP USER IF EXISTS sqlcoder_evil", "SET GLOBAL max_connections = DEFAULT", "SET GLOBAL sql_mode = DEFAULT")


def _state(server: dict[str, Any]) -> Any:
    """Everything the side effects could change, as root sees it."""
    db = server["db"]
    return (
        run_admin("SELECT id, name FROM t ORDER BY id", database=db),
        run_admin(f"SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' ORDER BY 1"),
        run_admin("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1"),
        run_admin("SELECT next_not_cached_value FROM s", database=db),
        run_admin(f"SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}' ORDER BY 1"),
        run_admin("SELECT @@GLOBAL.max_connections, @@GLOBAL.sql_mode, @@GLOBAL.read_only"),
        run_admin("SELECT User, Host, authentication_string FROM mysql.user ORDER BY 1, 2"),
        run_admin("SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES ORDER BY 1, 2"),
        run_admin("SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES ORDER BY 1, 2, 3"),
        run_admin("SELECT IS_USED_LOCK('sqlcoder_keep'), IS_USED_LOCK('sqlcoder_evil'), IS_USED_LOCK('sqlcoder_fn')"),
        run_admin(f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {server['pid']}"),
        run_admin("SELECT COUNT(*) FROM information_schema.EVENTS"),
        run_admin(f"SELECT LOAD_FILE('{server['f']}') IS NULL"),
    )


def test_guard_alone_with_the_servers_catalogue(server: dict[str, Any]) -> None:
    """The guard with the catalogue a real connection reads (``Database.functions``): the reviewed
    list less this database's stored functions, so names MariaDB would resolve to them are refused."""
    before = _state(server)
    with open_database(url_for(server["db"])) as db:
        catalogue = db.functions
    assert catalogue.refusal("any_value") == catalogue.refusal("regexp_like") == "is a stored function of this database"
    assert catalogue.refusal("f_keep") == "is a stored function of this database"
    assert static_catalogue("mariadb").refusal("any_value") is None  # what the list alone would allow
    for template in SIDE_EFFECTS + SHADOWED:
        with pytest.raises(UnsafeSQLError) as info:
            check_read_only(template.format(**server), "mysql", functions=catalogue)
        assert str(info.value).startswith("refused: ") and "\n" not in str(info.value)
    for sql in QUERIES:
        if " REGEXP " in sql:
            # the cautious side: sqlglot makes the REGEXP operator a REGEXP_LIKE call, and this
            # database has a function of that name, so the guard refuses it (the connection runs it)
            with pytest.raises(UnsafeSQLError, match=r"regexp_like\(\) is a stored function of this database"):
                check_read_only(sql, "mysql", functions=catalogue)
            continue
        check_read_only(sql, "mysql", functions=catalogue)
    assert _state(server) == before


def test_connection_alone_refuses_everything_and_changes_nothing(server: dict[str, Any]) -> None:
    url = url_for(server["db"])
    before = _state(server)
    with open_database(url, timeout_s=5) as db:
        privileges = db.privileges()
        assert privileges is not None and privileges.superuser  # the most privileged login there is
        for template in SIDE_EFFECTS + SHADOWED:
            sql = template.format(**server)
            with pytest.raises(DatabaseError) as info:
                db.execute(sql)
                pytest.fail(f"the connection ran {sql!r}")
            assert "\n" not in str(info.value)
        for sql in QUERIES:
            db.execute(sql)  # what a query needs still runs
        # our own session: still read-only, still time-limited, no variable set
        session = db.execute("SELECT @@tx_read_only, @@max_statement_time, @@autocommit, @x, @@sql_mode").rows
        assert session[0][:4] == (1, 5.0, 0, None) and "ANSI_QUOTES" not in session[0][4]
        with server["bystander"].cursor() as cur:  # the other session is alive and keeps its lock
            cur.execute("SELECT IS_USED_LOCK('sqlcoder_keep') = CONNECTION_ID()")
            assert cur.fetchone() == (1,)
        during = _state(server)
    assert during == before
    assert _state(server) == before
    assert not os.path.exists(server["f"])


def test_connection_alone_refuses_disguised(server: dict[str, Any]) -> None:
    """Disguised and multi-statement variants: none changes anything (most are refused outright;
    the rest must be harmless: a prefix query that runs alone, say)."""
    url = url_for(server["db"])
    before = _state(server)
    outcomes = {"refused": 0, "ran": 0}
    with open_database(url, timeout_s=5) as db:

        @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(disguised())
        def run(sql: str) -> None:
            sql = sql.replace(FILLS["f"], server["f"]).replace(FILLS["db"], server["db"])
            sql = sql.replace(FILLS["user"], server["user"]).replace(FILLS["pid"], server["pid"])
            try:
                db.execute(sql)
                outcomes["ran"] += 1
            except SqlcoderError:
                outcomes["refused"] += 1

        run()
        assert db.execute("SELECT @@tx_read_only, @@max_statement_time").rows == [(1, 5.0)]
    assert _state(server) == before
    assert outcomes["ran"] == 0, outcomes


# -- (c) the server's read-only transaction alone ------------------------------------------------------


SERVER_REFUSES = [
    "DELETE FROM t",
    "UPDATE t SET name = 'x'",
    "INSERT INTO t VALUES (99, 'z')",
    "REPLACE INTO t VALUES (1, 'r')",
    "CREATE TABLE evil (a INT)",
    "CREATE TEMPORARY TABLE evil (a INT)",
    "CREATE VIEW v_evil AS SELECT 1 AS a",
    "DROP TABLE t",
    "TRUNCATE TABLE t",
    "ALTER TABLE t ADD COLUMN evil INT",
    "SELECT NEXTVAL(s)",
    "SELECT SETVAL(s, 100)",
    "CREATE USER sqlcoder_evil",
    "SELECT * FROM t FOR UPDATE",
    "LOAD DATA INFILE '/etc/hostname' INTO TABLE t",
]


def test_the_read_only_transaction_holds_without_the_statement_check(
    server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlcoder_cli.db import mysql

    monkeypatch.setattr(mysql, "inspect_statement", lambda _sql, **_kw: frozenset())
    before = _state(server)
    with open_database(url_for(server["db"])) as db:
        for sql in SERVER_REFUSES:
            # the statement before flips the session back to READ WRITE: every statement resets it
            db.execute("SET SESSION TRANSACTION READ WRITE")
            with pytest.raises(DatabaseError, match="read-only connection refused|READ ONLY"):
                db.execute(sql)
                pytest.fail(f"the server ran {sql!r}")
    assert _state(server) == before
