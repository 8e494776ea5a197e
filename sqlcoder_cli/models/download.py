"""Downloading one GGUF file from the Hugging Face Hub into the standard HF cache.

Why the file goes to the *standard* cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
``~/.cache/huggingface/hub``) in huggingface_hub's own layout (``models--org--name/blobs``,
``snapshots/<commit>/<file>`` symlinks, ``refs/<revision>``): a 5 GB model is then shared with
every other tool that uses huggingface_hub, and ``hf cache ls`` / ``hf cache rm`` see it.

Why not a single call to ``hf_hub_download``: since huggingface_hub 1.x it writes each download to
a process-unique temporary file and deletes it when the download fails, so an interrupted 5 GB
download starts again from zero on the next run (it only resumes within one call, after a dropped
connection). On a laptop on a train that is the common case. So this module does what
``hf_hub_download`` does, with huggingface_hub's own building blocks, and keeps the partial file:

* metadata: :func:`huggingface_hub.get_hf_file_metadata` (a HEAD on ``/resolve``: commit, size, and
  for LFS files the sha256, which the hub sends as ``X-Linked-Etag``);
* transfer: ``huggingface_hub.file_download.http_get`` with ``resume_size`` and a file opened for
  appending: it sends ``Range: bytes=N-``, retries dropped connections itself (resuming again),
  and reports bytes through a ``tqdm_class`` we give it, which forwards them to
  :class:`DownloadProgress`;
* the partial file is ``blobs/<sha256>.incomplete`` (the name huggingface_hub used before 1.x, so
  an older partial is resumed too), guarded by huggingface_hub's own lock file for that blob;
* after the transfer the file's sha256 is compared with the hub's; only a verified file becomes
  the blob, so a corrupt download never enters the cache.

Only this module and :mod:`.store` import huggingface_hub, and only inside functions, so that
``sqlcoder --help`` stays fast. Environment variables are read from the mapping we are given at
call time (huggingface_hub reads them once, at import).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from ..errors import DownloadError

DEFAULT_ENDPOINT = "https://huggingface.co"
#: Free space kept on top of the bytes still to download, so the disk is not left full.
DISK_MARGIN_BYTES = 64 * 1024 * 1024
#: write errors that mean "no room": a full disk, a quota, a file-size limit
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TRUE = {"1", "on", "yes", "true"}


class DownloadProgress(Protocol):
    """Byte-level progress of one download, drawn by the CLI (the models package never prints).

    ``start`` is called once the server answered (``already`` > 0 when resuming); ``advance`` may
    get a negative number if a server ignored the range request and the download restarts from 0;
    ``finish`` is called at the end, also when nothing had to be transferred (then ``start`` may not
    have been called at all).
    """

    def start(self, description: str, total_bytes: int, already: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class HubSettings:
    """Where the hub and the cache are, from the environment at call time."""

    endpoint: str
    cache_dir: Path
    offline: bool
    token: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> HubSettings:
        env = os.environ if environ is None else environ
        endpoint = (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        offline = any(
            (env.get(var) or "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        )
        return cls(endpoint=endpoint, cache_dir=hub_cache_dir(env), offline=offline, token=env.get("HF_TOKEN") or None)


def hub_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The standard HF hub cache, resolved like huggingface_hub.constants does (at call time)."""
    env = os.environ if environ is None else environ

    def expand(value: str) -> Path:
        return Path(os.path.expandvars(os.path.expanduser(value)))

    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var):
            return expand(env[var])
    home = env.get("HF_HOME")
    if not home:
        xdg = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home = os.path.join(xdg, "huggingface")
    return expand(home) / "hub"


def repo_folder(cache_dir: Path, repo_id: str) -> Path:
    """``models--org--name``: huggingface_hub's folder for a model repository."""
    return cache_dir / ("models--" + repo_id.replace("/", "--"))


@dataclass(frozen=True)
class RemoteFile:
    """What the hub says about a file before we download it."""

    repo_id: str
    filename: str
    revision: str
    url: str  # where to GET the bytes (the CDN for LFS files)
    commit_hash: str
    etag: str  # the blob's name in the cache
    size: int | None
    sha256: str | None  # LFS files only; None for small git files

    @property
    def blob_name(self) -> str:
        return self.etag


