"""Hugging Face checkpoint (config.json + safetensors + tokenizer) → one GGUF file llama.cpp loads.

Supported: Llama-family checkpoints (``LlamaForCausalLM``: CodeLlama, SQLCoder-7B-2 and -70B,
Llama-3 and llama-3-sqlcoder-8b; ``MistralForCausalLM``) and Qwen2 (``Qwen2ForCausalLM``:
Qwen2.5-Coder and the SQL specialists fine-tuned from it).

What llama.cpp expects that the checkpoint does not say outright:

* **The Q/K row permutation for Llama.** Hugging Face's Llama rotates each head's halves
  (``rotate_half``: dims i and i + d/2 form a pair); llama.cpp's ``llama`` architecture uses the
  original Meta layout, where dims 2i and 2i+1 form a pair. The HF conversion script permuted
  Meta's rows into the half layout; we undo it per head (``_qk_row_order``), for the q and k
  projections (and their biases), with the key/value head count for k. Qwen2 is run by llama.cpp
  with NEOX-style RoPE, which *is* the half layout, so its weights are written as they are.
* **Which tensors stay F32.** Norms, biases and other 1-D tensors are always F32 (llama.cpp's
  kernels expect it); the rest take the requested type. Q8_0 needs rows that are a multiple of 32;
  a tensor whose rows are not falls back to F16, as in llama.cpp's own converter.
* **Llama-3.1's RoPE scaling** is not a metadata key but a ``rope_freqs`` tensor of per-frequency
  divisors, computed here from ``rope_scaling``.

Streaming: the GGUF header (metadata, tensor names, shapes, types, offsets) is fully known before any
weight is read, so ``gguf.GGUFWriter`` writes it, and the data section is then appended tensor by
tensor, each in chunks of rows read from the memory-mapped shards. Memory stays at about one chunk
(``CHUNK_ELEMENTS``) whatever the model's size. The file is written under a temporary name in the
output folder and renamed into place only when complete: a failure or Ctrl-C leaves no output file
and no temporary file, and an older file of the same name untouched.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quantize.checkpoint import FLOAT_DTYPES, Checkpoint, unsupported_dtype
from quantize.errors import ConversionError, QuantizeUsageError
from quantize.vocab import read_vocabulary

logger = logging.getLogger(__name__)

OUTTYPES = ("f32", "f16", "bf16", "q8_0")

#: Hugging Face architecture → GGUF architecture name.
ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
}

#: Elements converted at a time (16 MB of float32): bounds the converter's memory on any model.
CHUNK_ELEMENTS = 4 * 1024 * 1024

#: Checkpoint tensors that are caches of values llama.cpp computes itself.
_SKIPPED_SUFFIXES = (".rotary_emb.inv_freq", ".attention.masked_bias", ".attention.bias")


@dataclass(frozen=True)
class ConvertResult:
    """What ``convert_checkpoint`` wrote. ``architecture`` is the GGUF architecture ("llama",
    "qwen2"); ``tensor_count`` counts the tensors in the file."""

    path: Path
    architecture: str
    tensor_count: int
    outtype: str
    seconds: float
    size_bytes: int


@dataclass(frozen=True)
class ModelShape:
    """The hyperparameters the conversion needs, read and checked from config.json."""

    hf_architecture: str
    architecture: str
    n_layers: int
    hidden: int
    n_head: int
    n_head_kv: int
    head_dim: int
    ff: int
    vocab_size: int
    context_length: int
    rope_theta: float
    rms_eps: float
    tied_embeddings: bool


@dataclass(frozen=True)
class _TensorPlan:
    """One tensor of the output: where its rows come from and how they are encoded."""

    name: str  # GGUF name
    shape: tuple[int, ...]  # numpy order (rows first)
    qtype: Any  # gguf.GGMLQuantizationType
    nbytes: int
    source: str | None = None  # checkpoint tensor; None for a computed one
    row_order: np.ndarray | None = None  # Q/K permutation: output row i is source row row_order[i]
    data: np.ndarray | None = None  # a computed tensor's values (rope_freqs)


def convert_checkpoint(
    checkpoint_dir: Path,
    out_path: Path,
    *,
    outtype: str = "f16",
    progress: Callable[[int, int], None] | None = None,
) -> ConvertResult:
    """Convert the checkpoint in ``checkpoint_dir`` into the GGUF ``out_path``.

    ``outtype`` is the type of the 2-D weights: f32, f16, bf16 or q8_0 (norms and biases stay
    F32). ``progress(done, total)`` is called after each tensor. Raises ``ConversionError`` (one
    line) for a checkpoint that cannot be converted, ``QuantizeUsageError`` for an unknown
    outtype; on any failure no file is left at ``out_path`` (an existing one is kept as it was).
    """
    import gguf

    started = time.perf_counter()
    if outtype not in OUTTYPES:
        raise QuantizeUsageError(f"unknown outtype {outtype!r}", hint=f"choose one of {', '.join(OUTTYPES)}")
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ConversionError(f"{out_path} is a folder; give the GGUF file's name")
    if not out_path.parent.is_dir():
        raise ConversionError(f"the output folder {out_path.parent} does not exist")

    checkpoint = Checkpoint.open(Path(checkpoint_dir))
    try:
        shape = read_model_shape(checkpoint.config)
        plans = _plan_tensors(checkpoint, shape, outtype)
        vocab = read_vocabulary(checkpoint.directory, checkpoint.config, shape.vocab_size)
        for note in vocab.notes:
            logger.warning("%s", note)

        writer = gguf.GGUFWriter(path=None, arch=shape.architecture)
        _add_metadata(writer, checkpoint, shape, outtype)
        vocab.add_to(writer)
        for plan in plans:
            writer.add_tensor_info(plan.name, plan.shape, np.dtype(np.float32), plan.nbytes, raw_dtype=plan.qtype)
        _write_atomically(writer, checkpoint, plans, out_path, progress)
    finally:
        checkpoint.close()
    return ConvertResult(
        path=out_path,
        architecture=shape.architecture,
        tensor_count=len(plans),
        outtype=outtype,
        seconds=time.perf_counter() - started,
        size_bytes=out_path.stat().st_size,
    )


# ---------------------------------------------------------------------------------------------
# config


def _int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConversionError(f"config.json: {key} is missing or not a positive integer ({value!r})")
    return value


def read_model_shape(config: dict[str, Any]) -> ModelShape:
    """Check that the config describes a model this converter supports and read its shape."""
    archs = config.get("architectures")
    hf_arch = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None
    if hf_arch is None:
        raise ConversionError("config.json names no architecture (\"architectures\")")
    if hf_arch not in ARCHITECTURES:
        raise ConversionError(
            f"unsupported architecture {hf_arch}",
            hint=f"supported: {', '.join(sorted(ARCHITECTURES))}",
        )
    act = config.get("hidden_act", "silu")
    if act != "silu":
        raise ConversionError(f"config.json: hidden_act {act!r} is not the SiLU that {hf_arch} runs with")
    hidden = _int(config, "hidden_size")
    n_head = _int(config, "num_attention_heads")
    n_head_kv = _int(config, "num_key_value_heads", n_head)
    if n_head % n_head_kv:
        raise ConversionError(f"config.json: {n_head} attention heads are not a multiple of {n_head_kv} "
                              "key/value heads")
    head_dim = config.get("head_dim") or (hidden // n_head if hidden % n_head == 0 else None)
    if not isinstance(head_dim, int) or head_dim <= 0 or head_dim % 2:
        raise ConversionError("config.json: cannot tell the head size (hidden_size / num_attention_heads)")
    theta = config.get("rope_theta", 10000.0)
    eps = config.get("rms_norm_eps", 1e-6)
    if not isinstance(theta, (int, float)) or not isinstance(eps, (int, float)):
        raise ConversionError("config.json: rope_theta and rms_norm_eps must be numbers")
    return ModelShape(
        hf_architecture=hf_arch,
        architecture=ARCHITECTURES[hf_arch],
        n_layers=_int(config, "num_hidden_layers"),
        hidden=hidden,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim=head_dim,
        ff=_int(config, "intermediate_size"),
        vocab_size=_int(config, "vocab_size"),
        context_length=_int(config, "max_position_embeddings", 4096),
        rope_theta=float(theta),
        rms_eps=float(eps),
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
    )


def _rope_scaling(config: dict[str, Any]) -> dict[str, Any]:
    scaling = config.get("rope_scaling")
    if not isinstance(scaling, dict):
        return {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind in ("linear", "yarn", "llama3", "dynamic"):
        factor = scaling.get("factor")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            raise ConversionError(f"config.json: rope_scaling of type {kind} has no valid factor ({factor!r})")
    return {**scaling, "kind": kind}


def llama3_rope_factors(shape: ModelShape, scaling: dict[str, Any]) -> np.ndarray:
    """Llama-3.1's RoPE scaling as llama.cpp takes it: one divisor per frequency (``rope_freqs``).

    High frequencies (wavelength under original_context / high_freq_factor) are kept, low ones
    divided by ``factor``, the band between interpolated smoothly, as in Hugging Face's
    ``_compute_llama3_parameters``.
    """
    factor = float(scaling.get("factor", 8.0))
    low = float(scaling.get("low_freq_factor", 1.0))
    high = float(scaling.get("high_freq_factor", 4.0))
    old_ctx = float(scaling.get("original_max_position_embeddings", 8192))
    dim = shape.head_dim
    freqs = 1.0 / shape.rope_theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    wavelen = 2 * math.pi / freqs
    smooth = (old_ctx / wavelen - low) / (high - low) if high != low else np.zeros_like(wavelen)
    factors = np.where(
        wavelen < old_ctx / high,
        1.0,
        np.where(wavelen > old_ctx / low, factor, 1.0 / ((1 - smooth) / factor + smooth)),
    )
    return factors.astype(np.float32)


def _add_metadata(writer: Any, checkpoint: Checkpoint, shape: ModelShape, outtype: str) -> None:
    import gguf

    config = checkpoint.config
    source_name = config.get("_name_or_path")
    name = Path(source_name).name if isinstance(source_name, str) and source_name else checkpoint.directory.name
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_context_length(shape.context_length)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.n_layers)
    writer.add_feed_forward_length(shape.ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    writer.add_vocab_size(shape.vocab_size)
    writer.add_rope_dimension_count(shape.head_dim)
    if "head_dim" in config:
        writer.add_key_length(shape.head_dim)
        writer.add_value_length(shape.head_dim)

    scaling = _rope_scaling(config)
    kind = scaling.get("kind")
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
        orig = scaling.get("original_max_position_embeddings", shape.context_length)
        writer.add_rope_scaling_orig_ctx_len(int(orig))
    if config.get("use_sliding_window") or (
        isinstance(config.get("sliding_window"), int)
        and config["sliding_window"] < shape.context_length
        and shape.architecture == "llama"
    ):
        logger.warning("%s uses sliding-window attention, which llama.cpp's %s does not; prompts "
                       "longer than the window are attended in full", shape.hf_architecture, shape.architecture)

    file_types = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "bf16": gguf.LlamaFileType.MOSTLY_BF16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }
    writer.add_file_type(file_types[outtype])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


# ---------------------------------------------------------------------------------------------
# tensors


def _qk_row_order(n_rows: int, n_head: int) -> np.ndarray:
    """The row order that turns Hugging Face's half-split RoPE layout back into llama.cpp's
    interleaved one, per head: within each head of d rows, output rows (2j, 2j+1) are source rows
    (j, j + d/2). The same reordering as llama.cpp's ``LlamaModel.permute``."""
    head = n_rows // n_head
    return np.arange(n_rows).reshape(n_head, 2, head // 2).swapaxes(1, 2).reshape(n_rows)


def _expected_shapes(shape: ModelShape) -> dict[tuple[Any, str], tuple[int, ...]]:
    """(tensor kind, suffix) → shape config.json implies, for the checks before converting."""
    from gguf import MODEL_TENSOR as T

    h, q, kv, ff, v = shape.hidden, shape.n_head * shape.head_dim, shape.n_head_kv * shape.head_dim, shape.ff, \
        shape.vocab_size
    return {
        (T.TOKEN_EMBD, "weight"): (v, h),
        (T.OUTPUT, "weight"): (v, h),
        (T.OUTPUT_NORM, "weight"): (h,),
        (T.ATTN_NORM, "weight"): (h,),
        (T.FFN_NORM, "weight"): (h,),
        (T.ATTN_Q, "weight"): (q, h),
        (T.ATTN_Q, "bias"): (q,),
        (T.ATTN_K, "weight"): (kv, h),
        (T.ATTN_K, "bias"): (kv,),
        (T.ATTN_V, "weight"): (kv, h),
        (T.ATTN_V, "bias"): (kv,),
        (T.ATTN_OUT, "weight"): (h, q),
        (T.ATTN_OUT, "bias"): (h,),
        (T.FFN_GATE, "weight"): (ff, h),
        (T.FFN_GATE, "bias"): (ff,),
        (T.FFN_UP, "weight"): (ff, h),
        (T.FFN_UP, "bias"): (ff,),
        (T.FFN_DOWN, "weight"): (h, ff),
        (T.FFN_DOWN, "bias"): (h,),
    }


def _required(shape: ModelShape) -> list[tuple[Any, str, int | None]]:
    from gguf import MODEL_TENSOR as T

    needed: list[tuple[Any, str, int | None]] = [(T.TOKEN_EMBD, "weight", None), (T.OUTPUT_NORM, "weight", None)]
    if not shape.tied_embeddings:
        needed.append((T.OUTPUT, "weight", None))
    per_block = [T.ATTN_NORM, T.ATTN_Q, T.ATTN_K, T.ATTN_V, T.ATTN_OUT, T.FFN_NORM, T.FFN_GATE, T.FFN_UP, T.FFN_DOWN]
    for bid in range(shape.n_layers):
        needed += [(kind, "weight", bid) for kind in per_block]
        if shape.architecture == "qwen2":  # llama.cpp's qwen2 requires the q/k/v biases
            needed += [(kind, "bias", bid) for kind in (T.ATTN_Q, T.ATTN_K, T.ATTN_V)]
    return needed


def _hf_name(kind: Any, bid: int | None) -> str:
    """The Hugging Face name of a tensor kind, for messages about a missing one."""
    from gguf import MODEL_TENSOR as T

    names = {
        T.TOKEN_EMBD: "model.embed_tokens", T.OUTPUT: "lm_head", T.OUTPUT_NORM: "model.norm",
        T.ATTN_NORM: "input_layernorm", T.FFN_NORM: "post_attention_layernorm",
        T.ATTN_Q: "self_attn.q_proj", T.ATTN_K: "self_attn.k_proj", T.ATTN_V: "self_attn.v_proj",
        T.ATTN_OUT: "self_attn.o_proj", T.FFN_GATE: "mlp.gate_proj", T.FFN_UP: "mlp.up_proj",
        T.FFN_DOWN: "mlp.down_proj",
    }
    name = names.get(kind, str(kind))
    return name if bid is None else f"model.layers.{bid}.{name}"


def _qtype_for(name: str, shape: tuple[int, ...], outtype: str) -> Any:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as Q

    if len(shape) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return Q.F32
    qtype = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0}[outtype]
    block, _ = GGML_QUANT_SIZES[qtype]
    if shape[-1] % block:
        logger.warning("%s: rows of %d are not a multiple of %d; stored as F16", name, shape[-1], block)
        return Q.F16
    return qtype


