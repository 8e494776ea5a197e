"""Reading a Hugging Face checkpoint folder: ``config.json`` and its safetensors weights.

Why our own reader rather than the ``safetensors`` package: the converter must stream a 70B
checkpoint through a few GB of memory and cannot depend on torch, and numpy has no bfloat16 — the
dtype almost every modern checkpoint ships in. A safetensors file is an 8-byte little-endian header
length, a JSON header (name → dtype, shape, byte range) and the raw little-endian data, so we parse
the header ourselves, check every byte range against the file's real size (a truncated download
fails here with one line, not as garbage weights), memory-map the data and hand out rows of one
tensor at a time. bfloat16 is the top half of a float32, so ``uint16 << 16`` viewed as float32
decodes it exactly.

Only these read paths touch the data; nothing holds a decoded tensor beyond the rows asked for, so
the converter's resident memory is about one chunk of one tensor, plus file-backed pages that the
kernel can drop at will.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from quantize.errors import ConversionError

#: The weight dtypes the converter accepts (safetensors' names) and the numpy dtype that reads
#: their bytes (bf16 is read as raw uint16 and widened to float32 by :func:`bf16_to_f32`).
FLOAT_DTYPES: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
}

#: Byte sizes of every dtype safetensors defines, so a header can be checked for consistency even
#: when it holds dtypes the converter refuses (and so the refusal names the real dtype).
_ITEM_SIZES: dict[str, float] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
    "F4": 0.5, "F6_E2M3": 0.75, "F6_E3M2": 0.75,
}

#: Headers beyond this are not safetensors files (the format itself caps them at 100 MB).
_MAX_HEADER_BYTES = 100 * 1024 * 1024

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"


def bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    """Widen raw bfloat16 bits (uint16) to float32: bf16 is float32's upper 16 bits, exactly."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor's bytes are: its file, absolute byte offset and length, dtype and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    file: Path
    offset: int
    nbytes: int

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def n_rows(self) -> int:
        """Rows as the converter streams them: the first axis (a 1-D tensor is one row)."""
        return self.shape[0] if len(self.shape) > 1 else 1

    @property
    def row_elements(self) -> int:
        return math.prod(self.shape[1:]) if len(self.shape) > 1 else self.n_elements


def _fail(path: Path, message: str, hint: str | None = None) -> ConversionError:
    return ConversionError(f"{path.name}: {message}", hint=hint)


def read_safetensors_header(path: Path) -> dict[str, TensorEntry]:
    """Parse and validate one safetensors file's header; every byte range must lie inside the file.

    Raises :class:`ConversionError` for a file that is not safetensors, has a malformed header, or
    is shorter than its header says (a truncated or interrupted download).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise _fail(path, f"is truncated or not a safetensors file ({size} bytes)",
                            "download the file again")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > _MAX_HEADER_BYTES:
                raise _fail(path, "is not a safetensors file (implausible header length)")
            if 8 + header_len > size:
                raise _fail(path, f"is truncated: its header needs {8 + header_len} bytes but the "
                            f"file has {size}", "download the file again")
            raw_header = fh.read(header_len)
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        header = json.loads(raw_header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, "is not a safetensors file (its header is not JSON)") from exc
    if not isinstance(header, dict):
        raise _fail(path, "is not a safetensors file (its header is not a JSON object)")

    data_start = 8 + header_len
    data_size = size - data_start
    entries: dict[str, TensorEntry] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            raise _fail(path, f"malformed header entry for tensor {name}")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if (
            not isinstance(dtype, str)
            or not isinstance(shape, list)
            or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise _fail(path, f"malformed header entry for tensor {name}")
        begin, end = offsets
        item = _ITEM_SIZES.get(dtype)
        if item is not None and end - begin != math.ceil(math.prod(shape) * item):
            raise _fail(path, f"tensor {name}: {end - begin} bytes do not fit shape {shape} of {dtype}")
        if end > data_size:
            raise _fail(path, f"is truncated: tensor {name} ends at byte {data_start + end} but the "
                        f"file has {size}", "download the file again")
        entries[name] = TensorEntry(name, dtype, tuple(shape), path, data_start + begin, end - begin)
    return entries


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConversionError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{path.name} is not valid JSON ({what})") from exc


def read_optional_json(path: Path) -> dict[str, Any]:
    """A side file (tokenizer_config.json, generation_config.json): {} when absent."""
    if not path.is_file():
        return {}
    data = _read_json(path, "a tokenizer or generation config")
    return data if isinstance(data, dict) else {}


@dataclass
class Checkpoint:
    """A checkpoint folder: its config and every tensor's location, data mapped on first read."""

    directory: Path
    config: dict[str, Any]
    tensors: dict[str, TensorEntry]
    _maps: dict[Path, np.memmap] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, directory: Path) -> Checkpoint:
        """Read config.json and the safetensors headers (single file or sharded with an index).

        Everything that can be checked without reading the weights is checked here: every shard
        the index names exists, every tensor it lists is in its shard, no byte range runs past the
        end of its file.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise ConversionError(f"{directory} is not a folder",
                                  hint="pass a Hugging Face checkpoint folder (config.json + *.safetensors)")
        config_path = directory / "config.json"
        if not config_path.is_file():
            raise ConversionError(f"{directory} has no config.json: not a Hugging Face checkpoint folder")
        config = _read_json(config_path, "the model config")
        if not isinstance(config, dict):
            raise ConversionError("config.json is not a JSON object")
        return cls(directory, config, _index_tensors(directory))

    def entry(self, name: str) -> TensorEntry:
        return self.tensors[name]

    def _array(self, entry: TensorEntry) -> np.ndarray:
        """The tensor's bytes as a read-only array in its stored dtype (bf16 as uint16), shape kept."""
        mm = self._maps.get(entry.file)
        if mm is None:
            try:
                mm = np.memmap(entry.file, dtype=np.uint8, mode="r")
            except (OSError, ValueError) as exc:
                raise _fail(entry.file, f"cannot be mapped ({exc})") from exc
            self._maps[entry.file] = mm
        dtype = FLOAT_DTYPES.get(entry.dtype)
        if dtype is None:
            raise unsupported_dtype(entry)
        flat = mm[entry.offset : entry.offset + entry.nbytes].view(dtype)
        return flat.reshape(entry.shape if len(entry.shape) > 1 else (1, entry.n_elements))

    def rows(self, name: str, index: slice | np.ndarray, *, keep_dtype: bool = False) -> np.ndarray:
        """Rows ``index`` of tensor ``name`` (first axis; a 1-D tensor is one row).

        Returned as float32, except F16 stays float16 and (with ``keep_dtype``) BF16 stays raw
        uint16 bits, so a same-type conversion copies bytes without a detour through float32.
        """
        entry = self.tensors[name]
        block = self._array(entry)[index]
        if entry.dtype == "BF16":
            return np.ascontiguousarray(block) if keep_dtype else bf16_to_f32(block)
        if entry.dtype == "F16":
            return np.ascontiguousarray(block)
        return np.ascontiguousarray(block, dtype=np.float32)

    def read(self, name: str) -> np.ndarray:
        """A whole tensor as float32 in its real shape (tests and small tensors only)."""
        entry = self.tensors[name]
        return self.rows(name, slice(None)).astype(np.float32).reshape(entry.shape)

    def close(self) -> None:
        """Drop the memory maps (the OS unmaps them once no array refers to them)."""
        self._maps.clear()


