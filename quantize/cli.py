"""``sqlcoder-quantize`` (also ``python -m quantize``): convert, quantize, ladder, types.

The same conventions as ``sqlcoder``: data on stdout (the path written, the ladder's table),
progress and status on stderr (a bar only when a person watches), every
:class:`~sqlcoder_cli.errors.SqlcoderError` one red ``error: ...`` line with the class's exit code
and no traceback (``--debug`` adds it). The error rendering is sqlcoder's own
(``sqlcoder_cli.cli.app.report_error``), imported only when there is an error to render, and the
heavy modules (llama_cpp, numpy, gguf, the converter) only inside the commands, so ``--help``
stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from sqlcoder_cli.errors import Interrupted, SqlcoderError, Terminated
from sqlcoder_cli.frontend.environment import Environment
from sqlcoder_cli.frontend.state import AppState

from .errors import QuantizeUsageError

PROG = "sqlcoder-quantize"

app = typer.Typer(
    name=PROG,
    help="Turn a SQL model checkpoint into a GGUF that fits your machine: convert, quantize, measure, register.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _state(ctx: typer.Context) -> AppState:
    from sqlcoder_cli.cli.state import get_state

    return get_state(ctx)


def _version(value: bool) -> None:
    if value:
        from sqlcoder_cli.__about__ import __version__

        typer.echo(f"{PROG} (sqlcoder-cli {__version__})")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status lines on stderr."),
) -> None:
    state = _state(ctx)
    state.debug, state.quiet = debug, quiet


# --------------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------------

RegisterOption = typer.Option(None, "--register", help="Add the result to `sqlcoder models` under this name.", show_default=False)
FamilyOption = typer.Option(
    None, "--family", help="Prompt family for --register (default: detected from the GGUF header).", show_default=False
)
ThreadsOption = typer.Option(None, "--threads", "-t", min=1, help="CPU threads (default: all for quantizing).", show_default=False)


def _check_register(name: str | None, family: str | None) -> None:
    """Refuse a name or family ``ModelStore.add`` would refuse, before the long work, not after."""
    if family is not None:
        from sqlcoder_cli.prompts import FAMILIES

        if family not in FAMILIES:
            raise QuantizeUsageError(f"unknown prompt family {family!r}", hint="one of: " + ", ".join(FAMILIES))
        if name is None:
            raise QuantizeUsageError("--family goes with --register NAME")
    if name is None:
        return
    from sqlcoder_cli.models.catalogue import find_entry

    if not name.strip() or any(c.isspace() for c in name):
        raise QuantizeUsageError(f"invalid model name {name!r}", hint="use a name without spaces")
    if find_entry(name) is not None:
        raise QuantizeUsageError(f"{name!r} is the name of a catalogue model", hint="choose another --register name")


def _register(state: AppState, path: Path, name: str, family: str | None) -> None:
    from sqlcoder_cli.models.store import ModelStore

    model = ModelStore(state.paths, environ=state.env.environ).add(path, name=name, family=family)
    state.info(f"registered {model.name} (prompt family {model.family}): sqlcoder ask --model {model.name} ...")


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


class _Bar:
    """A rich progress bar over tensors on stderr, only when a person watches; callable as
    ``progress(done, total)`` from any thread."""

    def __init__(self, state: AppState, description: str) -> None:
        self._progress: Any = None
        self._task: Any = None
        if state.show_progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn(description), BarColumn(), MofNCompleteColumn(), TextColumn("tensors"),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=state.err, transient=True,
            )  # fmt: skip

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("", total=total)
        self._progress.update(self._task, completed=done, total=total)


# --------------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------------


@app.command("convert")
def convert_command(
    ctx: typer.Context,
    checkpoint_dir: Path = typer.Argument(..., help="Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer).", show_default=False),
    out: Path = typer.Argument(..., metavar="OUT.gguf", help="The GGUF file to write.", show_default=False),
    outtype: str = typer.Option("f16", "--outtype", help="f16, bf16, f32 or q8_0."),
    register: Optional[str] = RegisterOption,
    family: Optional[str] = FamilyOption,
) -> int:
    """Convert a safetensors checkpoint (Llama, Mistral, Qwen2) into a GGUF, tensor by tensor."""
    state = _state(ctx)
    _check_register(register, family)
    from .convert import OUTTYPES, convert_checkpoint

    if outtype.lower() not in OUTTYPES:
        raise QuantizeUsageError(f"unknown --outtype {outtype!r}; valid: " + ", ".join(OUTTYPES))
    with _Bar(state, "converting") as bar:
        result = convert_checkpoint(checkpoint_dir, out, outtype=outtype.lower(), progress=bar)
    state.info(
        f"wrote {result.path}: {result.architecture}, {result.tensor_count} tensors, {result.outtype}, "
        f"{_size(result.size_bytes)} in {result.seconds:.1f} s"
    )
    return _written(state, Path(result.path), register, family)


def _written(state: AppState, path: Path, register: Optional[str], family: Optional[str]) -> int:
    """The end of convert and quantize: register the file if asked, its path on stdout."""
    if register:
        _register(state, path, register, family)
    state.data.write(f"{path}\n")
    return 0


@app.command("quantize")
def quantize_command(
    ctx: typer.Context,
    in_path: Path = typer.Argument(..., metavar="IN.gguf", help="The GGUF to quantize (F16/BF16/F32 for the best result).", show_default=False),
    out: Path = typer.Argument(..., metavar="OUT.gguf", help="The GGUF file to write.", show_default=False),
    qtype: str = typer.Argument(..., metavar="TYPE", help="Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q3_K_M, Q2_K, IQ4_XS, ... (see: types).", show_default=False),
    threads: Optional[int] = ThreadsOption,
    imatrix: Optional[Path] = typer.Option(None, "--imatrix", help="Importance matrix from llama.cpp's llama-imatrix (.gguf or .dat); required by IQ1/IQ2/IQ3_XS/IQ3_XXS and Q2_K_S.", show_default=False),
    allow_requantize: bool = typer.Option(False, "--allow-requantize", help="Quantize an already quantized file (loses quality)."),
    register: Optional[str] = RegisterOption,
    family: Optional[str] = FamilyOption,
) -> int:
    """Quantize a GGUF with llama.cpp's quantizer."""
    state = _state(ctx)
    _check_register(register, family)
    from .quantize import quantize_gguf

    with _Bar(state, f"quantizing to {qtype.upper()}") as bar:
        result = quantize_gguf(
            in_path, out, qtype, threads=threads, imatrix=imatrix, allow_requantize=allow_requantize,
            progress=bar, on_warning=state.warn,
        )  # fmt: skip
    bits = result.bits_per_weight
    state.info(
        f"wrote {result.path}: {result.qtype}, {_size(result.size_bytes)}"
        + (f", {bits:.2f} bits/weight" if bits else "")
        + f" (from {result.input_type or 'the input'}, {_size(result.input_size_bytes)}) in {result.seconds:.1f} s"
        + (f" with an importance matrix of {result.imatrix_entries} tensors" if result.imatrix else "")
    )
    return _written(state, result.path, register, family)


