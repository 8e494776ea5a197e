"""The CLI's handle on the per-invocation :class:`~sqlcoder_cli.frontend.state.AppState`."""

from __future__ import annotations

import typer

from ..frontend.state import AppState, warn_if_privileged

__all__ = ["AppState", "get_state", "warn_if_privileged"]


def get_state(ctx: typer.Context) -> AppState:
    """The AppState of this invocation (created by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj
