"""A quantization ladder: make several types of one model and measure what each costs.

Per rung: the file size (and measured bits per weight), the load time, prefill and generation
tokens per second on a fixed prompt, the peak resident memory of a process that loaded the model
and ran that prompt, and, given a question file, ``sqlcoder eval`` execution accuracy: the same
pipeline a user gets, run as the real command in a subprocess.

Why a subprocess per measurement: peak RSS is a property of a process (``ru_maxrss`` only grows),
so each rung is measured in a fresh one (``python -m quantize.ladder measure FILE``) whose peak is
that rung's alone, and a rung that crashes llama.cpp costs its row, not the ladder. The speed
prompt is the same text for every rung, run with the same thread count (one per physical core
unless told), after a warm-up that pages the weights in as a first question would.

The input is measured too (first row), so the table shows the cost of each rung against it; when
the input is already quantized (the published Q4_K_M of a model, say) every rung is a
requantization, and the table says so in its title and its note.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlcoder_cli.errors import Interrupted, SqlcoderError

from .errors import QuantizeError, QuantizeUsageError
from .quantize import FLOAT_TYPES, QTYPES, QuantizeResult, check_request, quantize_gguf, resolve_type

#: status lines for the command line ("quantizing Q4_K_M", "measuring speed", ...)
Status = Callable[[str], None]

#: The speed prompt: what sqlcoder sends a model (a schema, a question, the start of the answer),
#: so prefill is measured on the kind of text it really reads.
SPEED_PROMPT = """### Task
Generate a SQL query to answer [QUESTION]Which 5 customers spent the most on orders shipped in 2024, and how many orders did each place?[/QUESTION]

### Instructions
- If you cannot answer the question with the available database schema, return 'I do not know'
- Use table aliases to prevent ambiguity.

### Database Schema
The query will run on a database with the following schema:
CREATE TABLE customers (
  id INTEGER PRIMARY KEY, -- unique customer id
  name TEXT NOT NULL, -- full name
  email TEXT, -- contact address
  city TEXT, -- city of the billing address
  country TEXT, -- ISO country code, e.g. 'DE', 'US'
  created_at TIMESTAMP -- when the account was opened
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT, -- e.g. 'books', 'garden', 'toys'
  price REAL, -- list price in EUR
  stock INTEGER -- units in the warehouse
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customers(id),
  status TEXT, -- 'new', 'paid', 'shipped', 'cancelled'
  ordered_at TIMESTAMP,
  shipped_at TIMESTAMP,
  total REAL -- sum of the order's items after discounts
);
CREATE TABLE order_items (
  order_id INTEGER REFERENCES orders(id),
  product_id INTEGER REFERENCES products(id),
  quantity INTEGER,
  unit_price REAL, -- price paid per unit
  discount REAL -- fraction, 0.1 = 10 %
);
CREATE TABLE payments (
  id INTEGER PRIMARY KEY,
  order_id INTEGER REFERENCES orders(id),
  method TEXT, -- 'card', 'paypal', 'invoice'
  amount REAL,
  paid_at TIMESTAMP
);
-- orders.customer_id can be joined with customers.id
-- order_items.order_id can be joined with orders.id
-- order_items.product_id can be joined with products.id
-- payments.order_id can be joined with orders.id

