"""A small numpy forward pass of the Llama / Qwen2 decoder, on Hugging Face's weights and layout.

Why: to check a converted GGUF we need logits that do not come from llama.cpp. This follows
Hugging Face's ``modeling_llama`` / ``modeling_qwen2`` (the semantics the weights were trained
with), in float64: RMSNorm, rotary embeddings in the half-split ``rotate_half`` form (dims i and
i + d/2 rotate together; with the Llama-3.1 and linear scalings), grouped-query causal attention,
a SwiGLU MLP, tied or untied output. Qwen2 differs only by its q/k/v biases, which this reads
when present.

llama.cpp runs the same maths with its own RoPE layouts: "neox" for Qwen2 (the same half-split as
Hugging Face) and "normal" for Llama (dims 2i and 2i+1 rotate together), which is why the converter
permutes Llama's q/k rows. :func:`rope_neox` and :func:`rope_normal` implement both so a test can
check that permutation on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def inv_freq(config: Mapping[str, Any], head_dim: int) -> np.ndarray:
    """Rotary frequencies per pair, with the config's rope_scaling applied as Hugging Face does."""
    theta = float(config.get("rope_theta", 10000.0))
    freqs = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return freqs / float(scaling["factor"])
    if kind == "llama3":
        factor = float(scaling["factor"])
        low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        old = float(scaling["original_max_position_embeddings"])
        wavelen = 2 * math.pi / freqs
        scaled = np.where(wavelen > old / low, freqs / factor, freqs)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) & ~(wavelen > old / low)
        return np.where(medium, smoothed, scaled)
    if kind not in (None, "default"):
        raise NotImplementedError(kind)
    return freqs


def rope_neox(x: np.ndarray, positions: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Hugging Face's rotate_half RoPE (llama.cpp's NEOX): x[..., i] pairs with x[..., i + d/2].
    ``x`` is (tokens, heads, head_dim)."""
    half = x.shape[-1] // 2
    angles = positions[:, None] * freqs[None, :]  # (tokens, d/2)
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)


def rope_normal(x: np.ndarray, positions: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """llama.cpp's "normal" RoPE (Meta's original): x[..., 2i] pairs with x[..., 2i + 1]."""
    angles = positions[:, None] * freqs[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = b * cos + a * sin
    return out


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def forward(config: Mapping[str, Any], weights: Mapping[str, np.ndarray], ids: Sequence[int]) -> np.ndarray:
    """Logits (tokens, vocab) for ``ids`` at positions 0..n-1, in float64."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    h = config["hidden_size"]
    nh, nkv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    hd = config.get("head_dim") or h // nh
    eps = config.get("rms_norm_eps", 1e-6)
    n = len(ids)
    positions = np.arange(n, dtype=np.float64)
    freqs = inv_freq(config, hd)
    mask = np.triu(np.full((n, n), -np.inf), k=1)
    group = nh // nkv

    x = w["model.embed_tokens.weight"][np.asarray(ids)]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name: str, a: np.ndarray = a, p: str = p) -> np.ndarray:
            out = a @ w[p + f"self_attn.{name}.weight"].T
            bias = w.get(p + f"self_attn.{name}.bias")
            return out if bias is None else out + bias

        q = rope_neox(proj("q_proj").reshape(n, nh, hd), positions, freqs)
        k = rope_neox(proj("k_proj").reshape(n, nkv, hd), positions, freqs)
        v = proj("v_proj").reshape(n, nkv, hd)
        heads = []
        for head in range(nh):
            kv = head // group
            scores = q[:, head, :] @ k[:, kv, :].T / math.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            heads.append((scores / scores.sum(axis=-1, keepdims=True)) @ v[:, kv, :])
        x = x + np.concatenate(heads, axis=-1) @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = _silu(m @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (m @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    out = w.get("lm_head.weight")
    if out is None or config.get("tie_word_embeddings"):
        out = w["model.embed_tokens.weight"]
    return x @ out.T
