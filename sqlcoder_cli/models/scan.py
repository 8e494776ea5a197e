"""Find GGUF models the user already has: Hugging Face cache, LM Studio, Ollama, extra folders.

Why: people who try sqlcoder often have gigabytes of GGUF files on disk already, pulled by another
tool. Downloading the same model again wastes time and disk; ``sqlcoder models scan`` shows what
is there and ``sqlcoder models add`` registers it in place (nothing is copied).

Why only known layouts, and never a search of the whole disk: each tool keeps its models in a
documented shape, so a scan reads a few directory levels and the first pages of each GGUF file
(the header, through :func:`~sqlcoder_cli.models.gguf_info.read_gguf_info`) and is done in well
under a second. The layouts:

* **Hugging Face hub cache** (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``): ``models--ORG--NAME/snapshots/REV/FILE.gguf``, each a symlink
  into ``../../blobs/``;
* **LM Studio** (its home is ``~/.lmstudio``, or ``~/.cache/lm-studio`` for older versions, or
  what ``~/.lmstudio-home-pointer`` names; its models folder is ``models`` there, or the
  ``downloadsFolder`` of its ``settings.json`` when set in the app): ``PUBLISHER/REPO/FILE.gguf``.
  LM Studio documents no environment variable for this, so ``--dir`` covers anything else;
* **Ollama** (``OLLAMA_MODELS``, else ``~/.ollama/models``, and the Linux service's
  ``/usr/share/ollama/.ollama/models``): ``manifests/HOST/NAMESPACE/MODEL/TAG`` is a JSON
  manifest whose layer of media type ``application/vnd.ollama.image.model`` names the GGUF by
  digest, stored as ``blobs/sha256-HEX`` (``sha256:HEX`` in old versions);
* **folders** given by the user: GGUF files a few levels down.

Safety of the walk: directory entries looked at are capped per location, depth is capped, a
directory reached twice (a symlink loop) is entered once, hidden folders (``.cache``, ``.locks``)
are skipped, and only regular files are opened (a FIFO named ``x.gguf`` would block a read).
A file that cannot be read is listed with the reason, never raised: one bad file must not hide the
others.

This module is library code: no Typer, no rich. The CLI (``sqlcoder_cli/cli/models_cmd.py``) only
renders :class:`ScanResult`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import struct
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelError, SqlcoderError, UnknownModelError
from .catalogue import CATALOGUE, CatalogueEntry
from .download import hub_cache_dir
from .gguf_info import GGUFInfo, detect_family, read_gguf_info

if TYPE_CHECKING:
    from .store import ModelStore

SOURCE_HF = "hf"
SOURCE_LMSTUDIO = "lmstudio"
SOURCE_OLLAMA = "ollama"
SOURCE_FOLDER = "folder"
SOURCES = (SOURCE_HF, SOURCE_LMSTUDIO, SOURCE_OLLAMA, SOURCE_FOLDER)

OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
OLLAMA_DEFAULT_REGISTRY = "registry.ollama.ai"
OLLAMA_DEFAULT_NAMESPACE = "library"
OLLAMA_DEFAULT_TAG = "latest"
#: where the Linux install script's ``ollama`` service user keeps its models
OLLAMA_SERVICE_DIR = Path("/usr/share/ollama/.ollama/models")

#: Directory entries looked at per location before the scan of it stops (with a note).
MAX_ENTRIES = 20_000
#: Levels below a ``--dir`` folder that are searched (its own files are level 1).
MAX_FOLDER_DEPTH = 4
#: Manifests and LM Studio settings are small JSON files; anything bigger is not one.
MAX_JSON_BYTES = 1 << 20

_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_DIGEST = re.compile(r"^sha256[:-]([0-9a-f]{64})$")


@dataclass(frozen=True)
class ScanLocation:
    """One folder to search, and which layout it has."""

    source: str
    root: Path


@dataclass(frozen=True)
class FoundModel:
    """One GGUF file found by :func:`scan`; ``error`` says why it is not usable (then the GGUF
    fields are None)."""

    source: str
    #: how people name it: ``org/repo/file`` (hf), ``publisher/repo/file`` (lmstudio),
    #: ``name:tag`` (ollama), the path below the folder (folder)
    name: str
    path: Path
    size_bytes: int | None = None
    architecture: str | None = None
    quantization: str | None = None
    family: str | None = None
    context_length: int | None = None
    #: the name it is registered under with ``sqlcoder models add``, if it is
    registered_as: str | None = None
    #: the catalogue entry this file is (a catalogue model downloaded into the HF cache)
    catalogue_name: str | None = None
    #: files of a split model (``-00001-of-00003.gguf``); 1 for a single file
    parts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def registered(self) -> bool:
        return self.registered_as is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``sqlcoder models scan --format json`` (keys may be added, never removed)."""
        return {
            "source": self.source,
            "name": self.name,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "architecture": self.architecture,
            "quantization": self.quantization,
            "family": self.family,
            "context_length": self.context_length,
            "registered": self.registered,
            "registered_as": self.registered_as,
            "catalogue_name": self.catalogue_name,
            "parts": self.parts,
            "ok": self.ok,
            "error": self.error,
        }