### Answer
Given the database schema, here is the SQL query that answers [QUESTION]Which 5 customers spent the most on orders shipped in 2024, and how many orders did each place?[/QUESTION]
[SQL]
"""

PROMPT_TOKENS = 512  # at most this many prompt tokens are timed (the prompt is ~480 for SQLCoder's tokenizer)
GEN_TOKENS = 32


@dataclass
class Rung:
    """One row of the ladder."""

    qtype: str
    path: str
    is_input: bool = False
    size_bytes: int = 0
    bits_per_weight: float | None = None
    quantize_s: float | None = None
    load_s: float | None = None
    prefill_tokens: int | None = None
    prefill_tps: float | None = None
    gen_tokens: int | None = None
    gen_tps: float | None = None
    peak_rss_bytes: int | None = None
    accuracy: float | None = None  # execution accuracy, percent
    correct: int | None = None
    questions: int | None = None
    eval_s: float | None = None
    eval_report: str | None = None
    registered: str | None = None
    error: str | None = None


@dataclass
class LadderResult:
    """The whole ladder, with where its table was written."""

    input_path: str
    input_type: str | None
    input_size_bytes: int
    requantized: bool
    threads: int
    rungs: list[Rung]
    questions_file: str | None = None
    dbs: str | None = None
    limit: int | None = None
    eval_args: list[str] = field(default_factory=list)
    created: str = ""
    machine: dict[str, Any] = field(default_factory=dict)
    markdown_path: str | None = None
    json_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        return ladder_markdown(self)


# --------------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------------


def _gb(n: int | None) -> str:
    return "–" if not n else f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def ladder_markdown(result: LadderResult) -> str:
    """The table a user reads to pick a type for their RAM, with what was measured how."""
    name = Path(result.input_path).name
    source = result.input_type or "unknown type"
    title = f"# Quantization ladder: {name}"
    if result.requantized:
        title += f" (requantized from {source})"
    lines = [title, ""]
    lines.append(f"- input: `{name}` ({source}, {_gb(result.input_size_bytes)})")
    if result.requantized:
        lines.append(
            f"- **requantized from {source}**: the input is already quantized, so every rung below "
            f"was made from {source}, not from F16, and loses more than the same type made from F16 would"
        )
    machine = result.machine
    lines.append(
        f"- speed: a {PROMPT_TOKENS}-token-at-most sqlcoder prompt, then {GEN_TOKENS} greedy tokens; "
        f"{result.threads} threads on {machine.get('processor') or machine.get('machine', '?')} "
        f"({machine.get('cpus', '?')} CPUs), llama-cpp-python {machine.get('llama_cpp', '?')}"
    )
    lines.append("- peak RSS: the measuring process's maximum resident memory (weights mapped in, KV cache, Python)")
    if result.questions_file:
        flags = "".join(f" {a}" for a in ([f"--limit {result.limit}"] if result.limit else []) + list(result.eval_args))
        lines.append(f"- accuracy: `sqlcoder eval {Path(result.questions_file).name} --dbs {result.dbs}{flags}` (execution accuracy)")
    lines += ["", "| type | size | bits/weight | load s | prefill tok/s | gen tok/s | peak RSS | accuracy % | quantize s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for rung in result.rungs:
        label = f"{rung.qtype} (input)" if rung.is_input else rung.qtype
        if rung.accuracy is not None:
            accuracy = f"{rung.accuracy:.1f} ({rung.correct}/{rung.questions})"
        else:
            accuracy = "–"
        row = [
            label, _gb(rung.size_bytes), _num(rung.bits_per_weight, ".2f"), _num(rung.load_s, ".2f"),
            _num(rung.prefill_tps, ".1f"), _num(rung.gen_tps, ".1f"), _gb(rung.peak_rss_bytes), accuracy,
            "–" if rung.is_input else _num(rung.quantize_s, ".1f"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(row) + " |")
    failed = [r for r in result.rungs if r.error]
    if failed:
        lines.append("")
        lines += [f"- {r.qtype}: {r.error}" for r in failed]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# measuring one file (in a child process)
# --------------------------------------------------------------------------------------------------


def measure_model(path: str | Path, *, threads: int, prompt_tokens: int = PROMPT_TOKENS, gen_tokens: int = GEN_TOKENS) -> dict[str, Any]:
    """Load ``path``, time the speed prompt and ``gen_tokens`` greedy tokens; runs in the child."""
    import llama_cpp
    import numpy as np

    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=prompt_tokens + gen_tokens + 16, n_batch=prompt_tokens,
        n_threads=threads, n_threads_batch=threads, verbose=False, seed=0,
    )  # fmt: skip
    load_s = time.perf_counter() - started
    tokens = llm.tokenize(SPEED_PROMPT.encode("utf-8"), add_bos=True)[:prompt_tokens]
    llm.eval(tokens[:8])  # warm-up: pages the weights in and builds the compute graph once
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    prefill_s = time.perf_counter() - t0
    n_vocab = llm.n_vocab()
    t0 = time.perf_counter()
    for _ in range(gen_tokens):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(n_vocab,))
        llm.eval([int(np.argmax(logits))])  # greedy; an end-of-text token is simply fed on
    gen_s = time.perf_counter() - t0
    return {
        "load_s": round(load_s, 3),
        "prefill_tokens": len(tokens),
        "prefill_tps": round(len(tokens) / prefill_s, 2) if prefill_s > 0 else None,
        "gen_tokens": gen_tokens,
        "gen_tps": round(gen_tokens / gen_s, 2) if gen_s > 0 else None,
        "peak_rss_bytes": _peak_rss(),
    }


def _peak_rss() -> int | None:
    """This process's peak resident memory in bytes (``ru_maxrss``; Windows: psutil's peak working set)."""
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        return getattr(psutil.Process().memory_info(), "peak_wset", None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def _child_env() -> dict[str, str]:
    """The children import this package and sqlcoder from wherever this process did."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _measure_in_child(path: Path, threads: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "quantize.ladder", "measure", str(path), "--threads", str(threads)]
    done = subprocess.run(argv, capture_output=True, text=True, env=_child_env())
    line = _last_line(done.stdout)
    try:
        data = json.loads(line) if line.startswith("{") else None
    except ValueError:
        data = None
    if done.returncode != 0 or not isinstance(data, dict) or "error" in data:
        why = (data or {}).get("error") if isinstance(data, dict) else None
        why = why or _last_line(done.stderr) or f"exit status {done.returncode}"
        raise QuantizeError(f"measuring {path.name} failed: {why}")
    return data