def _nbytes(shape: tuple[int, ...], qtype: Any) -> int:
    from gguf import GGML_QUANT_SIZES

    block, type_size = GGML_QUANT_SIZES[qtype]
    return math.prod(shape) // block * type_size


def _plan_tensors(checkpoint: Checkpoint, shape: ModelShape, outtype: str) -> list[_TensorPlan]:
    """Map, check and type every tensor before the output file is opened, so that a checkpoint
    that cannot be converted fails before anything is written."""
    import gguf
    from gguf import MODEL_TENSOR as T

    arch = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2}[shape.architecture]
    name_map = gguf.get_tensor_name_map(arch, shape.n_layers)
    expected = _expected_shapes(shape)
    plans: list[_TensorPlan] = []
    seen: dict[str, str] = {}
    for source, entry in checkpoint.tensors.items():
        if source.endswith(_SKIPPED_SUFFIXES):
            continue
        if shape.tied_embeddings and source == "lm_head.weight":
            continue  # tied: Hugging Face uses the embedding, and so does llama.cpp without output
        found = name_map.get_type_and_name(source, try_suffixes=(".weight", ".bias"))
        if found is None:
            raise ConversionError(
                f"tensor {source} is not part of a {shape.hf_architecture} with {shape.n_layers} layers",
                hint="the weights do not match config.json, or the model has parts this converter does not know",
            )
        kind, name = found
        suffix = name.rsplit(".", 1)[-1]
        want = expected.get((kind, suffix))
        if want is None:
            raise ConversionError(f"tensor {source} ({name}) is not one a {shape.architecture} GGUF can hold")
        if entry.shape != want:
            if kind in (T.TOKEN_EMBD, T.OUTPUT) and len(entry.shape) == 2 and entry.shape[1:] == want[1:]:
                raise ConversionError(
                    f"{source} has {entry.shape[0]} rows but config.json says vocab_size {shape.vocab_size}"
                )
            raise ConversionError(f"tensor {source} has shape {list(entry.shape)}; config.json implies {list(want)}")
        if entry.dtype not in FLOAT_DTYPES:
            raise unsupported_dtype(entry)
        if name in seen:
            raise ConversionError(f"tensors {seen[name]} and {source} both map to {name}")
        seen[name] = source
        order = None
        if shape.architecture == "llama" and kind in (T.ATTN_Q, T.ATTN_K):
            heads = shape.n_head if kind is T.ATTN_Q else shape.n_head_kv
            order = _qk_row_order(entry.shape[0], heads)
        qtype = _qtype_for(name, entry.shape, outtype)
        plans.append(_TensorPlan(name, entry.shape, qtype, _nbytes(entry.shape, qtype), source, order))

    for kind, suffix, bid in _required(shape):
        gguf_name = gguf.TENSOR_NAMES[kind].format(bid=bid) + "." + suffix
        if gguf_name not in seen:
            raise ConversionError(
                f"the checkpoint has no {_hf_name(kind, bid)}.{suffix} tensor",
                hint="the download is incomplete or the weights do not match config.json",
            )

    scaling = _rope_scaling(checkpoint.config)
    kind = scaling.get("kind")
    if kind == "llama3":
        if shape.architecture != "llama":
            raise ConversionError(f"llama3 RoPE scaling on a {shape.hf_architecture} is not supported")
        factors = llama3_rope_factors(shape, scaling)
        name = gguf.TENSOR_NAMES[T.ROPE_FREQS] + ".weight"
        plans.append(_TensorPlan(name, factors.shape, gguf.GGMLQuantizationType.F32, factors.nbytes, data=factors))
    elif kind == "dynamic":
        logger.warning("dynamic NTK RoPE scaling is not in llama.cpp; it changes nothing up to the "
                       "model's original context length")
    elif kind not in (None, "default", "linear", "yarn"):
        raise ConversionError(f"config.json: rope_scaling type {kind!r} is not supported by llama.cpp's "
                              f"{shape.architecture}")
    return plans


