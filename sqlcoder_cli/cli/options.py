"""Options shared by several commands (one definition each, like sqlite-utils' output options)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from ..config import Config
    from ..engine.base import EngineOptions

from ..config import INT_BOUNDS, MAX_ROW_LIMIT
from ..output.formats import FORMATS
from .completion import complete_db, complete_format, complete_model
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
    autocompletion=complete_db,
)
ModelOption = typer.Option(
    None,
    "--model",
    "-m",
    help="Model name from `sqlcoder models list`, or a path to a .gguf file.",
    show_default=False,
    callback=not_blank_model,
    autocompletion=complete_model,
)
FormatOption = typer.Option(
    None,
    "--format",
    "-f",
    help=f"Output format: {', '.join(FORMATS)} (default: table; jsonl for questions read from stdin).",
    callback=_check_format,
    autocompletion=complete_format,
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
    None, "--threads", min=1, max=INT_BOUNDS["threads"][1], help="CPU threads (default: one per physical core that other programs leave free).", show_default=False
)
GpuLayersOption = typer.Option(
    None, "--gpu-layers", min=-1, max=INT_BOUNDS["gpu_layers"][1],
    help="Layers to offload to the GPU; -1 = all (default when llama.cpp has GPU support), 0 = none.", show_default=False,
)
BackendOption = typer.Option(
    None, "--backend", help="What writes the SQL: llama (a GGUF in this process) or openai (an OpenAI-compatible server; default: config backend, llama).",
    show_default=False,
)
BaseUrlOption = typer.Option(
    None, "--base-url", help="The server's address for --backend openai, e.g. http://127.0.0.1:8000/v1 (default: config base_url).",
    show_default=False,
)
ApiModelOption = typer.Option(
    None, "--api-model", help="The model's name on the server for --backend openai (default: config api_model).", show_default=False
)


def configure_engine(
    config: Config, *, backend: Optional[str], base_url: Optional[str], api_model: Optional[str],
    ctx_size: Optional[int] = None, threads: Optional[int] = None, gpu_layers: Optional[int] = None,
) -> EngineOptions:
    """Apply a command's engine options to ``config`` (the server's address, model, context) and
    return the local engine's options. ``--base-url`` or ``--api-model`` alone imply the server."""
    for key, value in (("backend", backend), ("base_url", base_url), ("api_model", api_model)):
        if value is not None:
            config.set(key, value)
    if backend is None and (base_url or api_model):
        config.set("backend", "openai")
    if ctx_size is not None:
        config.set("context_length", ctx_size)
    return config.engine_options(ctx_size=ctx_size, threads=threads, gpu_layers=gpu_layers)


def _check_chart_type(value: Optional[str]) -> Optional[str]:
    from ..output.chart import CHART_KINDS

    if value is not None and value not in CHART_KINDS:
        raise typer.BadParameter(f"choose one of: {', '.join(CHART_KINDS)}")
    return value


ChartOption = typer.Option(
    False, "--chart", help="Draw the result as a chart in the terminal too (bar, line or scatter, chosen from the column types)."
)
ChartTypeOption = typer.Option(
    None, "--chart-type", help="The chart to draw: auto, bar, line or scatter (implies --chart).",
    callback=_check_chart_type, show_default=False,
)
ChartOutOption = typer.Option(
    None, "--chart-out", help="Write the chart to a .png or .svg file instead (needs the charts extra: matplotlib).",
    show_default=False, dir_okay=False,
)
