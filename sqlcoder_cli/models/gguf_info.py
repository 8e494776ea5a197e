"""What a GGUF file says about itself: architecture, context length, chat template, quantization.

Why our own reader instead of ``gguf.GGUFReader``: that reader builds numpy views for every element
of every metadata array, and a modern vocabulary has 150,000 tokens and as many merges: it takes about
7 s on Qwen2.5-Coder-0.5B on a laptop core, which ``sqlcoder models add`` or every ``ask`` would pay.
This module walks the header with ``struct`` over a memory map, skips arrays by their length prefixes
without decoding them, keeps only the two token strings it needs (BOS and EOS, for chat templates),
and never imports numpy. It takes well under a second on multi-gigabyte files because it reads only
the header pages. ``tests/models/test_gguf_info.py`` checks it against ``gguf.GGUFReader``.

Format reference: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (versions 2 and 3;
little- or big-endian).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ModelError, NotGGUFError
from .catalogue import FAMILY_CHAT, FAMILY_DUCKDB_NSQL, FAMILY_LLAMA3_SQLCODER, FAMILY_SQLCODER

GGUF_MAGIC = b"GGUF"

#: ``general.file_type`` values (llama.h ``llama_ftype``; same numbers as ``gguf.LlamaFileType``).
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
    39: "NVFP4", 40: "Q1_0",
}  # fmt: skip

#: ggml tensor types -> (elements per block, bytes per block), as in ggml.c / ``gguf.GGML_QUANT_SIZES``;
#: used to tell a truncated file from a whole one. A type missing here only weakens that check.
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
    15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
    21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
    28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip
DEFAULT_ALIGNMENT = 32

# GGUF metadata value types -> struct format (scalars only).
_SCALARS: dict[int, str] = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9

#: Keys whose value we keep (besides the per-architecture ones we look up by suffix).
_WANTED_ARRAYS = {"tokenizer.ggml.tokens"}


@dataclass(frozen=True)
class GGUFInfo:
    """The metadata sqlcoder uses; everything else in the header is skipped."""

    path: Path
    size_bytes: int
    architecture: str
    name: str | None
    context_length: int | None
    chat_template: str | None
    quantization: str | None  # human name of general.file_type, e.g. "Q4_K_M"
    bos_token: str | None  # token strings: chat templates print them
    eos_token: str | None
    parameter_count: int | None = None
    #: the transformer's shape (for the KV-cache size); None when the header does not say
    block_count: int | None = None
    embedding_length: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    def kv_cache_bytes(self, n_ctx: int) -> int:
        """Bytes of an f16 KV cache for ``n_ctx`` tokens (llama.cpp's default cache type)."""
        if not (self.block_count and self.embedding_length and self.head_count):
            # unknown shape: assume the cache is a tenth of the weights per 4k tokens
            return int(self.size_bytes * 0.1 * n_ctx / 4096)
        kv_heads = self.head_count_kv or self.head_count
        kv_width = self.embedding_length * kv_heads // self.head_count
        return 2 * self.block_count * n_ctx * kv_width * 2

    def memory_needed(self, n_ctx: int) -> int:
        """What loading with ``n_ctx`` takes: weights, KV cache, and compute buffers (~5% + 256 MB)."""
        return int(self.size_bytes * 1.05) + self.kv_cache_bytes(n_ctx) + 256 * 1024 * 1024


class _Cursor:
    """Sequential reads over the memory map; raises ModelError on truncated files."""

    def __init__(self, buf: mmap.mmap, path: Path, endian: str) -> None:
        self.buf, self.path, self.endian, self.pos = buf, path, endian, 0
        self.size = len(buf)

    def _need(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise ModelError(f"{self.path} is a truncated or corrupt GGUF file")

    def scalar(self, fmt: str) -> Any:
        n = struct.calcsize(fmt)
        self._need(n)
        (value,) = struct.unpack_from(self.endian + fmt, self.buf, self.pos)
        self.pos += n
        return value

    def string(self) -> str:
        n = self.scalar("Q")
        self._need(n)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> int:
        """Skip one string and return where it started (its length prefix)."""
        start = self.pos
        n = self.scalar("Q")
        self._need(n)
        self.pos += n
        return start

    def value(self, vtype: int, *, keep_array: bool = False) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.scalar("I")
            count = self.scalar("Q")
            if etype == _STRING:
                # Remember where each string starts so single tokens can be read later.
                offsets = [self.skip_string() for _ in range(count)]
                return _StringArray(self, offsets) if keep_array else None
            if etype in _SCALARS:
                n = struct.calcsize(_SCALARS[etype]) * count
                self._need(n)
                self.pos += n
                return None
            for _ in range(count):  # arrays of arrays: rare, walk them
                self.value(etype)
            return None
        raise ModelError(f"{self.path}: unknown GGUF value type {vtype}; is the file corrupt?")


@dataclass
class _StringArray:
    cursor: _Cursor
    offsets: list[int]

    def get(self, index: int | None) -> str | None:
        if index is None or not 0 <= index < len(self.offsets):
            return None
        saved = self.cursor.pos
        self.cursor.pos = self.offsets[index]
        try:
            return self.cursor.string()
        finally:
            self.cursor.pos = saved


def _check_magic(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise ModelError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise NotGGUFError(f"{path} is a directory, not a GGUF model file") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if magic != GGUF_MAGIC:
        raise NotGGUFError(f"{path} is not a GGUF model file")


def is_gguf(path: str | Path) -> bool:
    """True when the file starts with the GGUF magic (cheap; reads 4 bytes)."""
    try:
        with Path(path).open("rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Read the header of a GGUF file.

    Raises ModelError ("file not found") for a missing file, NotGGUFError when the magic is wrong,
    and ModelError for a truncated or corrupt header.
    """
    path = Path(path).expanduser()
    _check_magic(path)
    stat = path.stat()
    return _read_unchanged(path, stat.st_size, stat.st_mtime_ns, stat.st_ino)


@lru_cache(maxsize=16)
def _read_unchanged(path: Path, size: int, mtime_ns: int, inode: int) -> GGUFInfo:
    """The header of a file as it is now (size, modification time and inode in the key): a
    session, a server's options and the engine each ask about the same file, and a 7B header
    takes a third of a second to walk."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _parse(buf, path, size)


def _parse(buf: mmap.mmap, path: Path, size: int) -> GGUFInfo:
    (version,) = struct.unpack_from("<I", buf, 4)
    endian = "<"
    if version & 0xFFFF == 0 and version != 0:  # a big-endian file read as little-endian
        endian = ">"
        (version,) = struct.unpack_from(">I", buf, 4)
    if version < 2:
        raise ModelError(
            f"{path} is a GGUF version {version} file, which is too old",
            hint="convert it again with a current llama.cpp",
        )
    cur = _Cursor(buf, path, endian)
    cur.pos = 8
    tensor_count = cur.scalar("Q")
    kv_count = cur.scalar("Q")
    meta: dict[str, Any] = {}
    tokens: _StringArray | None = None
    for _ in range(kv_count):
        key = cur.string()
        vtype = cur.scalar("I")
        value = cur.value(vtype, keep_array=key in _WANTED_ARRAYS)
        if key == "tokenizer.ggml.tokens":
            tokens = value
        elif value is not None:
            meta[key] = value

    parameter_count: int | None = 0
    data_end = 0  # where the last tensor's bytes end, relative to the start of the data section
    try:
        for _ in range(tensor_count):
            cur.skip_string()
            n_dims = cur.scalar("I")
            count = 1
            for _ in range(n_dims):
                count *= cur.scalar("Q")
            ggml_type = cur.scalar("I")
            offset = cur.scalar("Q")
            block, type_size = GGML_TYPE_SIZES.get(ggml_type, (1, 0))
            data_end = max(data_end, offset + count // block * type_size)
            parameter_count = (parameter_count or 0) + count
    except ModelError:
        parameter_count = None
    else:
        _check_complete(path, size, cur.pos, meta.get("general.alignment"), data_end)

    arch = str(meta.get("general.architecture") or "unknown")

    def arch_int(suffix: str) -> int | None:
        value = meta.get(f"{arch}.{suffix}")
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    file_type = meta.get("general.file_type")
    quantization = FILE_TYPES.get(file_type) if isinstance(file_type, int) else None
    if quantization is None and isinstance(file_type, int):
        quantization = f"type {file_type}"

    def token(key: str) -> str | None:
        index = meta.get(key)
        return tokens.get(index) if tokens is not None and isinstance(index, int) else None

    template = meta.get("tokenizer.chat_template")
    name = meta.get("general.name")
    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=str(name) if name else None,
        context_length=arch_int("context_length"),
        chat_template=template if isinstance(template, str) and template.strip() else None,
        quantization=quantization,
        bos_token=token("tokenizer.ggml.bos_token_id"),
        eos_token=token("tokenizer.ggml.eos_token_id"),
        parameter_count=parameter_count or None,
        block_count=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        head_count=arch_int("attention.head_count"),
        head_count_kv=arch_int("attention.head_count_kv"),
    )


def _check_complete(path: Path, size: int, header_end: int, alignment: Any, data_end: int) -> None:
    """A file shorter than its own tensor table says is a cut download or copy: say so now,
    instead of llama.cpp's "failed to load model" (or, worse, ``models add`` accepting it)."""
    align = alignment if isinstance(alignment, int) and not isinstance(alignment, bool) and alignment > 0 else DEFAULT_ALIGNMENT
    data_start = -(-header_end // align) * align
    expected = data_start + data_end
    if size < expected:
        raise ModelError(
            f"{path} is incomplete: {size:,} bytes of the {expected:,} its header describes",
            hint="the download or copy was cut short; download or copy it again",
        )


_LLAMA3_MARKERS = ("<|start_header_id|>", "<|eot_id|>", "<|begin_of_text|>")


def is_llama3_style(info: GGUFInfo) -> bool:
    """Llama-3's chat format shows in its template or its special tokens."""
    template = info.chat_template or ""
    return any(m in template for m in _LLAMA3_MARKERS) or info.bos_token == "<|begin_of_text|>" or (
        info.eos_token in ("<|eot_id|>", "<|end_of_text|>")
    )


def detect_family(info: GGUFInfo) -> str:
    """Which prompt family fits a GGUF that is not in the catalogue.

    * a SQLCoder (``sqlcoder`` in ``general.name`` or the file name) with Llama-3 chat markers is
      Llama-3-SQLCoder -> ``llama3-sqlcoder``;
    * any other SQLCoder -> ``sqlcoder`` (SQLCoder-7B/7B-2/15B/34B all use the completion prompt);
    * DuckDB-NSQL (``nsql`` in the name) -> ``duckdb-nsql``;
    * a model with its own chat template -> ``chat`` (instruction-tuned models follow their template
      far better than a foreign prompt);
    * a plain completion model without a template -> ``sqlcoder``: the SQLCoder prompt is itself a
      completion prompt ending in the start of a SQL answer, the best bet for a base model.
    """
    label = f"{info.name or ''} {info.path.name}".lower()
    if "sqlcoder" in label:
        return FAMILY_LLAMA3_SQLCODER if is_llama3_style(info) else FAMILY_SQLCODER
    if "nsql" in label:
        return FAMILY_DUCKDB_NSQL
    if info.chat_template:
        return FAMILY_CHAT
    return FAMILY_SQLCODER
