"""Tiny random-weight Hugging Face checkpoints of the three kinds ``sqlcoder-quantize convert`` reads.

Why: the converter's correctness is only visible end to end (llama.cpp's logits and tokens equal
the original's), and real checkpoints are gigabytes. These are a few MB each, written in well under
a second, with dimensions llama.cpp accepts (head size 64):

* ``llama-spm``: LlamaForCausalLM with a SentencePiece ``tokenizer.model`` trained here the way
  Llama-2/CodeLlama's was (BPE, byte fallback, identity normalization, digits split, spaces kept),
  multi-head attention, linear RoPE scaling, F32 weights in one ``model.safetensors``.
* ``llama3-bpe``: LlamaForCausalLM with a byte-level BPE ``tokenizer.json`` built like Llama-3's
  (its split regex, ``ignore_merges``, <|begin_of_text|> added in front), grouped-query attention,
  Llama-3.1 RoPE scaling, BF16 weights in two shards with ``model.safetensors.index.json``.
* ``qwen2`` / ``qwen2-untied``: Qwen2ForCausalLM with a tokenizer.json built like Qwen2's (its split
  regex, NFC, special and non-special added tokens, no BOS), q/k/v biases, one key/value head, an
  embedding padded past the tokenizer (as Qwen2.5's 151936 rows for 151665 tokens); tied F16
  weights, or untied F32 ones.

Each writer returns a :class:`TinyCheckpoint` holding the weights exactly as stored (after rounding
to the file's dtype) for the reference forward pass, and the reference tokenizer.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

LLAMA_CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
    "{% else %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
)
LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
    "{{ m['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
QWEN2_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_TABLES = ["customers", "orders", "order_items", "products", "employees", "invoices", "payments", "users"]
_COLUMNS = ["id", "name", "email", "created_at", "total", "price", "quantity", "status", "city", "country"]
_WORDS = (
    "how many which what show list the top most least average total number of per by in for each with "
    "customers orders products spent sold placed last year month week day between and or not from "
    "revenue count sum price city country employee manager department salary highest lowest"
).split()
_UNICODE_LINES = [
    "Café München Zürich naïve façade résumé São Paulo Kraków Øresund",
    "Привет мир, это тест базы данных", "Γειά σου κόσμε", "我想在apple工作 数据库 查询",
    "データベースの質問", "데이터베이스 질문", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
]


def corpus() -> list[str]:
    """Deterministic training text: SQL, English questions about data, a little of other scripts."""
    rng = np.random.default_rng(7)
    lines: list[str] = []
    for i in range(600):
        t = _TABLES[rng.integers(len(_TABLES))]
        c = _COLUMNS[rng.integers(len(_COLUMNS))]
        d = _COLUMNS[rng.integers(len(_COLUMNS))]
        n = int(rng.integers(1, 5000))
        lines.append(f"SELECT {c}, COUNT(*) AS n FROM {t} WHERE {d} > {n} GROUP BY {c} ORDER BY n DESC LIMIT {i % 20 + 1};")
        lines.append(f"select {t}.{c} from {t} join orders on orders.customer_id = {t}.id where {d} = '{c}{n}'")
        words = [_WORDS[k] for k in rng.integers(len(_WORDS), size=8)]
        lines.append(" ".join(words).capitalize() + "?")
    lines += _UNICODE_LINES * 5
    return lines


# ---------------------------------------------------------------------------------------------
# safetensors


def bf16_round(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (nearest even) and return the raw uint16 bits."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def stored_values(x: np.ndarray, dtype: str) -> np.ndarray:
    """What a float32 array becomes once stored as ``dtype`` (F32, F16, BF16), as float32."""
    if dtype == "F32":
        return x.astype(np.float32)
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_f32(bf16_round(x))
    raise ValueError(dtype)


def write_raw_safetensors(path: Path, tensors: dict[str, tuple[str, tuple[int, ...], bytes]]) -> None:
    """Write a safetensors file from (dtype name, shape, raw bytes) per tensor: any dtype, bf16
    and the wrong ones the malformed-input tests need included."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for _dtype, _shape, raw in tensors.values():
            fh.write(raw)


def save_weights(path: Path, weights: dict[str, np.ndarray], dtype: str) -> None:
    """F32/F16 through the real ``safetensors`` package; BF16 (which numpy lacks) by hand."""
    if dtype in ("F32", "F16"):
        from safetensors.numpy import save_file

        np_dtype = np.float32 if dtype == "F32" else np.float16
        save_file({k: np.ascontiguousarray(v, dtype=np_dtype) for k, v in weights.items()}, str(path))
        return
    write_raw_safetensors(path, {k: ("BF16", v.shape, bf16_round(v).tobytes()) for k, v in weights.items()})