@dataclass
class ScanResult:
    """What :func:`scan` found, where it looked, and anything it had to cut short."""

    models: list[FoundModel] = field(default_factory=list)
    #: the locations that exist and were searched
    searched: list[ScanLocation] = field(default_factory=list)
    #: one line each: a location cut short at :data:`MAX_ENTRIES`, an unreadable registry
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OllamaModel:
    """One Ollama manifest and the GGUF blob it names (``blob`` is None with ``error`` set)."""

    name: str  # Ollama's short name: ``llama3:latest``, ``user/model:tag``, ``hf.co/org/repo:Q4_K_M``
    manifest: Path
    blob: Path | None
    error: str | None = None

    @property
    def default_model_name(self) -> str:
        """The name ``models add --from-ollama`` registers it under: Ollama's name without a
        ``:latest`` tag, with ``:`` and ``/`` made ``-`` (a ``:`` or ``/`` in a name reads as a
        drive or a path on some systems, and ``name:quant`` is how catalogue names look)."""
        short = self.name.removesuffix(":" + OLLAMA_DEFAULT_TAG)
        return re.sub(r"[:/\\]+", "-", short)


# --------------------------------------------------------------------------------------------
# where to look
# --------------------------------------------------------------------------------------------


def _home(env: Mapping[str, str]) -> Path:
    """The user's home from the environment we were given (tests point HOME at a tmp dir)."""
    value = env.get("HOME") or (env.get("USERPROFILE") if os.name == "nt" else None)
    return Path(value).expanduser() if value else Path.home()


def _expand(value: str, home: Path) -> Path:
    value = value.strip()
    if value == "~" or value.startswith(("~/", "~" + os.sep)):
        return home / value[2:]
    return Path(os.path.expandvars(value))