def _eval_in_child(
    path: Path, questions: Path, dbs: Path, out_dir: Path, label: str, threads: int, limit: int | None, extra: Sequence[str]
) -> dict[str, Any]:
    """``sqlcoder eval`` of one rung, as the user would run it; returns its JSON report."""
    predictions = out_dir / f"eval_{label}.jsonl"
    report = out_dir / f"eval_{label}"
    for stale in (predictions, report.with_suffix(".json"), report.with_suffix(".md")):
        stale.unlink(missing_ok=True)  # a report left by an earlier ladder must not stand in for this one
    argv = [
        sys.executable, "-m", "sqlcoder_cli", "-q", "eval", str(questions), "--dbs", str(dbs),
        "--model", str(path), "--out", str(predictions), "--report", str(report), "--threads", str(threads),
    ]  # fmt: skip
    if limit:
        argv += ["--limit", str(limit)]
    argv += list(extra)
    done = subprocess.run(argv, capture_output=True, text=True, env=_child_env())
    report_json = report.with_suffix(".json")
    if done.returncode != 0 or not report_json.is_file():
        why = _last_line(done.stderr) or f"exit status {done.returncode}"
        raise QuantizeError(f"sqlcoder eval of {path.name} failed: {why.removeprefix('error: ')}")
    data = json.loads(report_json.read_text(encoding="utf-8"))
    data["_report_path"] = str(report_json)
    return data


# --------------------------------------------------------------------------------------------------
# the ladder
# --------------------------------------------------------------------------------------------------

_TYPE_SUFFIX = re.compile(
    r"[-_.](" + "|".join(sorted((re.escape(t) for t in QTYPES), key=len, reverse=True)) + r")$", re.IGNORECASE
)


def rung_filename(in_path: Path, qtype: str) -> str:
    """``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` + Q3_K_M -> ``qwen2.5-coder-1.5b-instruct-Q3_K_M.gguf``."""
    stem = _TYPE_SUFFIX.sub("", in_path.stem) or in_path.stem
    return f"{stem}-{qtype}.gguf"