def save_sharded(directory: Path, weights: dict[str, np.ndarray], dtype: str, n_shards: int) -> None:
    names = list(weights)
    per = -(-len(names) // n_shards)
    weight_map: dict[str, str] = {}
    total = 0
    for s in range(n_shards):
        shard = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {k: weights[k] for k in names[s * per : (s + 1) * per]}
        save_weights(directory / shard, part, dtype)
        weight_map.update(dict.fromkeys(part, shard))
        total += sum(v.size for v in part.values()) * (4 if dtype == "F32" else 2)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


# ---------------------------------------------------------------------------------------------
# checkpoints


@dataclass
class TinyCheckpoint:
    """A checkpoint on disk plus what the tests compare against."""

    kind: str
    directory: Path
    config: dict[str, Any]
    weights: dict[str, np.ndarray]  # float32, exactly the stored values
    encode: Callable[[str], list[int]]  # the reference tokenizer, no BOS/EOS
    add_bos: bool
    bos_id: int | None
    n_tokenizer: int  # tokens the tokenizer has (≤ vocab_size)
    special_texts: list[str] = field(default_factory=list)  # added tokens, for the special-token test


def _config(arch: str, *, vocab: int, hidden: int, heads: int, kv_heads: int, ff: int, layers: int,
            theta: float, eps: float, tied: bool, **extra: Any) -> dict[str, Any]:
    model_type = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}[arch]
    return {
        "architectures": [arch], "model_type": model_type, "hidden_act": "silu",
        "hidden_size": hidden, "intermediate_size": ff, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "vocab_size": vocab,
        "max_position_embeddings": 256, "rms_norm_eps": eps, "rope_theta": theta,
        "tie_word_embeddings": tied, "torch_dtype": "float32", **extra,
    }


def random_weights(config: dict[str, Any], *, seed: int, qkv_bias: bool) -> dict[str, np.ndarray]:
    """Weights scaled so activations stay O(1) and attention is peaked enough that RoPE matters."""
    rng = np.random.default_rng(seed)
    h, f, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    nh, nkv = config["num_attention_heads"], config["num_key_value_heads"]
    hd = h // nh

    def mat(rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
        return rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(gain / np.sqrt(cols))

    def norm() -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(h)).astype(np.float32)

    w: dict[str, np.ndarray] = {"model.embed_tokens.weight": rng.standard_normal((v, h), dtype=np.float32)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = mat(nh * hd, h, 1.5)
        w[p + "self_attn.k_proj.weight"] = mat(nkv * hd, h, 1.5)
        w[p + "self_attn.v_proj.weight"] = mat(nkv * hd, h)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = (0.3 * rng.standard_normal(nh * hd)).astype(np.float32)
            w[p + "self_attn.k_proj.bias"] = (0.3 * rng.standard_normal(nkv * hd)).astype(np.float32)
            w[p + "self_attn.v_proj.bias"] = (0.3 * rng.standard_normal(nkv * hd)).astype(np.float32)
        w[p + "self_attn.o_proj.weight"] = mat(h, nh * hd)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = mat(f, h)
        w[p + "mlp.up_proj.weight"] = mat(f, h)
        w[p + "mlp.down_proj.weight"] = mat(h, f)
    w["model.norm.weight"] = norm()
    if not config["tie_word_embeddings"]:
        w["lm_head.weight"] = mat(v, h)
    return w


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def train_sentencepiece(path: Path, vocab_size: int = 512) -> None:
    """A Llama-2-style SentencePiece model: BPE, byte fallback, no normalization, spaces kept."""
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=buf, vocab_size=vocab_size, model_type="bpe",
        byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False,
        add_dummy_prefix=True, split_digits=True, allow_whitespace_only_pieces=True,
        character_coverage=1.0, hard_vocab_limit=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        user_defined_symbols=["<sql>"], num_threads=1, minloglevel=2,
    )
    path.write_bytes(buf.getvalue())


