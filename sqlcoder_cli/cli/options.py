"""Options shared by several commands (one definition each, like sqlite-utils' output options)."""

from __future__ import annotations

from typing import Optional

import typer

from ..config import INT_BOUNDS, MAX_ROW_LIMIT
from ..output.formats import FORMATS
from .inputs import not_blank_db, not_blank_model

#: seconds a query may be given with --timeout (a week; larger values overflow some drivers' timers)
MAX_TIMEOUT_S = 7 * 24 * 3600


def _check_format(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"choose one of: {', '.join(FORMATS)}")
    return value


DbOption = typer.Option(
    None,
    "--db",
    "-d",
    help="Database: a SQLAlchemy URL or a SQLite/DuckDB file path, or 'demo' (default: config, SQLCODER_DB, else the bundled demo).",
    show_default=False,
    callback=not_blank_db,
)
ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    help="Model name from `sqlcoder models list`, or a path to a .gguf file.",
    show_default=False,
    callback=not_blank_model,
)
FormatOption = typer.Option(
    None,
    "--format",
    "-f",
    help=f"Output format: {', '.join(FORMATS)} (default: table; jsonl for questions read from stdin).",
    callback=_check_format,
    show_default=False,
)
LimitOption = typer.Option(
    None, "--limit", "-n", min=1, max=MAX_ROW_LIMIT,
    help=f"Show at most this many rows, up to {MAX_ROW_LIMIT:,} (default: config row_limit, 100; --all streams any number).",
    show_default=False,
)
CtxOption = typer.Option(
    None, "--ctx", min=256, max=INT_BOUNDS["context_length"][1], help="Context window in tokens (default: model's, max 4096).", show_default=False
)
ThreadsOption = typer.Option(
    None, "--threads", min=1, max=INT_BOUNDS["threads"][1], help="CPU threads (default: physical cores).", show_default=False
)
GpuLayersOption = typer.Option(
    None, "--gpu-layers", min=-1, max=INT_BOUNDS["gpu_layers"][1],
    help="Layers to offload to the GPU; -1 = all (default when llama.cpp has GPU support), 0 = none.", show_default=False,
)
