"""How often does Postgres gold SQL, transpiled by sqlcoder, give the right answer on SQLite and DuckDB?

SQLCoder writes PostgreSQL; users run SQLite and DuckDB. For each sql-eval question this takes the
original Postgres gold (``gold_postgres``, first alternative), transpiles it with
:func:`sqlcoder_cli.sql.transpile.transpile_sql` to ``sqlite`` and to ``duckdb`` (passing the
database's ``{table: {column: type}}`` from :func:`sqlcoder_cli.schema.introspect`, as the CLI does), runs it, and
compares the rows with those of the hand-written SQLite gold (``gold[0]``, or any other SQLite
alternative) run on SQLite. Rows are compared as multisets (order-insensitive), floats rounded to
1e-6 relative, dates and numbers compared by value.

DuckDB gets a copy of each SQLite database made in Python (the DuckDB sqlite extension cannot be
downloaded offline): same tables, column types mapped from the SQLite declarations.

Usage: python benchmarks/transpile_gold.py [--data ../shared/bench/sql_eval] [--out benchmarks/results/transpile_gold.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import math
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlcoder_cli.sql.transpile import transpile_sql  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "bench" / "sql_eval"


# --- expanding sql-eval's gold alternatives -------------------------------------------------------


def split_statements(sql: str) -> list[str]:
    """Split on ``;`` outside quotes (sql-eval lists alternatives that way)."""
    parts, buf, quote = [], [], None
    for ch in sql:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == ";":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


_ALT_RE = re.compile(r"\{([^{}]*)\}")


def expand_alternatives(sql: str) -> list[str]:
    """``SELECT {a,b} FROM t`` → all non-empty column choices in sql-eval's order; ``{}`` repeats the choice."""
    from itertools import combinations

    out = []
    for stmt in split_statements(sql):
        m = _ALT_RE.search(stmt)
        if not m:
            out.append(stmt)
            continue
        options = [o.strip() for o in m.group(1).split(",")]
        combos = [c for r in range(1, len(options) + 1) for c in combinations(options, r)]
        for combo in combos:
            chosen = ", ".join(combo)
            rest = stmt[m.end() :].replace("{}", chosen)  # sql-eval: {} repeats the choice
            out.extend(expand_alternatives(stmt[: m.start()] + chosen + rest))
    return out


def flatten_schemas(sql: str) -> str:
    """Drop schema qualifiers (``consumer_div.users`` → ``users``).

    Why: the SQLite copies keep every Postgres schema's tables in ``main``; that is a property of
    how the benchmark's databases were built, not something transpiling should guess.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="postgres")
    for table in tree.find_all(exp.Table):
        if table.args.get("db") is not None:
            table.set("db", None)
            table.set("catalog", None)
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is not None:
            column.set("db", None)
    return tree.sql(dialect="postgres")


# --- comparing results -----------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == 0:
            return 0.0
        digits = 6 - int(math.floor(math.log10(abs(value))))
        return round(value, digits)
    if isinstance(value, dt.datetime):
        # a midnight timestamp equals the date (DATE_TRUNC returns one, SQLite's DATE() the other)
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        # numbers and timestamps stored as text in SQLite
        try:
            if re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
                return _norm(float(value))
            text = value.replace("T", " ")
            return text[:-9] if re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00", text) else text
        except ValueError:
            return value
    return str(value)


def _canon(rows: list[tuple[Any, ...]]) -> Counter:
    return Counter(tuple(_norm(v) for v in row) for row in rows)


def same_result(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """Multiset equality of rows; also accepts equal rows with columns in another order."""
    if len(a) != len(b):
        return False
    if _canon(a) == _canon(b):
        return True
    # same columns in another order: compare each row's sorted values
    def sorted_rows(rows: list[tuple[Any, ...]]) -> Counter:
        return Counter(tuple(sorted((_norm(v) for v in row), key=lambda x: (str(type(x)), str(x)))) for row in rows)

    return sorted_rows(a) == sorted_rows(b)


# --- databases -------------------------------------------------------------------------------------


def _duck_type(declared: str) -> str:
    d = (declared or "").upper()
    if "INT" in d:
        return "BIGINT"
    if any(k in d for k in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "DOUBLE"
    if "BOOL" in d:
        return "BOOLEAN"
    if "TIMESTAMP" in d or "DATETIME" in d:
        return "TIMESTAMP"
    if d.startswith("DATE"):
        return "DATE"
    if d.startswith("TIME"):
        return "TIME"
    return "VARCHAR"


def sqlite_to_duckdb(path: Path) -> Any:
    """An in-memory DuckDB with a copy of every table of the SQLite file at ``path``."""
    import duckdb

    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    duck = duckdb.connect()
    tables = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        cols = src.execute(f'PRAGMA table_info("{table}")').fetchall()
        types = [_duck_type(c[2]) for c in cols]
        duck.execute(f'CREATE TABLE "{table}" (' + ", ".join(f'"{c[1]}" {t}' for c, t in zip(cols, types)) + ")")
        rows = src.execute(f'SELECT * FROM "{table}"').fetchall()
        if rows:
            fixed = [tuple(_duck_value(v, t) for v, t in zip(row, types)) for row in rows]
            duck.executemany(f'INSERT INTO "{table}" VALUES (' + ", ".join("?" * len(cols)) + ")", fixed)
    src.close()
    return duck


def _duck_value(value: Any, typ: str) -> Any:
    if value is None:
        return None
    if typ == "BOOLEAN":
        return bool(value) if not isinstance(value, str) else value.lower() in ("1", "true", "t")
    if typ in ("DATE", "TIMESTAMP", "TIME") and isinstance(value, str) and not value.strip():
        return None
    return value


def sqlite_schema(path: Path) -> dict[str, dict[str, str]]:
    """``{table: {column: type}}`` of the SQLite file, as the CLI's introspection gives it to transpiling."""
    from sqlcoder_cli.db import open_database
    from sqlcoder_cli.schema import introspect

    with open_database(str(path)) as db:
        return introspect(db, sample_values=False).as_sqlglot_mapping()


