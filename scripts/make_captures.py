"""Record real terminal output of sqlcoder commands as SVG files for the docs.

    python scripts/make_captures.py [--model PATH] [--only NAME ...]   # writes docs/captures/*.svg

Each command runs for real (in-process, with stdout treated as a colour terminal 100 columns
wide) and rich turns the ANSI output into an SVG. The model defaults to the 1.5B dev model.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "captures"
WIDTH = 100


#: the captures to make (empty: all of them)
capture_selected: set[str] = set()


def capture(args: list[str], name: str, title: str, *, stdin: str | None = None) -> int:
    if capture_selected and name not in capture_selected and not name.startswith("_"):
        return 0
    from rich.console import Console
    from rich.text import Text

    from sqlcoder_cli.cli.app import run
    from sqlcoder_cli.frontend.environment import Environment

    stdout, stderr = io.StringIO(), io.StringIO()
    environ = dict(os.environ) | {"FORCE_COLOR": "1", "COLUMNS": str(WIDTH)}
    environ.pop("NO_COLOR", None)
    piped = stdin is not None
    env = Environment(
        stdin=io.StringIO(stdin or ""), stdout=stdout, stderr=stderr,
        stdin_isatty=False, stdout_isatty=not piped, stderr_isatty=False, environ=environ,
    )
    code = run(args, env=env)
    console = Console(record=True, width=WIDTH, force_terminal=True, color_system="truecolor", file=io.StringIO())
    command = f"sqlcoder {' '.join(_quote(a) for a in args)}"
    if piped:
        command = f"printf {_quote(stdin.replace(chr(10), chr(92) + 'n'))} | {command}"
    console.print(Text(f"$ {command}", style="bold"))
    console.print(Text.from_ansi(stdout.getvalue()), end="")
    if stderr.getvalue().strip():
        console.print(Text.from_ansi(stderr.getvalue()), style="dim", end="")
    OUT.mkdir(parents=True, exist_ok=True)
    console.save_svg(str(OUT / f"{name}.svg"), title=title)
    print(f"{name}.svg (exit {code})", file=sys.stderr)
    return code


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def main() -> int:
    parser = argparse.ArgumentParser()
    default = Path.home() / ".cache" / "sqlcoder-dev-models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    parser.add_argument("--model", default=str(default))
    parser.add_argument("--only", nargs="*", default=None, help="make only these captures (names without .svg)")
    parsed = parser.parse_args()
    model, only = parsed.model, set(parsed.only or ())
    os.environ.setdefault("SQLCODER_HOME", str(ROOT / ".captures-home"))
    # the model path is long and machine-specific: register it under a short name first
    capture(["models", "add", model, "--name", "qwen-1.5b"], "_setup", "setup")
    (OUT / "_setup.svg").unlink()
    global capture_selected
    capture_selected = only
    capture(["ask", "Which 5 customers spent the most?", "--model", "qwen-1.5b"], "ask", "sqlcoder ask")
    capture(["ask", "How many orders per status?", "--model", "qwen-1.5b", "--format", "markdown"], "ask-markdown", "sqlcoder ask --format markdown")
    capture(
        ["ask", "--model", "qwen-1.5b"], "pipeline", "questions from stdin, jsonl out",
        stdin="How many customers are there?\nHow many products are out of stock?\n",
    )
    capture(["sql", "SELECT country, count(*) AS customers FROM customers GROUP BY country ORDER BY 2 DESC LIMIT 5"], "sql", "sqlcoder sql")
    capture(["schema", "orders", "order_items", "--format", "tree"], "schema-tree", "sqlcoder schema --format tree")
    capture(["models", "list"], "models-list", "sqlcoder models list")
    capture(["history", "--limit", "5"], "history", "sqlcoder history")
    capture(["config", "show"], "config-show", "sqlcoder config show")
    capture(
        ["ask", "How many orders were placed each month in 2024?", "--model", "qwen-1.5b", "--chart"],
        "chart", "sqlcoder ask --chart",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
