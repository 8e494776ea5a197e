"""A question about one table of a 500-table database: prompt size, answer, time to first token.

    python benchmarks/large_schema.py [--model PATH] [--out results/large_schema.json]

Builds the wide warehouse of tests/testkit/wide_schema.py (500 generated tables ``t000``..``t499``
and ``invoices``, 56,000 tokens of DDL), then asks "How many invoices are unpaid?" with
``sqlcoder ask --format json`` in fresh processes with an empty home (so: cold, no schema cache, no
KV state). Reports what pruning kept, the prompt's real token count, the SQL and its rows, and the
seconds to the first token (model load excluded: ``prompt_s``). Issue 17's target with the 1.5B on
2 cores: <= 800 prompt tokens, the right answer (1 unpaid invoice), first token < 8 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
DEV_MODEL = Path.home() / ".cache" / "sqlcoder-dev-models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QUESTION = "How many invoices are unpaid?"
#: the gold: invoices whose status is anything but paid
GOLD_SQL = "SELECT COUNT(*) FROM invoices WHERE paid_status <> 'paid'"


def main() -> int:
    from testkit.wide_schema import make_wide_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEV_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2, help="cold runs, each with an empty home")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "large_schema.json")
    args = parser.parse_args()
    import sqlite3

    runs = []
    with tempfile.TemporaryDirectory(prefix="large-schema-") as tmp:
        work = Path(tmp)
        db = work / "wide.db"
        make_wide_database(db)
        gold = sqlite3.connect(db).execute(GOLD_SQL).fetchall()
        for i in range(args.runs):
            env = {**os.environ, "SQLCODER_HOME": str(work / f"home-{i}"), "HF_HUB_OFFLINE": "1"}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "sqlcoder_cli", "--verbose", "ask", QUESTION, "--db", str(db), "--model", str(args.model),
                 "--threads", str(args.threads), "--format", "json", "--show-prompt"],
                env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - started
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return done.returncode
            answer = json.loads(done.stdout)
            kept = [line.split("(")[0].split()[-1] for line in done.stderr.splitlines() if line.startswith("CREATE TABLE")]
            runs.append({
                "prompt_tokens": answer["timings"]["prompt_tokens"],
                "first_token_s": answer["timings"]["prompt_s"],
                "load_s": answer["timings"]["load_s"],
                "total_s": answer["timings"]["total_s"],
                "wall_s": round(wall, 2),
                "sql": answer["sql"],
                "rows": answer["rows"],
                "correct": [list(r) for r in gold] == answer["rows"],
                "tables_in_prompt": kept,
            })
            print(f"run {i + 1}: {runs[-1]['prompt_tokens']} prompt tokens, first token {runs[-1]['first_token_s']:.2f}s, "
                  f"{'right' if runs[-1]['correct'] else 'WRONG'}: {answer['sql']}")
    result = {
        "benchmark": "large_schema", "question": QUESTION, "tables": 501, "model": args.model.name,
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"), "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
