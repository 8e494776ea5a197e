"""Quantize a GGUF with llama.cpp's own quantizer, through llama-cpp-python's low-level binding.

Why the binding and not the ``llama-quantize`` program: the wheel the user already has for
``sqlcoder`` carries ``libllama`` with ``llama_model_quantize``; the program is not on PyPI. The
binding passes everything the program does that matters here: the target file type, threads,
``allow_requantize`` and an importance matrix (``params.imatrix``: a NULL-terminated C array of
``{name, data, size}``, which this module fills from llama.cpp's imatrix files itself, both the
GGUF format and the legacy ``.dat``, computing ``sums / counts`` exactly as
``tools/quantize/quantize.cpp`` does).

What this module adds around the C call:

* the type is checked before any work (an unknown type lists the valid ones; a type llama.cpp
  refuses without an importance matrix says so before the model is read);
* an input that is already quantized needs ``allow_requantize`` and then warns: each rounding
  compounds the last, so Q4_K_M made from Q8_0 is worse than Q4_K_M made from F16;
* the output is written to a temporary file beside the target and moved into place only when
  llama.cpp succeeded and the header reads back whole: a failure or Ctrl-C leaves nothing;
* llama.cpp's log is captured instead of printed, so its per-tensor lines become a progress
  callback and its last error becomes one line (``failed to quantize: ...``).

No Typer or rich here (the command line in ``quantize/cli.py`` renders); llama_cpp and numpy are
imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import struct
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlcoder_cli.errors import Interrupted, ModelError

from .errors import QuantizeError, QuantizeUsageError

#: tensor progress: (tensors done, tensors in the file)
TensorProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class QuantType:
    """One target of ``llama_model_quantize``: llama.h's ``llama_ftype`` and what it costs.

    ``bits_per_weight`` is an estimate for choosing: for the K and legacy mixtures the whole-file
    average of llama.cpp's own Llama-3-8B table (``tools/quantize/quantize.cpp``: file GiB x 8 /
    8.03e9 weights, embeddings and output included), for the IQ types the type's own rate. The
    ladder measures the real size of each file it makes.
    """

    name: str
    ftype: int
    bits_per_weight: float
    needs_imatrix: bool
    note: str

    @property
    def is_float(self) -> bool:
        return self.name in FLOAT_TYPES


FLOAT_TYPES = frozenset({"F32", "F16", "BF16"})

# Which types need an importance matrix: llama.cpp's src/llama-quant.cpp refuses to write IQ1_S,
# IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S and IQ3_XXS tensors without one (and Q2_K tensors inside a Q2_K_S
# file): "this quantization requires an imatrix!". The file types whose mixtures contain such
# tensors are marked; IQ2_M (mostly IQ2_S) and IQ3_XS (some IQ3_XXS) among them, which the older
# quantize tool's list did not name. tests/quantize/test_quantize.py checks every entry of this
# table against the library: the marked ones fail without an imatrix, the others succeed.
_TABLE: tuple[QuantType, ...] = (
    QuantType("F32", 0, 32.0, False, "no quantization: float32"),
    QuantType("F16", 1, 16.0, False, "no quantization: float16"),
    QuantType("BF16", 32, 16.0, False, "no quantization: bfloat16"),
    QuantType("Q8_0", 7, 8.51, False, "practically lossless; half of F16"),
    QuantType("Q6_K", 18, 6.57, False, "near lossless"),
    QuantType("Q5_K_M", 17, 5.70, False, "very small loss"),
    QuantType("Q5_K_S", 16, 5.57, False, "very small loss"),
    QuantType("Q5_1", 9, 6.04, False, "legacy; prefer Q5_K_M"),
    QuantType("Q5_0", 8, 5.57, False, "legacy; prefer Q5_K_S"),
    QuantType("Q4_K_M", 15, 4.90, False, "the usual choice: small loss, under a third of F16"),
    QuantType("Q4_K_S", 14, 4.67, False, "small loss"),
    QuantType("Q4_1", 3, 5.11, False, "legacy; prefer Q4_K_M"),
    QuantType("Q4_0", 2, 4.64, False, "legacy; fast on ARM (runtime repacking)"),
    QuantType("IQ4_NL", 25, 4.50, False, "non-linear 4-bit; better with --imatrix"),
    QuantType("IQ4_XS", 30, 4.25, False, "non-linear 4-bit; better with --imatrix"),
    QuantType("Q3_K_L", 13, 4.31, False, "noticeable loss"),
    QuantType("Q3_K_M", 12, 4.00, False, "noticeable loss"),
    QuantType("Q3_K_S", 11, 3.65, False, "large loss"),
    QuantType("IQ3_M", 27, 3.66, False, "3-bit mix; better with --imatrix"),
    QuantType("IQ3_S", 26, 3.44, False, "3-bit; better with --imatrix"),
    QuantType("IQ3_XS", 22, 3.30, True, "3-bit; needs --imatrix"),
    QuantType("IQ3_XXS", 23, 3.06, True, "3-bit; needs --imatrix"),
    QuantType("Q2_K", 10, 3.17, False, "very large loss; last resort"),
    QuantType("Q2_K_S", 21, 3.17, True, "very large loss; needs --imatrix"),
    QuantType("IQ2_M", 29, 2.70, True, "2-bit; needs --imatrix"),
    QuantType("IQ2_S", 28, 2.50, True, "2-bit; needs --imatrix"),
    QuantType("IQ2_XS", 20, 2.31, True, "2-bit; needs --imatrix"),
    QuantType("IQ2_XXS", 19, 2.06, True, "2-bit; needs --imatrix"),
    QuantType("IQ1_M", 31, 1.75, True, "1-bit; needs --imatrix; rarely usable"),
    QuantType("IQ1_S", 24, 1.56, True, "1-bit; needs --imatrix; rarely usable"),
)

#: every type by name, in the table's order (highest quality first, floats before)
QTYPES: dict[str, QuantType] = {t.name: t for t in _TABLE}
#: llama-quantize's aliases
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"}

REQUANTIZE_WARNING = (
    "requantizing from {src} loses quality: each rounding adds to the last, so {dst} made from {src} "
    "is worse than {dst} made from the F16/BF16/F32 GGUF; quantize from that when you have it"
)


class RequantizeWarning(UserWarning):
    """Issued (when no ``on_warning`` callback is given) for a quantization from a quantized file."""


def resolve_type(name: str) -> QuantType:
    """``q4_k_m`` / ``Q4_K`` -> the Q4_K_M entry; an unknown name is one line listing the valid ones."""
    key = name.strip().upper().replace("-", "_")
    key = ALIASES.get(key, key)
    found = QTYPES.get(key)
    if found is None:
        raise QuantizeUsageError(
            f"unknown quantization type {name!r}; valid types: " + ", ".join(QTYPES),
            hint="`sqlcoder-quantize types` shows bits per weight and which need an importance matrix",
        )
    return found


@dataclass(frozen=True)
class QuantizeResult:
    """What one quantization made."""

    path: Path
    qtype: str
    input_path: Path
    input_type: str | None  # the input's general.file_type as a name (None: the header does not say)
    requantized: bool
    size_bytes: int
    input_size_bytes: int
    seconds: float
    threads: int
    imatrix: Path | None = None
    imatrix_entries: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def bits_per_weight(self) -> float | None:
        """Measured: file bits over the header's weight count (None when the count is unknown)."""
        from sqlcoder_cli.models.gguf_info import read_gguf_info

        count = read_gguf_info(self.path).parameter_count
        return self.size_bytes * 8 / count if count else None