def human_size(nbytes: float) -> str:
    """1_117_320_768 -> '1.1 GB' (decimal units, like the Hub shows)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(nbytes) < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} TB"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# cache look-ups (no network)
# --------------------------------------------------------------------------------------------


def find_cached(cache_dir: Path, repo_id: str, filename: str, revision: str = "main") -> Path | None:
    """The cached file for ``revision``, else the same file from any cached snapshot; no network.

    The fallback matters when ``refs/main`` moved on (another tool pulled a newer commit that we
    never downloaded this file for): the older snapshot's file is still a valid model.
    """
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache_dir), revision=revision)
    except (OSError, ValueError):
        found = None
    if isinstance(found, str) and Path(found).is_file():
        return Path(found)
    snapshots = repo_folder(cache_dir, repo_id) / "snapshots"
    if snapshots.is_dir():
        candidates = [p for p in snapshots.glob(f"*/{filename}") if p.is_file()]
        if candidates:
            return max(candidates, key=lambda p: p.lstat().st_mtime)
    return None


def partial_download(cache_dir: Path, repo_id: str) -> int:
    """Bytes of unfinished downloads kept for resuming, in this repository's cache folder."""
    blobs = repo_folder(cache_dir, repo_id) / "blobs"
    if not blobs.is_dir():
        return 0
    return sum(p.stat().st_size for p in blobs.glob("*.incomplete") if p.is_file())


def delete_cached(cache_dir: Path, repo_id: str, filename: str) -> int:
    """Delete one file from the cache (every snapshot's link, and blobs nothing else uses).

    Returns the bytes freed. Why not ``scan_cache_dir().delete_revisions``: that deletes whole
    revisions, i.e. also the other quantizations of the same repository another tool downloaded.
    When the repository has no file left, its folder (partial downloads included) goes too.
    """
    storage = repo_folder(cache_dir, repo_id)
    snapshots = storage / "snapshots"
    if not snapshots.is_dir():
        # never finished: only partial downloads (a full disk, Ctrl-C) are there to go
        freed = 0
        for partial in (storage / "blobs").glob("*.incomplete") if (storage / "blobs").is_dir() else ():
            with contextlib.suppress(OSError):
                size = partial.stat().st_size
                partial.unlink()
                freed += size
        if storage.is_dir() and not any(p.is_file() for p in (storage / "blobs").glob("*")):
            shutil.rmtree(storage, ignore_errors=True)
        return freed
    freed = 0
    blobs: set[Path] = set()
    for link in snapshots.glob(f"*/{filename}"):
        if link.is_symlink():
            target = link.resolve()
            if target.is_file():
                blobs.add(target)
            link.unlink()
        elif link.is_file():
            freed += link.stat().st_size
            link.unlink()
    remaining = {p.resolve() for p in snapshots.rglob("*") if p.is_symlink()}
    for blob in blobs - remaining:
        freed += blob.stat().st_size
        blob.unlink()
    for snap in list(snapshots.iterdir()):
        with contextlib.suppress(OSError):
            _remove_empty_dirs(snap)
    if not any(p.is_file() or p.is_symlink() for p in snapshots.rglob("*")):
        blobs_dir = storage / "blobs"
        if blobs_dir.is_dir():
            freed += sum(p.stat().st_size for p in blobs_dir.iterdir() if p.is_file())
        shutil.rmtree(storage, ignore_errors=True)
    return freed


def _remove_empty_dirs(folder: Path) -> None:
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        sub.rmdir() if not any(sub.iterdir()) else None
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def sha256_file(path: Path, chunk_size: int = 8 * 1024 * 1024) -> str:
    """Streaming sha256 (a 5 GB file never sits in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# network
# --------------------------------------------------------------------------------------------


def _offline_error(what: str) -> DownloadError:
    return DownloadError(
        f"cannot download {what}: offline mode is on (HF_HUB_OFFLINE is set)",
        hint="unset HF_HUB_OFFLINE to download, or use a GGUF file you have: --model PATH.gguf, or `sqlcoder models add PATH.gguf`",
    )


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(cannot connect, other HTTP failure) exception classes of the HTTP library huggingface_hub
    uses: ``httpx2`` in 2.x, ``httpx`` in 1.x. Looked up by name so a hub upgrade does not turn a
    network error into a traceback."""
    import importlib

    for module_name in ("httpx2", "httpx"):
        try:
            mod = importlib.import_module(module_name)
        except ImportError:
            continue
        connect = tuple(getattr(mod, n) for n in ("ConnectError", "TimeoutException", "NetworkError") if hasattr(mod, n))
        other = tuple(getattr(mod, n) for n in ("HTTPError", "InvalidURL") if hasattr(mod, n))
        return connect, other
    return (ConnectionError, TimeoutError), ()


