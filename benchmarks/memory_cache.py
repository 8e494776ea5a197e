"""Do remembered examples still let a new process reuse the schema's KV state? Side by side, one run.

    python benchmarks/memory_cache.py [--model PATH] [--baseline-rev REV] [--out results/memory_cache.json]

Remembered (question, SQL) pairs are chosen per question, so they differ from one question to the
next. If the prompt prefix whose KV state is saved holds them, every question saves a state of its
own and no later question finds it: the whole schema is read again. sqlcoder ends that prefix where
the examples start. This benchmark measures it with a real model on the demo database:

1. a fresh home remembers three examples (two about customers, one about orders);
2. process A asks a question about customers (its similar examples are shown; its schema prefix is
   computed and saved);
3. process B, new, asks a question about orders (other examples are shown) and reports how many
   prompt tokens came from the saved state and how long the prompt took;
4. the same without any remembered example (the best case: a prefix nothing can disturb).

With ``--baseline-rev REV`` steps 1-3 also run on the code of that git revision (checked out into a
temporary worktree), so the change is measured against the code before it, in the same run.
Each step is its own process, one at a time (two llama.cpp processes on 2 cores slow each other).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_MODEL = Path.home() / ".cache" / "sqlcoder-dev-models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

EXAMPLES = [
    ("How many customers live in Berlin?", "SELECT COUNT(*) FROM customers WHERE city = 'Berlin'"),
    ("Which customers signed up in 2024?", "SELECT first_name, last_name FROM customers WHERE signup_date >= '2024-01-01'"),
    ("How many orders were cancelled?", "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'"),
]
FIRST = "How many customers live in Paris?"
SECOND = "How many orders were shipped?"

#: runs inside each child process (the code under test is whatever ``sqlcoder_cli`` imports there)
CHILD = r"""
import json, sys
from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.pipeline import Session
model, question, remember = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with Session(Config.load(Paths.resolve()), db="demo", model=model) as session:
    for q, sql in remember:
        session.remember(q, sql)
    plan = session.plan_prompt(question)
    answer = session.ask(question, execute=False)
t = answer.timings
print(json.dumps({"question": question, "examples": [e.question for e in plan.examples],
                  "prompt_tokens": t.prompt_tokens, "cached_tokens": t.cached_tokens,
                  "prompt_s": round(t.prompt_s, 3), "sql": answer.sql}))
"""


def run_child(code_root: Path, home: Path, model: Path, question: str, remember: list[tuple[str, str]], threads: int) -> dict:
    env = {**os.environ, "SQLCODER_HOME": str(home), "PYTHONPATH": str(code_root), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "sqlcoder_cli", "config", "set", "threads", str(threads)],
                   env=env, cwd=code_root, capture_output=True, check=True, stdin=subprocess.DEVNULL)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), question, json.dumps(remember)],
        env=env, cwd=code_root, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def scenario(code_root: Path, work: Path, name: str, model: Path, with_examples: bool, threads: int) -> dict:
    home = work / name
    first = run_child(code_root, home, model, FIRST, EXAMPLES if with_examples else [], threads)
    second = run_child(code_root, home, model, SECOND, [], threads)
    return {"first": first, "second": second}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEV_MODEL)
    parser.add_argument("--baseline-rev", default=None, help="a git revision to measure the same way, side by side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "memory_cache.json")
    args = parser.parse_args()
    results: dict = {
        "benchmark": "memory_cache", "model": args.model.name, "db": "demo",
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "python": platform.python_version()},
    }
    with tempfile.TemporaryDirectory(prefix="memory-cache-") as tmp:
        work = Path(tmp)
        results["current"] = scenario(ROOT, work, "current", args.model, True, args.threads)
        results["no_examples"] = scenario(ROOT, work, "no-examples", args.model, False, args.threads)
        if args.baseline_rev:
            tree = work / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline_rev],
                           check=True, capture_output=True)
            try:
                results["baseline"] = scenario(tree, work, "baseline-home", args.model, True, args.threads)
                results["baseline"]["rev"] = args.baseline_rev
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    print("| code | examples shown (2nd question) | prompt tokens | restored from the saved state | prompt s |")
    print("| --- | --- | --- | --- | --- |")
    for key in ("baseline", "current", "no_examples"):
        if key in results:
            second = results[key]["second"]
            print(f"| {key} | {len(second['examples'])} | {second['prompt_tokens']} | {second['cached_tokens']} | {second['prompt_s']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
