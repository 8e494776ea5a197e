"""Does ``sqlcoder-quantize convert`` stay small on a real 7B checkpoint? Its memory, measured.

    python benchmarks/convert_7b.py [--layers 32] [--outtype f16] [--tmp /work/bench-tmp] [--keep]
                                    [--out benchmarks/results/convert_7b.json]

The converter streams: the GGUF header is written first, then each tensor in chunks of rows read
from the memory-mapped shards (quantize/convert.py). Its claim (issue 15) is that its *anonymous*
memory — what it allocates itself, RSS minus the file-backed pages of the mapped shards, which the
kernel drops whenever it needs the room — stays under 3 GB on a 7B model. Only a checkpoint of the
real size shows that, and none can be downloaded on the development machines, so this writes one:

1. a Llama checkpoint shaped exactly like defog/sqlcoder-7b-2 (CodeLlama-7B: 32 layers, hidden
   4,096, 32 heads without GQA, FFN 11,008, vocabulary 32,016, RoPE theta 1e6, 16,384 positions),
   BF16 as that repository ships it, in shards of at most 5 GB with model.safetensors.index.json,
   and a small SentencePiece tokenizer.model (the converter pads the vocabulary to 32,016). The
   weights are one random block of 1M values repeated (what np.resize does), written tensor by
   tensor in block-sized pieces: generating 6.7e9 random numbers would take longer than the
   conversion, and the values do not change what the converter allocates;
2. ``python -m quantize -q convert DIR OUT.gguf --outtype f16`` in a child process, whose
   /proc/PID/status the parent samples every 0.1 s: RssAnon (anonymous), RssFile (file-backed),
   RssShmem, VmRSS, VmHWM; plus the kernel's own peak RSS from wait4 (ru_maxrss);
3. the GGUF's header checked (architecture, block count, tensor count and types, the padded
   vocabulary, data section complete) with both sqlcoder's reader and the gguf package's.

The checkpoint and the GGUF (≈13.5 GB each for 7B) are removed at the end unless --keep. The time
is what this machine took, load included (the load average is recorded before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "quantize"))
from tiny_checkpoints import LLAMA_CHAT_TEMPLATE, _config, bf16_round, train_sentencepiece  # noqa: E402

# defog/sqlcoder-7b-2 (CodeLlama-7B)
HIDDEN, HEADS, KV_HEADS, FF, VOCAB, N_CTX, THETA, EPS = 4096, 32, 32, 11008, 32016, 16384, 1e6, 1e-5
SHARD_BYTES = 5 * 10**9  # Hugging Face's default max_shard_size ("5GB")
BLOCK_ELEMENTS = 1_000_000  # the random block every weight repeats
ANON_LIMIT_BYTES = 3 * 10**9  # issue 15's bound on the converter's anonymous memory
SAMPLE_S = 0.1
BYTES_PER_WEIGHT = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34 / 32}  # of the output GGUF
STATUS_KEYS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


# ---------------------------------------------------------------------------------------------
# the checkpoint


def tensor_shapes(layers: int) -> list[tuple[str, tuple[int, ...]]]:
    """Every tensor of the model in the order transformers saves a LlamaForCausalLM's state dict."""
    shapes: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes += [
            (p + "self_attn.q_proj.weight", (HIDDEN, HIDDEN)),
            (p + "self_attn.k_proj.weight", (KV_HEADS * HIDDEN // HEADS, HIDDEN)),
            (p + "self_attn.v_proj.weight", (KV_HEADS * HIDDEN // HEADS, HIDDEN)),
            (p + "self_attn.o_proj.weight", (HIDDEN, HIDDEN)),
            (p + "mlp.gate_proj.weight", (FF, HIDDEN)),
            (p + "mlp.up_proj.weight", (FF, HIDDEN)),
            (p + "mlp.down_proj.weight", (HIDDEN, FF)),
            (p + "input_layernorm.weight", (HIDDEN,)),
            (p + "post_attention_layernorm.weight", (HIDDEN,)),
        ]
    shapes += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return shapes


def shard_plan(shapes: list[tuple[str, tuple[int, ...]]]) -> list[list[tuple[str, tuple[int, ...]]]]:
    """Tensors in order, a new shard whenever the next one would pass SHARD_BYTES (as transformers'
    ``save_pretrained`` splits)."""
    shards: list[list[tuple[str, tuple[int, ...]]]] = [[]]
    size = 0
    for name, shape in shapes:
        nbytes = int(np.prod(shape)) * 2
        if shards[-1] and size + nbytes > SHARD_BYTES:
            shards.append([])
            size = 0
        shards[-1].append((name, shape))
        size += nbytes
    return shards


def write_shard(path: Path, tensors: list[tuple[str, tuple[int, ...]]], block: np.ndarray) -> int:
    """Write one BF16 safetensors shard without ever holding a tensor: the header (offsets follow
    from the shapes), then each tensor as ``np.resize(block rolled per tensor, shape)`` in
    block-sized writes. Norm weights are 1 + the block's values, as trained norms sit near 1.

    tiny_checkpoints.write_raw_safetensors writes the same layout from bytes in memory, which is
    what a 7B model cannot afford; this is its streaming form."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors:
        nbytes = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    ones = np.float32(1.0)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for name, shape in tensors:
            n = int(np.prod(shape))
            if len(shape) == 1:
                fh.write(bf16_round(ones + block[:n]).tobytes())
                continue
            bits = bf16_round(np.roll(block, zlib.crc32(name.encode()) % BLOCK_ELEMENTS)).tobytes()
            full, rest = divmod(n, BLOCK_ELEMENTS)
            for _ in range(full):
                fh.write(bits)
            fh.write(bits[: rest * 2])
    return len(blob) + 8 + offset


def write_checkpoint(directory: Path, layers: int, seed: int = 0) -> dict[str, Any]:
    """The SQLCoder-7B-2-shaped checkpoint (``layers`` of its 32 for a quick run) in ``directory``."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    config = _config(
        "LlamaForCausalLM", vocab=VOCAB, hidden=HIDDEN, heads=HEADS, kv_heads=KV_HEADS, ff=FF, layers=layers,
        theta=THETA, eps=EPS, tied=False, max_position_embeddings=N_CTX, torch_dtype="bfloat16",
        bos_token_id=1, eos_token_id=2, rope_scaling=None, _name_or_path="sqlcoder-7b-2-shaped-random",
    )  # fmt: skip
    (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "add_bos_token": True, "add_eos_token": False, "chat_template": LLAMA_CHAT_TEMPLATE,
        "tokenizer_class": "CodeLlamaTokenizer",
    }, indent=2), encoding="utf-8")  # fmt: skip
    train_sentencepiece(directory / "tokenizer.model")

    rng = np.random.default_rng(seed)
    block = rng.standard_normal(BLOCK_ELEMENTS, dtype=np.float32) * np.float32(0.02)
    shards = shard_plan(tensor_shapes(layers))
    weight_map: dict[str, str] = {}
    total = 0
    files: list[dict[str, Any]] = []
    for s, tensors in enumerate(shards):
        name = f"model-{s + 1:05d}-of-{len(shards):05d}.safetensors"
        size = write_shard(directory / name, tensors, block)
        weight_map.update(dict.fromkeys((t for t, _ in tensors), name))
        total += sum(int(np.prod(shape)) * 2 for _, shape in tensors)
        files.append({"name": name, "tensors": len(tensors), "bytes": size})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    n_params = sum(int(np.prod(shape)) for _, shape in tensor_shapes(layers))
    return {
        "parameters": n_params, "tensors": len(weight_map), "dtype": "BF16", "weight_bytes": total,
        "bytes": sum(p.stat().st_size for p in directory.iterdir()), "shards": files,
        "write_s": round(time.perf_counter() - started, 1),
    }


# ---------------------------------------------------------------------------------------------
# the conversion, measured from outside


def read_status(pid: int) -> dict[str, int] | None:
    """The memory lines of /proc/PID/status in bytes; None once the process is gone. A zombie
    (exited, not yet reaped) has no memory lines: an empty dict."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in STATUS_KEYS:
            values[key] = int(rest.split()[0]) * 1024  # "kB"
    return values


def convert_measured(checkpoint: Path, out: Path, outtype: str, logs: Path) -> dict[str, Any]:
    """Run the converter in a child and sample its memory until it exits.

    The child is reaped with os.wait4 so the kernel's peak RSS (ru_maxrss) comes with its status;
    the samples give the anonymous part, which no rusage field reports."""
    command = [sys.executable, "-m", "quantize", "-q", "convert", str(checkpoint), str(out), "--outtype", outtype]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    peaks = dict.fromkeys(STATUS_KEYS, 0)
    timeline: list[dict[str, float]] = []
    samples = 0
    with (logs / "stdout.txt").open("wb") as so, (logs / "stderr.txt").open("wb") as se:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        try:
            while True:
                pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    break
                now = read_status(child.pid)
                if now:
                    samples += 1
                    for key, value in now.items():
                        peaks[key] = max(peaks[key], value)
                    if samples % 10 == 1:  # one point a second for the record
                        timeline.append({
                            "t_s": round(time.perf_counter() - started, 1),
                            "rss_anon_mb": round(now.get("RssAnon", 0) / 1e6),
                            "rss_file_mb": round(now.get("RssFile", 0) / 1e6),
                        })  # fmt: skip
                time.sleep(SAMPLE_S)
        except BaseException:
            child.kill()
            os.waitpid(child.pid, 0)
            child.returncode = -9
            raise
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped above: tell Popen
    stderr = (logs / "stderr.txt").read_text(errors="replace").strip()
    stdout = (logs / "stdout.txt").read_text(errors="replace").strip()
    if child.returncode != 0:
        raise SystemExit(f"the conversion failed (exit {child.returncode}): {stderr[-2000:] or stdout[-2000:]}")
    return {
        "command": " ".join(["python", *command[1:]]),
        "returncode": child.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_anon_bytes": peaks["RssAnon"],
        "peak_rss_file_bytes": peaks["RssFile"],
        "peak_rss_shmem_bytes": peaks["RssShmem"],
        "peak_rss_sampled_bytes": peaks["VmRSS"],
        "vm_hwm_bytes": peaks["VmHWM"],  # the kernel's peak RSS, as of the last sample
        "ru_maxrss_bytes": rusage.ru_maxrss * 1024,  # the kernel's peak RSS, at exit
        "peak_rss_bytes": max(peaks["VmRSS"], peaks["VmHWM"], rusage.ru_maxrss * 1024),
        "user_cpu_s": round(rusage.ru_utime, 1),
        "system_cpu_s": round(rusage.ru_stime, 1),
        "samples": samples,
        "sample_interval_s": SAMPLE_S,
        "stdout": stdout,
        "stderr": stderr,
        "timeline": timeline,
    }


def check_gguf(path: Path, layers: int, outtype: str) -> dict[str, Any]:
    """The header must describe the model that was written; raise SystemExit where it does not."""
    from gguf import GGUFReader

    from sqlcoder_cli.models.gguf_info import read_gguf_info

    info = read_gguf_info(path)  # also checks that the data section is complete
    reader = GGUFReader(str(path))
    types: dict[str, int] = {}
    for tensor in reader.tensors:
        types[tensor.tensor_type.name] = types.get(tensor.tensor_type.name, 0) + 1
    arch_field = reader.fields["general.architecture"]
    architecture = bytes(arch_field.parts[arch_field.data[0]]).decode()
    n_tokens = len(reader.fields["tokenizer.ggml.tokens"].data)
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    found = {
        "architecture": architecture, "block_count": info.block_count, "embedding_length": info.embedding_length,
        "head_count": info.head_count, "head_count_kv": info.head_count_kv, "context_length": info.context_length,
        "file_type": info.quantization, "tensor_count": len(reader.tensors), "tensor_types": types,
        "vocabulary_tokens": n_tokens, "token_embd_shape": [int(x) for x in embd.shape],
        "parameters": info.parameter_count,
    }  # fmt: skip
    n_float = {"f32": "F32", "f16": "F16", "bf16": "BF16", "q8_0": "Q8_0"}[outtype]
    expected = {
        "architecture": "llama", "block_count": layers, "embedding_length": HIDDEN, "head_count": HEADS,
        "head_count_kv": KV_HEADS, "context_length": N_CTX, "tensor_count": 3 + 9 * layers,
        "vocabulary_tokens": VOCAB, "token_embd_shape": [HIDDEN, VOCAB],
        "tensor_types": {"F32": 1 + 2 * layers + (2 + 7 * layers if n_float == "F32" else 0)}
        | ({n_float: 2 + 7 * layers} if n_float != "F32" else {}),
    }  # fmt: skip
    wrong = {k: (found[k], v) for k, v in expected.items() if found[k] != v}
    if wrong:
        raise SystemExit(f"{path}: the GGUF header is not the model written: " + ", ".join(
            f"{k} {got!r} (expected {want!r})" for k, (got, want) in wrong.items()))
    return found


# ---------------------------------------------------------------------------------------------


def git_revision() -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def mem_total_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gb(n: int | float) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=32, help="layers of the 32 to write (2 for a quick check)")
    parser.add_argument("--outtype", default="f16", choices=sorted(BYTES_PER_WEIGHT))
    parser.add_argument("--tmp", type=Path, default=Path("/work/bench-tmp"), help="where the files go (removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoint and the GGUF")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "convert_7b.json")
    args = parser.parse_args()
    if args.layers < 1:
        parser.error("--layers must be at least 1")
    if sys.platform != "linux":
        raise SystemExit("this benchmark reads /proc/PID/status: Linux only")

    n_params = sum(int(np.prod(shape)) for _, shape in tensor_shapes(args.layers))
    need = int((n_params * 2 + n_params * BYTES_PER_WEIGHT[args.outtype]) * 1.3)  # ≈35 GB for 7B f16
    args.tmp.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.tmp).free
    if free < need:
        raise SystemExit(f"{args.tmp} has {gb(free)} free; this run writes a checkpoint and a GGUF and needs "
                         f"{gb(need)} (free some space or pass --tmp DIR on a larger disk)")

    work = Path(tempfile.mkdtemp(prefix="convert-7b-", dir=args.tmp))
    load_before = os.getloadavg()
    try:
        print(f"writing a {args.layers}-layer SQLCoder-7B-2-shaped BF16 checkpoint in {work} ...", file=sys.stderr)
        checkpoint = write_checkpoint(work / "checkpoint", args.layers)
        print(f"  {gb(checkpoint['bytes'])} in {len(checkpoint['shards'])} shards, {checkpoint['write_s']} s",
              file=sys.stderr)
        out = work / f"sqlcoder-7b-2-shaped.{args.outtype.upper()}.gguf"
        print(f"converting to {args.outtype} in a child process ...", file=sys.stderr)
        conversion = convert_measured(work / "checkpoint", out, args.outtype, work)
        gguf_size = out.stat().st_size
        header = check_gguf(out, args.layers, args.outtype)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    from importlib import metadata

    anon = conversion["peak_rss_anon_bytes"]
    passed = anon < ANON_LIMIT_BYTES
    rows = [
        ("model", f"SQLCoder-7B-2 shape, {args.layers} layers, {n_params / 1e9:.2f} B parameters"),
        ("checkpoint", f"BF16, {len(checkpoint['shards'])} shards, {gb(checkpoint['bytes'])} (written in {checkpoint['write_s']} s)"),
        ("output", f"{args.outtype.upper()} GGUF, {gb(gguf_size)}, {header['tensor_count']} tensors, {header['vocabulary_tokens']} tokens"),
        ("conversion wall time", f"{conversion['wall_s']} s (CPU {conversion['user_cpu_s']} s user + {conversion['system_cpu_s']} s system)"),
        ("peak anonymous memory (RssAnon)", f"{gb(anon)} ({'under' if passed else 'OVER'} the 3 GB limit)"),
        ("peak file-backed memory (RssFile)", gb(conversion["peak_rss_file_bytes"])),
        ("peak RSS (VmHWM, ru_maxrss)", gb(conversion["peak_rss_bytes"])),
        ("load average before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPUs"),
    ]  # fmt: skip
    table = "| measure | value |\n| --- | --- |\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    print(table, end="")
    payload = {
        "benchmark": "convert_7b",
        "date": time.strftime("%Y-%m-%d"),
        "git": git_revision(),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "memory_bytes": mem_total_bytes(), "python": platform.python_version(),
                    "numpy": np.__version__, "gguf": metadata.version("gguf"),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after]},
        "shape": {"layers": args.layers, "hidden": HIDDEN, "heads": HEADS, "kv_heads": KV_HEADS, "ff": FF,
                  "vocab_size": VOCAB, "context_length": N_CTX, "rope_theta": THETA, "parameters": n_params},
        "checkpoint": checkpoint,
        "outtype": args.outtype,
        "conversion": conversion,
        "output": {"size_bytes": gguf_size, "header": header},
        "limit": {"rss_anon_bytes": ANON_LIMIT_BYTES, "passed": passed},
        "files_removed": not args.keep,
        "markdown": table,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