# --------------------------------------------------------------------------------------------------
# importance matrix files
# --------------------------------------------------------------------------------------------------


@dataclass
class Imatrix:
    """An importance matrix as llama.cpp's quantizer takes it: tensor name -> mean squared
    activation per input column (per expert for MoE tensors), float32."""

    path: Path
    entries: dict[str, Any]  # name -> numpy float32 vector
    datasets: list[str] = field(default_factory=list)
    chunk_count: int = 0
    legacy: bool = False


def _not_imatrix(path: Path, why: str) -> QuantizeUsageError:
    return QuantizeUsageError(
        f"{path} is not an importance matrix ({why})",
        hint="give the imatrix.gguf or imatrix.dat that llama.cpp's llama-imatrix wrote for this model",
    )


def load_imatrix(path: str | Path) -> Imatrix:
    """Read llama.cpp's imatrix file: GGUF (``<tensor>.in_sum2`` + ``<tensor>.counts``) or the
    legacy binary ``.dat`` (name, ncall, values), as ``common/imatrix-loader.cpp`` reads them."""
    path = Path(path).expanduser()
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise QuantizeUsageError(f"{path}: importance matrix file not found") from None
    except OSError as exc:
        raise QuantizeUsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    imatrix = _load_gguf_imatrix(path) if magic == b"GGUF" else _load_legacy_imatrix(path)
    import numpy as np

    if not imatrix.entries:
        raise _not_imatrix(path, "it has no entries")
    for name, values in imatrix.entries.items():
        if not np.all(np.isfinite(values)):
            raise QuantizeUsageError(f"{path}: the importance matrix of {name} has non-finite values")
    return imatrix


