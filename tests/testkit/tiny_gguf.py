"""A tiny, random-weight llama GGUF that llama.cpp really loads.

Why: tests of the engine, the model store and ``gguf_info`` need a real GGUF file, but the real
models are gigabytes and the CI machines have no network. This writes a ~1 MB llama-architecture
model with an SPM (``llama``) tokenizer in a few milliseconds. Its output is gibberish, but every
code path that loads a model, tokenizes a prompt, renders a chat template and samples tokens runs
for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Words that show up in SQL prompts, so they tokenize into few pieces (not needed for correctness:
#: the 256 byte tokens make every text tokenizable).
_WORDS = (
    "SELECT FROM WHERE GROUP BY ORDER LIMIT JOIN ON AS AND OR NOT NULL COUNT SUM AVG MIN MAX "
    "DISTINCT INNER LEFT HAVING DESC ASC CREATE TABLE INTEGER TEXT REAL PRIMARY KEY "
    "select from where the a of to in is what how many which show list name id customers "
    "orders products ### Task Database Schema Answer Instructions SQL query question sql"
).split()


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and types of a minimal sentencepiece vocabulary."""
    from gguf import TokenType

    tokens: list[str] = ["<unk>", "<s>", "</s>"]
    scores: list[float] = [0.0, 0.0, 0.0]
    types: list[int] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>")
        scores.append(0.0)
        types.append(TokenType.BYTE)
    pieces: list[str] = ["\u2581"]
    pieces += [chr(c) for c in range(33, 127)]
    pieces += ["\u2581" + chr(c) for c in range(33, 127)]
    pieces += ["\u2581" + w for w in _WORDS] + list(dict.fromkeys(_WORDS))
    pieces += ["\n", "\u2581\u2581", "\u2581\u2581\u2581\u2581", ";\n", "()", "(*)"]
    seen: set[str] = set()
    for piece in pieces:
        if piece in seen:
            continue
        seen.add(piece)
        tokens.append(piece)
        # Sentencepiece prefers higher scores: longer pieces win, so words stay whole.
        scores.append(-1000.0 + 10.0 * len(piece) - len(tokens) * 1e-3)
        types.append(TokenType.NORMAL)
    return tokens, scores, types


def add_spm_tokenizer(writer: Any, tokens: list[str], scores: list[float], types: list[int]) -> None:
    """The sentencepiece ("llama") tokenizer metadata: <unk>=0, <s>=1 (added at the start), </s>=2."""
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)


def write_tiny_llama_gguf(
    path: str | Path,
    *,
    name: str = "tiny-llama",
    chat_template: str | None = None,
    context_length: int = 4096,
    seed: int = 0,
    n_layers: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 4,
    n_ff: int = 128,
) -> Path:
    """Write the model to ``path`` and return it (F32 tensors, ~1 MB)."""
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = _vocabulary()
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones((n,), dtype=np.float32)

    head_dim = n_embd // n_head
    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_context_length(context_length)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    add_spm_tokenizer(writer, tokens, scores, types)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    # numpy shapes are (rows, cols) = ggml's (ne1, ne0); the writer reverses them.
    writer.add_tensor("token_embd.weight", weights(n_vocab, n_embd))
    writer.add_tensor("output_norm.weight", ones(n_embd))
    writer.add_tensor("output.weight", weights(n_vocab, n_embd))
    kv = head_dim * n_head_kv
    for i in range(n_layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", ones(n_embd))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weights(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weights(kv, n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weights(kv, n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weights(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", ones(n_embd))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weights(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weights(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weights(n_embd, n_ff))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