def unsupported_dtype(entry: TensorEntry) -> ConversionError:
    return ConversionError(
        f"tensor {entry.name} in {entry.file.name} has dtype {entry.dtype}; only F32, F16 and BF16 "
        "weights can be converted",
        hint="quantized or integer checkpoints (GPTQ, AWQ, FP8) need their original float weights",
    )


def _index_tensors(directory: Path) -> dict[str, TensorEntry]:
    """Every tensor of the checkpoint, ordered by shard then position (sequential reads)."""
    index_path = directory / INDEX_NAME
    if index_path.is_file():
        index = _read_json(index_path, "the shard index")
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise ConversionError(f"{INDEX_NAME} has no weight_map")
        shards: dict[str, list[str]] = {}
        for tensor, shard in weight_map.items():
            if not isinstance(shard, str) or Path(shard).name != shard:
                raise ConversionError(f"{INDEX_NAME}: tensor {tensor} names an invalid shard {shard!r}")
            shards.setdefault(shard, []).append(tensor)
        missing = sorted(s for s in shards if not (directory / s).is_file())
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise ConversionError(
                f"shard {missing[0]}{more} named in {INDEX_NAME} is missing from {directory}",
                hint="the download is incomplete; fetch every model-*.safetensors file",
            )
        files = [directory / s for s in sorted(shards)]
    elif (directory / SINGLE_NAME).is_file():
        shards = {}
        files = [directory / SINGLE_NAME]
    else:
        others = sorted(p.name for p in directory.glob("*.safetensors"))
        if others:
            raise ConversionError(
                f"{directory} has {others[0]} but neither {SINGLE_NAME} nor {INDEX_NAME}",
                hint="a sharded checkpoint needs its index file from the same download",
            )
        if any(directory.glob("pytorch_model*.bin")) or any(directory.glob("*.pth")):
            raise ConversionError(
                f"{directory} holds PyTorch pickles (.bin/.pth), not safetensors",
                hint="download the model's safetensors files (most Hugging Face models ship them)",
            )
        raise ConversionError(f"{directory} has no safetensors weights ({SINGLE_NAME})")

    tensors: dict[str, TensorEntry] = {}
    for path in files:
        entries = read_safetensors_header(path)
        for tensor in shards.get(path.name, ()):
            if tensor not in entries:
                raise ConversionError(
                    f"tensor {tensor} is listed in {INDEX_NAME} for {path.name} but is not in that file",
                    hint="the shard does not belong to this checkpoint or is from another revision",
                )
        for entry in sorted(entries.values(), key=lambda e: e.offset):
            if entry.name in tensors:
                raise ConversionError(
                    f"tensor {entry.name} is in both {tensors[entry.name].file.name} and {path.name}"
                )
            tensors[entry.name] = entry
    return tensors
