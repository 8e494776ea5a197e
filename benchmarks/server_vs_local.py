"""Does a server-backed run write the same SQL as a local one? Same GGUF, greedy, side by side.

    python benchmarks/server_vs_local.py [--model PATH] [--limit 20] [--concurrency 1]
                                         [--out benchmarks/results/server_vs_local.json]

Runs ``sqlcoder eval --limit N`` on the sql-eval dev set twice with the same model: once in this
process's engine (``--model PATH``), once through ``python -m llama_cpp.server`` serving the same
file on 127.0.0.1 (``--backend openai``). Compares the SQL question by question, and the accuracy
and wall time of each run (a ratio measured in the same run: machines are noisy). The two runs go
one after the other, never at once (two llama.cpp processes on 2 cores are ~20x slower each).
Writes JSON and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_EVAL = ROOT.parent / "shared" / "bench" / "sql_eval"
DEV_MODEL = Path.home() / ".cache" / "sqlcoder-dev-models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_eval(args: argparse.Namespace, out: Path, home: Path, *extra: str, **config: str) -> tuple[dict, float]:
    env = {**os.environ, "SQLCODER_HOME": str(home)}
    for key, value in config.items():
        subprocess.run([sys.executable, "-m", "sqlcoder_cli", "config", "set", key, value],
                       check=True, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sqlcoder_cli", "eval", str(SQL_EVAL / "questions.jsonl"), "--dbs", str(SQL_EVAL / "dbs"),
         "--limit", str(args.limit), "--out", str(out), "--ctx", str(args.ctx), *extra],
        check=True, env=env, stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    return {p["id"]: p for p in map(json.loads, out.read_text().splitlines())}, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEV_MODEL)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--local-kv-cache-mb", type=int, default=0,
                        help="the local run's on-disk KV-state cache (0: off, as the server has none; it evaluates "
                             "the prompt in other chunks, which changes floating-point rounding)")
    parser.add_argument("--local-weight-repack", action=argparse.BooleanOptionalAction, default=True,
                        help="load the local model with llama.cpp's CPU weight repacking, as llama_cpp.server and "
                             "llama-server do by default (sqlcoder's own default is off: other kernels, other "
                             "rounding, other answers at near-ties)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "server_vs_local.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="server-vs-local-") as tmp:
        work = Path(tmp)
        local, local_s = run_eval(args, work / "local.jsonl", work / "home-local", "--model", str(args.model),
                                  "--threads", str(args.threads), kv_cache_mb=str(args.local_kv_cache_mb),
                                  weight_repack=str(args.local_weight_repack).lower())
        port = free_port()
        log = open(work / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(args.model), "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", str(args.ctx), "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
             "--n_gpu_layers", "0", "--seed", "0"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            for _ in range(240):
                try:
                    with opener.open(f"{base_url}/models", timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            served, server_s = run_eval(args, work / "server.jsonl", work / "home-server", "--backend", "openai",
                                        "--base-url", base_url, "--api-model", str(args.model),
                                        "--concurrency", str(args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

    same = [qid for qid in local if served.get(qid, {}).get("sql") == local[qid].get("sql")]
    differing = [
        {"id": qid, "local": local[qid].get("sql"), "server": served.get(qid, {}).get("sql")}
        for qid in local if qid not in same
    ]
    result = {
        "benchmark": "server_vs_local",
        "date": time.strftime("%Y-%m-%d"),
        "model": args.model.name,
        "questions": len(local),
        "same_sql": len(same),
        "differing": differing,
        "local": {"correct": sum(p["correct"] for p in local.values()), "wall_s": round(local_s, 1),
                  "kv_cache_mb": args.local_kv_cache_mb, "weight_repack": args.local_weight_repack},
        "server": {"correct": sum(p["correct"] for p in served.values()), "wall_s": round(server_s, 1),
                   "concurrency": args.concurrency, "api_model": str(args.model), "endpoint": "/v1/completions"},
        "server_over_local_wall": round(server_s / local_s, 3),
        "machine": {"cpus": os.cpu_count(), "threads": args.threads},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"same SQL for {len(same)} of {len(local)} questions; correct: local {result['local']['correct']}, "
          f"server {result['server']['correct']}; wall: server/local = {result['server_over_local_wall']}")
    print(f"wrote {args.out}")
    return 0 if not differing else 1


if __name__ == "__main__":
    sys.exit(main())
