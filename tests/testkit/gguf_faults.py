"""Real GGUF files that are wrong in one specific way, for the model fault tests.

Each one is written with the ``gguf`` package (the format's reference writer), so the bytes are
what a real converter or a real cut download produces, not a mock:

* :func:`write_unknown_arch_gguf`: a valid GGUF whose ``general.architecture`` llama.cpp does not know;
* :func:`write_tensorless_gguf`: a valid llama header with no tensors (llama.cpp refuses it);
* :func:`write_huge_sparse_gguf`: a valid header that declares a tensor of ``claimed_bytes``, padded
  to that size as a *sparse* file (no disk space used): a model "too big for this machine's RAM";
* :func:`truncated_copy`: the first ``keep`` bytes of a real model (a cut download or copy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .tiny_gguf import _vocabulary, add_spm_tokenizer

GGUF_ALIGNMENT = 32


def _write(writer: object) -> None:
    writer.write_header_to_file()  # type: ignore[attr-defined]
    writer.write_kv_data_to_file()  # type: ignore[attr-defined]
    writer.write_tensors_to_file()  # type: ignore[attr-defined]
    writer.close()  # type: ignore[attr-defined]


def write_unknown_arch_gguf(path: str | Path, *, arch: str = "mystery-arch") -> Path:
    """A well-formed GGUF (tokenizer, one tensor) of an architecture no llama.cpp implements."""
    import numpy as np
    from gguf import GGUFWriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(path), arch)
    writer.add_name("mystery model")
    writer.add_context_length(512)
    tokens, scores, types = _vocabulary()
    add_spm_tokenizer(writer, tokens, scores, types)
    writer.add_tensor("token_embd.weight", np.zeros((len(tokens), 16), dtype=np.float32))
    _write(writer)
    return path


def write_tensorless_gguf(path: str | Path) -> Path:
    """A llama header and tokenizer but no weights at all."""
    from gguf import GGUFWriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = _llama_header(GGUFWriter(str(path), "llama"), "no weights", embedding=64)
    _write(writer)
    return path


def _llama_header(writer: Any, name: str, *, embedding: int) -> Any:
    """The one-block llama hyperparameters and tokenizer both fault files share."""
    writer.add_name(name)
    writer.add_context_length(512)
    writer.add_embedding_length(embedding)
    writer.add_block_count(1)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_layer_norm_rms_eps(1e-5)
    tokens, scores, types = _vocabulary()
    add_spm_tokenizer(writer, tokens, scores, types)
    return writer


def write_huge_sparse_gguf(path: str | Path, claimed_bytes: int, *, name: str = "huge-llama") -> Path:
    """A llama GGUF whose one F32 tensor is ``claimed_bytes`` long; the file is that big but sparse.

    Its header is complete and consistent (our reader and llama.cpp's agree on the sizes), so the
    only thing wrong with it is that it does not fit in this machine's memory.
    """
    import numpy as np
    from gguf import GGUFWriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    elements = claimed_bytes // 4
    cols = 1 << 20
    rows = max(1, elements // cols)
    writer = _llama_header(GGUFWriter(str(path), "llama"), name, embedding=cols)
    nbytes = rows * cols * 4
    writer.add_tensor_info("token_embd.weight", (rows, cols), np.dtype(np.float32), nbytes)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header_end = path.stat().st_size
    data_start = -(-header_end // GGUF_ALIGNMENT) * GGUF_ALIGNMENT
    os.truncate(path, data_start + nbytes)  # a hole: no disk space used
    return path


def truncated_copy(source: str | Path, target: str | Path, keep: int) -> Path:
    """The first ``keep`` bytes of ``source`` (as a download cut short would leave them)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.write(src.read(keep))
    return target