def _load_gguf_imatrix(path: Path) -> Imatrix:
    import numpy as np
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # noqa: BLE001 - gguf raises ValueError, struct.error, IndexError...
        raise _not_imatrix(path, f"unreadable GGUF: {exc}") from exc
    sums: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    for tensor in reader.tensors:
        name = tensor.name
        if name.endswith(".in_sum2"):
            sums[name[: -len(".in_sum2")]] = np.asarray(tensor.data, dtype=np.float32).reshape(-1)
        elif name.endswith(".counts"):
            counts[name[: -len(".counts")]] = np.asarray(tensor.data, dtype=np.float32).reshape(-1)
    if not sums:
        raise _not_imatrix(path, "a GGUF without .in_sum2 tensors; is it a model?")
    entries: dict[str, Any] = {}
    for name, total in sums.items():
        count = counts.get(name)
        if count is None or count.size == 0 or total.size % count.size:
            raise _not_imatrix(path, f"mismatched sums and counts for {name}")
        per = total.reshape(count.size, -1)
        rounded = np.rint(count).reshape(-1, 1)  # llama.cpp rounds the counts to integers
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(rounded > 0, per / np.where(rounded > 0, rounded, 1), 1.0)
        entries[name] = np.ascontiguousarray(values.reshape(-1), dtype=np.float32)

    def scalar(key: str) -> int:
        found = reader.fields.get(key)
        try:
            return int(found.contents()) if found is not None else 0
        except (TypeError, ValueError):
            return 0

    datasets_field = reader.fields.get("imatrix.datasets")
    datasets: list[str] = []
    if datasets_field is not None:
        try:
            contents = datasets_field.contents()
            datasets = [str(d) for d in (contents if isinstance(contents, list) else [contents])]
        except (TypeError, ValueError):
            datasets = []
    return Imatrix(path, entries, datasets, scalar("imatrix.chunk_count"), legacy=False)


def _load_legacy_imatrix(path: Path) -> Imatrix:
    import numpy as np

    data = path.read_bytes()
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(data):
            raise _not_imatrix(path, "it ends early")
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += size
        return value

    n_entries = take("<i")
    if n_entries < 1 or n_entries > 1_000_000:
        raise _not_imatrix(path, "neither GGUF nor a legacy .dat header")
    entries: dict[str, Any] = {}
    for _ in range(n_entries):
        length = take("<i")
        if length < 1 or pos + length > len(data):
            raise _not_imatrix(path, "a malformed entry name")
        try:
            name = data[pos : pos + length].decode("utf-8")
        except UnicodeDecodeError:
            raise _not_imatrix(path, "an entry name that is not text") from None
        pos += length
        ncall = take("<i")
        nval = take("<i")
        if nval < 1 or pos + 4 * nval > len(data):
            raise _not_imatrix(path, f"the values of {name} are cut short")
        values = np.frombuffer(data, dtype="<f4", count=nval, offset=pos).astype(np.float32)
        pos += 4 * nval
        entries[name] = values / ncall if ncall > 0 else values
    chunk_count, datasets = 0, []
    if pos + 4 <= len(data):  # optional trailer: chunk count, dataset name
        chunk_count = take("<i")
        if pos + 4 <= len(data):
            length = take("<i")
            if 0 < length <= len(data) - pos:
                datasets.append(data[pos : pos + length].decode("utf-8", errors="replace"))
    return Imatrix(path, entries, datasets, max(0, chunk_count), legacy=True)