def run_sqlite(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql).fetchall()]


def run_duckdb(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql).fetchall()]


# --- the benchmark ---------------------------------------------------------------------------------


def evaluate(data: Path) -> dict[str, Any]:
    questions = [json.loads(line) for line in (data / "questions.jsonl").read_text().splitlines() if line.strip()]
    sqlite_conns: dict[str, sqlite3.Connection] = {}
    duck_conns: dict[str, Any] = {}
    schemas: dict[str, dict[str, dict[str, str]]] = {}
    details = []
    started = time.perf_counter()
    for q in questions:
        db = q["db"]
        if db not in sqlite_conns:
            sqlite_conns[db] = sqlite3.connect(f"file:{data / 'dbs' / (db + '.sqlite')}?mode=ro", uri=True)
            duck_conns[db] = sqlite_to_duckdb(data / "dbs" / f"{db}.sqlite")
            schemas[db] = sqlite_schema(data / "dbs" / f"{db}.sqlite")
        lite = sqlite_conns[db]
        expected = []
        for gold in q["gold"]:
            try:
                expected.append(run_sqlite(lite, gold))
            except sqlite3.Error:
                pass
        pg = flatten_schemas(expand_alternatives(q["gold_postgres"])[0])
        row: dict[str, Any] = {"id": q["id"], "db": db, "category": q["category"]}
        for target, runner, conn in (("sqlite", run_sqlite, lite), ("duckdb", run_duckdb, duck_conns[db])):
            try:
                sql = transpile_sql(pg, source="postgres", target=target, schema=schemas[db])
            except Exception as exc:  # noqa: BLE001
                row[target] = {"ok": False, "error": f"transpile: {str(exc).splitlines()[0]}"}
                continue
            try:
                got = runner(conn, sql)
            except Exception as exc:  # noqa: BLE001
                row[target] = {"ok": False, "error": f"run: {str(exc).splitlines()[0][:200]}", "sql": sql}
                continue
            ok = any(same_result(got, exp) for exp in expected)
            row[target] = {"ok": ok} if ok else {"ok": False, "error": "different result", "sql": sql}
        details.append(row)
    elapsed = time.perf_counter() - started
    summary: dict[str, Any] = {"questions": len(details), "seconds": round(elapsed, 2), "targets": {}}
    for target in ("sqlite", "duckdb"):
        ok = sum(1 for d in details if d[target]["ok"])
        per_db: dict[str, list[int]] = {}
        for d in details:
            per_db.setdefault(d["db"], [0, 0])
            per_db[d["db"]][0] += int(d[target]["ok"])
            per_db[d["db"]][1] += 1
        summary["targets"][target] = {
            "matched": ok,
            "rate": round(ok / len(details), 4) if details else 0.0,
            "per_db": {db: {"matched": m, "total": n} for db, (m, n) in sorted(per_db.items())},
        }
    summary["failures"] = [
        {"id": d["id"], "db": d["db"], "target": t, **{k: v for k, v in d[t].items() if k != "ok"}}
        for d in details
        for t in ("sqlite", "duckdb")
        if not d[t]["ok"]
    ]
    return summary


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| db | sqlite | duckdb |", "| --- | --- | --- |"]
    dbs = summary["targets"]["sqlite"]["per_db"]
    for db in dbs:
        cells = []
        for target in ("sqlite", "duckdb"):
            c = summary["targets"][target]["per_db"][db]
            cells.append(f"{c['matched']}/{c['total']}")
        lines.append(f"| {db} | {' | '.join(cells)} |")
    total = [f"{summary['targets'][t]['matched']}/{summary['questions']} ({summary['targets'][t]['rate']:.1%})" for t in ("sqlite", "duckdb")]
    lines.append(f"| **all** | {' | '.join(total)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "transpile_gold.json")
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    summary = evaluate(args.data)
    for target in ("sqlite", "duckdb"):
        t = summary["targets"][target]
        print(f"postgres -> {target}: {t['matched']}/{summary['questions']} match ({t['rate']:.1%})")
    print()
    print(markdown(summary))
    if args.show_failures:
        for f in summary["failures"]:
            print(f"\n{f['id']} [{f['target']}] {f.get('error')}\n  {f.get('sql', '')}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