@app.command("ladder")
def ladder_command(
    ctx: typer.Context,
    in_path: Path = typer.Argument(..., metavar="IN.gguf", help="The model to make the ladder of.", show_default=False),
    types: str = typer.Option(..., "--types", help="Comma-separated types, e.g. Q8_0,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K.", show_default=False),
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for the rungs' GGUFs, ladder.md and ladder.json.", show_default=False),
    eval_questions: Optional[Path] = typer.Option(None, "--eval", help="Question file for `sqlcoder eval` (with --dbs).", show_default=False),
    dbs: Optional[Path] = typer.Option(None, "--dbs", help="Folder of the question file's databases.", show_default=False),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Evaluate only N questions (round-robin over the databases).", show_default=False),
    threads: Optional[int] = typer.Option(None, "--threads", "-t", min=1, help="Threads for quantizing, speed and eval (default: one per physical core).", show_default=False),
    eval_arg: Optional[List[str]] = typer.Option(None, "--eval-arg", help="Pass a flag on to `sqlcoder eval` (repeatable), e.g. --eval-arg=--no-retries.", show_default=False),
    imatrix: Optional[Path] = typer.Option(None, "--imatrix", help="Importance matrix for every rung (needed by IQ1/IQ2 types).", show_default=False),
    skip_input: bool = typer.Option(False, "--skip-input", help="Do not measure the input itself (the first row)."),
    register: Optional[str] = typer.Option(None, "--register", help="Add each rung to `sqlcoder models` as NAME-TYPE.", show_default=False),
    family: Optional[str] = FamilyOption,
) -> int:
    """Make several types of one model and measure size, speed, memory and accuracy of each."""
    state = _state(ctx)
    _check_register(f"{register}-Q4_K_M" if register else None, family)
    from .ladder import run_ladder

    result = run_ladder(
        in_path, types, out_dir=out_dir, eval_questions=eval_questions, dbs=dbs, limit=limit, threads=threads,
        eval_args=eval_arg or (), imatrix=imatrix, measure_input=not skip_input, register=register, family=family, paths=state.paths,
        status=state.info, on_warning=state.warn,
    )  # fmt: skip
    state.data.write(result.markdown())
    state.info(f"wrote {result.markdown_path} and {result.json_path}")
    # a rung that failed keeps its row (and the warning said why); the status says the ladder is not whole
    return 3 if any(r.error for r in result.rungs) else 0