def _encode(block: np.ndarray, qtype: Any) -> np.ndarray:
    """Rows in the stored dtype (float32, float16, or raw bf16 bits as uint16) → the output bytes."""
    import gguf
    from gguf import GGMLQuantizationType as Q

    if qtype == Q.BF16 and block.dtype == np.uint16:
        return block  # bf16 → bf16: the bits as they are
    if block.dtype == np.uint16:
        from quantize.checkpoint import bf16_to_f32

        block = bf16_to_f32(block)
    if qtype == Q.F32:
        return block.astype(np.float32, copy=False)
    if qtype == Q.F16:
        return block.astype(np.float16, copy=False)
    return gguf.quants.quantize(block.astype(np.float32, copy=False), qtype)


def _write_data(fh: Any, checkpoint: Checkpoint, plan: _TensorPlan, alignment: int) -> None:
    from gguf import GGMLQuantizationType as Q

    written = 0
    if plan.data is not None:
        fh.write(memoryview(np.ascontiguousarray(plan.data)).cast("B"))
        written = plan.data.nbytes
    else:
        assert plan.source is not None
        entry = checkpoint.entry(plan.source)
        step = max(1, CHUNK_ELEMENTS // max(1, entry.row_elements))
        for start in range(0, entry.n_rows, step):
            stop = min(entry.n_rows, start + step)
            index = plan.row_order[start:stop] if plan.row_order is not None else slice(start, stop)
            block = checkpoint.rows(plan.source, index, keep_dtype=plan.qtype == Q.BF16)
            data = np.ascontiguousarray(_encode(block, plan.qtype))
            fh.write(memoryview(data).cast("B"))
            written += data.nbytes
    if written != plan.nbytes:  # the header promised nbytes; anything else would corrupt the file
        raise ConversionError(f"internal error: {plan.name} encoded to {written} bytes, expected {plan.nbytes}")
    fh.write(b"\0" * (-written % alignment))


def _write_atomically(writer: Any, checkpoint: Checkpoint, plans: list[_TensorPlan], out_path: Path,
                      progress: Callable[[int, int], None] | None) -> None:
    # Created exclusively under a random name beside the output, with the user's default
    # permissions (the GGUF is theirs to share), unlike mkstemp's owner-only file.
    tmp = out_path.with_name(f".{out_path.name}.{secrets.token_hex(6)}.partial")
    try:
        tmp.open("xb").close()
    except OSError as exc:
        raise ConversionError(f"cannot write in {out_path.parent} ({exc.strerror or exc})") from exc
    try:
        # The header: metadata, then each tensor's name, shape, type and offset in the data section.
        writer.write_header_to_file(path=tmp)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        writer.close()
        # The data section, appended tensor by tensor in the same order as the tensor infos: it
        # starts aligned, and each tensor is padded to the alignment (the offsets written above).
        alignment = writer.data_alignment
        with tmp.open("r+b") as fh:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\0" * (-fh.tell() % alignment))
            for done, plan in enumerate(plans, start=1):
                _write_data(fh, checkpoint, plan, alignment)
                if progress is not None:
                    progress(done, len(plans))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise ConversionError(f"cannot write {out_path} ({exc.strerror or exc})") from exc
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
