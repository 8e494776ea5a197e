"""Command-line options made from :class:`~sqlcoder_cli.pipeline.settings.AnswerSettings`.

Every settings field with ``flag`` metadata becomes an option of each command decorated with
:func:`answer_options` (``ask``, ``repl``, ``eval``, ``mcp``); the command receives the values the
user passed as ``settings_flags`` (a dict, None for options not given) and hands them to
``AnswerSettings.with_overrides``. So a new behaviour option is one field in settings.py: its flag,
help and bounds appear on every command, in ``--help`` and in the generated CLI reference.
(The idea is sqlite-utils' shared output-options decorator, made from the dataclass.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, Optional, TypeVar

import typer

from ..pipeline.settings import AnswerSettings

F = TypeVar("F", bound=Callable[..., Any])

#: the parameter the decorated command receives the flags in
PARAMETER = "settings_flags"
_PREFIX = "setting__"


def _option_type(default: Any) -> Any:
    if isinstance(default, bool):
        return Optional[bool]
    if isinstance(default, int):
        return Optional[int]
    if isinstance(default, float):
        return Optional[float]
    return Optional[str]


def _check_layout(value: Optional[str]) -> Optional[str]:
    from ..prompts.base import PROMPT_LAYOUTS

    if value is not None and value not in PROMPT_LAYOUTS:
        raise typer.BadParameter(f"choose one of: {', '.join(PROMPT_LAYOUTS)}")
    return value


#: per-field checks that bounds cannot express
_CALLBACKS: dict[str, Callable[[Any], Any]] = {"prompt_layout": _check_layout}


def inject_options(command: F, parameter: str, options: list[tuple[str, Any, Any]]) -> F:
    """``command`` with extra keyword options ``(name, annotation, typer.Option)``; it receives the
    values the user passed as one dict in ``parameter`` (None for options not given). Typer reads
    the signature, so the options appear in ``--help`` and the CLI reference like declared ones."""
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != parameter]
    prefix = f"{parameter}__"
    added = [
        inspect.Parameter(prefix + name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
        for name, annotation, option in options
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name[len(prefix):]: kwargs.pop(name) for name in list(kwargs) if name.startswith(prefix)}
        return command(*args, **{parameter: values}, **kwargs)

    positional = [p for p in kept if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept if p.kind is inspect.Parameter.KEYWORD_ONLY]
    wrapper.__signature__ = signature.replace(parameters=[*positional, *keyword, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {k: v for k, v in getattr(command, "__annotations__", {}).items() if k != parameter}
    wrapper.__annotations__.update({p.name: p.annotation for p in added})
    return wrapper  # type: ignore[return-value]


def answer_options(*, skip: Iterable[str] = (), help_overrides: dict[str, str] | None = None) -> Callable[[F], F]:
    """Add an option for every flagged settings field except ``skip`` (a command whose own option
    uses the same name, e.g. eval's ``--limit``); ``help_overrides`` rewords a field's help there.
    The command receives them as ``settings_flags``."""
    skipped = set(skip)
    rewording = help_overrides or {}
    made: list[tuple[str, Any, Any]] = []
    for f in fields(AnswerSettings):
        meta = f.metadata
        if "flag" not in meta or f.name in skipped:
            continue
        decls = meta["flag"].split("/")
        if isinstance(f.default, bool) and len(decls) == 2 and decls[1].startswith("--"):
            decls = [meta["flag"]]  # "--x/--no-x": one declaration, click splits it
        option = typer.Option(
            None, *decls, help=rewording.get(f.name, meta["help"]), show_default=False,
            callback=_CALLBACKS.get(f.name), **meta.get("click", {}),
        )
        made.append((f.name, _option_type(f.default), option))
    return lambda command: inject_options(command, PARAMETER, made)


def engine_options() -> Callable[[F], F]:
    """Add the options that choose and size the engine (``--ctx``, ``--threads``, ``--gpu-layers``,
    ``--backend``, ``--base-url``, ``--api-model``); the command receives them as ``engine_flags``
    and hands them to :func:`~sqlcoder_cli.cli.options.configure_engine`."""
    from . import options

    made = [
        ("ctx_size", Optional[int], options.CtxOption),
        ("threads", Optional[int], options.ThreadsOption),
        ("gpu_layers", Optional[int], options.GpuLayersOption),
        ("backend", Optional[str], options.BackendOption),
        ("base_url", Optional[str], options.BaseUrlOption),
        ("api_model", Optional[str], options.ApiModelOption),
    ]
    return lambda command: inject_options(command, "engine_flags", made)


def settings_from(config: Any, flags: dict[str, Any], *, raw: bool = False, **defaults: Any) -> AnswerSettings:
    """The settings a command runs with: the config's, then the command's own ``defaults`` (e.g.
    eval's shorter query timeout), then ``--raw``'s preset, then the flags the user passed."""
    settings = AnswerSettings.from_config(config).with_overrides(**defaults)
    if raw:
        settings = AnswerSettings.raw(settings)
    return settings.with_overrides(**flags)
