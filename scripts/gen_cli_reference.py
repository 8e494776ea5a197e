"""Write docs/cli-reference.md from the commands' own --help (CI checks it is up to date).

    python scripts/gen_cli_reference.py          # rewrite the file
    python scripts/gen_cli_reference.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "cli-reference.md"
WIDTH = "100"


def command_paths() -> list[list[str]]:
    """Every command and sub-command of `sqlcoder`, depth first, in registration order."""
    import typer.main

    from sqlcoder_cli.cli.app import app

    paths: list[list[str]] = [[]]

    def walk(command: object, prefix: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def help_text(path: list[str]) -> str:
    from sqlcoder_cli.cli.app import run

    os.environ["COLUMNS"] = WIDTH
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run([*path, "--help"])
    return buffer.getvalue().rstrip() + "\n"


def render() -> str:
    parts = [
        "# Command reference\n",
        "Generated from `--help` by `python scripts/gen_cli_reference.py`; a test fails when it is stale.\n",
    ]
    for path in command_paths():
        title = " ".join(["sqlcoder", *path])
        parts.append(f"## `{title}`\n\n```text\n{help_text(path)}```\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if REFERENCE.read_text(encoding="utf-8") != text:
            print(f"{REFERENCE} is stale: run python scripts/gen_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
