"""Speed and memory of answering, per engine option, measured side by side in one run.

    python benchmarks/speed.py [--model PATH ...] [--db PATH] [--question Q ...] [--max-tokens N]
                               [--variants prompt_lookup,no_repack,grammar] [--out results/speed.json]

The random-weight 7B-shape models (benchmarks/synthetic_7b.py) write gibberish, so only their speed
and memory mean anything: run them with ``--variants no_repack --max-tokens 24``.

For each model it measures, each time in a fresh process (so "cold" really is cold):
- cold:        empty KV-state cache: model load, time to first token (prompt_s), generation speed;
- warm-disk:   a second process, the schema prefix restored from the on-disk KV-state cache;
- warm-memory: a second question in the same process (the REPL / stdin-pipeline case);
- prompt-lookup drafting vs none (same questions; output identity and generation tokens/s);
- weight repacking off vs on (load time, peak RSS, prefill tokens/s);
- constrained decoding (grammar) vs none.
Timings are compared as ratios measured in the same run. Prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = [
    "How many customers are there?",
    "Which 5 products have the highest unit price?",
    "How many orders were delivered in 2024?",
    "What is the average shipping cost per order status?",
]


def child(args: argparse.Namespace) -> None:
    """Run inside a fresh process: answer the questions, print one JSON line of measurements."""
    from sqlcoder_cli.config import Config, Paths
    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.pipeline import Session

    config = Config.load(Paths.resolve())
    options = EngineOptions(
        n_ctx=args.ctx, draft=args.draft, weight_repack=not args.no_repack, log_file=config.paths.log_dir / "llama.log"
    )
    results = []
    # speed only: no validation or retries, so every question is exactly one model call
    with Session(config, db=args.db, model=args.model, engine_options=options, grammar=args.grammar,
                 max_retries=0, validate=False, memory=False, max_new_tokens=args.max_tokens,
                 prompt_layout=args.layout) as session:
        for question in args.question:
            started = time.perf_counter()
            try:
                answer = session.ask(question, execute=False)
                t = answer.timings
                results.append({
                    "question": question, "sql": answer.sql, "load_s": t.load_s, "prompt_s": t.prompt_s,
                    "generate_s": t.generate_s, "prompt_tokens": t.prompt_tokens, "cached_tokens": t.cached_tokens,
                    "generated_tokens": t.generated_tokens, "wall_s": time.perf_counter() - started,
                })
            except Exception as exc:  # noqa: BLE001 - a failed answer is still a timing
                g = getattr(exc, "generation", None)
                timing = {} if g is None else {
                    "load_s": 0.0, "prompt_s": g.prompt_s, "generate_s": g.generate_s, "prompt_tokens": g.prompt_tokens,
                    "cached_tokens": g.cached_tokens, "generated_tokens": g.generated_tokens,
                }
                results.append({"question": question, "error": str(exc), **timing, "wall_s": time.perf_counter() - started})
        load_s = session.engine.load_s
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"load_s": load_s, "peak_rss_mb": rss_kb / 1024, "answers": results}))


def run_child(model: str, db: str, questions: list[str], home: str, **flags: object) -> dict:
    cmd = [sys.executable, __file__, "--child", "--model", model, "--db", db, "--ctx", str(flags.get("ctx", 4096))]
    if flags.get("draft"):
        cmd += ["--draft", str(flags["draft"])]
    if flags.get("no_repack"):
        cmd.append("--no-repack")
    if flags.get("grammar"):
        cmd.append("--grammar")
    if flags.get("max_tokens"):
        cmd += ["--max-tokens", str(flags["max_tokens"])]
    if flags.get("layout"):
        cmd += ["--layout", str(flags["layout"])]
    for q in questions:
        cmd += ["--question", q]
    env = os.environ | {"SQLCODER_HOME": home}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sum(answers: list[dict], key: str) -> float:
    return sum(a.get(key, 0) for a in answers)


ALL_VARIANTS = {"prompt_lookup": {"draft": "prompt-lookup"}, "no_repack": {"no_repack": True}, "grammar": {"grammar": True}}


def measure_model(model: str, db: str, questions: list[str], variants: list[str] | None = None,
                  max_tokens: int | None = None, layout: str = "native") -> dict:
    out: dict[str, object] = {"model": Path(model).name, "db": db, "layout": layout}
    common: dict[str, object] = {"max_tokens": max_tokens} if max_tokens else {}
    if layout != "native":
        common["layout"] = layout
    with tempfile.TemporaryDirectory() as home:
        cold = run_child(model, db, questions[:1], home, **common)
        warm_disk = run_child(model, db, questions[1:2], home, **common)
    with tempfile.TemporaryDirectory() as home:
        in_process = run_child(model, db, questions, home, **common)
    first, second = cold["answers"][0], warm_disk["answers"][0]
    later = in_process["answers"][1:]
    out["cold"] = {"load_s": cold["load_s"], "ttft_s": first["prompt_s"], "prompt_tokens": first["prompt_tokens"],
                   "peak_rss_mb": cold["peak_rss_mb"]}
    out["warm_disk"] = {"load_s": warm_disk["load_s"], "ttft_s": second["prompt_s"], "cached_tokens": second["cached_tokens"]}
    out["warm_memory"] = {"ttft_s": _sum(later, "prompt_s") / max(1, len(later)),
                          "cached_tokens": _sum(later, "cached_tokens") / max(1, len(later))}
    out["ttft_speedup_disk"] = first["prompt_s"] / max(second["prompt_s"], 1e-9)
    out["ttft_speedup_memory"] = first["prompt_s"] / max(out["warm_memory"]["ttft_s"], 1e-9)  # type: ignore[index]
    out["prefill_tok_s"] = first["prompt_tokens"] / max(first["prompt_s"], 1e-9)
    gen = in_process["answers"]
    out["generate_tok_s"] = _sum(gen, "generated_tokens") / max(_sum(gen, "generate_s"), 1e-9)

    for name in variants if variants is not None else list(ALL_VARIANTS):
        with tempfile.TemporaryDirectory() as home:
            result = run_child(model, db, questions, home, **ALL_VARIANTS[name], **common)
        answers = result["answers"]
        out[name] = {
            "load_s": result["load_s"],
            "peak_rss_mb": result["peak_rss_mb"],
            "generate_tok_s": _sum(answers, "generated_tokens") / max(_sum(answers, "generate_s"), 1e-9),
            "prefill_tok_s": answers[0]["prompt_tokens"] / max(answers[0]["prompt_s"], 1e-9) if "prompt_s" in answers[0] else None,
            "same_sql": sum(a.get("sql") == b.get("sql") for a, b in zip(answers, gen)),
            "questions": len(answers),
        }
        out[name]["generate_speedup"] = out[name]["generate_tok_s"] / max(out["generate_tok_s"], 1e-9)  # type: ignore[index]
    out["baseline"] = {"load_s": in_process["load_s"], "peak_rss_mb": in_process["peak_rss_mb"]}
    return out


def markdown(results: list[dict]) -> str:
    lines = [
        "| model | cold load s | cold TTFT s (prompt tok) | warm-disk TTFT s (×) | warm-memory TTFT s (×) | prefill tok/s | gen tok/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, d, m = r["cold"], r["warm_disk"], r["warm_memory"]
        lines.append(
            f"| {r['model']} | {c['load_s']:.2f} | {c['ttft_s']:.2f} ({c['prompt_tokens']}) | {d['ttft_s']:.2f} ({r['ttft_speedup_disk']:.1f}×) "
            f"| {m['ttft_s']:.2f} ({r['ttft_speedup_memory']:.1f}×) | {r['prefill_tok_s']:.0f} | {r['generate_tok_s']:.1f} | {c['peak_rss_mb']:.0f} |"
        )
    lines += ["", "| model | option | load s | peak RSS MB | prefill tok/s | gen tok/s (× baseline) | same SQL |", "|---|---|---|---|---|---|---|"]
    for r in results:
        b = r["baseline"]
        lines.append(f"| {r['model']} | baseline | {b['load_s']:.2f} | {b['peak_rss_mb']:.0f} | {r['prefill_tok_s']:.0f} | {r['generate_tok_s']:.1f} (1.00×) | – |")
        for name in ("prompt_lookup", "no_repack", "grammar"):
            if name not in r:
                continue
            v = r[name]
            prefill = f"{v['prefill_tok_s']:.0f}" if v["prefill_tok_s"] else "–"
            lines.append(
                f"| {r['model']} | {name.replace('_', '-')} | {v['load_s']:.2f} | {v['peak_rss_mb']:.0f} | {prefill} "
                f"| {v['generate_tok_s']:.1f} ({v['generate_speedup']:.2f}×) | {v['same_sql']}/{v['questions']} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", action="append")
    parser.add_argument("--db", default="demo")
    parser.add_argument("--question", action="append")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--draft", default="none")
    parser.add_argument("--no-repack", action="store_true")
    parser.add_argument("--grammar", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=None, help="Cap on generated tokens per question.")
    parser.add_argument("--variants", default=",".join(ALL_VARIANTS), help="Options compared with the baseline.")
    parser.add_argument("--layout", default="native", help="Prompt layout: native, schema-first or question-first.")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "speed.json"))
    args = parser.parse_args()
    if args.child:
        args.model = args.model[0]
        child(args)
        return 0
    cache = Path.home() / ".cache" / "sqlcoder-dev-models"
    models = args.model or [str(cache / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"), str(cache / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")]
    questions = args.question or DEFAULT_QUESTIONS
    variants = [v for v in args.variants.split(",") if v]
    results = [measure_model(m, args.db, questions, variants, args.max_tokens, args.layout) for m in models]
    table = markdown(results)
    print(table)
    payload = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
        "db": args.db,
        "questions": questions,
        "max_tokens": args.max_tokens,
        "variants": variants,
        "layout": args.layout,
        "results": results,
        "markdown": table,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
