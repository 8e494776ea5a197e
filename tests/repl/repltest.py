"""Drive the REPL in-process: a real Session and Repl, input lines from a list, output captured."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlcoder_cli.frontend.environment import Environment
from sqlcoder_cli.frontend.state import AppState
from sqlcoder_cli.engine.base import EngineOptions
from sqlcoder_cli.pipeline import AnswerSettings, Session
from sqlcoder_cli.repl.app import Repl, ScriptUI


@dataclass
class InProcessRepl:
    repl: Repl
    stdout: io.StringIO
    stderr: io.StringIO
    reviewed: list[str] = field(default_factory=list)

    def send(self, line: str) -> tuple[str, str]:
        """Handle one line; return what it wrote to stdout and stderr."""
        out_start, err_start = len(self.stdout.getvalue()), len(self.stderr.getvalue())
        keep_going = self.repl.handle(line)
        assert keep_going or line.strip() in ("\\quit", ".quit", "\\q", ".exit", "\\exit")
        return self.stdout.getvalue()[out_start:], self.stderr.getvalue()[err_start:]


def make_repl(
    home: Path, model: Path | str | None = None, *, db: str | None = None, n_ctx: int = 2048, **session_kwargs: Any
) -> InProcessRepl:
    out, err = io.StringIO(), io.StringIO()
    environ = dict(os.environ) | {"SQLCODER_HOME": str(home), "NO_COLOR": "1"}
    env = Environment(
        stdin=io.StringIO(""), stdout=out, stderr=err, stdin_isatty=False, stdout_isatty=False,
        stderr_isatty=False, environ=environ,
    )
    state = AppState(env=env)
    config = state.config
    options = EngineOptions(n_ctx=n_ctx, n_threads=2, n_gpu_layers=0, log_file=config.paths.log_dir / "llama.log")

    def make_session(*, db: str | None, model: str | None, settings: AnswerSettings | None = None) -> Session:
        return Session(config, db=db, model=model, engine_options=options, settings=settings, **session_kwargs)

    session = make_session(db=db, model=str(model) if model is not None else None)
    repl = Repl(state, session, make_session=make_session, ui=ScriptUI(env.stdin))
    return InProcessRepl(repl, out, err)