def write_llama_spm(directory: Path, *, seed: int = 1, dtype: str = "F32", **dims: Any) -> TinyCheckpoint:
    import sentencepiece as spm

    directory.mkdir(parents=True, exist_ok=True)
    train_sentencepiece(directory / "tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=str(directory / "tokenizer.model"))
    n = sp.get_piece_size()
    shape = {"hidden": 256, "heads": 4, "kv_heads": 4, "ff": 512, "layers": 2, **dims}
    config = _config("LlamaForCausalLM", vocab=n, theta=1e6, eps=1e-5, tied=False,
                     rope_scaling={"type": "linear", "factor": 2.0}, bos_token_id=1, eos_token_id=2,
                     **shape)
    _write_json(directory / "config.json", config)
    _write_json(directory / "tokenizer_config.json", {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "add_bos_token": True, "add_eos_token": False, "chat_template": LLAMA_CHAT_TEMPLATE,
        "tokenizer_class": "LlamaTokenizer",
    })
    weights = random_weights(config, seed=seed, qkv_bias=False)
    save_weights(directory / "model.safetensors", weights, dtype)
    return TinyCheckpoint(
        "llama-spm", directory, config, {k: stored_values(v, dtype) for k, v in weights.items()},
        encode=lambda text: list(sp.encode(text)), add_bos=True, bos_id=1, n_tokenizer=n,
        special_texts=["<sql>"],
    )


def train_bpe(*, regex: str, ignore_merges: bool, nfc: bool, vocab_size: int,
              specials: list[str], plain_added: list[str], bos: str | None) -> Any:
    """A byte-level BPE tokenizer built like Llama-3's or Qwen2's tokenizer.json."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, \
        processors, trainers

    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if plain_added:
        tok.add_tokens([AddedToken(s, special=False, normalized=True) for s in plain_added])
    if bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def write_llama3_bpe(directory: Path, *, seed: int = 2, dtype: str = "BF16", **dims: Any) -> TinyCheckpoint:
    directory.mkdir(parents=True, exist_ok=True)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok = train_bpe(regex=LLAMA3_REGEX, ignore_merges=True, nfc=False, vocab_size=640, specials=specials,
                    plain_added=[], bos="<|begin_of_text|>")
    tok.save(str(directory / "tokenizer.json"))
    n = tok.get_vocab_size()
    shape = {"hidden": 256, "heads": 4, "kv_heads": 2, "ff": 512, "layers": 2, **dims}
    rope_scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 16}
    bos, eos = tok.token_to_id("<|begin_of_text|>"), tok.token_to_id("<|end_of_text|>")
    config = _config("LlamaForCausalLM", vocab=n, theta=500000.0, eps=1e-5, tied=False,
                     rope_scaling=rope_scaling, bos_token_id=bos, eos_token_id=eos, **shape)
    _write_json(directory / "config.json", config)
    _write_json(directory / "tokenizer_config.json", {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": LLAMA3_CHAT_TEMPLATE,
        "tokenizer_class": "PreTrainedTokenizerFast",
    })
    _write_json(directory / "generation_config.json", {"bos_token_id": bos, "eos_token_id": [eos, n - 1]})
    weights = random_weights(config, seed=seed, qkv_bias=False)
    save_sharded(directory, weights, dtype, n_shards=2)
    return TinyCheckpoint(
        "llama3-bpe", directory, config, {k: stored_values(v, dtype) for k, v in weights.items()},
        encode=lambda text: tok.encode(text, add_special_tokens=False).ids, add_bos=True, bos_id=bos,
        n_tokenizer=n, special_texts=specials,
    )


def write_qwen2(directory: Path, *, seed: int = 3, tied: bool = True, dtype: str | None = None,
                pad_rows: int = 13, **dims: Any) -> TinyCheckpoint:
    directory.mkdir(parents=True, exist_ok=True)
    dtype = dtype or ("F16" if tied else "F32")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
    tok = train_bpe(regex=QWEN2_REGEX, ignore_merges=False, nfc=True, vocab_size=640, specials=specials,
                    plain_added=["<tool_call>", "</tool_call>"], bos=None)
    tok.save(str(directory / "tokenizer.json"))
    n = tok.get_vocab_size()
    shape = {"hidden": 256, "heads": 4, "kv_heads": 1, "ff": 512, "layers": 2, **dims}
    endoftext, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    config = _config("Qwen2ForCausalLM", vocab=n + pad_rows, theta=1e6, eps=1e-6, tied=tied,
                     bos_token_id=endoftext, eos_token_id=im_end, use_sliding_window=False,
                     sliding_window=256, **shape)
    _write_json(directory / "config.json", config)
    _write_json(directory / "tokenizer_config.json", {
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "add_prefix_space": False,
        "chat_template": QWEN2_CHAT_TEMPLATE, "tokenizer_class": "Qwen2Tokenizer", "split_special_tokens": False,
    })
    weights = random_weights(config, seed=seed, qkv_bias=True)
    save_weights(directory / "model.safetensors", weights, dtype)
    return TinyCheckpoint(
        "qwen2" if tied else "qwen2-untied", directory, config,
        {k: stored_values(v, dtype) for k, v in weights.items()},
        encode=lambda text: tok.encode(text, add_special_tokens=False).ids, add_bos=False, bos_id=endoftext,
        n_tokenizer=n, special_texts=[*specials, "<tool_call>", "</tool_call>"],
    )


WRITERS: dict[str, Callable[[Path], TinyCheckpoint]] = {
    "llama-spm": write_llama_spm,
    "llama3-bpe": write_llama3_bpe,
    "qwen2": write_qwen2,
    "qwen2-untied": lambda d: write_qwen2(d, tied=False, seed=4),
}


def copy_checkpoint(source: Path, target: Path) -> Path:
    """A writable copy to break in a malformed-input test."""
    shutil.copytree(source, target)
    return target
