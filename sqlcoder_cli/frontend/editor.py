"""Open the user's editor on a piece of text (``--edit``, and later the REPL's ``\\edit``)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """$VISUAL, then $EDITOR, then a platform default; split like a shell would."""
    env = os.environ if environ is None else environ
    command = env.get("VISUAL") or env.get("EDITOR") or ("notepad" if os.name == "nt" else "vi")
    return shlex.split(command, posix=os.name != "nt")


def edit_text(text: str, *, suffix: str = ".txt", environ: Mapping[str, str] | None = None) -> str:
    """Write ``text`` to a temporary file, let the editor change it, and return the result."""
    handle, name = tempfile.mkstemp(prefix="sqlcoder-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        command = editor_command(environ)
        try:
            done = subprocess.run([*command, str(path)], check=False)
        except FileNotFoundError as exc:
            raise UsageError(f"cannot start the editor {command[0]!r}", hint="set $EDITOR") from exc
        if done.returncode != 0:
            raise UsageError(f"the editor {command[0]!r} exited with status {done.returncode}; nothing ran")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


def edit_sql(sql: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The SQL after the user edited it in their editor (one trailing ``;`` stripped), or None when
    they emptied the file (each caller decides what an empty file means: keep or do nothing)."""
    edited = edit_text(sql.rstrip().rstrip(";").rstrip() + ";\n", suffix=".sql", environ=environ)
    edited = edited.strip().rstrip(";").strip()
    return edited or None
