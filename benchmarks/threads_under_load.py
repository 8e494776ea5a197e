"""Generation speed while other programs use the cores: thread counts side by side, in one run.

    python benchmarks/threads_under_load.py [--model PATH] [--tokens 32] [--repeats 2]
                                            [--out benchmarks/results/threads_under_load.json]

llama.cpp's threads wait for each other after every matrix product, so a thread that shares its
core with another program holds all of them up. For each load level (no added load, half the
physical cores and all of them kept busy by pure-Python spinning processes) this measures, with
the project's LlamaEngine and a fixed prompt that never ends early, generation tokens/s with
(a) one thread per physical core (the old default), (b) the thread count
``default_threads()`` chooses (measured under that load, before the model loads, as sqlcoder
does) and (c) one thread; and whether ``generation_speed_warning`` would warn. Ratios are within
the run. The model: ``--model``, else ``$SQLCODER_DEV_MODEL``, else the 0.5B dev model from
``../shared/scripts/get-dev-model``. One model process at a time; the spinners use every core for
the few minutes this takes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Count from 1 to 200, separated by commas: 1, 2, 3, 4,"
#: a generation that takes longer than this is cut (its partial speed still counts)
TIME_LIMIT_S = 150.0


def _spin(deadline: float) -> None:
    """Keep one core busy (pure Python, no I/O) until ``deadline`` or until terminated."""
    x = 0
    while time.monotonic() < deadline:
        for _ in range(10_000):
            x += 1


def start_spinners(n: int) -> list[multiprocessing.process.BaseProcess]:
    ctx = multiprocessing.get_context("spawn")  # nothing of llama.cpp or this process is inherited
    procs = [ctx.Process(target=_spin, args=(time.monotonic() + 900,), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    if procs:
        time.sleep(1.5)  # spawned interpreters start and begin spinning
    return procs


def stop_spinners(procs: list[multiprocessing.process.BaseProcess]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=10)


def dev_model() -> Path:
    env = os.environ.get("SQLCODER_DEV_MODEL")
    if env:
        return Path(env)
    script = ROOT.parent / "shared" / "scripts" / "get-dev-model"
    done = subprocess.run(["bash", str(script), "qwen-0.5b"], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def git_revision() -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def measure(model: Path, threads: int, tokens: int, repeats: int, n_params: int | None) -> dict[str, object]:
    """Load ``model`` with ``threads`` threads and generate ``tokens`` tokens ``repeats`` times."""
    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.engine.hardware import default_threads, expected_tokens_per_s, generation_speed_warning
    from sqlcoder_cli.engine.llama import LlamaEngine

    runs = []
    warning = None
    with LlamaEngine(model, EngineOptions(n_ctx=512, n_threads=threads)) as engine:
        for _ in range(repeats):
            try:
                g = engine.generate(PROMPT, max_tokens=tokens, time_limit_s=TIME_LIMIT_S)
            except Exception as exc:  # noqa: BLE001 - cut by the time limit: its partial generation counts
                g = getattr(exc, "generation", None)
                if g is None:
                    raise
            runs.append({"generated_tokens": g.generated_tokens, "generate_s": round(g.generate_s, 3),
                         "prompt_s": round(g.prompt_s, 3), "finish_reason": g.finish_reason})
            warning = warning or generation_speed_warning(
                g.generated_tokens, g.generate_s, model_size_bytes=model.stat().st_size, n_params=n_params,
                threads=threads, gpu=False, measure=default_threads,
            )
    intervals = sum(max(0, int(r["generated_tokens"]) - 1) for r in runs)
    seconds = sum(float(r["generate_s"]) for r in runs)
    return {
        "threads": threads,
        "tokens_per_s": round(intervals / seconds, 2) if seconds > 0 else None,
        "prompt_s": round(sum(float(r["prompt_s"]) for r in runs) / len(runs), 3),
        "expected_tokens_per_s": round(expected_tokens_per_s(model.stat().st_size, n_params, cores=threads) or 0, 2),
        "warning": warning,
        "runs": runs,
    }


def load_level(model: Path, spinners: int, cores: int, tokens: int, repeats: int, n_params: int | None) -> dict:
    from sqlcoder_cli.engine.hardware import default_threads, measure_other_load

    before = measure_other_load()  # what other programs (outside this benchmark) were doing
    procs = start_spinners(spinners)
    try:
        choice = default_threads()  # as sqlcoder does it: under the load, before the model loads
        wanted = {"old_default": cores, "default_threads": choice.threads, "one_thread": 1}
        measured: dict[int, dict] = {}
        for threads in dict.fromkeys(wanted.values()):  # each distinct thread count once
            measured[threads] = measure(model, threads, tokens, repeats, n_params)
            print(f"  spinners={spinners} threads={threads}: {measured[threads]['tokens_per_s']} tokens/s", file=sys.stderr)
    finally:
        stop_spinners(procs)
    return {
        "spinners": spinners,
        "busy_before_spinners": before.busy_cpus,
        "load_source": before.source,
        "choice": {"threads": choice.threads, "busy_cores": choice.busy_cores, "reason": choice.reason,
                   "source": choice.source},
        "configs": {name: measured[t] for name, t in wanted.items()},
    }


def markdown(levels: list[dict]) -> str:
    base = levels[0]["configs"]["old_default"]["tokens_per_s"] or 1e-9
    lines = [
        "| load | busy cores seen | config | threads | gen tokens/s | × old default (same load) | × unloaded old default "
        "| expected (warns below) | warns |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for level in levels:
        old = level["configs"]["old_default"]["tokens_per_s"] or 1e-9
        label = "none added" if level["spinners"] == 0 else f"{level['spinners']} spinning processes"
        for name, result in level["configs"].items():
            tps = result["tokens_per_s"] or 0.0
            expected = result["expected_tokens_per_s"]
            lines.append(
                f"| {label} | {level['choice']['busy_cores']:.1f} | {name.replace('_', ' ')} | {result['threads']} "
                f"| {tps:.1f} | {tps / old:.2f}× | {tps / base:.2f}× | {expected:.1f} ({expected / 4:.1f}) "
                f"| {'yes' if result['warning'] else 'no'} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "threads_under_load.json")
    args = parser.parse_args()
    import llama_cpp

    from sqlcoder_cli.engine.hardware import physical_cores, usable_cores
    from sqlcoder_cli.models.gguf_info import read_gguf_info

    model = args.model or dev_model()
    n_params = read_gguf_info(model).parameter_count
    cores = usable_cores()
    spinner_levels = list(dict.fromkeys([0, max(1, cores // 2), cores]))
    levels = [load_level(model, n, cores, args.tokens, args.repeats, n_params) for n in spinner_levels]
    table = markdown(levels)
    print(table)
    full = levels[-1]["configs"]
    old, new = full["old_default"]["tokens_per_s"] or 1e-9, full["default_threads"]["tokens_per_s"] or 0.0
    print(f"\nevery core busy: default_threads() chose {full['default_threads']['threads']} "
          f"({levels[-1]['choice']['reason']}): {new / old:.1f}× the old default's speed")
    print(f"warning under full load with the old default: {full['old_default']['warning']!r}")
    payload = {
        "benchmark": "threads_under_load",
        "model": model.name,
        "model_size_bytes": model.stat().st_size,
        "n_params": n_params,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "physical_cores": physical_cores(), "usable_cores": cores, "python": platform.python_version(),
                    "llama_cpp_python": llama_cpp.__version__},
        "git": git_revision(),
        "date": time.strftime("%Y-%m-%d"),
        "prompt": PROMPT,
        "tokens": args.tokens,
        "repeats": args.repeats,
        "levels": levels,
        "markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
