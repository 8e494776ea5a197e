"""The bundled demo database, so ``sqlcoder ask`` works before the user points it at their own data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_FILENAME = "demo.sqlite"


def demo_database_path() -> Path:
    """Path of the shipped demo SQLite file.

    The wheel ships the file as a real file inside the package (no zip import), so the path from
    importlib.resources can be opened directly by sqlite3 in read-only mode.
    """
    return Path(str(resources.files(__package__).joinpath(DEMO_FILENAME)))
