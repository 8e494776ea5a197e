"""`sqlcoder --help` must stay instant: heavy libraries load only when a command needs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HEAVY = ["llama_cpp", "huggingface_hub", "sqlalchemy", "duckdb", "duckdb_engine", "psycopg", "gguf", "numpy", "sqlglot", "jinja2"]


def _imported_modules(*args: str) -> set[str]:
    code = (
        "import sys, json\n"
        "from sqlcoder_cli.cli.app import run\n"
        f"code = run({list(args)!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ | {"COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    for args in (["--help"], ["ask", "--help"], ["models", "--help"], ["--version"]):
        loaded = _imported_modules(*args)
        assert not {m.split(".")[0] for m in loaded} & set(HEAVY), (args, sorted({m.split('.')[0] for m in loaded} & set(HEAVY)))


def test_help_is_fast() -> None:
    best = min(_timed_help() for _ in range(3))
    assert best < 0.5, f"sqlcoder --help took {best:.2f}s"


def _timed_help() -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sqlcoder_cli", "--help"], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0 and "ask" in done.stdout
    return elapsed


def test_version() -> None:
    from sqlcoder_cli import __version__

    done = subprocess.run([sys.executable, "-m", "sqlcoder_cli", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"sqlcoder-cli {__version__}"


def test_library_import_is_light() -> None:
    code = "import sys, sqlcoder_cli; print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    loaded = {m.split(".")[0] for m in eval(done.stdout)}  # noqa: S307 - our own printed list
    assert not loaded & set(HEAVY) and "typer" not in loaded and "rich" not in loaded