def _read_small_json(path: Path) -> Any:
    """A small JSON file, or None (missing, too big, not JSON): callers treat None as "absent"."""
    try:
        with path.open("rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            raw = fh.read(MAX_JSON_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_JSON_BYTES:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def hf_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The HF hub cache as huggingface_hub finds it, with ``~`` taken from ``environ``'s HOME."""
    env = os.environ if environ is None else environ
    home = _home(env)
    return hub_cache_dir({**env, "XDG_CACHE_HOME": env.get("XDG_CACHE_HOME") or str(home / ".cache")})


def lmstudio_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """LM Studio's models folders, most specific first (only those that exist).

    LM Studio's home is what ``~/.lmstudio-home-pointer`` names, else ``~/.lmstudio``, else the
    older ``~/.cache/lm-studio``; the models folder is ``downloadsFolder`` in that home's
    ``settings.json`` (set under Settings > Models Directory), else ``models`` in the home.
    """
    env = os.environ if environ is None else environ
    home = _home(env)
    homes: list[Path] = []
    try:
        pointed = (home / ".lmstudio-home-pointer").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        pointed = ""
    if pointed:
        homes.append(_expand(pointed, home))
    homes += [home / ".lmstudio", home / ".cache" / "lm-studio"]
    found: list[Path] = []
    for lm_home in homes:
        settings = _read_small_json(lm_home / "settings.json")
        folder = settings.get("downloadsFolder") if isinstance(settings, dict) else None
        if isinstance(folder, str) and folder.strip():
            found.append(_expand(folder, home))
        found.append(lm_home / "models")
    return _existing_unique(found)


def ollama_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Ollama's models folders: ``OLLAMA_MODELS`` alone when set (it is what the server uses),
    else ``~/.ollama/models`` and, on Linux, the service's folder (only those that exist)."""
    env = os.environ if environ is None else environ
    home = _home(env)
    if env.get("OLLAMA_MODELS"):
        return _existing_unique([_expand(env["OLLAMA_MODELS"], home)])
    candidates = [home / ".ollama" / "models"]
    if sys.platform.startswith("linux"):
        candidates.append(OLLAMA_SERVICE_DIR)
    return _existing_unique(candidates)


def _existing_unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    out: list[Path] = []
    for path in paths:
        try:
            if not path.is_dir():
                continue
            key = os.path.realpath(path)
        except OSError:
            continue
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def default_locations(
    environ: Mapping[str, str] | None = None, extra_dirs: Sequence[str | Path] = ()
) -> list[ScanLocation]:
    """Every location :func:`scan` searches by default, plus ``extra_dirs`` (``--dir``).

    Missing folders are left out silently: most people have one or two of these tools, not all.
    An extra dir is kept even when missing, so :func:`scan` can say so (the user named it).
    """
    locations = [ScanLocation(SOURCE_HF, hf_cache_dir(environ))]
    locations += [ScanLocation(SOURCE_LMSTUDIO, p) for p in lmstudio_dirs(environ)]
    locations += [ScanLocation(SOURCE_OLLAMA, p) for p in ollama_dirs(environ)]
    env = os.environ if environ is None else environ
    locations += [ScanLocation(SOURCE_FOLDER, _expand(str(d), _home(env))) for d in extra_dirs]
    return locations


# --------------------------------------------------------------------------------------------
# walking
# --------------------------------------------------------------------------------------------


class _Budget:
    """How many more directory entries one location may cost."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.exhausted = False

    def take(self) -> bool:
        if self.left <= 0:
            self.exhausted = True
            return False
        self.left -= 1
        return True


def _list_dir(folder: Path, budget: _Budget, seen: set[tuple[int, int]]) -> list[os.DirEntry[str]]:
    """The visible entries of ``folder``, sorted; empty when unreadable, already seen (a symlink
    loop or a second link to it) or out of budget."""
    try:
        st = folder.stat()
    except OSError:
        return []
    key = (st.st_dev, st.st_ino)
    if key in seen or not stat.S_ISDIR(st.st_mode):
        return []
    seen.add(key)
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return []
    kept = []
    for entry in entries:
        if not budget.take():
            break
        kept.append(entry)
    return kept


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks; False for a broken one
    except OSError:  # a symlink loop (ELOOP), a vanished entry
        return False


def _ggufs_below(root: Path, max_depth: int, budget: _Budget) -> Iterator[Path]:
    """``*.gguf`` entries up to ``max_depth`` levels below ``root`` (broken links included, so
    they can be reported), following directory symlinks but entering each directory once.
    Of a split model (``-00001-of-00003.gguf``) only the first file: llama.cpp loads that one and
    finds the rest beside it."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, int]] = [(root, 1)]
    while stack:
        folder, depth = stack.pop()
        for entry in _list_dir(folder, budget, seen):
            if _is_dir(entry):
                if depth < max_depth:
                    stack.append((Path(entry.path), depth + 1))
            elif entry.name.lower().endswith(".gguf"):
                split = _split_part(Path(entry.name))
                if split is None or split[0] == 1:  # a split model is listed once, by its first file
                    yield Path(entry.path)


def _split_part(path: Path) -> tuple[int, int] | None:
    match = _SPLIT.search(path.name)
    return (int(match.group(1)), int(match.group(2))) if match else None


# --------------------------------------------------------------------------------------------
# reading one file
# --------------------------------------------------------------------------------------------


def _reason(exc: BaseException, path: Path) -> str:
    """The error without the path in front (the path has its own column)."""
    text = exc.message if isinstance(exc, SqlcoderError) else (getattr(exc, "strerror", None) or str(exc))
    for prefix in (str(path), os.path.realpath(path)):
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip(": ")
            break
    if text.startswith("is "):
        text = text[3:]
    return text or type(exc).__name__


def family_for(info: GGUFInfo, label: str | None = None) -> str:
    """The prompt family ``models add`` would pick: :func:`~.gguf_info.detect_family`, which reads
    ``general.name`` and the file name. ``label`` stands in for the file name where that name says
    nothing (an Ollama blob is called ``sha256-…``; the model's name ``sqlcoder:7b`` says more)."""
    if label:
        info = dataclasses.replace(info, path=info.path.with_name(label))
    return detect_family(info)


def _catalogue_entry(repo_id: str, filename: str) -> CatalogueEntry | None:
    for entry in CATALOGUE:
        if entry.repo_id.lower() == repo_id.lower() and entry.filename == filename:
            return entry
    return None


def _inspect(
    source: str,
    name: str,
    path: Path,
    *,
    registered: Mapping[str, tuple[str, str]],
    label: str | None = None,
    catalogue: CatalogueEntry | None = None,
) -> FoundModel:
    """Read one file's header into a :class:`FoundModel`; any failure becomes its ``error``."""
    base = FoundModel(source=source, name=name, path=path, catalogue_name=catalogue.name if catalogue else None)
    try:
        st = path.stat()
    except FileNotFoundError:
        what = "broken link (its target is gone)" if path.is_symlink() else "file not found"
        return dataclasses.replace(base, error=what)
    except OSError as exc:
        return dataclasses.replace(base, error=f"cannot read: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return dataclasses.replace(base, error="not a regular file")
    parts = 1
    size = st.st_size
    split = _split_part(path)
    if split is not None:
        parts = split[1]
        for index in range(2, parts + 1):  # the other files of a split model sit beside the first
            sibling = path.with_name(_SPLIT.sub(f"-{index:05d}-of-{parts:05d}.gguf", path.name))
            try:
                size += sibling.stat().st_size
            except OSError:
                pass
    key = os.path.realpath(path)
    reg_name, reg_family = registered.get(key, (None, None))
    base = dataclasses.replace(base, size_bytes=size, parts=parts, registered_as=reg_name)
    try:
        info = read_gguf_info(path)
    except (SqlcoderError, OSError, ValueError, struct.error) as exc:
        # ValueError: mmap of a file that shrank; struct.error: a header cut inside its first bytes
        return dataclasses.replace(base, error=_reason(exc, path))
    family = reg_family or (catalogue.family if catalogue else None) or family_for(info, label)
    return dataclasses.replace(
        base,
        architecture=info.architecture,
        quantization=info.quantization,
        context_length=info.context_length,
        family=family,
    )


# --------------------------------------------------------------------------------------------
# the four layouts
# --------------------------------------------------------------------------------------------


def _scan_hf(root: Path, budget: _Budget, registered: Mapping[str, tuple[str, str]]) -> Iterator[FoundModel]:
    seen: set[tuple[int, int]] = set()
    for repo in _list_dir(root, budget, seen):
        if not repo.name.startswith("models--") or not _is_dir(repo):
            continue
        repo_id = repo.name[len("models--") :].replace("--", "/")
        snapshots = Path(repo.path) / "snapshots"
        for snapshot in _list_dir(snapshots, budget, seen):
            if not _is_dir(snapshot):
                continue
            for file in _ggufs_below(Path(snapshot.path), 3, budget):
                relative = file.relative_to(snapshot.path).as_posix()
                yield _inspect(
                    SOURCE_HF,
                    f"{repo_id}/{relative}",
                    file,
                    registered=registered,
                    catalogue=_catalogue_entry(repo_id, relative),
                )


def _scan_lmstudio(root: Path, budget: _Budget, registered: Mapping[str, tuple[str, str]]) -> Iterator[FoundModel]:
    # PUBLISHER/REPO/FILE.gguf: LM Studio itself only sees files exactly two levels down
    for file in _ggufs_below(root, 3, budget):
        relative = file.relative_to(root).as_posix()
        if relative.count("/") == 2:
            yield _inspect(SOURCE_LMSTUDIO, relative, file, registered=registered)


def _scan_folder(root: Path, budget: _Budget, registered: Mapping[str, tuple[str, str]]) -> Iterator[FoundModel]:
    if root.is_file() or (root.name.lower().endswith(".gguf") and not root.is_dir()):
        yield _inspect(SOURCE_FOLDER, root.name, root, registered=registered)
        return
    for file in _ggufs_below(root, MAX_FOLDER_DEPTH, budget):
        yield _inspect(SOURCE_FOLDER, file.relative_to(root).as_posix(), file, registered=registered)


def _short_name(host: str, namespace: str, model: str, tag: str) -> str:
    """Ollama's own short form (``GetShortTagname``): defaults left out."""
    if host == OLLAMA_DEFAULT_REGISTRY:
        if namespace == OLLAMA_DEFAULT_NAMESPACE:
            return f"{model}:{tag}"
        return f"{namespace}/{model}:{tag}"
    return f"{host}/{namespace}/{model}:{tag}"


def _read_manifest(manifest: Path, root: Path, name: str) -> OllamaModel:
    data = _read_small_json(manifest)
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        return OllamaModel(name, manifest, None, "unreadable manifest (not an Ollama manifest)")
    for layer in data["layers"]:
        if not isinstance(layer, dict):
            continue
        media = str(layer.get("mediaType") or "").split(";")[0].strip()
        if media != OLLAMA_MODEL_MEDIA_TYPE:
            continue
        match = _DIGEST.match(str(layer.get("digest") or ""))
        if match is None:  # also keeps a hostile digest from naming a path outside blobs/
            return OllamaModel(name, manifest, None, f"manifest has a malformed digest {layer.get('digest')!r}")
        blobs = root / "blobs"
        current, old = blobs / f"sha256-{match.group(1)}", blobs / f"sha256:{match.group(1)}"
        for blob in (current, old):
            if blob.exists():
                return OllamaModel(name, manifest, blob)
        return OllamaModel(name, manifest, current, "model blob missing (pull it again in Ollama)")
    return OllamaModel(name, manifest, None, "no GGUF model layer (not a llama.cpp model)")


def ollama_models(root: Path, budget: _Budget | None = None) -> list[OllamaModel]:
    """Every manifest under ``root/manifests/HOST/NAMESPACE/MODEL/TAG``, with its model blob."""
    budget = budget or _Budget(MAX_ENTRIES)
    seen: set[tuple[int, int]] = set()
    found: list[OllamaModel] = []
    manifests = root / "manifests"
    for host in _list_dir(manifests, budget, seen):
        for namespace in _list_dir(Path(host.path), budget, seen):
            for model in _list_dir(Path(namespace.path), budget, seen):
                for tag in _list_dir(Path(model.path), budget, seen):
                    if _is_dir(tag):
                        continue
                    name = _short_name(host.name, namespace.name, model.name, tag.name)
                    found.append(_read_manifest(Path(tag.path), root, name))
    return found


def _scan_ollama(root: Path, budget: _Budget, registered: Mapping[str, tuple[str, str]]) -> Iterator[FoundModel]:
    for model in ollama_models(root, budget):
        if model.error is not None or model.blob is None:
            yield FoundModel(SOURCE_OLLAMA, model.name, model.blob or model.manifest, error=model.error)
            continue
        yield _inspect(SOURCE_OLLAMA, model.name, model.blob, registered=registered, label=_ollama_label(model.name))


def _ollama_label(name: str) -> str:
    """A file-name stand-in for family detection: ``sqlcoder:7b`` -> ``sqlcoder-7b.gguf``."""
    return re.sub(r"[:/\\]+", "-", name) + ".gguf"


_SCANNERS = {
    SOURCE_HF: _scan_hf,
    SOURCE_LMSTUDIO: _scan_lmstudio,
    SOURCE_OLLAMA: _scan_ollama,
    SOURCE_FOLDER: _scan_folder,
}


# --------------------------------------------------------------------------------------------
# the entry points
# --------------------------------------------------------------------------------------------


def registered_files(store: ModelStore) -> dict[str, tuple[str, str]]:
    """Real path of each file registered with ``models add`` -> (name, prompt family)."""
    out: dict[str, tuple[str, str]] = {}
    for row in store.list_models():
        if row.source == "local" and row.path is not None:
            out[os.path.realpath(row.path)] = (row.name, row.family)
    return out


def scan(
    locations: Sequence[ScanLocation] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    extra_dirs: Sequence[str | Path] = (),
    store: ModelStore | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ScanResult:
    """Find GGUF files in ``locations`` (default: :func:`default_locations`), read their headers.

    Never raises for what it finds on disk: unreadable, truncated or non-GGUF files come back
    with ``error`` set. A file reachable twice (an LM Studio folder also given as ``--dir``, a
    symlink loop) is listed once, under the first location; Ollama names that share a blob are all
    listed. ``store`` marks the files already registered.
    """
    if locations is None:
        locations = default_locations(environ, extra_dirs)
    result = ScanResult()
    registered: dict[str, tuple[str, str]] = {}
    if store is not None:
        try:
            registered = registered_files(store)
        except SqlcoderError as exc:
            result.notes.append(f"cannot tell which files are registered: {exc}")
    seen: set[str] = set()
    for location in locations:
        root = location.root
        if location.source == SOURCE_FOLDER and not (root.exists() or root.is_symlink()):
            result.notes.append(f"{root}: no such folder")
            continue
        if location.source != SOURCE_FOLDER and not root.is_dir():
            continue  # a tool that is not installed: nothing to say
        result.searched.append(location)
        budget = _Budget(max_entries)
        for found in _SCANNERS[location.source](root, budget, registered):
            key = os.path.realpath(found.path)
            # Ollama names share blobs (llama3:latest and llama3:8b): each name is worth a row
            if key in seen and found.source != SOURCE_OLLAMA:
                continue
            seen.add(key)
            result.models.append(found)
        if budget.exhausted:
            result.notes.append(f"{root}: stopped after {max_entries:,} entries; pass a narrower --dir")
    order = {source: i for i, source in enumerate(SOURCES)}
    result.models.sort(key=lambda m: (order.get(m.source, len(order)), m.name.lower()))
    return result


def parse_ollama_name(spec: str) -> tuple[str, str, str, str]:
    """``NAME[:TAG]`` (or ``NAMESPACE/NAME``, ``HOST/NAMESPACE/NAME``) -> (host, namespace, model,
    tag), with Ollama's defaults, as its ``ParseModelPath`` does."""
    text = re.sub(r"^[a-z]+://", "", spec.strip())
    parts = text.split("/")
    if not text or len(parts) > 3 or any(not p for p in parts):
        raise UnknownModelError(
            f"{spec!r} is not an Ollama model name", hint="use NAME or NAME:TAG, as `ollama list` shows them"
        )
    host, namespace = OLLAMA_DEFAULT_REGISTRY, OLLAMA_DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace, model = parts
    elif len(parts) == 2:
        namespace, model = parts
    else:
        (model,) = parts
    model, _, tag = model.partition(":")
    if not model:
        raise UnknownModelError(f"{spec!r} is not an Ollama model name", hint="use NAME or NAME:TAG")
    return host, namespace, model, tag or OLLAMA_DEFAULT_TAG


def find_ollama_model(spec: str, environ: Mapping[str, str] | None = None) -> OllamaModel:
    """The Ollama model called ``spec`` (``NAME[:TAG]``, tag ``latest`` by default), with a usable
    blob; else an :class:`~sqlcoder_cli.errors.UnknownModelError` that lists what Ollama has.

    Names compare case-insensitively, as current Ollama versions do.
    """
    wanted = _short_name(*parse_ollama_name(spec))
    roots = ollama_dirs(environ)
    available: list[OllamaModel] = []
    for root in roots:
        for model in ollama_models(root):
            if model.name.lower() == wanted.lower():
                if model.error is not None or model.blob is None:
                    raise ModelError(f"Ollama model {model.name} cannot be used: {model.error}")
                return model
            available.append(model)
    if not roots:
        env = os.environ if environ is None else environ
        where = env.get("OLLAMA_MODELS") or str(_home(env) / ".ollama" / "models")
        raise UnknownModelError(
            f"Ollama model {wanted} not found: no Ollama models folder at {where}",
            hint="set OLLAMA_MODELS to the folder Ollama uses",
        )
    where = ", ".join(str(r) for r in roots)
    names = sorted({m.name for m in available})
    if not names:
        raise UnknownModelError(f"Ollama model {wanted} not found: Ollama has no models in {where}")
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    raise UnknownModelError(f"Ollama model {wanted} not found in {where}; it has: {shown}")


def ollama_family(model: OllamaModel, info: GGUFInfo) -> str:
    """The prompt family for an Ollama blob, judged by the model's Ollama name (see :func:`family_for`)."""
    return family_for(info, _ollama_label(model.name))
