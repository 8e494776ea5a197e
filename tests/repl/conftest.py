"""Until cli/app.py registers ``repl`` itself, the REPL tests add it for their own duration only
(so the rest of the suite, e.g. the CLI reference check, sees the app as it is)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sqlcoder_cli.cli import app as cli_app
from sqlcoder_cli.cli import repl_cmd


@pytest.fixture(autouse=True)
def repl_registered() -> Iterator[None]:
    commands = cli_app.app.registered_commands
    already = any(getattr(c, "name", None) == "repl" for c in commands)
    repl_cmd.register(cli_app.app)
    yield
    if not already:
        commands[:] = [c for c in commands if getattr(c, "name", None) != "repl"]
