"""Per-database notes: instructions and a glossary the user attaches to a database.

Why a file in the config directory and never the database: the database is opened read-only and
may be shared; notes are the user's own knowledge ("revenue means sum(quantity*unit_price)") and
follow the database by :func:`~.cache.database_key`, the same key the schema cache uses. The
file is private (0600 in a 0700 folder) and replaced atomically, so a question asked while the notes
are being saved reads the old notes or the new ones, never half of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..files import atomic_write

if TYPE_CHECKING:
    from ..config import Paths


class NotesStore:
    """One markdown file per database under ``<config_dir>/notes/<database_key>.md``."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    @property
    def directory(self) -> Path:
        return self.paths.config_dir / "notes"

    def path_for(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ConfigError(f"invalid notes key {key!r}")
        return self.directory / f"{key}.md"

    def get(self, key: str) -> str:
        """The notes text, or "" when there are none."""
        try:
            return self.path_for(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the notes file {self.path_for(key)}: {exc}") from None

    def set(self, key: str, text: str) -> Path:
        """Replace the notes (empty text deletes the file); returns the file's path."""
        path = self.path_for(key)
        if not text.strip():
            path.unlink(missing_ok=True)
            return path
        try:
            atomic_write(path, text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write the notes file {path}: {exc.strerror or exc}") from None
        return path
