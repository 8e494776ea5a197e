"""Until the lead adds ``repl_cmd.register(app)`` to cli/app.py, the REPL tests register it themselves."""

from __future__ import annotations

from sqlcoder_cli.cli import app as cli_app
from sqlcoder_cli.cli import repl_cmd

repl_cmd.register(cli_app.app)