@dataclass
class _CImatrix:
    """The ctypes arrays handed to llama.cpp, with everything they point to kept alive."""

    entries: Any
    kv_overrides: Any
    keep: list[Any]


def _c_imatrix(imatrix: Imatrix) -> _CImatrix:
    import llama_cpp

    keep: list[Any] = []
    items = list(imatrix.entries.items())
    array = (llama_cpp.llama_model_imatrix_data * (len(items) + 1))()  # zeroed: the last is the terminator
    for slot, (name, values) in zip(array, items):
        raw_name = name.encode("utf-8")
        keep += [raw_name, values]
        slot.name = raw_name
        slot.data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        slot.size = int(values.size)

    # the provenance llama-quantize records in the output's metadata
    overrides: list[tuple[str, int, Any]] = [
        ("quantize.imatrix.file", llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR, str(imatrix.path)),
        ("quantize.imatrix.entries_count", llama_cpp.LLAMA_KV_OVERRIDE_TYPE_INT, len(items)),
    ]
    if imatrix.datasets:
        overrides.append(("quantize.imatrix.dataset", llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR, imatrix.datasets[0]))
    if imatrix.chunk_count > 0:
        overrides.append(("quantize.imatrix.chunks_count", llama_cpp.LLAMA_KV_OVERRIDE_TYPE_INT, imatrix.chunk_count))
    kv = (llama_cpp.llama_model_kv_override * (len(overrides) + 1))()  # the last has an empty key
    for slot, (key, tag, value) in zip(kv, overrides):
        slot.key = key.encode()
        slot.tag = tag
        if tag == llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR:
            slot.value.val_str = value.encode("utf-8", errors="replace")[-127:]
        else:
            slot.value.val_i64 = int(value)
    return _CImatrix(array, kv, keep)


# --------------------------------------------------------------------------------------------------
# llama.cpp's log, captured
# --------------------------------------------------------------------------------------------------

_quantize_lock = threading.Lock()  # llama.cpp's log callback is process-wide: one quantization at a time
_TENSOR_LINE = re.compile(r"^\[\s*(\d+)\s*/\s*(\d+)\s*\]")
_FAILED = re.compile(r"failed to quantize: (?P<reason>[^\n]+)")


class _LogCapture:
    """Collects llama.cpp's log lines; tensor lines (``[  3/ 21] blk.0...``) drive ``progress``."""

    def __init__(self, progress: TensorProgress | None) -> None:
        self.progress = progress
        self.lines: deque[str] = deque(maxlen=80)
        self._partial = ""

    def feed(self, text: str) -> None:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            self.lines.append(line)
            match = _TENSOR_LINE.match(line)
            if match and self.progress is not None:
                try:
                    self.progress(int(match.group(1)), int(match.group(2)))
                except Exception:  # noqa: BLE001 - a C callback must never raise
                    pass

    def reason(self) -> str | None:
        text = "\n".join([*self.lines, self._partial])
        found = _FAILED.findall(text)
        return found[-1].strip() if found else None


@contextlib.contextmanager
def _captured_log(capture: _LogCapture) -> Iterator[None]:
    """Point llama.cpp's log at ``capture`` for the block, then give it back to whoever had it
    (llama-cpp-python's logger, or sqlcoder's engine), read with ``llama_log_get``."""
    import llama_cpp

    previous = llama_cpp.llama_log_callback()
    previous_data = ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(previous), ctypes.byref(previous_data))

    @llama_cpp.llama_log_callback
    def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        try:
            capture.feed(text.decode("utf-8", errors="replace"))
        except Exception:  # noqa: BLE001 - a C callback must never raise
            pass

    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
    try:
        yield
    finally:
        llama_cpp.llama_log_set(previous if previous else None, previous_data)


