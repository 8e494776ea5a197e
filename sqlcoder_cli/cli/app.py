"""The ``sqlcoder`` command: wires the command groups and turns errors into exit codes.

Only Typer and rich are imported at module level (plus our light modules); every command imports
the heavy parts (llama_cpp, huggingface_hub, SQLAlchemy and drivers) inside its body, so that
``sqlcoder --help`` stays instant. ``tests/cli/test_cli_startup.py`` holds that line.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from ..__about__ import __version__
from ..errors import ExitCode, SqlcoderError
from .environment import Environment
from .state import AppState, get_state

app = typer.Typer(
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
    from . import ask_cmd, config_cmd, doctor_cmd, eval_cmd, history_cmd, memory_cmd, models_cmd, notes_cmd, repl_cmd, schema_cmd, sql_cmd

    ask_cmd.register(app)
    repl_cmd.register(app)
    sql_cmd.register(app)
    schema_cmd.register(app)
    app.add_typer(models_cmd.models_app, name="models")
    notes_cmd.register(app)
    memory_cmd.register(app)
    history_cmd.register(app)
    eval_cmd.register(app)
    config_cmd.register(app)
    doctor_cmd.register(app)


_register_commands()


def report_error(state: AppState, error: BaseException) -> int:
    """One red line on stderr and the documented exit code; a traceback only with --debug."""
    if state.debug:
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=state.env.stderr)
    if isinstance(error, SqlcoderError):
        state.err.print(f"error: {error}", style="bold red", markup=False, highlight=False)
        return int(error.exit_code)
    if isinstance(error, KeyboardInterrupt):
        state.err.print("interrupted", style="yellow", markup=False)
        return int(ExitCode.INTERRUPTED)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    state.err.print(
        f"error: unexpected {type(error).__name__}: {message} (run with --debug for details)",
        style="bold red",
        markup=False,
    )
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
        exc.show(file=state.env.stderr)  # type: ignore[attr-defined]
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
    except (SqlcoderError, KeyboardInterrupt) as exc:
        return report_error(state, exc)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        handled = _click_exception_status(state, exc)
        return handled if handled is not None else report_error(state, exc)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