def parse_types(text: str | Sequence[str]) -> list[str]:
    """``"Q8_0,q5_k_m, Q4_K"`` -> canonical names, in order, without repeats; unknown ones refused."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for part in parts:
        if part.strip():
            name = resolve_type(part).name
            if name not in names:
                names.append(name)
    if not names:
        raise QuantizeUsageError("give at least one type", hint="e.g. --types Q8_0,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K")
    return names


def _machine() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        llama_version = version("llama_cpp_python")
    except Exception:  # noqa: BLE001 - only a label in the table
        llama_version = "?"
    processor = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "processor": processor or platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "llama_cpp": llama_version,
    }


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.part")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def run_ladder(
    in_path: str | Path,
    types: str | Sequence[str],
    *,
    out_dir: str | Path,
    eval_questions: Path | None,
    dbs: Path | None,
    limit: int | None = None,
    threads: int | None = None,
    eval_args: Sequence[str] = (),
    imatrix: Path | None = None,
    measure_input: bool = True,
    register: str | None = None,
    family: str | None = None,
    paths: Any = None,
    status: Status | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> LadderResult:
    """Make each of ``types`` from ``in_path`` into ``out_dir``, measure every rung (and the input,
    unless ``measure_input`` is off), and write ``ladder.md`` and ``ladder.json`` there.

    ``eval_questions`` + ``dbs``: run ``sqlcoder eval`` per rung (``limit`` questions, round-robin
    over the databases; ``eval_args``: more of its flags, e.g. ``--no-retries``). ``threads``: for speed and eval alike (default: one per physical core).
    ``register``: add each rung to ``sqlcoder models`` as ``NAME-TYPE`` (``paths``: sqlcoder's
    :class:`~sqlcoder_cli.config.Paths`, default from the environment). A rung that fails keeps
    its row with the error; the ladder goes on.
    """
    from datetime import datetime, timezone

    from sqlcoder_cli.models.gguf_info import read_gguf_info

    say = status or (lambda message: None)
    in_file = Path(in_path).expanduser()
    names = parse_types(types)
    if (eval_questions is None) != (dbs is None):
        raise QuantizeUsageError(
            "--eval and --dbs go together", hint="--eval QUESTIONS.jsonl --dbs DIR (the folder of <db>.sqlite files)"
        )
    if eval_questions is not None:
        from sqlcoder_cli.evaluation.questions import load_questions, select

        if not Path(eval_questions).is_file():
            raise QuantizeUsageError(f"{eval_questions}: question file not found")
        if not select(load_questions(eval_questions, dbs=dbs), limit):  # its errors come now, not after hours
            raise QuantizeUsageError(f"{eval_questions} has no questions")
    if threads is not None and threads < 1:
        raise QuantizeUsageError(f"--threads must be at least 1, not {threads}")
    info = read_gguf_info(in_file)
    source = info.quantization
    requantized = source is not None and source not in FLOAT_TYPES
    made = [n for n in names if n != source]  # the input's own type is the input row, not remade
    for name in made:  # refuse an impossible rung (an IQ type without an imatrix) before any work
        check_request(in_file, name, imatrix=imatrix, allow_requantize=True)
    if requantized and made:
        message = f"{in_file.name} is already {source}: every rung is requantized from it and loses more than from F16"
        if on_warning is not None:
            on_warning(message)
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise QuantizeError(f"cannot create {out}: {exc.strerror or exc}") from exc
    if threads is None:
        from sqlcoder_cli.engine.hardware import usable_cores

        threads = usable_cores()

    rungs: list[Rung] = []
    if measure_input or source in names:
        rungs.append(Rung(qtype=source or "input", path=str(in_file), is_input=True, size_bytes=info.size_bytes))
    for name in made:
        rungs.append(Rung(qtype=name, path=str(out / rung_filename(in_file, name))))

    store = None
    if register:
        from sqlcoder_cli.config import Paths
        from sqlcoder_cli.models.store import ModelStore

        store = ModelStore(paths or Paths.resolve(dict(os.environ)))

    result = LadderResult(
        input_path=str(in_file), input_type=source, input_size_bytes=info.size_bytes, requantized=requantized,
        threads=threads, rungs=rungs, questions_file=str(eval_questions) if eval_questions else None,
        dbs=str(dbs) if dbs else None, limit=limit, eval_args=list(eval_args), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=_machine(),
    )  # fmt: skip
    try:
        for number, rung in enumerate(rungs, 1):
            where = f"[{number}/{len(rungs)}] {rung.qtype}"
            try:
                if not rung.is_input:
                    say(f"{where}: quantizing")
                    made_file: QuantizeResult = quantize_gguf(
                        in_file, rung.path, rung.qtype, threads=threads, imatrix=imatrix, allow_requantize=True,
                        on_warning=lambda message: None,  # said once above, for the whole ladder
                    )  # fmt: skip
                    rung.quantize_s = round(made_file.seconds, 2)
                    rung.size_bytes = made_file.size_bytes
                    if store is not None:
                        registered = f"{register}-{rung.qtype}"
                        store.add(made_file.path, name=registered, family=family)
                        rung.registered = registered
                count = read_gguf_info(rung.path).parameter_count
                rung.bits_per_weight = round(rung.size_bytes * 8 / count, 3) if count else None
                say(f"{where}: measuring load time, speed and memory")
                measured = _measure_in_child(Path(rung.path), threads)
                for key in ("load_s", "prefill_tokens", "prefill_tps", "gen_tokens", "gen_tps", "peak_rss_bytes"):
                    setattr(rung, key, measured.get(key))
                if eval_questions is not None and dbs is not None:
                    say(f"{where}: sqlcoder eval")
                    started = time.perf_counter()
                    report = _eval_in_child(Path(rung.path), Path(eval_questions), Path(dbs), out,
                                            rung.qtype + ("-input" if rung.is_input else ""), threads, limit, eval_args)  # fmt: skip
                    rung.eval_s = round(time.perf_counter() - started, 1)
                    overall = report.get("overall", {})
                    rung.accuracy = overall.get("accuracy")
                    rung.correct = overall.get("correct")
                    rung.questions = overall.get("n")
                    rung.eval_report = report.get("_report_path")
            except Interrupted:
                raise
            except SqlcoderError as exc:  # this rung's row says why; the ladder goes on
                rung.error = exc.message
                (on_warning or say)(f"{where} failed: {exc.message}")
            except KeyboardInterrupt:
                raise Interrupted(f"ladder interrupted at {rung.qtype}; the rungs made so far are in {out}") from None
    finally:
        md_path, json_path = out / "ladder.md", out / "ladder.json"
        result.markdown_path, result.json_path = str(md_path), str(json_path)
        _write_atomic(md_path, ladder_markdown(result))
        _write_atomic(json_path, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


# --------------------------------------------------------------------------------------------------
# python -m quantize.ladder measure FILE --threads N   (the child)
# --------------------------------------------------------------------------------------------------


def _measure_main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m quantize.ladder measure")
    parser.add_argument("path")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--prompt-tokens", type=int, default=PROMPT_TOKENS)
    parser.add_argument("--gen-tokens", type=int, default=GEN_TOKENS)
    args = parser.parse_args(argv)
    try:
        data = measure_model(args.path, threads=args.threads, prompt_tokens=args.prompt_tokens, gen_tokens=args.gen_tokens)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}), flush=True)
        return 3
    print(json.dumps(data), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        sys.exit(_measure_main(sys.argv[2:]))
    print("usage: python -m quantize.ladder measure FILE --threads N", file=sys.stderr)
    sys.exit(2)
