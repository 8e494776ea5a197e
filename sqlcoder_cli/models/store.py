"""The user's models: catalogue entries in the HF cache, plus GGUF files registered by path.

Why two kinds: catalogue models are downloaded into the shared Hugging Face cache (so other tools
reuse them); a GGUF the user already has stays where it is and is only *registered* here, by name,
in ``Paths.registry_file`` (a small JSON file). Nothing in this module touches the network except
:meth:`ModelStore.pull`.

Two processes may add or remove models at the same time: every change reads, edits and rewrites the
registry under an exclusive lock on a lock file beside it (so neither change is lost), and the
rewrite is atomic (a reader sees the old or the new file, never half of one). The registry is
private (0600 in a 0700 folder): it lists paths on the user's disk.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Paths
from ..errors import Interrupted, ModelError, ModelNotDownloadedError, UnknownModelError
from ..files import PRIVATE_FILE_MODE, atomic_write, private_dir
from .catalogue import CATALOGUE, DEFAULT_MODEL, CatalogueEntry, find_entry, ways_to_a_model
from .download import (
    DownloadProgress,
    HubSettings,
    _offline_error,
    delete_cached,
    download,
    find_cached,
    human_size,
    partial_download,
)
from .gguf_info import GGUFInfo, detect_family, read_gguf_info

REGISTRY_VERSION = 1


@dataclass
class ModelStatus:
    """One row of ``sqlcoder models list``."""

    name: str
    entry: CatalogueEntry | None
    path: Path | None
    size_bytes: int | None
    family: str
    source: str  # "catalogue" | "local"
    quantization: str | None = None

    @property
    def on_disk(self) -> bool:
        return self.path is not None and self.path.is_file()


@dataclass
class LocalModel:
    """A model file ready to load: what the engine and the prompt builder need."""

    name: str
    path: Path
    family: str
    entry: CatalogueEntry | None = None
    context_length: int | None = None


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created private) for the block; waits for others."""
    private_dir(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.lower().endswith(".gguf") or text.startswith("~")


class ModelStore:
    """Catalogue + registry + HF cache, behind one object the CLI and the pipeline share."""

    def __init__(self, paths: Paths, *, environ: Mapping[str, str] | None = None) -> None:
        self.paths = paths
        self._environ = environ

    # -- settings read at call time -------------------------------------------------------
    @property
    def hub(self) -> HubSettings:
        return HubSettings.from_environ(self._environ)

    @property
    def cache_dir(self) -> Path:
        return self.hub.cache_dir

    # -- registry ---------------------------------------------------------------------------
    def _load_registry(self) -> dict[str, dict[str, Any]]:
        path = self.paths.registry_file
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read the model registry {path}: {exc}",
                hint="fix or delete that file (it only lists models added with `sqlcoder models add`)",
            ) from exc
        models = data.get("models", {}) if isinstance(data, dict) else {}
        return {str(k): v for k, v in models.items() if isinstance(v, dict) and "path" in v}

    def _save_registry(self, models: dict[str, dict[str, Any]]) -> None:
        """Atomic and private: never a half-written registry (call it under :meth:`_editing`)."""
        path = self.paths.registry_file
        payload = {"version": REGISTRY_VERSION, "models": dict(sorted(models.items()))}
        try:
            atomic_write(path, json.dumps(payload, indent=2) + "\n")
        except OSError as exc:
            raise ModelError(f"cannot write the model registry {path}: {exc.strerror or exc}") from exc

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Read, let the caller change, and save the registry, with other processes locked out."""
        path = self.paths.registry_file
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(_exclusive(path.with_name(f".{path.name}.lock")))
            except OSError as exc:
                raise ModelError(f"cannot lock the model registry {path}: {exc.strerror or exc}") from exc
            models = self._load_registry()
            yield models
            self._save_registry(models)

    def _registered(self, name: str) -> tuple[str, dict[str, Any]] | None:
        models = self._load_registry()
        if name in models:
            return name, models[name]
        lowered = {k.lower(): k for k in models}
        key = lowered.get(name.lower())
        return (key, models[key]) if key else None

    def is_registered(self, name: str) -> bool:
        """True for a name added with ``models add`` (case-insensitive)."""
        return self._registered(name) is not None

    # -- queries ----------------------------------------------------------------------------
    def cached_path(self, entry: CatalogueEntry) -> Path | None:
        """Where the catalogue model is in the HF cache, or None (no network)."""
        return find_cached(self.cache_dir, entry.repo_id, entry.filename, entry.revision)

    def list_models(self) -> list[ModelStatus]:
        """Catalogue entries (with their on-disk state) then registered local models."""
        rows: list[ModelStatus] = []
        for entry in CATALOGUE:
            path = self.cached_path(entry)
            size = path.stat().st_size if path else entry.size_bytes
            rows.append(
                ModelStatus(entry.name, entry, path, size, entry.family, "catalogue", entry.quantization)
            )
        for name, record in self._load_registry().items():
            path = Path(record["path"])
            size = path.stat().st_size if path.is_file() else None
            family = str(record.get("family") or "sqlcoder")
            rows.append(ModelStatus(name, None, path, size, family, "local", record.get("quantization")))
        return rows

    def resolve(self, name_or_path: str) -> LocalModel:
        """A name or a path -> a model file on disk, or an error that says what to do."""
        text = name_or_path.strip()
        if not text:
            raise UnknownModelError("no model name given", hint="see: sqlcoder models list")
        candidate = Path(text).expanduser()
        if candidate.is_file():
            return self._from_file(candidate)
        registered = self._registered(text)
        if registered is not None:
            name, record = registered
            path = Path(record["path"])
            if not path.is_file():
                raise ModelError(
                    f"model {name!r} is registered at {path}, but that file is gone",
                    hint=f"add it again with its new path, or: sqlcoder models rm {name}",
                )
            return LocalModel(
                name=name,
                path=path,
                family=str(record.get("family") or "sqlcoder"),
                context_length=record.get("context_length"),
            )
        entry = find_entry(text)
        if entry is not None:
            path = self.cached_path(entry)
            if path is None:
                raise ModelNotDownloadedError(
                    f"model {entry.name} is not downloaded yet ({human_size(entry.size_bytes)})",
                    model_name=entry.name,
                    hint=ways_to_a_model(entry.name),
                )
            return LocalModel(entry.name, path, entry.family, entry, entry.context_length)
        if _looks_like_path(text):
            raise ModelError(f"{candidate}: file not found")
        raise UnknownModelError(
            f"unknown model {text!r}",
            hint="see `sqlcoder models list` for the names, or give the path of a .gguf file",
        )

    def _from_file(self, path: Path) -> LocalModel:
        info = read_gguf_info(path)
        resolved = path.resolve()
        for entry in CATALOGUE:  # a catalogue file given by path keeps its catalogue family
            if resolved.name == entry.filename:
                return LocalModel(entry.name, resolved, entry.family, entry, info.context_length)
        for name, record in self._load_registry().items():
            if Path(record["path"]) == resolved:
                return LocalModel(name, resolved, str(record.get("family")), None, info.context_length)
        return LocalModel(resolved.stem, resolved, detect_family(info), None, info.context_length)

    # -- changes ----------------------------------------------------------------------------
    def pull(self, name: str, *, progress: DownloadProgress | None = None) -> Path:
        """Download a catalogue model into the HF cache (resuming a partial download); returns its path.

        In offline mode an already-downloaded model is returned as is, and a missing one is a
        DownloadError without any network request.
        """
        entry = find_entry(name)
        if entry is None:
            if self._registered(name) is not None:
                raise ModelError(
                    f"{name!r} is a local model added by path; there is nothing to download",
                )
            raise UnknownModelError(
                f"unknown model {name!r}", hint="`sqlcoder models list` shows the names you can pull"
            )
        hub = self.hub
        if hub.offline:
            cached = self.cached_path(entry)
            if cached is not None:
                if progress is not None:
                    progress.finish()
                return cached
            raise _offline_error(entry.name)
        try:
            return download(hub, entry.repo_id, entry.filename, entry.revision, progress=progress)
        except KeyboardInterrupt:
            # One line for the user (exit 130), and what is kept: the partial file resumes next time.
            kept = partial_download(hub.cache_dir, entry.repo_id)
            what = f"; {human_size(kept)} kept" if kept else ""
            raise Interrupted(
                f"download of {entry.name} interrupted{what}",
                hint=f"run `sqlcoder models pull {entry.name}` again to resume",
            ) from None

    def add(self, path: str | Path, name: str | None = None, family: str | None = None) -> LocalModel:
        """Register a GGUF file under ``name`` (default: the file's stem); the file is not copied.
        ``family`` overrides the prompt family read from the file (a fine-tune of SQLCoder whose
        metadata looks like any llama, or a chat model to be prompted in SQLCoder's format)."""
        file = Path(path).expanduser()
        if not file.exists():
            raise ModelError(f"{file}: file not found")
        info = read_gguf_info(file)  # NotGGUFError for anything else
        resolved = file.resolve()
        model_name = (name or resolved.stem).strip()
        if not model_name or any(c.isspace() for c in model_name):
            raise ModelError(f"invalid model name {model_name!r}", hint="use a name without spaces")
        if find_entry(model_name) is not None:
            raise ModelError(
                f"{model_name!r} is the name of a catalogue model",
                hint="choose another name with --name",
            )
        if family is not None:
            from ..prompts import FAMILIES

            if family not in FAMILIES:
                raise ModelError(f"unknown prompt family {family!r}", hint="one of: " + ", ".join(FAMILIES))
        family = family or detect_family(info)
        with self._editing() as models:
            for existing in [k for k in models if k.lower() == model_name.lower()]:
                del models[existing]
            models[model_name] = {
                "path": str(resolved),
                "family": family,
                "architecture": info.architecture,
                "quantization": info.quantization,
                "context_length": info.context_length,
                "size_bytes": info.size_bytes,
            }
        return LocalModel(model_name, resolved, family, None, info.context_length)

    def add_from_ollama(self, spec: str, name: str | None = None, family: str | None = None) -> LocalModel:
        """Register the GGUF blob of the Ollama model ``spec`` (``NAME[:TAG]``, tag ``latest`` by
        default) in place, as :meth:`add` does for a path: Ollama's file is used, never copied.

        Why the family is judged by the Ollama name: the blob's file name is a digest
        (``sha256-…``), so the file name that family detection reads says nothing.
        """
        from .scan import find_ollama_model, ollama_family

        model = find_ollama_model(spec, self._environ)
        assert model.blob is not None  # find_ollama_model returns only usable models
        if family is None:
            family = ollama_family(model, read_gguf_info(model.blob))
        return self.add(model.blob, name or model.default_model_name, family)

    def remove(self, name: str) -> str:
        """Unregister a local model (its file stays), or delete a downloaded catalogue model."""
        registered = self._registered(name)
        if registered is not None:
            key, record = registered
            with self._editing() as models:
                models.pop(key, None)  # another process may have removed it meanwhile
            return f"unregistered {key}; the file {record['path']} was not touched"
        entry = find_entry(name)
        if entry is None:
            raise UnknownModelError(f"unknown model {name!r}", hint="see: sqlcoder models list")
        path = self.cached_path(entry)
        partial = partial_download(self.cache_dir, entry.repo_id)
        if path is None and partial == 0:
            return f"{entry.name} is not downloaded; nothing to remove"
        freed = delete_cached(self.cache_dir, entry.repo_id, entry.filename)
        if path is None:
            return f"{entry.name} was not fully downloaded; removed {human_size(freed)} of partial download"
        return f"deleted {entry.name} ({human_size(freed)} freed) from {self.cache_dir}"

    def is_downloaded(self, name: str) -> bool:
        entry = find_entry(name)
        return entry is not None and self.cached_path(entry) is not None

    def info(self, name_or_path: str) -> dict[str, Any]:
        """Catalogue fields, where the file is, and the GGUF header when the file is on disk."""
        data: dict[str, Any] = {}
        entry = find_entry(name_or_path) if not Path(name_or_path).expanduser().is_file() else None
        path: Path | None = None
        if entry is not None:
            path = self.cached_path(entry)
            data.update(
                name=entry.name,
                source="catalogue",
                default=entry.name == DEFAULT_MODEL,
                repo_id=entry.repo_id,
                filename=entry.filename,
                revision=entry.revision,
                url=entry.url,
                quantization=entry.quantization,
                family=entry.family,
                license=entry.license,
                context_length=entry.context_length,
                size_bytes=entry.size_bytes,
                description=entry.description,
                on_disk=path is not None,
                path=str(path) if path else None,
            )
            partial = partial_download(self.cache_dir, entry.repo_id)
            if path is None and partial:
                data["partial_download_bytes"] = partial
        else:
            model = self.resolve(name_or_path)
            path = model.path
            data.update(
                name=model.name,
                source="local" if model.entry is None else "catalogue",
                family=model.family,
                on_disk=True,
                path=str(path),
            )
        if path is not None:
            gguf = read_gguf_info(path)
            data.update(_gguf_fields(gguf))
        return data

    def default_model(self) -> str:
        return DEFAULT_MODEL


def _gguf_fields(info: GGUFInfo) -> dict[str, Any]:
    return {
        "size_bytes": info.size_bytes,
        "architecture": info.architecture,
        "gguf_name": info.name,
        "gguf_context_length": info.context_length,
        "gguf_quantization": info.quantization,
        "parameter_count": info.parameter_count,
        "chat_template": info.has_chat_template,
        "bos_token": info.bos_token,
        "eos_token": info.eos_token,
        "detected_family": detect_family(info),
    }
