"""`sqlcoder sql`: the user's own SQL through the same guard, limits and output as `ask`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clitest import invoke


PG_URL = os.environ.get("SQLCODER_TEST_PG_URL")


@pytest.fixture(autouse=True)
def _home(sqlcoder_home: Path) -> None:
    """Every test with an empty SQLCODER_HOME (default db = the demo)."""


def _error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_table_output_and_row_count() -> None:
    r = invoke("sql", "SELECT COUNT(*) AS n FROM customers")
    assert r.exit_code == 0
    assert "500" in r.stdout and "1 row" in r.stderr


def test_csv_with_limit_warns_on_stderr_only() -> None:
    r = invoke("sql", "SELECT customer_id FROM customers ORDER BY 1", "--format", "csv", "--limit", "3")
    assert r.exit_code == 0
    assert r.stdout == "customer_id\n1\n2\n3\n"
    assert "warning: showing the first 3 rows" in r.stderr


def test_json_contract() -> None:
    r = invoke("sql", "SELECT customer_id, city FROM customers ORDER BY 1 LIMIT 2;", "-f", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"sql", "columns", "rows", "row_count", "truncated", "db", "timings"}
    assert data["columns"] == ["customer_id", "city"] and data["row_count"] == 2 and not data["truncated"]
    assert data["sql"].endswith("LIMIT 2") and "execute_s" in data["timings"]


def test_jsonl_is_one_line() -> None:
    r = invoke("sql", "SELECT 1 AS a", "-f", "jsonl")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 1
    assert json.loads(r.stdout)["rows"] == [[1]]


def test_markdown_and_tsv() -> None:
    assert invoke("sql", "SELECT 1 AS a", "-f", "markdown").stdout.startswith("| a |")
    assert invoke("sql", "SELECT 1 AS a, 2 AS b", "-f", "tsv").stdout == "a\tb\n1\t2\n"


def test_sql_from_stdin() -> None:
    r = invoke("sql", "-f", "csv", stdin="SELECT 7 AS seven;\n")
    assert r.exit_code == 0 and r.stdout == "seven\n7\n"
    r = invoke("sql", "-", "-f", "csv", stdin="SELECT 8 AS eight")
    assert r.stdout == "eight\n8\n"


def test_no_sql_on_a_terminal_is_a_usage_error() -> None:
    r = invoke("sql", stdin_isatty=True)
    assert r.exit_code == 2 and "no SQL given" in _error_line(r.stderr)


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("DELETE FROM customers", "DELETE"),
        ("SELECT 1; DROP TABLE customers", "one statement"),
        ("/* hi */ UPDATE customers SET city = 'x'", "UPDATE"),
        ("ATTACH '/tmp/x.db' AS x", "ATTACH"),
        ("PRAGMA query_only = 0", "PRAGMA"),
        ("SELECT writefile('/tmp/x', 'y')", "writefile"),
    ],
)
def test_writes_are_refused_with_exit_4(sql: str, needle: str) -> None:
    r = invoke("sql", sql)
    assert r.exit_code == 4
    line = _error_line(r.stderr)
    assert line.startswith("error: refused:") and needle.lower() in line.lower()
    assert r.stdout == ""


def test_database_error_exit_1() -> None:
    r = invoke("sql", "SELECT nope FROM customers")
    assert r.exit_code == 1 and "nope" in _error_line(r.stderr)


def test_all_with_whole_result_formats_is_a_usage_error() -> None:
    for fmt in ("table", "json", "markdown"):
        r = invoke("sql", "SELECT 1", "--all", "-f", fmt)
        assert r.exit_code == 2
        assert "--all cannot be used with --format" in _error_line(r.stderr)
    r = invoke("sql", "SELECT 1", "--all")
    assert r.exit_code == 2
    r = invoke("sql", "SELECT 1", "--all", "-f", "csv", "--limit", "3")
    assert r.exit_code == 2


def test_all_streams_every_row() -> None:
    r = invoke("sql", "SELECT customer_id FROM customers ORDER BY 1", "--all", "-f", "csv")
    assert r.exit_code == 0 and r.stderr == ""
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["customer_id"] and len(rows) == 501
    r = invoke("sql", "SELECT customer_id, city FROM customers ORDER BY 1", "--all", "-f", "jsonl")
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert len(lines) == 500 and set(lines[0]) == {"customer_id", "city"}


def test_timeout_option(tmp_path: Path) -> None:
    sql = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT COUNT(*) FROM c"
    r = invoke("sql", sql, "--timeout", "0.3")
    assert r.exit_code == 1 and "time limit" in _error_line(r.stderr)


def test_duckdb_dialect_guard(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "x.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t AS SELECT range AS i FROM range(5)")
    r = invoke("sql", "SELECT COUNT(*) AS n FROM t", "--db", str(path), "-f", "csv")
    assert r.stdout == "n\n5\n"
    r = invoke("sql", "SELECT * FROM read_csv('/etc/passwd')", "--db", str(path))
    assert r.exit_code == 4 and "read_csv" in r.stderr


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="SQLCODER_TEST_PG_URL is not set")
def test_postgres_password_not_shown() -> None:
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).set(password="s3cr3t-pw").render_as_string(hide_password=False)
    r = invoke("sql", "SELECT 1 AS one", "--db", url, "-f", "json")
    assert r.exit_code == 0 and "s3cr3t-pw" not in r.stdout and "***" in json.loads(r.stdout)["db"]
    r = invoke("--debug", "sql", "SELECT 's3cr3t-pw'::int", "--db", url)
    assert r.exit_code == 1 and "s3cr3t-pw" not in r.stderr + r.stdout


#: run the CLI in a child process, registering `sql` if app.py does not yet
_CHILD = textwrap.dedent(
    """
    import sys
    from sqlcoder_cli.cli.app import run
    sys.exit(run(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_ten_million_rows_stream_in_constant_memory(tmp_path: Path) -> None:
    """10,000,000 rows under --all --format csv: peak RSS of the child stays under 200 MB (~57 MB measured)."""
    fmt = "csv"
    code = textwrap.dedent(
        f"""
        import resource, subprocess, sys
        child = subprocess.run([sys.executable, "-c", {_CHILD!r}, "sql",
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10000000) "
            "SELECT n, n * 2 AS twice, 'row' AS label FROM c",
            "--all", "--format", "{fmt}", "--timeout", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = 0
        print(child.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, child.stderr.decode()[:300])
        """
    )
    # the grandchild writes into a pipe we count from, without holding the output: use a file
    out = tmp_path / "out.txt"
    code = code.replace("stdout=subprocess.PIPE", f"stdout=open({str(out)!r}, 'wb')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    rc, maxrss_kb, err = done.stdout.split(" ", 2)
    assert rc == "0", err
    with out.open("rb") as fh:
        lines = sum(1 for _ in fh)
    assert lines == 10_000_000 + (1 if fmt == "csv" else 0)
    peak_mb = int(maxrss_kb) / 1024
    print(f"peak RSS for 10M rows as {fmt}: {peak_mb:.1f} MB")
    assert peak_mb < 200
