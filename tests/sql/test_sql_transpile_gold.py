"""sql-eval's Postgres gold, transpiled, gives the SQLite gold's answer (benchmarks/transpile_gold.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("transpile_gold", REPO / "benchmarks" / "transpile_gold.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_expand_alternatives_repeats_the_choice() -> None:
    bench = _benchmark()
    alts = bench.expand_alternatives("SELECT {a, b}, COUNT(*) FROM t GROUP BY {};SELECT 1")
    assert alts == [
        "SELECT a, COUNT(*) FROM t GROUP BY a",
        "SELECT b, COUNT(*) FROM t GROUP BY b",
        "SELECT a, b, COUNT(*) FROM t GROUP BY a, b",
        "SELECT 1",
    ]


def test_transpiled_postgres_gold_matches(sql_eval_dir: Path) -> None:
    summary = _benchmark().evaluate(sql_eval_dir)
    rates = {t: summary["targets"][t]["rate"] for t in ("sqlite", "duckdb")}
    # 0.952 when measured; a few questions ask about "the last N days" of data whose dates are
    # fixed, so their answers change with today's date (instruct_advanced_013 since late 2026)
    assert rates["duckdb"] >= 0.94, rates
    # measured 0.968 with the schema passed; what is left is PERCENTILE_CONT (no SQLite equivalent)
    # and questions whose SQLite gold answers differently from the Postgres gold (see docs/safety.md)
    assert rates["sqlite"] >= 0.95, rates