@contextlib.contextmanager
def _hub_errors(settings: HubSettings, repo_id: str, filename: str) -> Iterator[None]:
    """Turn huggingface_hub's and its HTTP library's exceptions into one clear DownloadError line."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    connect_errors, http_errors = _transport_errors()
    where = settings.endpoint
    try:
        yield
    except DownloadError:
        raise
    except OfflineModeIsEnabled as exc:
        raise _offline_error(filename) from exc
    except RemoteEntryNotFoundError as exc:
        raise DownloadError(f"{filename} was not found in {repo_id} on {where}") from exc
    except GatedRepoError as exc:
        raise DownloadError(
            f"{repo_id} on {where} is gated: accept its licence on the website first",
            hint="then set HF_TOKEN to a token of yours",
        ) from exc
    except RepositoryNotFoundError as exc:
        raise DownloadError(f"repository {repo_id} was not found on {where}") from exc
    except RevisionNotFoundError as exc:
        raise DownloadError(f"revision not found in {repo_id} on {where}") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise DownloadError(
            f"the model hub at {where} answered HTTP {status} for {repo_id}/{filename}",
            hint="try again later; the download resumes where it stopped",
        ) from exc
    except connect_errors as exc:
        raise DownloadError(
            f"could not reach the model hub at {where} ({type(exc).__name__})",
            hint=(
                "check your internet connection or HF_ENDPOINT and pull again to resume; without internet, "
                "use a GGUF file you have: --model PATH.gguf, or `sqlcoder models add PATH.gguf`"
            ),
        ) from exc
    except http_errors as exc:
        raise DownloadError(f"download of {filename} from {where} failed: {exc}") from exc


def fetch_metadata(settings: HubSettings, repo_id: str, filename: str, revision: str = "main") -> RemoteFile:
    """One HEAD request: commit, blob name, size and (for LFS files) sha256 of the file."""
    if settings.offline:
        raise _offline_error(filename)
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=settings.endpoint)
    with _hub_errors(settings, repo_id, filename):
        meta = get_hf_file_metadata(url, token=settings.token, endpoint=settings.endpoint)
    if not meta.commit_hash or not meta.etag:
        raise DownloadError(
            f"{settings.endpoint} did not answer like a Hugging Face hub for {repo_id}/{filename}",
            hint="check HF_ENDPOINT",
        )
    etag = meta.etag.strip('"').lower()
    sha = etag if _SHA256.match(etag) else None
    return RemoteFile(
        repo_id=repo_id,
        filename=filename,
        revision=revision,
        url=meta.location or url,
        commit_hash=meta.commit_hash,
        etag=etag,
        size=meta.size,
        sha256=sha,
    )


def _forwarding_tqdm(progress: DownloadProgress | None, filename: str) -> type:
    """A tqdm class that never draws and forwards byte counts to ``progress``.

    huggingface_hub's ``http_get`` creates the bar with ``total`` (the whole file) and ``initial``
    (the bytes already on disk) once the server answered, then calls ``update(n)`` per chunk, also
    across its own reconnects; that is exactly the information :class:`DownloadProgress` needs.
    Passing this class also stops huggingface_hub from drawing its own tqdm bar on stderr.
    """
    from tqdm import tqdm as base_tqdm

    class ForwardingTqdm(base_tqdm):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)
            if progress is not None:
                total = kwargs.get("total")
                progress.start(filename, int(total or 0), int(kwargs.get("initial") or 0))

        def update(self, n: float | None = 1) -> bool | None:
            if progress is not None and n:
                progress.advance(int(n))
            return super().update(n)

    return ForwardingTqdm


def _check_disk_space(folder: Path, needed: int, filename: str) -> None:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: let the write fail with its own error
    want = needed + DISK_MARGIN_BYTES
    if free < want:
        raise DownloadError(
            f"not enough disk space to download {filename}: need {human_size(want)} free in {folder}, "
            f"have {human_size(free)}",
            hint="free some space, or set HF_HUB_CACHE to a bigger disk",
        )


def _link(blob: Path, pointer: Path) -> None:
    """snapshots/<commit>/<file> -> ../../blobs/<etag>, like huggingface_hub (a move where symlinks fail)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:  # e.g. Windows without developer mode: keep the real file in the snapshot
        shutil.move(str(blob), str(pointer))


def _write_ref(storage: Path, revision: str, commit_hash: str) -> None:
    if revision == commit_hash:
        return
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if not ref.exists() or ref.read_text().strip() != commit_hash:
        ref.write_text(commit_hash)


