"""``sqlcoder config``: see and change the settings file."""

from __future__ import annotations

import typer

from .state import get_state

config_app = typer.Typer(help="Show or change settings (a TOML file in the config directory).", no_args_is_help=True)


@config_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the config file's path (it may not exist yet)."""
    state = get_state(ctx)
    # never reads the file: this is how you find a broken one
    state.data.write(f"{state.paths.config_file}\n")


@config_app.command("show")
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of TOML."),
) -> None:
    """Print the effective settings (defaults, then the file, then SQLCODER_* variables)."""
    state = get_state(ctx)
    values = state.config.shown()
    if as_json:
        from ..output.formats import write_json

        write_json(state.data, values)
        return
    import tomli_w

    state.data.write(tomli_w.dumps(values))


@config_app.command("set")
def set_value(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Setting name, e.g. default_model, default_db, row_limit, threads."),
    value: str = typer.Argument(..., help="New value."),
) -> None:
    """Change one setting and save it to the config file.

    Works on a broken config file too (it is how you repair one): the file is moved aside as
    ``config.toml.broken-<time>`` with a warning, its valid settings are kept, and a new one is written.
    """
    from ..config import Config

    state = get_state(ctx)
    # Start from the file alone, so environment overrides are not written into it.
    config, problems, kept = Config.salvage(state.paths)
    config.set(key, value)  # a bad key or value: exit 2, and the broken file stays where it is
    if problems:
        moved = config.move_aside()
        settled = f"kept its {kept} valid setting{'s' if kept != 1 else ''}" if kept else "started a new one"
        state.warn(f"{state.paths.config_file} could not be used ({'; '.join(problems)}); moved it to {moved.name} and {settled}")
    written = config.save()
    from ..config import SECRET_KEYS

    shown = "(not shown)" if key in SECRET_KEYS else repr(getattr(config, key))
    state.info(f"{key} = {shown} saved to {written}")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
