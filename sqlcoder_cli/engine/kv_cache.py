"""A disk cache of llama.cpp's KV state for prompt prefixes.

Most of a prompt (instructions, schema, notes) is the same for every question on a database; on a
laptop CPU evaluating it costs tens of seconds with a 7B model. After the first question we save
llama.cpp's state for that constant prefix (``llama_state_save_file``); a later process restores it
(``llama_state_load_file``) and evaluates only the question.

Files are keyed by the model file's identity, the context size and the exact prefix tokens, so a
different model, quantization or schema never reuses a wrong state. A file that fails to load, or
whose tokens differ from the ones expected, is deleted and rebuilt; it can never crash a question.
Old files are evicted least-recently-used first when the cache exceeds its disk budget.

Several processes share the folder (a REPL and a script on the same database): a state is written
to a private temporary file and renamed into place (:mod:`sqlcoder_cli.files`), so a reader never
loads half a file, and a file another process evicts or replaces meanwhile is just a cache miss.
The states hold the schema and sampled values, so the folder is 0700 and the files 0600.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import replacing

#: Prefixes shorter than this are cheap to evaluate; caching them would cost more than it saves.
MIN_PREFIX_TOKENS = 64
#: a temporary file older than this was left by a process that died while saving
STALE_TEMP_S = 3600.0


def model_fingerprint(path: Path) -> str:
    """A cheap identity of a model file: size, and hashes of its first and last MiB.

    Hashing a 5 GB file on every start would cost seconds; the header (metadata and tokenizer) and
    the tail (last tensors) change with any conversion or quantization of the model.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as stream:
        digest.update(stream.read(1 << 20))
        if size > 2 << 20:
            stream.seek(-(1 << 20), os.SEEK_END)
            digest.update(stream.read(1 << 20))
    return digest.hexdigest()[:20]


@dataclass
class KVStateCache:
    """Saved prefix states in ``directory``, at most ``budget_bytes`` in all."""

    directory: Path
    budget_bytes: int = 2 * 1024**3

    def path_for(self, model_id: str, n_ctx: int, tokens: list[int]) -> Path:
        digest = hashlib.sha256()
        digest.update(f"{model_id}:{n_ctx}:".encode())
        digest.update(",".join(map(str, tokens)).encode())
        return self.directory / f"{model_id}-{digest.hexdigest()[:24]}.kvstate"

    def restore(self, llm: Any, path: Path, tokens: list[int]) -> bool:
        """Load the state saved for ``tokens`` into ``llm``; False (and the file removed) if unusable."""
        import llama_cpp

        if not path.is_file():
            return False
        capacity = len(tokens)
        tokens_out = (llama_cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        try:
            ok = llama_cpp.llama_state_load_file(llm.ctx, str(path).encode(), tokens_out, capacity, ctypes.byref(count))
        except Exception:  # noqa: BLE001 - a foreign or damaged file must not break the question
            ok = False
        if not ok or count.value != len(tokens) or list(tokens_out[: count.value]) != tokens:
            llm.reset()
            path.unlink(missing_ok=True)
            return False
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        with contextlib.suppress(OSError):  # another process may have evicted it since
            os.utime(path)  # recently used: last to be evicted
        return True

    def save(self, llm: Any, path: Path, tokens: list[int]) -> bool:
        """Save ``llm``'s state, which must hold exactly ``tokens``, then evict beyond the budget."""
        import llama_cpp

        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        try:
            # llama.cpp writes the file itself (by name): it fills a private temporary file
            with replacing(path) as partial:
                if not llama_cpp.llama_state_save_file(llm.ctx, str(partial).encode(), array, len(tokens)):
                    raise OSError("llama.cpp could not save the state")
        except Exception:  # noqa: BLE001 - a read-only or full cache folder must not break the question
            return False
        self.evict()
        return True

    def evict(self) -> int:
        """Delete least-recently-used files until the cache fits its budget; returns files deleted.

        Another process may delete or replace files meanwhile: a file that vanished is skipped.
        Temporary files of a process that died while saving are removed after an hour.
        """
        if not self.directory.is_dir():
            return 0
        stats: list[tuple[float, int, Path]] = []
        for file in self.directory.glob("*.kvstate"):
            try:
                st = file.stat()
            except OSError:
                continue
            stats.append((st.st_mtime, st.st_size, file))
        stats.sort(key=lambda item: item[0], reverse=True)
        total, deleted = 0, 0
        for _, size, file in stats:
            if total + size > self.budget_bytes:
                with contextlib.suppress(OSError):
                    file.unlink(missing_ok=True)
                deleted += 1
            else:
                total += size
        stale_before = time.time() - STALE_TEMP_S
        for temp in self.directory.glob(".*.kvstate.*.tmp"):
            with contextlib.suppress(OSError):
                if temp.stat().st_mtime < stale_before:
                    temp.unlink()
        return deleted