def download(
    settings: HubSettings,
    repo_id: str,
    filename: str,
    revision: str = "main",
    *,
    progress: DownloadProgress | None = None,
) -> Path:
    """Make sure ``repo_id/filename`` is in the HF cache, downloading (or resuming) it; returns its path.

    Network: one HEAD, then one ranged GET for what is missing (plus huggingface_hub's own
    reconnects). Raises DownloadError for every failure; a partial file is kept for the next call
    unless it failed verification.
    """
    remote = fetch_metadata(settings, repo_id, filename, revision)
    storage = repo_folder(settings.cache_dir, repo_id)
    try:
        return _download(settings, remote, storage, progress)
    except OSError as exc:
        # The disk filled up (or a quota or file-size limit hit) while writing: only the
        # ``.incomplete`` file is left, never a blob or a snapshot link, and it resumes next time.
        kept = partial_download(settings.cache_dir, repo_id)
        if exc.errno in _NO_ROOM:
            total = f" of {human_size(remote.size)}" if remote.size else ""
            raise DownloadError(
                f"cannot finish downloading {filename} into {settings.cache_dir}: "
                f"{exc.strerror or 'no space left'} ({human_size(kept)}{total} kept)",
                hint="free some space and pull again to resume, or set HF_HUB_CACHE to a bigger disk; "
                "`sqlcoder models rm` deletes the partial file",
            ) from exc
        raise DownloadError(
            f"cannot write {filename} into {storage}: {exc.strerror or exc}",
            hint="check that folder's permissions, or set HF_HUB_CACHE to another folder",
        ) from exc


def _download(settings: HubSettings, remote: RemoteFile, storage: Path, progress: DownloadProgress | None) -> Path:
    repo_id, filename, revision = remote.repo_id, remote.filename, remote.revision
    blob = storage / "blobs" / remote.blob_name
    pointer = storage / "snapshots" / remote.commit_hash / filename

    if pointer.is_file():
        _write_ref(storage, revision, remote.commit_hash)
        if progress is not None:
            progress.finish()
        return pointer

    incomplete = blob.with_name(blob.name + ".incomplete")
    already = incomplete.stat().st_size if incomplete.is_file() else 0
    if remote.size is not None and already > remote.size:
        already = 0  # not ours, or the file changed: start over
    if remote.size is not None and not blob.is_file():
        _check_disk_space(storage, remote.size - already, filename)

    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import WeakFileLock, build_hf_headers

    blob.parent.mkdir(parents=True, exist_ok=True)
    lock_path = settings.cache_dir / ".locks" / storage.name / f"{remote.blob_name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(lock_path):
        if not blob.is_file():
            already = incomplete.stat().st_size if incomplete.is_file() else 0
            if remote.size is not None and already > remote.size:
                incomplete.unlink()
                already = 0
            headers = build_hf_headers(token=settings.token)
            with _hub_errors(settings, repo_id, filename), incomplete.open("ab") as fh:
                try:
                    http_get(
                        remote.url,
                        fh,
                        resume_size=already,
                        headers=headers,
                        expected_size=remote.size,
                        displayed_filename=filename,
                        tqdm_class=_forwarding_tqdm(progress, filename),
                    )
                except OSError as exc:
                    if "Consistency check failed" not in str(exc):
                        raise
                    fh.close()
                    if remote.size is not None and incomplete.stat().st_size > remote.size:
                        incomplete.unlink()
                    raise DownloadError(
                        f"the download of {filename} stopped early (got a different size than the hub announced)",
                        hint="run the same pull again to resume",
                    ) from exc
            _verify(incomplete, remote)
            os.replace(incomplete, blob)
        _link(blob, pointer)
        _write_ref(storage, revision, remote.commit_hash)
    if progress is not None:
        progress.finish()
    return pointer


def _verify(path: Path, remote: RemoteFile) -> None:
    """Compare the downloaded bytes with the hub's sha256; delete them on mismatch."""
    if remote.size is not None and path.stat().st_size != remote.size:
        size = path.stat().st_size
        path.unlink()
        _fail(
            f"size mismatch for {remote.filename}: expected {remote.size} bytes, got {size}; the file was deleted"
        )
    if remote.sha256 is None:
        return  # a small git file: the hub gives a git sha1 over a header, not worth re-deriving
    got = sha256_file(path)
    if got != remote.sha256:
        path.unlink()
        _fail(f"checksum mismatch for {remote.filename}: expected {remote.sha256}, got {got}; the file was deleted")


def _fail(message: str) -> NoReturn:
    raise DownloadError(message, hint="run the pull again; if it fails again, the hub's copy may be broken")