# --------------------------------------------------------------------------------------------------
# the quantization
# --------------------------------------------------------------------------------------------------


def _error_for(reason: str | None, in_path: Path, qtype: QuantType, imatrix: Path | None) -> Exception:
    """llama.cpp's last error line -> one of our errors, with the way out where there is one."""
    if reason is None:
        return QuantizeError(f"llama.cpp could not quantize {in_path} to {qtype.name} (it gave no reason)")
    if "requantizing from type" in reason:
        return QuantizeUsageError(
            f"{in_path} holds quantized tensors ({reason})",
            hint="pass --allow-requantize to quantize it anyway (it loses quality), or start from the F16/F32 GGUF",
        )
    if "imatrix" in reason.lower() or "importance matrix" in reason.lower():
        if imatrix is None:
            return QuantizeUsageError(
                f"{qtype.name} needs an importance matrix: llama.cpp refuses without one ({reason})",
                hint="pass --imatrix FILE (from llama.cpp's llama-imatrix), or choose IQ3_S, IQ4_XS or Q2_K",
            )
        return QuantizeUsageError(
            f"the importance matrix {imatrix} does not fit {in_path}: {reason}",
            hint="use the imatrix made for this model",
        )
    return QuantizeError(f"llama.cpp could not quantize {in_path} to {qtype.name}: {reason}")


def _temporary_beside(target: Path) -> Path:
    """A new, empty file beside ``target`` (same file system, so ``os.replace`` is one step), with
    the permissions a new file gets (umask), created exclusively so no other file is clobbered."""
    while True:
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise QuantizeError(f"cannot write into {target.parent}: {exc.strerror or exc}") from exc
        os.close(fd)
        return candidate


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _wait_for(worker: threading.Thread) -> None:
    """Wait for the quantizing thread a fifth of a second at a time, so Ctrl-C is seen at once."""
    while worker.is_alive():
        worker.join(0.2)


def check_request(
    in_path: str | Path, qtype: str, *, imatrix: str | Path | None = None, allow_requantize: bool = False
) -> tuple[QuantType, str | None, bool]:
    """Everything that can be refused before any work: the type, the input, the imatrix rule and
    requantizing. Returns (type, input's file type name, whether it is a requantization)."""
    from sqlcoder_cli.models.gguf_info import read_gguf_info

    target = resolve_type(qtype)
    info = read_gguf_info(in_path)  # ModelError / NotGGUFError: missing, not GGUF, truncated
    if target.needs_imatrix and imatrix is None:
        raise QuantizeUsageError(
            f"{target.name} needs an importance matrix: llama.cpp refuses to write its "
            "IQ1/IQ2/IQ3_XXS-class tensors without one",
            hint="pass --imatrix FILE (from llama.cpp's llama-imatrix), or choose IQ3_S, IQ4_XS or Q2_K",
        )
    source = info.quantization
    requantized = source is not None and source not in FLOAT_TYPES
    if requantized and not allow_requantize:
        raise QuantizeUsageError(
            f"{info.path} is already quantized ({source}); requantizing to {target.name} loses quality",
            hint="pass --allow-requantize to do it anyway, or quantize from the F16/BF16/F32 GGUF",
        )
    return target, source, requantized


