"""The REPL in-process and through `sqlcoder repl` with piped input: fast, tiny or no model."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cli.clitest import invoke
from repltest import make_repl

from sqlcoder_cli.data import demo_database_path


def _demo_count(sql: str) -> int:
    with sqlite3.connect(demo_database_path()) as conn:
        return conn.execute(sql).fetchone()[0]


def test_piped_meta_commands_and_typed_sql(sqlcoder_home: Path, tmp_path: Path) -> None:
    script = "\n".join(
        [
            "\\tables",
            ".schema orders",
            "select count(*) as n from customers;",
            "\\explain",
            "\\format csv",
            "select name, unit_price from products \\",
            "  order by unit_price desc",
            ".limit 2",
            "\\run",
            f"\\save {tmp_path / 'q.sql'}",
            f"\\export {tmp_path / 'all.json'}",
            f"\\export {tmp_path / 'all.csv'}",
            "\\bogus",
            "\\quit",
            "select 1",  # never reached
        ]
    )
    result = invoke("repl", "--model", "/nowhere/none.gguf", stdin=script + "\n")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "order_items" in out and "CREATE TABLE orders" in out
    assert str(_demo_count("select count(*) from customers")) in out
    assert "QUERY PLAN" in out and "customers" in out.split("QUERY PLAN", 1)[1]
    assert out.count("name,unit_price") == 2  # the query, then \run with the limit of 2
    last = out.rsplit("name,unit_price", 1)[1].strip().splitlines()
    assert len(last) == 2
    assert (tmp_path / "q.sql").read_text().startswith("select name, unit_price from products order by unit_price desc")
    rows = json.loads((tmp_path / "all.json").read_text())
    assert len(rows) == _demo_count("select count(*) from products")  # every row, not just the limit
    assert (tmp_path / "all.csv").read_text().count("\n") == len(rows) + 1
    err = result.stderr
    assert "error: unknown command \\bogus (\\help lists the commands)" in err
    assert "showing the first 2 rows" in err
    assert "Traceback" not in err and "\x1b[" not in out + err
    # the missing model was never needed, so it never complained
    assert "none.gguf" not in err.replace("model /nowhere/none.gguf", "")


def test_errors_are_one_line_and_the_session_goes_on(sqlcoder_home: Path, tmp_path: Path) -> None:
    script = "\n".join(
        [
            "\\export x.parquet",  # no SQL yet
            "select * from nowhere_table",  # not SQL for the REPL: a question; the model is missing
            "SELECT secret FROM customers",
            "select count(*) from orders",
            f"\\export {tmp_path / 'out.parquet'}",
            "\\format xml",
            "\\limit zero",
            "\\schema nope",
        ]
    )
    result = invoke("repl", "--model", str(tmp_path / "missing.gguf"), stdin=script + "\n")
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == (7 if "pyarrow" in result.stderr else 6), result.stderr
    assert "no SQL yet" in lines[0]
    assert "missing.gguf" in lines[1]  # the model error comes when a question needs it
    assert "secret" in lines[2]
    assert "pyarrow" in lines[3] or (tmp_path / "out.parquet").is_file()
    assert str(_demo_count("select count(*) from orders")) in result.stdout
    assert "Traceback" not in result.stderr


def test_bad_database_ends_the_repl_with_one_line(sqlcoder_home: Path, tmp_path: Path) -> None:
    result = invoke("repl", "--db", str(tmp_path / "nope.sqlite"), stdin="\\tables\n")
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr


def test_model_loads_in_the_background_once(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    shell = make_repl(sqlcoder_home, tiny_gguf_path, max_new_tokens=24, max_retries=0)
    shell.repl.start()  # the load starts here, in a thread
    assert shell.repl.loader.loads in (0, 1)
    engine = shell.repl.loader.wait()
    assert shell.repl.session.model_loaded and shell.repl.loader.loads == 1
    # the tiny model writes gibberish: each question is one red line, and the model stays loaded
    for question in ["How many customers are there?", "only for Germany", "List the products"]:
        _, err = shell.send(question)
        assert err.count("error:") == 1, err
        assert shell.repl.session._engine is engine
    out, _ = shell.send("\\model")
    assert "loaded once" in out and "loads: 1" in out
    # switching the database keeps the loaded model
    other = sqlcoder_home / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("create table t (x integer)")
        conn.execute("insert into t values (41), (42)")
    _, err = shell.send(f"\\db {other}")
    assert "switched to" in err
    assert shell.repl.session._engine is engine and shell.repl.loader.loads == 1
    out, _ = shell.send("select max(x) from t")
    assert "42" in out
    out, _ = shell.send("\\tables")
    assert "t " in out or "| t" in out
    shell.repl.close()


def test_follow_up_rule_needs_a_previous_answer(sqlcoder_home: Path) -> None:
    shell = make_repl(sqlcoder_home)
    assert not shell.repl.is_follow_up("only for 2024")
    from sqlcoder_cli.pipeline import Answer

    shell.repl.last_answer = Answer(question="How many orders per status?", sql="SELECT 1", model="m", db="d")
    assert shell.repl.is_follow_up("only for 2024")
    assert not shell.repl.is_follow_up("How many products are there?")
    shell.send("\\new")
    assert not shell.repl.is_follow_up("only for 2024")
    shell.repl.close()


def test_history_meta_command_reads_the_log(sqlcoder_home: Path) -> None:
    shell = make_repl(sqlcoder_home)
    shell.send("select count(*) from customers")
    out, err = shell.send("\\history customers")
    assert "select count(*) from customers" in out, err
    out, err = shell.send("\\history nothing-like-this")
    assert "nothing in the history" in err
    shell.repl.close()
