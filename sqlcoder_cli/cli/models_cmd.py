"""``sqlcoder models``: list, scan, pull, add, rm and info.

The work is done by :class:`sqlcoder_cli.models.store.ModelStore`; this module only parses the
arguments and draws (tables on stdout, progress and status on stderr). Heavy imports (rich's
progress, huggingface_hub) happen inside the commands.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from ..errors import UsageError
from ..frontend.render import new_table, print_table, stdout_in_colour
from .state import AppState, get_state

if TYPE_CHECKING:
    from ..models.store import ModelStore

models_app = typer.Typer(
    help="List, download, register and remove GGUF models.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_FORMATS = ("table", "json")


def _check_format(value: str) -> str:
    if value not in _FORMATS:
        raise typer.BadParameter(f"choose one of: {', '.join(_FORMATS)}")
    return value


FormatOption = typer.Option("table", "--format", "-f", callback=_check_format, help="table or json.")


def _store(state: AppState) -> ModelStore:
    from ..models.store import ModelStore

    return ModelStore(state.config.paths, environ=state.env.environ)


def _size(nbytes: int | None) -> str:
    from ..models.download import human_size

    return human_size(nbytes) if nbytes else "-"


def _write_json(state: AppState, data: Any) -> None:
    state.data.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    state.data.flush()


# ------------------------------------------------------------------------------------------
# list
# ------------------------------------------------------------------------------------------


@models_app.command("list")
def list_models(ctx: typer.Context, fmt: str = FormatOption) -> None:
    """Show the catalogue and your registered models, and which are on disk."""
    state = get_state(ctx)
    default = state.config.default_model
    from ..models.catalogue import find_entry

    default_entry = find_entry(default)
    default_name = default_entry.name if default_entry else default
    rows = _store(state).list_models()
    if fmt == "json":
        _write_json(
            state,
            [
                {
                    "name": row.name,
                    "default": row.name == default_name,
                    "source": row.source,
                    "size_bytes": row.size_bytes,
                    "quantization": row.entry.quantization if row.entry else row.quantization,
                    "family": row.family,
                    "license": row.entry.license if row.entry else None,
                    "repo_id": row.entry.repo_id if row.entry else None,
                    "filename": row.entry.filename if row.entry else (row.path.name if row.path else None),
                    "on_disk": row.on_disk,
                    "path": str(row.path) if row.path and row.on_disk else None,
                }
                for row in rows
            ],
        )
        return
    colour = stdout_in_colour(state)
    table = new_table(state, "name", "size", "quant", "family", "on disk", "license")
    for row in rows:
        mark = " (default)" if row.name == default_name else ""
        if row.on_disk:
            where = ("✓ " if colour else "yes ") + (str(row.path) if row.source == "local" else "")
        else:
            where = "missing file" if row.source == "local" else "-"
        table.add_row(
            row.name + mark,
            _size(row.size_bytes),
            (row.entry.quantization if row.entry else row.quantization) or "-",
            row.family,
            where.strip(),
            row.entry.license if row.entry else "(local)",
        )
    print_table(state, table)
    if not any(r.on_disk for r in rows):
        from ..models.catalogue import ways_to_a_model

        state.info(f"no model on disk yet: {ways_to_a_model(default_name)}")


# ------------------------------------------------------------------------------------------
# scan
# ------------------------------------------------------------------------------------------

@models_app.command("scan")
def scan(
    ctx: typer.Context,
    dirs: Optional[List[Path]] = typer.Option(None, "--dir", metavar="PATH", help="Also search this folder (repeatable).", show_default=False),
    fmt: str = FormatOption,
) -> None:
    """Find GGUF files you already have: HF cache, LM Studio, Ollama.

    Also any --dir folder. Shows each file's architecture, quantization, prompt family, whether it
    is registered, and why a file cannot be used; nothing is copied or changed.
    """
    state = get_state(ctx)
    from ..models.scan import scan as scan_models

    store = _store(state)
    result = scan_models(environ=state.env.environ, extra_dirs=list(dirs or []), store=store)
    for note in result.notes:
        state.warn(note)
    if fmt == "json":
        _write_json(state, [found.to_dict() for found in result.models])
        return
    if not result.models:
        where = ", ".join(f"{loc.root} ({loc.source})" for loc in result.searched) or "nothing to search"
        state.info(f"no GGUF files found; searched: {where}")
        state.info("add a folder with --dir PATH")
        return
    colour = stdout_in_colour(state)
    errors = any(not found.ok for found in result.models)
    headers = ["source", "name", "size", "arch", "quant", "family", "registered", "path"]
    if errors:
        headers.append("problem")
    table = new_table(state, *headers)
    for found in result.models:
        if found.registered_as:
            registered = ("✓ " if colour else "yes: ") + found.registered_as
        elif found.catalogue_name:
            registered = f"catalogue: {found.catalogue_name}"
        else:
            registered = "-"
        size = _size(found.size_bytes) + (f" ({found.parts} files)" if found.parts > 1 else "")
        row = [
            found.source,
            found.name,
            size,
            found.architecture or "-",
            found.quantization or "-",
            found.family or "-",
            registered,
            str(found.path),
        ]
        if errors:
            row.append(found.error or "")
        table.add_row(*row)
    print_table(state, table)
    usable = [f for f in result.models if f.ok and not f.registered_as and not f.catalogue_name]
    if usable:
        example = usable[0]
        how = (
            f"sqlcoder models add --from-ollama {example.name}"
            if example.source == "ollama"
            else f"sqlcoder models add {example.path} --name NAME"
        )
        state.info(f"{len(usable)} not registered yet; register one with: {how}")


# ------------------------------------------------------------------------------------------
# pull
# ------------------------------------------------------------------------------------------


class _RichProgress:
    """:class:`~sqlcoder_cli.models.download.DownloadProgress` drawn as a rich bar on stderr."""

    def __init__(self, state: AppState, label: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=state.err,
            transient=False,
        )
        self._label = label
        self._task: Any = None
        self.transferred = 0

    def start(self, description: str, total_bytes: int, already: int) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total_bytes or None, completed=already)

    def advance(self, nbytes: int) -> None:
        self.transferred += nbytes
        if self._task is not None:
            self._progress.advance(self._task, nbytes)

    def finish(self) -> None:
        self.close()

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
            self._task = None


class _CountingProgress:
    """No drawing (stderr is not a terminal, or --quiet): only counts, for the final line."""

    def __init__(self) -> None:
        self.transferred = 0
        self.resumed_from = 0

    def start(self, description: str, total_bytes: int, already: int) -> None:
        self.resumed_from = already

    def advance(self, nbytes: int) -> None:
        self.transferred += nbytes

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


def pull_with_progress(state: AppState, name: str) -> Path:
    """Download a catalogue model with a progress bar on stderr (used by ``ask`` too)."""
    from ..errors import UnknownModelError
    from ..models.catalogue import find_entry

    store = _store(state)
    entry = find_entry(name)
    if entry is None:
        store.pull(name)  # raises the right error (local model, or unknown name)
        raise UnknownModelError(f"unknown model {name!r}")  # pragma: no cover
    before = store.cached_path(entry)
    progress: _RichProgress | _CountingProgress
    progress = _RichProgress(state, entry.name) if state.show_progress else _CountingProgress()
    if state.show_progress:
        state.info(f"pulling {entry.name} from {entry.repo_id} ({entry.filename})")
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # its "Trying to resume download..." lines would tear our bar
    started = time.monotonic()
    try:
        path = store.pull(entry.name, progress=progress)
    except KeyboardInterrupt:
        progress.close()
        from ..errors import Interrupted

        # one line, exit 130 (the CLI prints an Interrupted's message as it is)
        raise Interrupted(f"download interrupted; run `sqlcoder models pull {entry.name}` again to resume") from None
    finally:
        progress.close()
    elapsed = time.monotonic() - started
    if before is not None and progress.transferred == 0:
        state.info(f"{entry.name} is already downloaded")
    else:
        state.info(f"downloaded {entry.name} ({_size(path.stat().st_size)}) in {elapsed:.0f}s, checksum verified")
    return path


@models_app.command("pull")
def pull(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(None, help="Catalogue name (default: your default model).", show_default=False),
) -> None:
    """Download a catalogue model into the Hugging Face cache (resumes an interrupted download)."""
    state = get_state(ctx)
    path = pull_with_progress(state, name or state.config.default_model)
    state.data.write(f"{path}\n")
    state.data.flush()


# ------------------------------------------------------------------------------------------
# add / rm / info
# ------------------------------------------------------------------------------------------


@models_app.command("add")
def add(
    ctx: typer.Context,
    path: Optional[Path] = typer.Argument(None, help="A .gguf file on disk (it stays where it is).", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Name to use with --model (default: the file name, or the Ollama name)."),
    family: Optional[str] = typer.Option(None, "--family", help="Prompt family: sqlcoder, llama3-sqlcoder, duckdb-nsql or chat (default: detected from the file).", show_default=False),
    from_ollama: Optional[str] = typer.Option(None, "--from-ollama", metavar="NAME[:TAG]", help="Register a model Ollama has pulled (tag latest by default), in place.", show_default=False),
) -> None:
    """Register a GGUF file (or an Ollama model) under a name; no copy.

    The file stays where it is; `sqlcoder models rm` forgets the name and never deletes it.
    """
    state = get_state(ctx)
    if path is not None and from_ollama is not None:
        raise UsageError("give a .gguf PATH or --from-ollama NAME, not both")
    if path is None and from_ollama is None:
        raise UsageError("give the .gguf file to add", hint="or --from-ollama NAME[:TAG]; `sqlcoder models scan` lists what you have")
    store = _store(state)
    if from_ollama is not None:
        model = store.add_from_ollama(from_ollama, name, family)
    else:
        assert path is not None
        model = store.add(path, name, family)
    from ..models.gguf_info import read_gguf_info

    info = read_gguf_info(model.path)
    lines = [f"added {model.name} -> {model.path}"]
    if from_ollama is not None:
        lines.append(f"  from Ollama:    {from_ollama} (its file, not a copy)")
    lines += [
        f"  architecture:   {info.architecture}" + (f" ({info.name})" if info.name else ""),
        f"  context length: {info.context_length or 'unknown'}",
        f"  quantization:   {info.quantization or 'unknown'}",
        f"  chat template:  {'yes' if info.chat_template else 'no'}",
        f"  prompt family:  {model.family}",
        f"use it with: sqlcoder ask --model {model.name} \"...\"",
    ]
    state.data.write("\n".join(lines) + "\n")
    state.data.flush()


@models_app.command("rm")
def rm(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A registered name, or a downloaded catalogue model.", show_default=False),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
) -> None:
    """Unregister a local model (its file stays), or delete a downloaded catalogue model."""
    state = get_state(ctx)
    store = _store(state)
    from ..models.catalogue import find_entry
    from ..models.download import partial_download

    entry = find_entry(name)
    local = store.is_registered(name)
    if entry is not None and not local:
        path = store.cached_path(entry)
        has_partial = partial_download(store.cache_dir, entry.repo_id) > 0
        if (path is not None or has_partial) and not yes:
            what = (
                f"the downloaded {entry.name} ({_size(path.stat().st_size)})"
                if path
                else f"the partial download of {entry.name}"
            )
            if not state.env.interactive:
                raise UsageError(f"refusing to delete {what} without confirmation", hint="pass --yes")
            if not state.confirm(f"Delete {what}?", default=False):
                state.info("nothing deleted")
                return
    message = store.remove(name)
    state.data.write(message + "\n")
    state.data.flush()


_INFO_ORDER = (
    "name", "source", "default", "description", "repo_id", "filename", "revision", "url", "license",
    "family", "detected_family", "quantization", "gguf_quantization", "context_length",
    "gguf_context_length", "size_bytes", "parameter_count", "architecture", "gguf_name",
    "chat_template", "bos_token", "eos_token", "on_disk", "path", "partial_download_bytes",
)  # fmt: skip


@models_app.command("info")
def info(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(None, help="Model name or .gguf path (default: your default model).", show_default=False),
    fmt: str = FormatOption,
) -> None:
    """Everything known about one model: catalogue facts and, when on disk, its GGUF header."""
    state = get_state(ctx)
    data = _store(state).info(name or state.config.default_model)
    if fmt == "json":
        _write_json(state, data)
        return
    table = new_table(state, "key", "value")
    keys = [k for k in _INFO_ORDER if k in data] + [k for k in data if k not in _INFO_ORDER]
    for key in keys:
        value = data[key]
        if key in ("size_bytes", "partial_download_bytes") and isinstance(value, int):
            shown = f"{_size(value)} ({value:,} bytes)"
        elif key == "parameter_count" and isinstance(value, int):
            shown = f"{value / 1e9:.2f} B" if value >= 1e8 else f"{value:,}"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        else:
            shown = "-" if value is None else str(value)
        table.add_row(key, shown)
    print_table(state, table)