def quantize_gguf(
    in_path: str | Path,
    out_path: str | Path,
    qtype: str,
    *,
    threads: int | None = None,
    imatrix: Path | None = None,
    allow_requantize: bool = False,
    progress: TensorProgress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> QuantizeResult:
    """Quantize ``in_path`` to ``out_path`` as ``qtype`` (``Q4_K_M``, ``IQ4_XS``, ...).

    ``threads``: llama.cpp's quantization threads (default: every CPU). ``imatrix``: an
    importance matrix file (required by the types that need one, used by all). A quantized input
    needs ``allow_requantize`` and then the quality warning goes to ``on_warning`` (or Python's
    ``warnings`` as :class:`RequantizeWarning`). ``progress(done, total)`` is called per tensor,
    from the worker thread. Nothing is left at ``out_path`` unless it succeeded.
    """
    from sqlcoder_cli.models.gguf_info import read_gguf_info

    in_file = Path(in_path).expanduser()
    out_file = Path(out_path).expanduser()
    target, source, requantized = check_request(
        in_file, qtype, imatrix=imatrix, allow_requantize=allow_requantize
    )
    if out_file.exists() and out_file.resolve() == in_file.resolve():
        raise QuantizeUsageError(f"the output {out_file} is the input file", hint="name another output file")
    if out_file.is_dir():
        raise QuantizeUsageError(f"the output {out_file} is a folder", hint="name the .gguf file to write")
    if threads is not None and threads < 1:
        raise QuantizeUsageError(f"--threads must be at least 1, not {threads}")
    loaded = load_imatrix(imatrix) if imatrix is not None else None

    messages: list[str] = []
    if requantized:
        message = REQUANTIZE_WARNING.format(src=source, dst=target.name)
        messages.append(message)
        if on_warning is not None:
            on_warning(message)
        else:
            warnings.warn(message, RequantizeWarning, stacklevel=2)

    import llama_cpp

    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise QuantizeError(f"cannot create {out_file.parent}: {exc.strerror or exc}") from exc
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = target.ftype
    params.nthread = threads or 0  # 0: llama.cpp uses every hardware thread
    params.allow_requantize = bool(allow_requantize)
    c_imatrix = _c_imatrix(loaded) if loaded is not None else None
    if c_imatrix is not None:
        params.imatrix = ctypes.cast(c_imatrix.entries, ctypes.POINTER(llama_cpp.llama_model_imatrix_data))
        params.kv_overrides = ctypes.cast(c_imatrix.kv_overrides, ctypes.POINTER(llama_cpp.llama_model_kv_override))

    capture = _LogCapture(progress)
    started = time.perf_counter()
    with _quantize_lock:
        temp = _temporary_beside(out_file)
        outcome: dict[str, Any] = {}
        cancelled = threading.Event()

        def work() -> None:
            try:
                outcome["rc"] = llama_cpp.llama_model_quantize(
                    os.fsencode(in_file), os.fsencode(temp), ctypes.byref(params)
                )
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = exc
            finally:
                if cancelled.is_set():  # the caller gave up (Ctrl-C): leave nothing behind
                    _remove(temp)

        try:
            with _captured_log(capture):
                # In a thread so that Ctrl-C reaches Python at once: the C call cannot be stopped,
                # but the process can stop waiting for it (the CLI then exits, ending the thread).
                worker = threading.Thread(target=work, name="llama-quantize", daemon=True)
                worker.start()
                _wait_for(worker)
        except BaseException as exc:
            cancelled.set()
            _remove(temp)
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted(f"quantizing interrupted; nothing was written to {out_file}") from None
            raise
        try:
            if "error" in outcome:
                raise QuantizeError(f"llama.cpp could not quantize {in_file}: {outcome['error']}")
            if outcome.get("rc") != 0:
                raise _error_for(capture.reason(), in_file, target, imatrix)
            try:
                written = read_gguf_info(temp)  # the header reads back and the file is whole
            except ModelError as exc:
                raise QuantizeError(f"llama.cpp wrote an unreadable file for {out_file}: {exc.message}") from exc
            if written.quantization != target.name and not (target.name == "F32" and written.quantization is None):
                raise QuantizeError(
                    f"llama.cpp wrote file type {written.quantization} instead of {target.name} for {out_file}"
                )
            os.replace(temp, out_file)
        except BaseException:
            _remove(temp)
            raise
    seconds = time.perf_counter() - started
    return QuantizeResult(
        path=out_file,
        qtype=target.name,
        input_path=in_file,
        input_type=source,
        requantized=requantized,
        size_bytes=out_file.stat().st_size,
        input_size_bytes=in_file.stat().st_size,
        seconds=seconds,
        threads=threads or (os.cpu_count() or 1),
        imatrix=Path(imatrix) if imatrix is not None else None,
        imatrix_entries=len(loaded.entries) if loaded is not None else 0,
        warnings=tuple(messages),
    )
