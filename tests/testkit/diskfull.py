"""Real "disk full" conditions for download tests: a small tmpfs, or a file-size limit.

* :func:`small_disk` mounts a tmpfs of a given size (root on Linux; in containers that allow it),
  and :func:`fill` takes its free space away, as another program writing to the same disk would;
* :func:`file_size_limit` is the fallback that works for any user: a ``preexec_fn`` giving the child
  process an ``RLIMIT_FSIZE`` (with SIGXFSZ ignored, so a write past it fails with EFBIG instead of
  killing the process).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def small_disk(path: Path, size_bytes: int) -> Iterator[Path | None]:
    """A tmpfs of ``size_bytes`` mounted at ``path`` for the block; yields None where mounting is
    not allowed (not root, not Linux, a container without CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        yield None
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(disk: Path, leave_bytes: int) -> Path:
    """Write a file on ``disk`` so that only about ``leave_bytes`` stay free; returns it."""
    filler = disk / "filler.bin"
    free = shutil.disk_usage(disk).free
    chunk = b"\0" * (1 << 20)
    remaining = max(0, free - leave_bytes)
    with open(filler, "wb") as fh:
        while remaining > 0:
            piece = chunk[: min(len(chunk), remaining)]
            try:
                fh.write(piece)
                fh.flush()
            except OSError:
                break
            remaining -= len(piece)
    return filler


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child may not write files past ``limit_bytes`` (writes fail with EFBIG)."""

    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return apply


def mount_works(probe_dir: Path) -> bool:
    """Whether :func:`small_disk` can mount here (tried for real, then unmounted)."""
    with small_disk(probe_dir, 1 << 20) as disk:
        ok = disk is not None
    with contextlib.suppress(OSError):
        os.rmdir(probe_dir)
    return ok
