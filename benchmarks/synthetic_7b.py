"""Build a random-weight GGUF with the exact shape of SQLCoder-7B-2, quantized like the real files.

The Hugging Face hub is out of reach on the development machines, but speed and memory depend only
on the shape and quantization of the weights, not on their values. SQLCoder-7B-2 is a CodeLlama-7B
fine-tune: 32 layers, 4,096 hidden, 11,008 FFN, 32 heads (no GQA), a 32,016-token vocabulary,
16,384-token training context. This writes that model in F16 with random weights (tensor by tensor,
so memory stays low), then quantizes it with llama.cpp to Q4_K_M and Q5_K_M.

    python benchmarks/synthetic_7b.py [OUT_DIR]   # ~13.5 GB F16 (deleted after), ~4.1 + 4.8 GB kept
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_LAYERS, N_EMBD, N_FF, N_HEAD, N_VOCAB, N_CTX = 32, 4096, 11008, 32, 32016, 16384
QUANTS = {"Q4_K_M": 15, "Q5_K_M": 17}  # llama_ftype values


sys.path.insert(0, str(ROOT / "tests"))
from testkit.tiny_gguf import add_spm_tokenizer  # noqa: E402 - shared with the test fixtures


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    from testkit.tiny_gguf import _vocabulary as tiny_vocabulary

    tokens, scores, types = tiny_vocabulary()
    from gguf import TokenType

    i = 0
    while len(tokens) < N_VOCAB:  # pad to CodeLlama's size with unused pieces
        tokens.append(f"<unused{i}>")
        scores.append(-1000.0)
        types.append(TokenType.USER_DEFINED)
        i += 1
    return tokens, scores, types


def write_f16(path: Path, seed: int = 0) -> Path:
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType

    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocabulary()
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("sqlcoder-7b-2-shaped-random")
    writer.add_file_type(LlamaFileType.MOSTLY_F16)
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(N_VOCAB)
    add_spm_tokenizer(writer, tokens, scores, types)

    shapes: list[tuple[str, tuple[int, ...]]] = [("token_embd.weight", (N_VOCAB, N_EMBD))]
    for i in range(N_LAYERS):
        shapes += [
            (f"blk.{i}.attn_norm.weight", (N_EMBD,)),
            (f"blk.{i}.attn_q.weight", (N_EMBD, N_EMBD)),
            (f"blk.{i}.attn_k.weight", (N_EMBD, N_EMBD)),
            (f"blk.{i}.attn_v.weight", (N_EMBD, N_EMBD)),
            (f"blk.{i}.attn_output.weight", (N_EMBD, N_EMBD)),
            (f"blk.{i}.ffn_norm.weight", (N_EMBD,)),
            (f"blk.{i}.ffn_gate.weight", (N_FF, N_EMBD)),
            (f"blk.{i}.ffn_up.weight", (N_FF, N_EMBD)),
            (f"blk.{i}.ffn_down.weight", (N_EMBD, N_FF)),
        ]
    shapes += [("output_norm.weight", (N_EMBD,)), ("output.weight", (N_VOCAB, N_EMBD))]
    for name, shape in shapes:
        norm = len(shape) == 1
        dtype = np.float32 if norm else np.float16
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        writer.add_tensor_info(
            name, shape, np.dtype(dtype), nbytes,
            raw_dtype=GGMLQuantizationType.F32 if norm else GGMLQuantizationType.F16,
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for name, shape in shapes:
        if len(shape) == 1:
            writer.write_tensor_data(np.ones(shape, dtype=np.float32))
        else:
            data = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
            writer.write_tensor_data(data)
    writer.close()
    return path


def quantize(src: Path, dst: Path, ftype: int, threads: int = 2) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    code = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if code != 0:
        raise RuntimeError(f"llama_model_quantize failed with {code}")


def build(out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = {q: out_dir / f"sqlcoder-7b-2-shaped.{q}.gguf" for q in QUANTS}
    if all(p.exists() for p in targets.values()):
        return targets
    f16 = out_dir / "sqlcoder-7b-2-shaped.F16.gguf"
    started = time.perf_counter()
    if not f16.exists():
        write_f16(f16)
        print(f"wrote {f16} ({f16.stat().st_size / 1e9:.1f} GB) in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    for quant, path in targets.items():
        if not path.exists():
            t = time.perf_counter()
            quantize(f16, path, QUANTS[quant])
            print(f"quantized {path.name} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    f16.unlink()
    return targets


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.home() / ".cache" / "sqlcoder-bench-models"
    for quant, path in build(out).items():
        print(quant, path)
