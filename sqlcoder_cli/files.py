"""Writing our own files safely: private (0600/0700), atomic, never half-written.

Why one module: the history, memory, notes, config, model registry, schema cache and KV cache all
hold things a user would not want other accounts on the machine to read (questions, SQL, database
names, sampled values), and all of them are read by other processes at the same time (a REPL and a
pipeline sharing one home). Every one of them is therefore created owner-only, and every rewrite
goes through a temporary file in the same folder and one ``os.replace``, so a reader sees the old
file or the new one, never a mix, and a crash or a full disk leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: owner read/write only
PRIVATE_FILE_MODE = 0o600
#: owner only
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and every missing parent owner-only; folders that exist are left as they are
    (``~/.cache`` belongs to the user, ``~/.cache/sqlcoder`` and below to us)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A private temporary file beside ``path`` to fill; when the block ends normally it replaces
    ``path`` in one ``os.replace``, otherwise it is removed and ``path`` stays as it was.

    Beside, because ``os.replace`` is atomic only within one file system; a path rather than an
    open file, because some writers (llama.cpp saving a KV state) open the file by name themselves.
    """
    private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: Path, data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``data`` in one step; the file is owner-only (0600).

    A full disk leaves no stray file and the previous content in place (see :func:`replacing`).
    """
    payload = data.encode(encoding) if isinstance(data, str) else data
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def create_private_file(path: Path) -> Path:
    """Make sure ``path`` exists and, if this call created it, that it is owner-only."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def connect_private_sqlite(path: Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A SQLite connection to one of our own databases (history, memory), created owner-only.

    SQLite gives its journal files the permissions of the database file, so they are private too.
    """
    create_private_file(path)
    return sqlite3.connect(path, timeout=timeout)
