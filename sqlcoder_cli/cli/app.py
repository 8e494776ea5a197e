"""The ``sqlcoder`` command: wires the command groups and turns errors into exit codes.

Only Typer and rich are imported at module level (plus our light modules); every command imports
the heavy parts (llama_cpp, huggingface_hub, SQLAlchemy and drivers) inside its body, so that
``sqlcoder --help`` stays instant. ``tests/cli/test_cli_startup.py`` holds that line.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from ..__about__ import __version__
from ..errors import ExitCode, Interrupted, SqlcoderError, Terminated
from ..output.visible import visible
from ..frontend import terminate
from ..frontend.environment import Environment
from .state import AppState, get_state


class _StdoutClosed(Exception):
    """stdout's reader went away; carries a BrokenPipeError past click, which would exit 1."""


class _Group(TyperGroup):
    """The root command group; a closed stdout anywhere below it ends the run quietly.

    Why here: click's own main loop turns a broken pipe into ``sys.exit(1)``, which is neither
    quiet in the exit status nor what ``cat`` does, and Ctrl-C into a silent exit 130, so both
    are caught before click sees them.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if _is_broken_pipe(exc):
                raise _StdoutClosed() from exc
            raise
        except KeyboardInterrupt as exc:
            # Typer would turn it into a silent exit 130; say "interrupted" in one line instead
            raise Interrupted("interrupted") from exc


app = typer.Typer(
    cls=_Group,
    name="sqlcoder",
    help="Ask your database questions in plain English; a local model writes the SQL.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sqlcoder-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say more about what happens."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status lines on stderr."),
) -> None:
    state = get_state(ctx)
    state.debug, state.verbose, state.quiet = debug, verbose, quiet


def _register_commands() -> None:
    from . import ask_cmd, config_cmd, doctor_cmd, eval_cmd, history_cmd, mcp_cmd, memory_cmd, models_cmd, notes_cmd, repl_cmd, schema_cmd, sql_cmd

    ask_cmd.register(app)
    repl_cmd.register(app)
    sql_cmd.register(app)
    schema_cmd.register(app)
    app.add_typer(models_cmd.models_app, name="models")
    notes_cmd.register(app)
    memory_cmd.register(app)
    history_cmd.register(app)
    eval_cmd.register(app)
    mcp_cmd.register(app)
    config_cmd.register(app)
    doctor_cmd.register(app)


_register_commands()


def _is_broken_pipe(error: BaseException) -> bool:
    return isinstance(error, BrokenPipeError) or (isinstance(error, OSError) and error.errno == errno.EPIPE)


def stdout_closed(state: AppState) -> int:
    """The reader of stdout went away (``| head``): stop quietly, as ``cat`` does, exit 0.

    The Python documentation's recipe: point the stdout file descriptor at /dev/null, so the
    interpreter's final flush of what is still buffered cannot fail again and print an
    "Exception ignored" message. The query already stopped: the exception unwound through it.
    """
    try:
        fd = state.env.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return int(ExitCode.OK)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass
    return int(ExitCode.OK)


def report_error(state: AppState, error: BaseException) -> int:
    """One red line on stderr and the documented exit code; a traceback only with --debug."""
    if state.debug:
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=state.env.stderr)
    if terminate.requested() or isinstance(error, Terminated):
        state.err.print("terminated", style="yellow", markup=False, highlight=False)
        return int(ExitCode.TERMINATED)
    if isinstance(error, Interrupted):
        state.err.print(visible(str(error), one_line=True), style="yellow", markup=False, highlight=False)
        return int(error.exit_code)
    if isinstance(error, SqlcoderError):
        state.error(str(error))
        return int(error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        state.err.print("interrupted", style="yellow", markup=False)
        return int(ExitCode.INTERRUPTED)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    state.error(f"unexpected {type(error).__name__}: {message} (run with --debug for details)")
    return 1


def _click_exception_status(state: AppState, exc: Exception) -> int | None:
    """Exit status for click's own exceptions (Exit, Abort, usage errors), else None.

    Matched by class name because Typer has moved between depending on click and vendoring it
    (``typer._click``), so the classes live in different modules depending on the version.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "Exit" in names:
        return int(getattr(exc, "exit_code", 0))
    if "Abort" in names:
        return report_error(state, KeyboardInterrupt())
    if "ClickException" in names:
        # one red line like every other error, not click's usage block
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        context = getattr(exc, "ctx", None)
        if "UsageError" in names and context is not None:
            message += f" (see: {context.command_path} --help)"
        state.error(message)
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    return None


def run(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI and return the exit status instead of exiting (used by tests and main)."""
    state = AppState(env=env or Environment())
    try:
        result = app(
            args=argv if argv is not None else sys.argv[1:],
            prog_name="sqlcoder",
            standalone_mode=False,
            obj=state,
        )
    except (SqlcoderError, KeyboardInterrupt, Terminated) as exc:
        return report_error(state, exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        if (isinstance(exc, _StdoutClosed) or _is_broken_pipe(exc)) and not terminate.requested():
            return stdout_closed(state)
        handled = _click_exception_status(state, exc)
        return handled if handled is not None else report_error(state, exc)
    if terminate.requested():
        return report_error(state, Terminated())
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point: SIGTERM unwinds cleanly (exit 143), then the CLI runs."""
    terminate.install()
    status = run()
    terminate.uninstall()
    sys.exit(status)