@app.command("types")
def types_command(
    ctx: typer.Context,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> int:
    """List the quantization types: bits per weight and whether they need an importance matrix."""
    state = _state(ctx)
    from .quantize import QTYPES

    if fmt not in ("table", "json"):
        raise QuantizeUsageError(f"unknown --format {fmt!r}; valid: table, json")
    if fmt == "json":
        rows = [
            {"type": t.name, "ftype": t.ftype, "bits_per_weight": t.bits_per_weight, "needs_imatrix": t.needs_imatrix, "note": t.note}
            for t in QTYPES.values()
        ]
        state.data.write(json.dumps(rows, indent=2) + "\n")
        return 0
    header = ("type", "bits/weight", "imatrix", "note")
    body = [
        (t.name, f"{t.bits_per_weight:.2f}", "required" if t.needs_imatrix else ("–" if t.is_float else "optional"), t.note)
        for t in QTYPES.values()
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(3)]
    for row in [header, *body]:
        state.data.write("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] + "\n")
    state.info("bits/weight: whole-file averages of llama.cpp's Llama-3-8B table (IQ types: the type's rate); the ladder measures")
    return 0


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------


def run(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the command line and return the exit status (tests call this; ``main`` exits with it)."""
    state = AppState(env=env or Environment())
    try:
        result = app(args=argv if argv is not None else sys.argv[1:], prog_name=PROG, standalone_mode=False, obj=state)
    except (SqlcoderError, KeyboardInterrupt, Terminated) as exc:
        from sqlcoder_cli.cli.app import report_error

        return report_error(state, Interrupted("interrupted") if isinstance(exc, KeyboardInterrupt) else exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        from sqlcoder_cli.cli.app import _click_exception_status, _is_broken_pipe, report_error, stdout_closed

        if _is_broken_pipe(exc):
            return stdout_closed(state)
        handled = _click_exception_status(state, exc)
        return handled if handled is not None else report_error(state, exc)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point (``sqlcoder-quantize``): SIGTERM unwinds cleanly (exit 143)."""
    from sqlcoder_cli.frontend import terminate

    terminate.install()
    status = run()
    terminate.uninstall()
    sys.exit(status)
